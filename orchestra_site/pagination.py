"""``limit``/``offset`` pagination with bounds every database takes.

django-ninja's ``LimitOffsetPagination`` accepts any integer, and PostgreSQL refuses an OFFSET or
LIMIT past a bigint (a server error). Here ``limit`` is 1–500 (default 100) and ``offset`` 0–2³¹−1;
anything else is a 422 naming the parameter.
"""
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

MAX_LIMIT = 500
MAX_OFFSET = 2**31 - 1


class BoundedLimitOffset(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_LIMIT, description=f"Items per page, 1–{MAX_LIMIT}. Default 100.")
        offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Items to skip. Default 0.")

    def __init__(self, **kwargs):
        super().__init__(max_limit=MAX_LIMIT, **kwargs)

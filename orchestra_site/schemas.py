"""Schema building blocks every app's API shares: strict input, the error body, timestamps, money, enums.

- ``InputSchema``: base of every request body. Unknown fields are refused (422 naming them), and
  text that no database can store (NUL, lone surrogates; see ``formats``) is refused in every
  string, list and JSON object of the body (422 naming the field).
- ``ErrorOut`` / ``ValidationErrorOut``: what every error answer of the API looks like.
- ``Timestamp`` / ``Money``: one wire format each (``formats.timestamp``, ``formats.money``).
- ``choices(TextChoices)``: a model's choices as a ``Literal``, so OpenAPI lists them as an enum.
"""
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db.models import TextChoices
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, PlainSerializer, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from .formats import MONEY_PATTERN, TIMESTAMP_PATTERN, json_problem, money, text_problem, timestamp

Timestamp = Annotated[
    datetime,
    PlainSerializer(timestamp, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": TIMESTAMP_PATTERN,
                    "description": "UTC, always six fractional digits, e.g. 2026-11-03T10:15:30.123456Z"},
                   mode="serialization"),
]

Money = Annotated[
    Decimal,
    PlainSerializer(money, return_type=str),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN,
                    "description": "USD as a decimal string with 2 to 4 decimals, e.g. \"0.40\" or \"1.2345\""},
                   mode="serialization"),
]


def choices(text_choices: type[TextChoices]) -> Any:
    """``Literal`` of the values of a model's ``TextChoices`` (an enum in the OpenAPI schema)."""
    return Literal[tuple(text_choices.values)]


def _storable(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise PydanticCustomError("invalid_text", problem)
    return value


StorableText = Annotated[str, AfterValidator(_storable)]  # a path or query parameter stored or looked up as text


class InputSchema(Schema):
    """A request body: unknown fields are refused, and so is text no database can store (422)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value):
        if isinstance(value, str):
            _storable(value)
        elif isinstance(value, dict | list):
            found = json_problem(value)
            if found:
                path, problem = found
                raise PydanticCustomError("invalid_text", "{problem}", {"problem": problem, "path": path})
        return value


INSIDE_PATH = "path"  # ctx key of an ``invalid_text`` error: where inside a list or JSON object


class FieldErrorOut(Schema):
    field: str = Field(..., description="JSON path of the offending value, e.g. `confidence` or `args.to_version`")
    detail: str
    code: str = Field(..., description="What is wrong with it, e.g. `missing`, `extra_forbidden`, `float_parsing`")


class ErrorOut(Schema):
    """Every error answer of the API. Some carry more, named in the operation's description
    (e.g. ``decided_by`` on ``already_decided``, ``retry_after`` on ``rate_limited``)."""

    model_config = ConfigDict(extra="allow")

    detail: str = Field(..., description="What went wrong, for a human")
    code: str = Field(..., description="What went wrong, for a program, e.g. `not_found`, `already_decided`")
    field: str | None = Field(None, description="The offending field's JSON path, when one is to blame")


class ValidationErrorOut(ErrorOut):
    """422: ``field`` names the first offending JSON path; ``errors`` lists them all."""

    field: str = Field(..., description="The first offending field's JSON path, e.g. `args.to_version`")
    errors: list[FieldErrorOut] | None = Field(None, description="Every offending field, first one first")


ERROR_RESPONSES = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut,
                   422: ValidationErrorOut}

"""Schemas shared by every app's API: the one error body."""
from typing import Any

from ninja import Schema


class ErrorOut(Schema):
    """Every error answer: ``{"detail": <message>, "code": <machine-readable code>, ...}``."""

    detail: Any
    code: str | None = None

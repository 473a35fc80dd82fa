"""API schemas of governance: dry-run answers, suspensions, policies. Bodies are strict (``InputSchema``:
unknown fields and text with a NUL character are refused, 422 naming the field)."""
from typing import Literal

from ninja import Field, Schema

from orchestra_site.schemas import InputSchema, choices

from .models import Classification, Level, Policy, Risk

DB_INT_MAX = 2**31 - 1  # the largest value of an IntegerField on every database


class EvaluationOut(Schema):
    outcome: Literal["auto_approve", "review", "forbid"] = Field(..., description="What would happen")
    level: choices(Level) = Field(..., description="Who decides")
    inbox: str | None = Field(None, description="Slug of the inbox it would land in (review)")
    category: str
    quorum: int
    sla_seconds: int | None = Field(None, description="Review deadline in seconds")
    policy: str | None = None
    policy_version: int | None = None
    reasons: list[str]


class ReasonIn(InputSchema):
    reason: str = Field(..., min_length=1, max_length=2000)


class SuspensionOut(Schema):
    name: str
    suspended: bool
    frozen_or_thawed: int = Field(..., description="Pending proposals frozen (or thawed) by this change")


def _or_blank(text_choices) -> object:
    return Literal[(*text_choices.values, "")]


class PolicyOut(Schema):
    id: int
    name: str
    priority: int
    is_active: bool
    is_regulatory: bool
    outcome: choices(Policy.Outcome)
    action_pattern: str
    min_risk: _or_blank(Risk) = Field(..., description="Blank: any")
    max_risk: _or_blank(Risk) = Field(..., description="Blank: any")
    classification: _or_blank(Classification) = Field(..., description="Blank: any")
    quorum: int | None
    escalate_to: _or_blank(Level) = Field(..., description="For `escalate`; blank otherwise")


class PolicyPatch(InputSchema):
    """Switch a policy on or off, or change its priority or quorum; other fields are edited in Django
    admin (sending them is refused, 422)."""

    is_active: bool | None = None
    priority: int | None = Field(None, ge=-DB_INT_MAX, le=DB_INT_MAX, description="Lower is tried first")
    quorum: int | None = Field(None, ge=1, le=10)

"""API schemas of governance: dry-run answers, suspensions, policies."""
from typing import Any

from ninja import Field, Schema


class EvaluationOut(Schema):
    outcome: str = Field(..., description="auto_approve, review or forbid")
    level: str = Field(..., description="agent, domain or enterprise: who decides")
    inbox: str | None = Field(None, description="Slug of the inbox it would land in (review)")
    category: str
    quorum: int
    sla_seconds: int | None = Field(None, description="Review deadline in seconds")
    policy: str | None = None
    policy_version: int | None = None
    reasons: list[str]


class ReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=2000)


class SuspensionOut(Schema):
    name: str
    suspended: bool
    frozen_or_thawed: int = Field(..., description="Pending proposals frozen (or thawed) by this change")


class PolicyOut(Schema):
    id: int
    name: str
    priority: int
    is_active: bool
    is_regulatory: bool
    outcome: str
    action_pattern: str
    min_risk: str
    max_risk: str
    classification: str
    quorum: int | None
    escalate_to: str


class PolicyPatch(Schema):
    is_active: bool | None = None
    priority: int | None = None
    quorum: int | None = Field(None, ge=1, le=10)
    extra: dict[str, Any] | None = Field(None, description="Ignored; edit other fields in Django admin.")

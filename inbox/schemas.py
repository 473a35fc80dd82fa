"""API schemas of the inbox app: what agents send and what they get back.

Bodies are strict (``InputSchema``: unknown fields and text with a NUL character are refused, 422
naming the field); answers use one format per kind of value (``Timestamp``, ``Money``) and list the
allowed values of every status, level, risk, classification and verdict as enums.
"""
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from django.utils import timezone
from ninja import Field, Schema
from pydantic import AnyHttpUrl, ValidationInfo, field_validator

from governance.models import Classification, Level, Risk
from orchestra_site.schemas import ErrorOut, InputSchema, Money, Timestamp, ValidationErrorOut, choices

from . import callbacks, selectors, tool_calls
from .models import Proposal

__all__ = ["DecisionIn", "DecisionOut", "ErrorOut", "EscalationIn", "ProposalIn", "ProposalOut",
           "ValidationErrorOut", "VoteOut", "proposal_out"]

ActionName = Field(..., min_length=1, max_length=120, pattern=tool_calls.ACTION_PATTERN,
                   description="What to do: a dotted action type (`deploy.rollback`, `email.send_external`), whose "
                               "contract and category apply, or a tool's name as the agent's framework names it "
                               "(`delete_file`, `post-to-slack`, `postToSlack`, `github:create_issue`): letters, "
                               "digits and `_ . : / -`. Policies' action patterns match either.")
Verdict = Literal["approve", "reject", "edit", "answer"]


class ProposalIn(InputSchema):
    """A proposed action. Only ``action`` and ``summary`` are required; defaults are documented per field.
    Unknown fields are refused (422), and so is text containing a NUL character (U+0000), anywhere."""

    action: str = ActionName
    kind: choices(Proposal.Kind) = Field(
        "action", description="`action` (default): an action for a human to approve. `question`: a free-text "
                              "question for a human (LangGraph `interrupt(\"…\")`, an MCP elicitation): it is "
                              "answered (verdict `answer`, the reply in the decision's `comment`) or declined "
                              "(`reject`), never auto-approved; `allowed_verdicts` may then name only those two.")
    summary: str = Field(..., min_length=1, max_length=500, description="One line a reviewer reads first.")
    resource: str = Field("", max_length=255, description="What it acts on, e.g. `service:payments`. Default empty.")
    args: dict[str, Any] = Field(default_factory=dict, description="Arguments of the action (JSON object). Default {}.")
    reasoning: str = Field("", max_length=20_000, description="Why the agent proposes it. Default empty.")
    risk: choices(Risk) = Field("medium", description="Default `medium`.")
    confidence: float = Field(0.0, ge=0, le=1, description="Agent's confidence, 0–1. Default 0 (never auto-approves).")
    cost_usd: Decimal = Field(Decimal("0"), ge=0, max_digits=12, decimal_places=4,
                              description="Estimated cost in USD (decimal string or number). Default 0.")
    classification: choices(Classification) = Field("internal", description="Default `internal`.")
    related_tasks: list[str] = Field(default_factory=list, max_length=50, description="Related task ids. Default [].")
    callback_url: AnyHttpUrl | None = Field(
        None, max_length=500,
        description="Receives the signed decision (POST). Default none. Never a link-local, multicast or reserved "
                    "address; only ORCHESTRA_WEBHOOK_ALLOWED_NETWORKS when that is set.")
    expires_at: datetime | None = Field(None, description="When the proposal expires if undecided (ISO 8601, aware).")
    workflow: str = Field(
        "", max_length=120,
        description="Id of the multi-agent workflow it belongs to (also taken from the `X-Workflow-Id` header); "
                    "the audit trace page shows a workflow's proposals and incidents as one timeline. Default empty.",
    )
    incident: str | None = Field(
        None, min_length=1, max_length=64,
        description="Id of the incident this remediates (an incident the agent may see; 422 otherwise). Default "
                    "none. Routed for first-line review, it goes to the incident's commander; policy still rules "
                    "(a forbidden action stays forbidden, nothing is auto-approved that policy would not).")
    allowed_verdicts: list[Verdict] = Field(
        default_factory=list, max_length=4,
        description="The verdicts the tool accepts (e.g. `[\"approve\", \"reject\"]` for a tool that cannot run "
                    "edited args); reviewers are offered only these and any other is refused (422). Default [] "
                    "(all four).")
    args_schema: dict[str, Any] | None = Field(
        None, description="JSON Schema (2020-12) of the tool's args. The proposed args and a reviewer's edited args "
                          "must keep it, as well as the action type's contract (422 naming the JSON path, "
                          "`args.path`). Default none.")
    batch: str = Field(
        "", max_length=120, pattern=r"^$|" + tool_calls.BATCH_PATTERN,
        description="Your id for proposals raised together (parallel tool calls of one step): reviewers see and "
                    "may decide them together. Letters, digits and `_ . : / -`. Default empty (no batch).")

    @field_validator("allowed_verdicts")
    @classmethod
    def _distinct(cls, value):
        return list(dict.fromkeys(value))

    @field_validator("callback_url")
    @classmethod
    def _reachable(cls, value):
        if value is not None:
            if len(str(value)) > 500:
                raise ValueError("must be at most 500 characters once normalised")
            try:
                callbacks.check_literal(str(value))
            except callbacks.UnsafeCallback as exc:
                raise ValueError(str(exc)) from exc
        return value

    @field_validator("expires_at")
    @classmethod
    def _future(cls, value):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("must include a timezone offset")
            try:
                value = value.astimezone(UTC)
            except OverflowError as exc:
                raise ValueError("is out of range") from exc
            if value <= timezone.now():
                raise ValueError("must be in the future")
        return value

    def to_model_fields(self) -> dict:
        data = self.model_dump()
        data["callback_url"] = str(data["callback_url"]) if data["callback_url"] else ""
        return data


class DecisionIn(InputSchema):
    """A reviewer's decision. ``comment`` is required to reject or answer; ``args`` (JSON object) to edit,
    and only to edit (``args`` with another verdict is refused, 422). With a quorum above one, an
    approval is a vote until enough distinct reviewers approve."""

    verdict: Verdict = Field(..., description="One of the proposal's `allowed_verdicts` (else 422)")
    comment: str = Field("", max_length=20_000)
    args: dict[str, Any] | None = Field(None, description="The edited args: with `edit` only (required there).")
    supersede_conflicts: bool = Field(
        False, description="Default false. When this approval decides the proposal, also supersede the pending "
                           "proposals of other agents on the same resource that sit in inboxes where you may "
                           "decide (their agents are told). The others, and all of them when false, stay "
                           "pending for their own reviewers, linked to this one and marked as conflicting. "
                           "Each supersession is in both proposals' history, with who and why.")

    @field_validator("args")
    @classmethod
    def _only_to_edit(cls, value, info: ValidationInfo):
        verdict = info.data.get("verdict")
        if value is not None and verdict is not None and verdict != "edit":
            raise ValueError(f"only `edit` changes args; {verdict} takes none (use verdict `edit` to change them)")
        return value


class EscalationIn(InputSchema):
    reason: str = Field(..., min_length=1, max_length=2000)
    to_level: Literal["domain", "enterprise"] | None = Field(None, description="Default: the next level up")


VERDICTS_OUT = ("approve", "reject", "edit", "answer", "expire", "refuse", "supersede")


class VoteOut(Schema):
    """One reviewer's vote: who, what, why, and the args they edited (for an edit)."""

    reviewer: str = Field(..., description="Username")
    verdict: Verdict
    comment: str
    args: dict[str, Any] | None = Field(None, description="The edited args, for an edit; else null")
    created_at: Timestamp

    @staticmethod
    def resolve_reviewer(v) -> str:
        return v.reviewer.get_username()


class DecisionOut(Schema):
    verdict: Literal[VERDICTS_OUT] = Field(..., description="What decided it; expire, refuse and supersede "
                                                            "are the system's")
    decided_by: str | None = Field(None, description="Username, or null when a policy decided.")
    decided_at: Timestamp | None
    comment: str
    final_args: dict[str, Any] | None
    votes: list[VoteOut] = Field(..., description="Every vote cast, oldest first, with who and the comment: "
                                                  "who edited the args and why, who approved")


class ProposalOut(Schema):
    """A proposal as its agent and reviewers see it. ``decision`` is null while pending."""

    id: UUID
    kind: choices(Proposal.Kind) = Field(..., description="`action` to approve, or `question` to answer (verdict "
                                                          "`answer`)")
    status: choices(Proposal.Status)
    agent: str
    inbox: str | None = Field(None, description="Slug of the inbox it was routed to.")
    routing_reason: str = Field(..., description="Which policy routed it, and why")
    policy: str | None = Field(None, description="Name of the policy that routed it")
    policy_version: int | None = Field(None, description="That policy's own version (1, 2, …) when it routed this")
    level: choices(Level) = Field(..., description="Authority level deciding it now")
    category: str = Field(..., description="Action category in the authority matrix (blank if unknown)")
    quorum: int = Field(..., description="Distinct approvals needed")
    sla_due_at: Timestamp | None = Field(None, description="Review deadline; escalated when missed")
    is_frozen: bool = Field(..., description="Frozen by a kill switch: cannot be decided")
    action: str
    resource: str
    args: dict[str, Any]
    summary: str
    reasoning: str
    risk: choices(Risk)
    confidence: float
    cost_usd: Money
    classification: choices(Classification)
    related_tasks: list[str]
    response_options: list[dict[str, Any]] = Field(..., description="Replies the agent offers the reviewer "
                                                                    "(reject or answer options): name, title, "
                                                                    "description, prompt_fill")
    callback_url: str | None
    expires_at: Timestamp | None
    allowed_verdicts: list[Verdict] = Field(..., description="The verdicts reviewers may give it")
    args_schema: dict[str, Any] | None = Field(None, description="JSON Schema of the tool's args, if sent")
    batch: str | None = Field(None, description="The agent's batch id, if sent")
    created_at: Timestamp
    decision: DecisionOut | None

    @staticmethod
    def resolve_agent(p: Proposal) -> str:
        return p.agent.name

    @staticmethod
    def resolve_inbox(p: Proposal) -> str | None:
        return p.inbox.slug if p.inbox_id else None

    @staticmethod
    def resolve_policy(p: Proposal) -> str | None:
        return p.policy.name if p.policy_id else None

    @staticmethod
    def resolve_callback_url(p: Proposal) -> str | None:
        return p.callback_url or None

    @staticmethod
    def resolve_allowed_verdicts(p: Proposal) -> list[str]:
        return list(tool_calls.offered_verdicts(p))

    @staticmethod
    def resolve_batch(p: Proposal) -> str | None:
        return p.batch or None

    @staticmethod
    def resolve_decision(p: Proposal) -> dict | None:
        if p.is_pending:
            return None
        return {
            "verdict": VERDICT_OF_STATUS.get(p.status, p.status),
            "decided_by": p.decided_by.get_username() if p.decided_by_id else None,
            "decided_at": p.decided_at,
            "comment": p.decision_comment,
            "final_args": p.final_args,
            "votes": selectors.votes_of(p),
        }


VERDICT_OF_STATUS = {
    Proposal.Status.APPROVED: "approve",
    Proposal.Status.REJECTED: "reject",
    Proposal.Status.EDITED: "edit",
    Proposal.Status.ANSWERED: "answer",
    Proposal.Status.EXPIRED: "expire",
    Proposal.Status.REFUSED: "refuse",
    Proposal.Status.SUPERSEDED: "supersede",
}


def proposal_out(p: Proposal) -> dict:
    """The API's JSON-ready shape of a proposal (agent, inbox and decided_by should be loaded)."""
    return ProposalOut.from_orm(p).model_dump(mode="json")


class DryRunIn(InputSchema):
    """A would-be proposal. ``agent`` (name) is needed with a reviewer's token; an agent's token
    dry-runs as itself."""

    agent: str | None = Field(None, max_length=120)
    proposal: ProposalIn


class BatchDecisionIn(DecisionIn):
    """One decision of a batch: a ``DecisionIn`` for the proposal ``proposal_id``."""

    proposal_id: UUID


class DecisionsIn(InputSchema):
    """Several decisions in one request (e.g. every tool call of one agent step): each proposal at most
    once (a repeat refuses the whole request, 422), each decided on its own."""

    decisions: list[BatchDecisionIn] = Field(..., min_length=1, max_length=100,
                                             description="1 to 100 decisions, applied in this order")


class DecisionResultOut(Schema):
    """What became of one decision of a batch: ``proposal`` when it was recorded (decided, or a vote
    towards a quorum), else ``error`` with the status code the single-proposal route would answer."""

    proposal_id: UUID
    ok: bool
    status_code: int = Field(..., description="200, or the error's: 403, 404, 409, 422")
    proposal: ProposalOut | None = None
    error: dict[str, Any] | None = Field(
        None, description="As the single route's error body: `detail`, `code`, `field` and what the code carries "
                          "(e.g. `decided_by`, `decided_at`, `status` for `already_decided`; `allowed_verdicts` for "
                          "`verdict_not_allowed`)")


class DecisionsOut(Schema):
    results: list[DecisionResultOut] = Field(..., description="One per decision sent, in the same order")
    decided: int = Field(..., description="How many were recorded")
    failed: int = Field(..., description="How many were refused (see each `error`)")

"""Agents report what happened after an approved action ran: ``POST /api/v1/proposals/{id}/outcome``."""
from typing import Any, Literal
from uuid import UUID

from ninja import Field, Router, Schema, Status

from governance.auth import bearer
from orchestra_site.schemas import ERROR_RESPONSES, InputSchema, Timestamp

from . import permissions
from .executions import execution_report

router = Router(auth=bearer, tags=["proposals"])


class OutcomeIn(InputSchema):
    """What happened when the approved action ran."""

    status: Literal["succeeded", "failed", "partial"] = Field(..., description="How it went.")
    message: str = Field("", max_length=5000, description="What happened, in a sentence or two. Default empty.")
    data: dict[str, Any] = Field(default_factory=dict, description="Anything the agent wants on the record "
                                                                  "(JSON object). Default {}.")
    args: dict[str, Any] = Field(..., description="The args the action ran with: they must be the approved "
                                                  "ones (the decision's `final_args`), or the report is refused.")


class OutcomeOut(Schema):
    proposal_id: UUID
    status: Literal["succeeded", "failed", "partial"]
    message: str
    data: dict[str, Any]
    reported_at: Timestamp


OUTCOME_ERRORS = {**ERROR_RESPONSES}
OUTCOME_OPENAPI = {"responses": {409: {"description": (
    "`not_approved_as_executed`: the proposal was not approved, the args differ from the approved ones, the "
    "approval expired (policy-set, default 24 hours after the decision) or this approval was already "
    "reported (one approval, one execution). `reason` says which: `not_approved`, `args_differ`, "
    "`approval_expired`, `already_executed`, `no_approval_binding`. The attempt is recorded in the audit "
    "trail and alerted to the domain's orchestrators."), "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/ErrorOut"}}}}}}


@router.post("/proposals/{proposal_id}/outcome", response={201: OutcomeOut, **OUTCOME_ERRORS},
             openapi_extra=OUTCOME_OPENAPI)
def report_outcome(request, proposal_id: UUID, payload: OutcomeIn):
    """Agents: report the outcome of an approved proposal's action, once (201). Only the proposal's own
    agent may (others get 404; reviewers' tokens 403)."""
    agent = permissions.require_agent(request.auth)
    proposal = permissions.access_proposal(agent, proposal_id)
    execution = execution_report(proposal=proposal, agent=agent, status=payload.status, message=payload.message,
                                 data=payload.data, args=payload.args)
    return Status(201, {"proposal_id": proposal.pk, "status": execution.status, "message": execution.message,
                 "data": execution.data, "reported_at": execution.reported_at})

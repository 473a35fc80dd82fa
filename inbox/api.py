"""Agent and reviewer API (``/api/v1``): parse, call one service or selector, shape the output."""
import asyncio
from uuid import UUID

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from ninja import Header, Query, Router, Status
from ninja.pagination import paginate

from orchestra_site.pagination import BoundedLimitOffset
from orchestra_site.schemas import ERROR_RESPONSES, ErrorOut, choices

from . import permissions, selectors, services
from .auth import bearer
from .events import proposal_group
from .models import Proposal
from .schemas import DecisionIn, EscalationIn, ProposalIn, ProposalOut

router = Router(auth=bearer, tags=["proposals"])
ERRORS = ERROR_RESPONSES
ProposalStatus = choices(Proposal.Status)
OwnStatusFilter = Query(None, description="Only proposals in this status. Default: all")
ReviewerStatusFilter = Query("pending", description="Only proposals in this status. Default: pending")

# OpenAPI links: what a client (or a stateful fuzzer) can do with the id of a proposal it got back.
_BY_ID = {"proposal_id": "$response.body#/id"}
PROPOSAL_LINKS = {
    "GetProposal": {"operationId": "inbox_api_get_proposal", "parameters": _BY_ID},
    "WaitForDecision": {"operationId": "inbox_api_wait_for_decision", "parameters": _BY_ID},
    "DecideProposal": {"operationId": "inbox_api_decide_proposal", "parameters": _BY_ID},
    "EscalateProposal": {"operationId": "inbox_api_escalate_proposal", "parameters": _BY_ID},
}
SUBMIT_OPENAPI = {"responses": {
    200: {"links": PROPOSAL_LINKS},
    201: {"links": PROPOSAL_LINKS},
    429: {"description": "Over the agent's or its domain's rate limit (`rate_limited`): try again after "
                           "`Retry-After` seconds (also in the body as `retry_after`).",
            "headers": {"Retry-After": {"description": "Seconds to wait before trying again",
                                        "schema": {"type": "integer", "minimum": 1}}}},
}}


@router.post("/proposals", response={200: ProposalOut, 201: ProposalOut, 429: ErrorOut, **ERRORS},
             openapi_extra=SUBMIT_OPENAPI)
def submit_proposal(request, payload: ProposalIn, idempotency_key: str | None = Header(None, max_length=255)):
    """Post a proposed action. 201 with the new proposal; 200 with the earlier one when the
    ``Idempotency-Key`` was already used with the same body; 409 when it was used with another body;
    403 when the agent or its domain is suspended or a policy forbids it; 429 over the rate limit."""
    agent = permissions.require_agent(request.auth)
    proposal, created = services.proposal_submit(
        agent=agent, data=payload.to_model_fields(), idempotency_key=idempotency_key
    )
    return Status(201 if created else 200, proposal)


@router.get("/proposals", response={200: list[ProposalOut], **ERRORS})
@paginate(BoundedLimitOffset)
def list_own_proposals(request, status: ProposalStatus | None = OwnStatusFilter):
    """The calling agent's own proposals, newest first (``limit``/``offset`` pagination)."""
    return selectors.proposals_for_agent(permissions.require_agent(request.auth), status=status)


@router.get("/proposals/{proposal_id}", response={200: ProposalOut, **ERRORS})
def get_proposal(request, proposal_id: UUID):
    """Status and decision of one proposal: an agent's own, or one in a reviewer's inboxes."""
    return permissions.access_proposal(request.auth, proposal_id)


@router.get("/proposals/{proposal_id}/wait", response={200: ProposalOut, **ERRORS})
async def wait_for_decision(request, proposal_id: UUID, timeout: float = Query(30, ge=0, le=60)):
    """Long-poll: answers as soon as the proposal is decided, or after ``timeout`` seconds (≤ 60)
    with its current status (then ask again). Costs no database queries while waiting."""
    access = sync_to_async(permissions.access_proposal)
    proposal = await access(request.auth, proposal_id)
    layer = get_channel_layer()
    if not proposal.is_pending or timeout <= 0 or layer is None:
        return proposal
    channel = await layer.new_channel()
    group = proposal_group(proposal_id)
    await layer.group_add(group, channel)
    try:
        proposal = await access(request.auth, proposal_id)  # decided between the read and the join?
        if proposal.is_pending:
            try:
                await asyncio.wait_for(layer.receive(channel), min(timeout, settings.ORCHESTRA_LONG_POLL_MAX_SECONDS))
            except TimeoutError:
                return proposal
            proposal = await access(request.auth, proposal_id)
    finally:
        await layer.group_discard(group, channel)
    return proposal


@router.get("/inbox/proposals", response={200: list[ProposalOut], **ERRORS}, tags=["reviewers"])
@paginate(BoundedLimitOffset)
def list_decidable_proposals(request, status: ProposalStatus = ReviewerStatusFilter):
    """Reviewers: proposals in the inboxes you may decide in (default: pending ones), newest first."""
    user = permissions.require_reviewer(request.auth)
    return selectors.proposals_for_reviewer(user, for_decision=True, status=status)


@router.post("/proposals/{proposal_id}/decision", response={200: ProposalOut, **ERRORS}, tags=["reviewers"])
def decide_proposal(request, proposal_id: UUID, payload: DecisionIn):
    """Reviewers: approve, reject (comment required), edit (``args`` required) or answer (comment
    required); ``args`` with any verdict but edit is refused (422). Exactly once: a proposal already
    decided answers 409 naming ``decided_by`` (and ``decided_at``, ``status``)."""
    user = permissions.require_reviewer(request.auth)
    proposal = permissions.access_proposal(user, proposal_id, for_decision=True)
    return services.proposal_decide(
        proposal=proposal, reviewer=user, verdict=payload.verdict, comment=payload.comment, args=payload.args,
        supersede_conflicts=payload.supersede_conflicts,
    )


@router.post("/proposals/{proposal_id}/escalate", response={200: ProposalOut, **ERRORS}, tags=["reviewers"])
def escalate_proposal(request, proposal_id: UUID, payload: EscalationIn):
    """Reviewers: move a pending proposal up a level (or to ``to_level``), with a reason."""
    user = permissions.require_reviewer(request.auth)
    proposal = permissions.access_proposal(user, proposal_id, for_decision=True)
    return services.proposal_escalate(proposal=proposal, reason=payload.reason, by=user, to_level=payload.to_level)


__all__ = ["router", "Proposal"]

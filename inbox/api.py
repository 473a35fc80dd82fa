"""Agent and reviewer API (``/api/v1``): parse, call one service or selector, shape the output."""
import asyncio
import json
from contextlib import asynccontextmanager, suppress
from uuid import UUID

import pydantic
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone
from ninja import Header, Query, Router, Status
from ninja.errors import HttpError, ValidationError
from ninja.pagination import paginate

from governance.auth import bearer
from orchestra_site.pagination import BoundedLimitOffset
from orchestra_site.schemas import ERROR_RESPONSES, ErrorOut, choices

from . import batches, metrics, permissions, selectors, services, tool_calls, watcher
from .events import proposal_group
from .models import Proposal
from .schemas import DecisionIn, DecisionsIn, DecisionsOut, EscalationIn, ProposalIn, ProposalOut

router = Router(auth=bearer, tags=["proposals"])
ERRORS = ERROR_RESPONSES
ProposalStatus = choices(Proposal.Status)
OwnStatusFilter = Query(None, description="Only proposals in this status. Default: all")
BatchFilter = Query(None, max_length=120, pattern=tool_calls.BATCH_PATTERN,
                    description="Only this batch (the agent's batch id). Default: all")
ReviewerStatusFilter = Query("pending", description="Only proposals in this status. Default: pending")

# OpenAPI links: what a client (or a stateful fuzzer) can do with the id of a proposal it got back.
_BY_ID = {"proposal_id": "$response.body#/id"}
PROPOSAL_LINKS = {
    "GetProposal": {"operationId": "inbox_api_get_proposal", "parameters": _BY_ID},
    "WaitForDecision": {"operationId": "inbox_api_wait_for_decision", "parameters": _BY_ID},
    "DecideProposal": {"operationId": "inbox_api_decide_proposal", "parameters": _BY_ID},
    "EscalateProposal": {"operationId": "inbox_api_escalate_proposal", "parameters": _BY_ID},
}
SUBMIT_OPENAPI = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": ProposalIn.model_json_schema(ref_template="#/components/schemas/{model}")}}}, "responses": {
    200: {"links": PROPOSAL_LINKS},
    201: {"links": PROPOSAL_LINKS},
    429: {"description": "Over the agent's or its domain's rate limit (`rate_limited`): try again after "
                           "`Retry-After` seconds (also in the body as `retry_after`).",
            "headers": {"Retry-After": {"description": "Seconds to wait before trying again",
                                        "schema": {"type": "integer", "minimum": 1}}}},
}}


def parse_payload(request, schema: type[pydantic.BaseModel]):
    """The JSON body validated as ``schema``, with the errors ninja gives a ``payload: schema``
    parameter: 400 when it is not JSON, 422 (``loc`` = body, payload, field…) when a field is bad.
    For routes that must look at the raw body before validating it."""
    try:
        data = json.loads(request.body) if request.body else None
    except ValueError as exc:
        raise HttpError(400, "Cannot parse request body") from exc
    if data is None:
        raise ValidationError([{"type": "missing", "loc": ("body", "payload"), "msg": "Field required"}])
    try:
        return schema.model_validate(data, context={"request": request})
    except pydantic.ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False):
            err.pop("input", None)
            if isinstance(err.get("ctx", {}).get("error"), Exception):
                err["ctx"]["error"] = str(err["ctx"]["error"])
            errors.append({**err, "loc": ("body", "payload", *err["loc"])})
        raise ValidationError(errors) from exc


@router.post("/proposals", response={200: ProposalOut, 201: ProposalOut, 429: ErrorOut, **ERRORS},
             openapi_extra=SUBMIT_OPENAPI)
def submit_proposal(request, idempotency_key: str | None = Header(None, max_length=255)):
    """Post a proposed action (body: ``ProposalIn``). 201 with the new proposal; 200 with the earlier
    one when the ``Idempotency-Key`` was already used with the same body (the same JSON document, key
    order and spacing aside), judged before the body is validated: an exact replay always gets the
    original, even after its ``expires_at``; 409 when the key was used with another body; 403 when the
    agent or its domain is suspended or a policy forbids it; 429 over the rate limit."""
    agent = permissions.require_agent(request.auth)
    digest = services.body_digest(request.body) if idempotency_key else None
    if digest:
        earlier = services.proposal_replay(agent=agent, idempotency_key=idempotency_key, digest=digest)
        if earlier is not None:
            return Status(200, earlier)
    payload = parse_payload(request, ProposalIn)
    proposal, created = services.proposal_submit(
        agent=agent, data=payload.to_model_fields(), idempotency_key=idempotency_key, digest=digest
    )
    return Status(201 if created else 200, proposal)


@router.get("/proposals", response={200: list[ProposalOut], **ERRORS})
@paginate(BoundedLimitOffset)
def list_own_proposals(request, status: ProposalStatus | None = OwnStatusFilter, batch: str | None = BatchFilter):
    """The calling agent's own proposals, newest first (``limit``/``offset`` pagination)."""
    qs = selectors.proposals_for_agent(permissions.require_agent(request.auth), status=status)
    return selectors.with_votes(qs.filter(batch=batch) if batch else qs)


@router.get("/proposals/{proposal_id}", response={200: ProposalOut, **ERRORS})
def get_proposal(request, proposal_id: UUID):
    """Status and decision of one proposal: an agent's own, or one in a reviewer's inboxes. A pending
    proposal past its ``expires_at`` is expired by this read (it does not wait for the sweep)."""
    return expired_if_due(permissions.access_proposal(request.auth, proposal_id))


def expired_if_due(p: Proposal) -> Proposal:
    """``p``; or, when it is pending past its ``expires_at``, ``p`` expired now and read again."""
    return selectors.proposal_by_id(p.pk) if services.proposal_expire(proposal=p) else p


def reread(p: Proposal) -> Proposal:
    """``p`` as it is in the database now (one query by primary key), expired if due; once decided,
    with its votes loaded (one more query, in the same thread hop: the waiter's answer needs them)."""
    p = expired_if_due(selectors.proposal_by_id(p.pk))
    if not p.is_pending:
        selectors.load_votes(p)
    return p


@asynccontextmanager
async def wakeups(proposal_id):
    """While open: ``await wake(seconds)`` returns when an event about the proposal arrives on the
    channel layer, or after ``seconds``. This process's change watcher counts it as a listener."""
    layer = get_channel_layer()
    if layer is None:
        yield asyncio.sleep
        return
    channel, group = await layer.new_channel(), proposal_group(proposal_id)

    async def wake(seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(layer.receive(channel), seconds)

    await layer.group_add(group, channel)
    try:
        with metrics.LONG_POLL_WAITERS.track_inprogress():
            async with watcher.listening():
                yield wake
    finally:
        await layer.group_discard(group, channel)


@router.get("/proposals/{proposal_id}/wait", response={200: ProposalOut, **ERRORS})
async def wait_for_decision(request, proposal_id: UUID, timeout: float = Query(30, ge=0, le=60)):
    """Long-poll: answers as soon as the proposal leaves ``pending`` (decided, expired, superseded…),
    or after ``timeout`` seconds (≤ 60) with its status at that moment (then ask again).

    The database is the source of truth; the channel layer only wakes the waiter early. The proposal
    is re-read (one query by primary key) when an event arrives, at least every
    ``ORCHESTRA_LONG_POLL_RECHECK_SECONDS``, at its ``expires_at`` (expiring it then, so the waiter
    learns ``expired`` at once, with or without a task cluster) and at the end of the wait."""
    proposal = await sync_to_async(permissions.access_proposal)(request.auth, proposal_id)
    proposal = await wait_until_decided(proposal, timeout)
    if "votes" not in getattr(proposal, "_prefetched_objects_cache", {}):
        await sync_to_async(selectors.load_votes)(proposal)  # the answer is rendered here, in async code
    return proposal


async def wait_until_decided(proposal: Proposal, timeout: float) -> Proposal:
    """``proposal`` once it leaves ``pending``, or as it is after ``timeout`` seconds (see the route)."""
    proposal = await sync_to_async(expired_if_due)(proposal)
    if not proposal.is_pending or timeout <= 0:
        return proposal
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(timeout, settings.ORCHESTRA_LONG_POLL_MAX_SECONDS)
    async with wakeups(proposal.pk) as wake:
        while True:
            proposal = await sync_to_async(reread)(proposal)  # first read after joining: nothing slips by
            left = deadline - loop.time()
            if not proposal.is_pending or left <= 0:
                return proposal
            await wake(min(left, settings.ORCHESTRA_LONG_POLL_RECHECK_SECONDS, until_expiry(proposal)))


def until_expiry(p: Proposal) -> float:
    """Seconds until ``p``'s ``expires_at`` (a little after it, so the re-read finds it due); inf without one."""
    if p.expires_at is None:
        return float("inf")
    return max(0.0, (p.expires_at - timezone.now()).total_seconds()) + 0.01


@router.get("/inbox/proposals", response={200: list[ProposalOut], **ERRORS}, tags=["reviewers"])
@paginate(BoundedLimitOffset)
def list_decidable_proposals(request, status: ProposalStatus = ReviewerStatusFilter, batch: str | None = BatchFilter):
    """Reviewers: proposals in the inboxes you may decide in (default: pending ones), newest first.
    With ``batch``, only that batch's (one agent step's parallel tool calls share one)."""
    user = permissions.require_reviewer(request.auth)
    qs = selectors.proposals_for_reviewer(user, for_decision=True, status=status)
    return selectors.with_votes(qs.filter(batch=batch) if batch else qs)


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


@router.post("/decisions", response={200: DecisionsOut, **ERRORS}, tags=["reviewers"])
def decide_proposals(request, payload: DecisionsIn):
    """Reviewers: decide several proposals in one request (e.g. a batch of parallel tool calls), each
    as ``POST /proposals/{id}/decision`` would: permission-checked, decided exactly once, on its own.
    Always 200 once the body is valid: each result says ``ok`` with the proposal, or the ``error``
    (and the ``status_code`` the single route would answer: 403, 404, 409, 422) for that proposal
    alone; the others are decided all the same. 422 for the whole request when a proposal is named
    twice (``decisions.<n>.proposal_id``); then nothing is decided."""
    user = permissions.require_reviewer(request.auth)
    items = [batches.DecisionItem(proposal_id=d.proposal_id, verdict=d.verdict, comment=d.comment, args=d.args,
                                  supersede_conflicts=d.supersede_conflicts) for d in payload.decisions]
    outcomes = batches.proposals_decide(reviewer=user, items=items)
    results = [{"proposal_id": o.proposal_id, "ok": o.ok, "status_code": o.error.status if o.error else 200,
                "proposal": o.proposal, "error": o.error.as_dict() if o.error else None} for o in outcomes]
    decided = sum(1 for o in outcomes if o.ok)
    return {"results": results, "decided": decided, "failed": len(outcomes) - decided}


@router.post("/proposals/{proposal_id}/escalate", response={200: ProposalOut, **ERRORS}, tags=["reviewers"])
def escalate_proposal(request, proposal_id: UUID, payload: EscalationIn):
    """Reviewers: move a pending proposal up a level (or to ``to_level``), with a reason."""
    user = permissions.require_reviewer(request.auth)
    proposal = permissions.access_proposal(user, proposal_id, for_decision=True)
    return services.proposal_escalate(proposal=proposal, reason=payload.reason, by=user, to_level=payload.to_level)


__all__ = ["router", "Proposal"]

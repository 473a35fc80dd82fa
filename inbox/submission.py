"""Submission: a proposed action arrives, is checked against the agent's limits and the action's
contract, routed by policy (auto-approve, review in an inbox, escalate, forbid) and stored.

``proposal_submit`` writes inside one transaction, with the agent's callback owed there for an
auto-approval (``inbox.outbox``), and queues its live event with ``transaction.on_commit``. When the
agent or its domain has a daily budget, that transaction also takes the budget's row locks
(``budget.lock_budgets``) before the policies are evaluated, so the budget check and the spend (the
INSERT) are atomic: concurrent submissions of one agent (or domain) are routed exactly as if they had
arrived one after the other. Without a budget nothing is locked and evaluation runs before the
transaction, as cheap as it can be.
"""
import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from governance import limits
from governance.audit.context import current_trace_id, current_workflow
from governance.models import Agent, Policy
from governance.policies import Evaluation, Facts, evaluate
from governance.services import level_inbox_id
from governance.snapshot import current as governance_snapshot
from orchestra_site.errors import Forbidden, IdempotencyConflict, InvalidInput

from . import audit, budget, events, history, hooks, metrics, selectors, tool_calls
from .models import Proposal
from .notifications import fanout as notify
from .outcomes import tell_agent

Status = Proposal.Status
RELATED = selectors.PROPOSAL_RELATED


def request_hash(data: dict) -> str:
    """Canonical digest of a proposal body, to tell an idempotent replay from a different request."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def body_digest(raw: bytes) -> str | None:
    """Digest of a raw JSON request body, canonicalised (key order and spacing do not count); None
    when it is not a JSON object. What an ``Idempotency-Key`` is bound to over HTTP: a replay is
    judged on the body as sent, before any validation (``proposal_replay``)."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def proposal_replay(*, agent: Agent, idempotency_key: str, digest: str) -> Proposal | None:
    """The proposal ``agent`` already submitted with ``idempotency_key``, when ``digest`` (from
    ``body_digest``) matches its request; None when the key is new. Raises ``IdempotencyConflict``
    (409) when the key was used with another body. Looked up before the body is validated, so an
    exact replay always gets the original, even once its ``expires_at`` has passed (as Stripe's
    idempotency keys do)."""
    existing = Proposal.objects.select_related(*RELATED).filter(agent=agent, idempotency_key=idempotency_key).first()
    return None if existing is None else _same_request(existing, digest)


def _replay(agent: Agent, key: str, digest: str) -> Proposal:
    return _same_request(Proposal.objects.select_related(*RELATED).get(agent=agent, idempotency_key=key), digest)


def _same_request(existing: Proposal, digest: str) -> Proposal:
    if existing.request_hash != digest:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used with a different body.", proposal_id=str(existing.id)
        )
    return existing


def facts_for(agent: Agent, data: dict) -> Facts:
    """The facts policies are evaluated on, including budget and tool-list checks."""
    tool = limits.tool_of(data["action"], data.get("args") or {})
    return Facts(
        agent_id=agent.pk, domain_id=agent.domain_id, action=data["action"], risk=data["risk"],
        confidence=data["confidence"], cost_usd=data["cost_usd"], classification=data["classification"],
        over_budget=budget.over_budget(agent, data["cost_usd"]), off_tool_list=limits.off_tool_list(agent, tool),
        tool=tool,
    )


def proposal_evaluate(*, agent: Agent, data: dict) -> Evaluation:
    """Dry-run: what would happen to this proposal (no write, no rate-limit hit)."""
    tool_calls.validate_proposed(data)
    return evaluate(facts_for(agent, data))


def proposal_submit(*, agent: Agent, data: dict, idempotency_key: str | None = None,
                    digest: str | None = None) -> tuple[Proposal, bool]:
    """Store a proposed action from ``agent`` and route it by policy.

    ``data`` holds the validated ``ProposalIn`` fields; ``digest`` identifies the request for
    idempotent replays (the API passes ``body_digest`` of the raw body; default ``request_hash(data)``).
    Returns (proposal, created); with an ``idempotency_key`` already used by this agent, returns the
    earlier proposal and False when the digest is the same, and raises ``IdempotencyConflict`` (409)
    when it differs.
    Raises ``Forbidden`` (403) when the agent or its domain is suspended, or a policy forbids it (the
    refused proposal is kept, status ``refused``, for the audit trail); ``RateLimited`` (429) over the
    agent's or domain's rate; ``InvalidInput`` (422) when args break the tool's ``args_schema`` or the
    action type's contract.
    """
    if not agent.is_active:
        raise Forbidden(f"Agent {agent.name} is suspended.", code="agent_suspended")
    domain = agent.domain
    if domain.is_suspended:
        raise Forbidden(f"Domain {domain.name} is suspended.", code="domain_suspended")
    digest = digest or request_hash(data)
    if idempotency_key and Proposal.objects.filter(agent=agent, idempotency_key=idempotency_key).exists():
        return _replay(agent, idempotency_key, digest), False
    data, links = _resolve_links(agent, data)
    tool_calls.validate_proposed(data)
    limits.check_rate(agent)
    budgeted = budget.has_budget(agent)
    ev = None if budgeted else evaluate(facts_for(agent, data))
    try:
        with transaction.atomic():
            if budgeted:  # the budget check and the spend in one transaction, one submission at a time
                budget.lock_budgets(agent)
                ev = evaluate(facts_for(agent, data))
            proposal = _route(agent, data, ev, digest, idempotency_key)
            for handler, target in links:
                handler.route(proposal, target, ev)
                proposal.link_kind = proposal.link_kind or handler.name  # who answers for it (inbox.hooks)
            _attach_inbox(proposal)
            history.proposal_save(proposal, created=True)
            audit.submitted(proposal, ev.reasons)
            for handler, target in links:
                handler.linked(proposal, target)
            transaction.on_commit(lambda: metrics.observe_submission(proposal))
            if proposal.is_pending:
                _mark_conflicts(proposal)
                transaction.on_commit(lambda: events.announce(proposal, "proposal.created"))
                notify.proposal_created(proposal)  # nothing but an in-process check unless a reviewer opted in
            elif proposal.callback_url and proposal.status == Status.APPROVED:
                tell_agent(proposal)
    except IntegrityError:
        if not idempotency_key:
            raise
        return _replay(agent, idempotency_key, digest), False
    if proposal.status == Status.REFUSED:
        raise Forbidden(f"Refused by policy: {ev.reason}", code="forbidden_by_policy", proposal_id=str(proposal.id))
    return proposal, True


def _resolve_links(agent: Agent, data: dict) -> tuple[dict, list]:
    """``data`` without the link fields (``hooks.ProposalLinks``: e.g. ``incident``), and the
    (handler, resolved target) of each one given. A link field with no handler is refused (422)."""
    data, links = dict(data), []
    for name in [key for key in data if key not in PROPOSAL_FIELDS]:
        ref = data.pop(name)
        if ref is None:
            continue
        handler = hooks.links(name)
        if handler is None:
            raise InvalidInput(f"{name}: nothing here can link a proposal to it.", field=name)
        links.append((handler, handler.resolve(agent, ref)))
    return data, links


PROPOSAL_FIELDS = {f.name for f in Proposal._meta.concrete_fields}


def _route(agent: Agent, data: dict, ev: Evaluation, digest: str, idempotency_key: str | None) -> Proposal:
    """The unsaved proposal, routed as ``ev`` says (refused, auto-approved, or pending in an inbox)."""
    now = timezone.now()
    proposal = Proposal(
        agent=agent, idempotency_key=idempotency_key or None, request_hash=digest, category=ev.category,
        level=ev.level, policy_id=ev.policy_id, policy_version=ev.policy_version, routing_reason=ev.reason,
        quorum=ev.quorum, **data,
    )
    proposal.trace_id = current_trace_id()
    proposal.workflow = proposal.workflow or current_workflow()
    if ev.policy_id:  # the response names the policy: no SELECT for what the snapshot already knows
        proposal.policy = Policy(pk=ev.policy_id, name=ev.policy_name)
    if ev.expiry_seconds:
        hard = now + timedelta(seconds=ev.expiry_seconds)
        proposal.expires_at = min(proposal.expires_at, hard) if proposal.expires_at else hard
    if ev.outcome == "forbid":
        proposal.status, proposal.decided_at = Status.REFUSED, now
        proposal.decision_comment = ev.reason
    elif ev.outcome == "auto_approve" and proposal.kind != Proposal.Kind.QUESTION:  # a question needs a human
        proposal.status, proposal.decided_at = Status.APPROVED, now
        proposal.decision_comment, proposal.final_args = ev.reason, proposal.args
        audit.bind_approval(proposal, now)
    else:
        if ev.outcome == "auto_approve":
            proposal.routing_reason += " A question needs a human's answer: sent for review instead."
        proposal.inbox_id = level_inbox_id(agent.domain, ev.level, ev.target_inbox_id)
        proposal.sla_due_at = now + timedelta(seconds=ev.sla_seconds) if ev.sla_seconds else None
    proposal._change_reason = f"submitted by agent; {ev.outcome}"
    return proposal


def _attach_inbox(p: Proposal) -> None:
    """Give ``p`` its inbox from the governance snapshot (the row as of the current governance
    version; a change to an inbox bumps it): the answer names the inbox without a SELECT."""
    field = Proposal._meta.get_field("inbox")
    if p.inbox_id is not None and not field.is_cached(p):
        inbox = governance_snapshot().inbox(p.inbox_id)
        if inbox is not None:
            p.inbox = inbox


CONFLICTS_MARKED_MAX = 20

# PostgreSQL: the rivals and both directions of each link in one statement (three round trips otherwise).
MARK_CONFLICTS_SQL = """
WITH rivals AS (
    SELECT id FROM {proposal} WHERE resource = %(resource)s AND status = %(pending)s
        AND agent_id <> %(agent)s AND id <> %(id)s ORDER BY created_at DESC LIMIT %(limit)s)
INSERT INTO {link} ({source}, {target})
SELECT %(id)s, id FROM rivals UNION ALL SELECT id, %(id)s FROM rivals
ON CONFLICT DO NOTHING
"""


def _mark_conflicts(p: Proposal) -> None:
    """Two pending proposals from different agents on the same resource conflict.

    The new proposal is linked (both ways) to the ``CONFLICTS_MARKED_MAX`` most recent such proposals:
    enough to show side by side, and constant work per proposal even when hundreds wait on one
    resource. Superseding does not depend on these links (see ``_supersede_conflicts``)."""
    if not p.resource:
        return
    if connection.vendor == "postgresql":
        link = Proposal.conflicts_with.through._meta
        qn = connection.ops.quote_name
        sql = MARK_CONFLICTS_SQL.format(
            proposal=qn(Proposal._meta.db_table), link=qn(link.db_table),
            source=qn(link.get_field("from_proposal").column), target=qn(link.get_field("to_proposal").column))
        with connection.cursor() as cursor:
            cursor.execute(sql, {"resource": p.resource, "pending": Status.PENDING, "agent": p.agent_id, "id": p.pk,
                                 "limit": CONFLICTS_MARKED_MAX})
        return
    rivals = selectors.pending_rivals(p).order_by("-created_at")
    others = list(rivals.values_list("pk", flat=True)[:CONFLICTS_MARKED_MAX])
    if others:
        p.conflicts_with.add(*others)

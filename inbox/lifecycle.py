"""The proposal lifecycle: submit → (auto-approve | review | refuse) → votes → decision, escalation,
expiry, supersession. The only code that changes a proposal's status.

Each function writes inside ``transaction.atomic`` (history rows included) and queues live events
and webhooks with ``transaction.on_commit``. Decisions lock the proposal row (``SELECT … FOR
UPDATE``; SQLite serialises writers with BEGIN IMMEDIATE), so each is taken exactly once.
"""
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from jsonschema import Draft202012Validator
from simple_history.utils import bulk_update_with_history

from governance import limits
from governance.models import Escalation, Level, Policy
from governance.policies import LEVELS, Evaluation, Facts, evaluate
from governance.services import level_inbox_id
from governance.snapshot import current as governance_snapshot
from orchestra_site.errors import Conflict, Forbidden, IdempotencyConflict, InvalidInput, ProposalAlreadyDecided
from orchestra_site.formats import change_reason, timestamp

from . import events
from .models import Agent, Proposal, Vote

Status = Proposal.Status
RELATED = ("agent", "inbox", "decided_by", "policy")


# --- submission -------------------------------------------------------------------------------------

def request_hash(data: dict) -> str:
    """Canonical digest of a proposal body, to tell an idempotent replay from a different request."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _replay(agent: Agent, key: str, digest: str) -> Proposal:
    existing = Proposal.objects.select_related(*RELATED).get(agent=agent, idempotency_key=key)
    if existing.request_hash != digest:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used with a different body.", proposal_id=str(existing.id)
        )
    return existing


def validate_args(action: str, args: dict) -> None:
    """Check ``args`` against the action type's JSON Schema (its data contract), if it has one.
    Raises ``InvalidInput`` (422) naming the JSON path, e.g. ``args.to_version``."""
    schema = governance_snapshot().action_types.get(action, (None, None))[1]
    if not schema:
        return
    errors = sorted(Draft202012Validator(schema).iter_errors(args), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        parts = ["args", *map(str, err.absolute_path)]
        if err.validator == "required" and isinstance(err.instance, dict):
            parts += [name for name in err.validator_value if name not in err.instance][:1]
        path = ".".join(parts)
        raise InvalidInput(f"{path}: {err.message} (contract of {action})", field=path)


def facts_for(agent: Agent, data: dict) -> Facts:
    """The facts policies are evaluated on, including budget and tool-list checks."""
    tool = limits.tool_of(data["action"], data.get("args") or {})
    return Facts(
        agent_id=agent.pk, domain_id=agent.domain_id, action=data["action"], risk=data["risk"],
        confidence=data["confidence"], cost_usd=data["cost_usd"], classification=data["classification"],
        over_budget=limits.over_budget(agent, data["cost_usd"]), off_tool_list=limits.off_tool_list(agent, tool),
        tool=tool,
    )


def proposal_evaluate(*, agent: Agent, data: dict) -> Evaluation:
    """Dry-run: what would happen to this proposal (no write, no rate-limit hit)."""
    validate_args(data["action"], data.get("args") or {})
    return evaluate(facts_for(agent, data))


def proposal_submit(*, agent: Agent, data: dict, idempotency_key: str | None = None) -> tuple[Proposal, bool]:
    """Store a proposed action from ``agent`` and route it by policy.

    ``data`` holds the validated ``ProposalIn`` fields. Returns (proposal, created); with an
    ``idempotency_key`` already used by this agent, returns the earlier proposal and False when the
    body is the same, and raises ``IdempotencyConflict`` (409) when it differs.
    Raises ``Forbidden`` (403) when the agent or its domain is suspended, or a policy forbids it (the
    refused proposal is kept, status ``refused``, for the audit trail); ``RateLimited`` (429) over the
    agent's or domain's rate; ``InvalidInput`` (422) when args break the action type's contract.
    """
    if not agent.is_active:
        raise Forbidden(f"Agent {agent.name} is suspended.", code="agent_suspended")
    domain = agent.domain
    if domain.is_suspended:
        raise Forbidden(f"Domain {domain.name} is suspended.", code="domain_suspended")
    digest = request_hash(data)
    if idempotency_key and Proposal.objects.filter(agent=agent, idempotency_key=idempotency_key).exists():
        return _replay(agent, idempotency_key, digest), False
    validate_args(data["action"], data.get("args") or {})
    limits.check_rate(agent)
    ev = evaluate(facts_for(agent, data))

    now = timezone.now()
    proposal = Proposal(
        agent=agent, idempotency_key=idempotency_key or None, request_hash=digest, category=ev.category,
        level=ev.level, policy_id=ev.policy_id, policy_version=ev.policy_version, routing_reason=ev.reason,
        quorum=ev.quorum, **data,
    )
    if ev.policy_id:  # the response names the policy: no SELECT for what the snapshot already knows
        proposal.policy = Policy(pk=ev.policy_id, name=ev.policy_name)
    if ev.expiry_seconds:
        hard = now + timedelta(seconds=ev.expiry_seconds)
        proposal.expires_at = min(proposal.expires_at, hard) if proposal.expires_at else hard
    if ev.outcome == "forbid":
        proposal.status, proposal.decided_at = Status.REFUSED, now
        proposal.decision_comment = ev.reason
    elif ev.outcome == "auto_approve":
        proposal.status, proposal.decided_at = Status.APPROVED, now
        proposal.decision_comment, proposal.final_args = ev.reason, proposal.args
    else:
        proposal.inbox_id = level_inbox_id(domain, ev.level, ev.target_inbox_id)
        proposal.sla_due_at = now + timedelta(seconds=ev.sla_seconds) if ev.sla_seconds else None
    proposal._change_reason = f"submitted by agent; {ev.outcome}"
    try:
        with transaction.atomic():
            proposal.save(force_insert=True)
            if proposal.is_pending:
                _mark_conflicts(proposal)
                transaction.on_commit(lambda: events.announce(proposal, "proposal.created"))
            elif proposal.callback_url and proposal.status == Status.APPROVED:
                transaction.on_commit(lambda: _tell_agent(proposal))
    except IntegrityError:
        if not idempotency_key:
            raise
        return _replay(agent, idempotency_key, digest), False
    if proposal.status == Status.REFUSED:
        raise Forbidden(f"Refused by policy: {ev.reason}", code="forbidden_by_policy", proposal_id=str(proposal.id))
    return proposal, True


CONFLICTS_MARKED_MAX = 20


def _mark_conflicts(p: Proposal) -> None:
    """Two pending proposals from different agents on the same resource conflict.

    The new proposal is linked (both ways) to the ``CONFLICTS_MARKED_MAX`` most recent such proposals:
    enough to show side by side, and constant work per proposal even when hundreds wait on one
    resource. Superseding does not depend on these links (see ``_supersede_conflicts``)."""
    if not p.resource:
        return
    others = list(_pending_rivals(p).order_by("-created_at").values_list("pk", flat=True)[:CONFLICTS_MARKED_MAX])
    if others:
        p.conflicts_with.add(*others)


def _pending_rivals(p: Proposal):
    """Pending proposals of other agents on ``p``'s resource: by definition, those in conflict with it."""
    return Proposal.objects.filter(resource=p.resource, status=Status.PENDING).exclude(agent_id=p.agent_id) \
        .exclude(pk=p.pk)


# --- decisions --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    status: str
    needs_comment: bool = False
    needs_args: bool = False
    approves: bool = False


VERDICTS = {
    "approve": Verdict(Status.APPROVED, approves=True),
    "reject": Verdict(Status.REJECTED, needs_comment=True),
    "edit": Verdict(Status.EDITED, needs_args=True, approves=True),
    "answer": Verdict(Status.ANSWERED, needs_comment=True),
}


def _check_verdict(verdict: str, comment: str, args) -> Verdict:
    if verdict not in VERDICTS:
        raise InvalidInput(f"verdict must be one of {', '.join(VERDICTS)}.", field="verdict")
    rule = VERDICTS[verdict]
    if rule.needs_comment and not (comment or "").strip():
        raise InvalidInput(f"A comment is required to {verdict}.", field="comment")
    if rule.needs_args and not isinstance(args, dict):
        raise InvalidInput("Edited args must be a JSON object.", field="args")
    if args is not None and not rule.needs_args:
        raise InvalidInput(f"Only `edit` changes args; {verdict} takes none (use verdict `edit` to change them).",
                           field="args")
    return rule


def proposal_decide(*, proposal: Proposal, reviewer, verdict: str, comment: str = "", args=None,
                    supersede_conflicts: bool = True) -> Proposal:
    """Record ``reviewer``'s verdict on a pending proposal; decide it when the rules say so.

    The caller has checked ``permissions.access_proposal(reviewer, id, for_decision=True)``.
    - reject / answer: decided at once (a single rejection rejects).
    - approve / edit: a vote. The proposal is approved (``edited_and_approved`` after an edit) when
      the approvals given since the last edit reach its quorum *and* one of them comes from someone
      who neither owns the proposing agent nor edited the args (four-eyes). An edit's args must also
      keep the action type's contract.
    - approving can supersede pending conflicting proposals (their agents are told).
    Raises ``ProposalAlreadyDecided`` (409, names who decided first), ``Conflict`` (409: frozen, or
    this reviewer already voted), ``InvalidInput`` (422: bad verdict, missing comment or args).
    """
    rule = _check_verdict(verdict, comment, args)
    if rule.needs_args:
        validate_args(proposal.action, args)
    with transaction.atomic():
        locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
        if not locked.is_pending:
            raise _already_decided(locked)
        if locked.is_frozen:
            raise Conflict("This proposal is frozen: its agent or domain is suspended.", code="frozen")
        if Vote.objects.filter(proposal=locked, reviewer=reviewer).exists():
            raise Conflict("You have already voted on this proposal.", code="already_voted")
        Vote.objects.create(proposal=locked, reviewer=reviewer, verdict=verdict, comment=comment or "",
                            args=args if rule.needs_args else None)
        if rule.needs_args:
            locked.final_args = args
        if not rule.approves or _quorum_reached(locked):
            _decide(locked, reviewer, rule, verdict, comment)
            if rule.approves and supersede_conflicts:
                _supersede_conflicts(locked)
        else:
            locked._change_reason = f"{verdict} by {reviewer.get_username()} (awaiting quorum)"
            locked.save()
            transaction.on_commit(lambda: events.announce(locked, "proposal.updated"))
    return Proposal.objects.select_related(*RELATED).get(pk=locked.pk)


def _quorum_reached(p: Proposal) -> bool:
    votes = list(p.votes.order_by("created_at", "id"))
    last_edit = max((i for i, v in enumerate(votes) if v.verdict == "edit"), default=0)
    approvals = [v for v in votes[last_edit:] if v.verdict in ("approve", "edit")]
    editors = {v.reviewer_id for v in votes if v.verdict == "edit"}
    owner = Agent.objects.filter(pk=p.agent_id).values_list("owner_id", flat=True).first()
    independent = [v for v in approvals if v.reviewer_id not in editors and v.reviewer_id != owner]
    return len(approvals) >= p.quorum and bool(independent)


def _decide(p: Proposal, reviewer, rule: Verdict, verdict: str, comment: str) -> None:
    edited = p.votes.filter(verdict="edit").exists()
    p.status = Status.EDITED if rule.approves and edited else rule.status
    p.decided_by, p.decided_at = reviewer, timezone.now()
    p.decision_comment = comment or ""
    if not edited:
        p.final_args = p.args if rule.approves else None
    p._change_reason = f"{verdict} by {reviewer.get_username()}"
    p.save()
    transaction.on_commit(lambda: _after_decision(p))


def _supersede_conflicts(p: Proposal) -> None:
    """Approving ``p`` supersedes every proposal still in conflict with it (pending, same resource,
    another agent), marked or not; their agents are told like any decision."""
    if not p.resource:
        return
    rivals = list(_pending_rivals(p).select_for_update())
    if rivals:
        p.conflicts_with.add(*rivals)  # the record says what it superseded
    for other in rivals:
        other.status, other.decided_at = Status.SUPERSEDED, timezone.now()
        other.decision_comment = f"Superseded: proposal {p.pk} on {p.resource} was approved instead."
        other._change_reason = f"superseded by {p.pk}"
        other.save()
        transaction.on_commit(lambda o=other: _after_decision(o))


def _already_decided(p: Proposal) -> ProposalAlreadyDecided:
    who = p.decided_by.get_username() if p.decided_by_id else "policy"
    when = timestamp(p.decided_at) if p.decided_at else None
    return ProposalAlreadyDecided(
        f"Already {p.get_status_display().lower()} by {who}.", decided_by=who, decided_at=when, status=p.status
    )


def _after_decision(p: Proposal) -> None:
    events.announce(p, "proposal.decided")
    _tell_agent(p)


def _tell_agent(p: Proposal) -> None:
    if p.callback_url:
        from .tasks import enqueue_webhook

        enqueue_webhook(p.pk)


# --- escalation and expiry --------------------------------------------------------------------------

def next_level(level: str) -> str | None:
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


def proposal_escalate(*, proposal: Proposal, reason: str, by=None, to_level: str | None = None) -> Proposal:
    """Move a pending proposal up to ``to_level`` (default: the next level) and restart its SLA.

    ``by`` is the reviewer who escalated by hand (None for the SLA timer). Records an ``Escalation``;
    the old inbox's pages drop it and the new inbox's pages show it. Raises ``InvalidInput`` without
    a reason, ``Conflict`` when already at the top level or frozen, ``ProposalAlreadyDecided``.
    """
    if not (reason or "").strip():
        raise InvalidInput("A reason is required to escalate.", field="reason")
    with transaction.atomic():
        p = Proposal.objects.select_for_update().select_related("agent__domain").get(pk=proposal.pk)
        if not p.is_pending:
            raise _already_decided(p)
        if p.is_frozen:
            raise Conflict("This proposal is frozen: its agent or domain is suspended.", code="frozen")
        target = to_level or next_level(p.level)
        if target is None or LEVELS.index(target) <= LEVELS.index(p.level):
            raise Conflict("Already at the enterprise level: nobody above to escalate to.", code="top_level")
        old_inbox = p.inbox_id
        p.level, p.inbox_id = target, level_inbox_id(p.agent.domain, target)
        sla = governance_sla(p)
        p.sla_due_at = timezone.now() + timedelta(seconds=sla)
        p._change_reason = change_reason(f"escalated to {target}: {reason}")
        p.save()
        Escalation.objects.create(proposal=p, from_inbox_id=old_inbox, to_inbox_id=p.inbox_id, to_level=target,
                                  reason=reason, by=by)
        transaction.on_commit(lambda: events.announce(p, "proposal.moved", inbox_ids=[old_inbox, p.inbox_id]))
    return Proposal.objects.select_related(*RELATED).get(pk=p.pk)


def governance_sla(p: Proposal) -> int:
    from governance.policies import DEFAULT_SLA_SECONDS

    policy = governance_snapshot().policies
    sla = next((c.sla_seconds for c in policy if c.id == p.policy_id and c.sla_seconds), None)
    return sla or DEFAULT_SLA_SECONDS[p.risk]


def proposals_escalate_overdue(now=None) -> int:
    """Escalate every pending, unfrozen proposal past its SLA deadline (run by a django-q2 schedule).
    At the enterprise level there is nobody above: the deadline is cleared and the miss recorded."""
    now = now or timezone.now()
    count = 0
    overdue = Proposal.objects.filter(status=Status.PENDING, is_frozen=False, sla_due_at__lt=now)
    for p in overdue.select_related("agent__domain").order_by("sla_due_at")[:500]:
        due = p.sla_due_at.isoformat(timespec="seconds")
        if next_level(p.level) is None:
            with transaction.atomic():
                Escalation.objects.create(proposal=p, from_inbox_id=p.inbox_id, to_inbox_id=p.inbox_id,
                                          to_level=p.level, reason=f"SLA missed at the enterprise level (due {due}).")
                Proposal.objects.filter(pk=p.pk).update(sla_due_at=None)
            continue
        try:
            proposal_escalate(proposal=p, reason=f"SLA missed (due {due}).")
            count += 1
        except (Conflict, ProposalAlreadyDecided):
            continue
    return count


def proposals_expire_due(now=None) -> int:
    """Expire pending proposals past their hard expiry and tell their agents (django-q2 schedule).
    Nothing runs: an expired proposal is not approved."""
    now = now or timezone.now()
    count = 0
    for pk in Proposal.objects.filter(status=Status.PENDING, expires_at__lt=now).values_list("pk", flat=True)[:500]:
        with transaction.atomic():
            p = Proposal.objects.select_for_update().get(pk=pk)
            if not p.is_pending:
                continue
            p.status, p.decided_at = Status.EXPIRED, now
            p.decision_comment = "Expired before a decision; nothing was run."
            p._change_reason = "expired"
            p.save()
            transaction.on_commit(lambda p=p: _after_decision(p))
            count += 1
    return count


def proposals_freeze(*, agent_ids=None, domain=None, frozen: bool, reason: str, by=None) -> int:
    """Freeze (or thaw) the pending proposals of some agents or a whole domain, with history rows
    naming ``by`` (the user who suspended or resumed, None for the system) and ``reason``.
    Returns how many proposals changed."""
    reason = change_reason(reason)
    qs = Proposal.objects.filter(status=Status.PENDING, is_frozen=not frozen)
    qs = qs.filter(agent_id__in=agent_ids) if agent_ids is not None else qs.filter(agent__domain=domain)
    if not frozen:  # thaw only where neither the agent nor its domain is still suspended
        qs = qs.filter(agent__status=Agent.Status.ACTIVE, agent__domain__is_suspended=False)
    items = list(qs.select_related("agent", "inbox", "decided_by"))
    for p in items:
        p.is_frozen = frozen
        p._change_reason = reason
    if items:
        bulk_update_with_history(items, Proposal, ["is_frozen"], default_user=by, default_change_reason=reason)
        transaction.on_commit(lambda: [events.announce(p, "proposal.updated") for p in items])
    return len(items)


__all__ = ["Level", "proposal_decide", "proposal_escalate", "proposal_evaluate", "proposal_submit",
           "proposals_escalate_overdue", "proposals_expire_due", "proposals_freeze"]

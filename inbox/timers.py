"""Timers and escalation: SLA deadlines move proposals up the authority levels, hard expiry ends them.

``proposal_escalate`` is also what a reviewer's "Escalate" button calls. The periodic sweep
(``inbox.tasks.sweep``, a django-q2 schedule) runs ``proposals_expire_due`` and
``proposals_escalate_overdue``; each change locks its row, so several clusters may sweep at once.
"""
import functools
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from governance.policies import DEFAULT_SLA_SECONDS, LEVELS
from governance.services import level_inbox_id
from governance.snapshot import current as governance_snapshot
from orchestra_site.errors import Conflict, InvalidInput, ProposalAlreadyDecided
from orchestra_site.formats import change_reason, timestamp

from . import audit, events
from .models import Escalation, Proposal
from .notifications import fanout as notify
from .outcomes import after_decision, already_decided

Status = Proposal.Status
RELATED = ("agent", "inbox", "decided_by", "policy")


# --- expiry -----------------------------------------------------------------------------------------

def _past_expiry(p: Proposal, now) -> bool:
    return p.is_pending and p.expires_at is not None and p.expires_at <= now


def refuse_after_expiry(locked: Proposal) -> None:
    """Under the row lock: no decision or escalation once ``expires_at`` has passed, whether or not
    the expiry is recorded yet. Raises ``ProposalAlreadyDecided`` with code ``expired`` (409)."""
    if locked.status == Status.EXPIRED or _past_expiry(locked, timezone.now()):
        when = timestamp(locked.expires_at) if locked.expires_at else None
        raise ProposalAlreadyDecided(f"Expired at {when}: no decision is accepted after expires_at.",
                                     code="expired", status=Status.EXPIRED, expires_at=when, decided_by=None,
                                     decided_at=timestamp(locked.decided_at or locked.expires_at))


def expiry_first(service):
    """For a service that refuses, under the row lock, a proposal past ``expires_at``: its
    transaction is rolled back, so record the expiry in a transaction of its own (the refusal and
    the stored status then agree), and pass the refusal on."""

    @functools.wraps(service)
    def wrapper(*, proposal: Proposal, **kwargs):
        try:
            return service(proposal=proposal, **kwargs)
        except ProposalAlreadyDecided as exc:
            if exc.code == "expired":
                proposal_expire(proposal=Proposal.objects.get(pk=proposal.pk))
            raise

    return wrapper


def proposal_expire(*, proposal: Proposal, now=None) -> bool:
    """Expire ``proposal`` if it is still pending and its ``expires_at`` has passed at ``now``
    (default: the current time): status ``expired``, nothing is run, its agent is told like after
    any decision (live event, webhook). Returns True when this call expired it, False when it was not
    due or no longer pending. Locks the row, so an expiry and a decision never both happen.

    Called by the periodic sweep (``proposals_expire_due``), and without waiting for it by long-poll
    waiters at ``expires_at``, by API reads, and by decisions or escalations that come too late: a
    proposal's expiry does not depend on a task cluster running."""
    now = now or timezone.now()
    if not _past_expiry(proposal, now):
        return False
    with transaction.atomic():
        p = (Proposal.objects.select_for_update(no_key=True, of=("self",)).select_related("agent__domain")
             .get(pk=proposal.pk))
        if not _past_expiry(p, now):
            return False
        p.status, p.decided_at = Status.EXPIRED, now
        p.decision_comment = "Expired before a decision; nothing was run."
        p._change_reason = "expired"
        p.save()
        audit.expired(p)
        after_decision(p)
    return True


def proposals_expire_due(now=None) -> int:
    """Expire pending proposals past their hard expiry and tell their agents (django-q2 schedule),
    each through ``proposal_expire``. Nothing runs: an expired proposal is not approved."""
    now = now or timezone.now()
    due = Proposal.objects.filter(status=Status.PENDING, expires_at__lte=now).order_by("expires_at")[:500]
    return sum(proposal_expire(proposal=p, now=now) for p in due.only("pk", "status", "expires_at"))


# --- escalation and the SLA -------------------------------------------------------------------------

def next_level(level: str) -> str | None:
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


@expiry_first
def proposal_escalate(*, proposal: Proposal, reason: str, by=None, to_level: str | None = None) -> Proposal:
    """Move a pending proposal up to ``to_level`` (default: the next level) and restart its SLA.

    ``by`` is the reviewer who escalated by hand (None for the SLA timer). Records an ``Escalation``;
    the old inbox's pages drop it and the new inbox's pages show it. Raises ``InvalidInput`` without
    a reason, ``Conflict`` when already at the top level or frozen, ``ProposalAlreadyDecided``
    (code ``expired`` once past ``expires_at``).
    """
    if not (reason or "").strip():
        raise InvalidInput("A reason is required to escalate.", field="reason")
    with transaction.atomic():
        p = (Proposal.objects.select_for_update(no_key=True, of=("self",)).select_related("agent__domain")
             .get(pk=proposal.pk))
        refuse_after_expiry(p)
        if not p.is_pending:
            raise already_decided(p)
        if p.is_frozen:
            raise Conflict("This proposal is frozen: its agent or domain is suspended.", code="frozen")
        target = to_level or next_level(p.level)
        if target is None or LEVELS.index(target) <= LEVELS.index(p.level):
            raise Conflict("Already at the enterprise level: nobody above to escalate to.", code="top_level")
        _move(p, target, reason, by)
    return Proposal.objects.select_related(*RELATED).get(pk=p.pk)


def _move(p: Proposal, target: str, reason: str, by) -> None:
    """Inside the transaction that locked ``p``: move it to ``target``'s inbox, restart its SLA, record
    the ``Escalation`` and a history row, and announce the move after commit."""
    old_inbox = p.inbox_id
    p.level, p.inbox_id = target, level_inbox_id(p.agent.domain, target)
    p.sla_due_at = timezone.now() + timedelta(seconds=governance_sla(p))
    p._change_reason = change_reason(f"escalated to {target}: {reason}")
    if by is not None:
        p._history_user = by
    p.save()
    escalation = Escalation.objects.create(proposal=p, from_inbox_id=old_inbox, to_inbox_id=p.inbox_id,
                                           to_level=target, reason=reason, by=by)
    audit.escalated(p, old_inbox, reason, by)
    notify.proposal_escalated(p, escalation.pk, by)
    transaction.on_commit(lambda: events.announce(p, "proposal.moved", inbox_ids=[old_inbox, p.inbox_id]))


def governance_sla(p: Proposal) -> int:
    policy = governance_snapshot().policies
    sla = next((c.sla_seconds for c in policy if c.id == p.policy_id and c.sla_seconds), None)
    return sla or DEFAULT_SLA_SECONDS[p.risk]


SWEEP_BATCH = 500


def overdue_ids(now) -> list:
    """Ids of pending, unfrozen proposals past their SLA deadline, most overdue first (at most
    ``SWEEP_BATCH``). Unlocked: each is locked and checked again before it changes."""
    overdue = Proposal.objects.filter(status=Status.PENDING, is_frozen=False, sla_due_at__lt=now)
    return list(overdue.order_by("sla_due_at").values_list("pk", flat=True)[:SWEEP_BATCH])


def proposals_escalate_overdue(now=None) -> int:
    """Escalate every pending, unfrozen proposal past its SLA deadline (run by a django-q2 schedule);
    returns how many moved. At the enterprise level there is nobody above: the deadline is cleared and
    the miss recorded (an ``Escalation`` to the same inbox, and a history row), not counted.

    Each proposal is locked (``SELECT … FOR UPDATE``) and checked again (still pending, unfrozen and
    overdue) in the transaction that changes it, so one decided, frozen or escalated by hand since the
    list was read is left alone, and several sweeps at once change each proposal once."""
    now = now or timezone.now()
    count = 0
    for pk in overdue_ids(now):
        with transaction.atomic():
            p = (Proposal.objects.select_for_update(no_key=True, of=("self",)).select_related("agent__domain")
                 .filter(pk=pk, status=Status.PENDING, is_frozen=False, sla_due_at__lt=now).first())
            if p is None:
                continue
            due = p.sla_due_at.isoformat(timespec="seconds")
            target = next_level(p.level)
            if target is None:
                _record_missed_sla(p, f"SLA missed at the enterprise level (due {due}).")
                continue
            _move(p, target, f"SLA missed (due {due}).", None)
            count += 1
    return count


def _record_missed_sla(p: Proposal, reason: str) -> None:
    """Inside the transaction that locked ``p``: nobody above the enterprise level, so clear the
    deadline (it is not missed again every minute) and record the miss as an ``Escalation`` to the
    same inbox and in the history."""
    p.sla_due_at = None
    p._change_reason = change_reason(reason)
    p.save(update_fields=["sla_due_at", "updated_at"])
    Escalation.objects.create(proposal=p, from_inbox_id=p.inbox_id, to_inbox_id=p.inbox_id, to_level=p.level,
                              reason=reason)
    audit.escalated(p, p.inbox_id, reason, None)

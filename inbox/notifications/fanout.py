"""What the proposal path calls, and the fan-out of an event to the reviewers who asked to be told.

On the proposal path (inside the transaction that makes it true) ``proposal_created`` and
``proposal_escalated`` cost one cache read when nobody opted in (``anyone_listening``); otherwise
they write one ``NotificationEvent`` and queue its fan-out after the commit. The fan-out (a django-q2
task, ``tasks.fan_out``) finds the reviewers told, permission-checked (they may decide in the inbox
now), and writes their deliveries in one transaction with the event's ``fanned_out_at``.

"About to breach its SLA": a pending, unfrozen proposal of which ``ORCHESTRA_NOTIFY_SLA_WARN_AT`` (default
0.8, i.e. 80 %) of its SLA has elapsed and whose deadline has not passed yet. The SLA is the one its
current inbox gave it (``timers.governance_sla``, restarted by each escalation), so each deadline is
warned about once (``key`` = the deadline); the notification sweep (every minute) looks for them.
"""
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.permissions import can_decide
from inbox import timers  # timers calls this module: attributes are read at call time
from inbox.models import Proposal

from .models import InboxSlack, NotificationEvent, NotificationPreference, OwedNotification
from .outbox import enqueue_fanouts
from .preferences import Email, anyone_listening

Kind = NotificationEvent.Kind
Channel = OwedNotification.Channel
FLAG = {Kind.NEW: "on_new", Kind.ESCALATED: "on_escalation", Kind.SLA: "on_sla"}
SLA_BATCH = 500


def _owe(p, kind: str, *, key: str = "", by=None) -> NotificationEvent | None:
    """Inside the caller's transaction: record that the reviewers of ``p``'s inbox are to be told about
    ``kind`` (once per proposal, kind and key), and queue the fan-out after commit."""
    fields = {"proposal_id": p.pk, "inbox_id": p.inbox_id, "kind": kind, "key": key, "by": by,
              "queued_at": timezone.now()}
    if kind == Kind.NEW:  # a new proposal is new once: no savepoint on the ingest path
        event = NotificationEvent.objects.create(**fields)
    else:
        try:
            with transaction.atomic():  # a savepoint: a repeat is a no-op, not a broken transaction
                event = NotificationEvent.objects.create(**fields)
        except IntegrityError:
            return None
    transaction.on_commit(lambda: enqueue_fanouts([event.pk]))
    return event


def proposal_created(p) -> None:
    """A proposal now waits in ``p.inbox``: tell those who asked (call inside the submitting transaction)."""
    if p.inbox_id is not None and anyone_listening():
        _owe(p, Kind.NEW)


def proposal_escalated(p, escalation_id, by=None) -> None:
    """``p`` was escalated to ``p.inbox`` (``escalation_id``: the ``Escalation`` row; ``by``: who did,
    None for the SLA timer): tell those of the new inbox who asked (call inside the escalating transaction)."""
    if p.inbox_id is not None and anyone_listening():
        _owe(p, Kind.ESCALATED, key=str(escalation_id), by=by)


def warn_at_fraction() -> float:
    return settings.ORCHESTRA_NOTIFY_SLA_WARN_AT


def sla_warnings_owe(now=None) -> int:
    """Owe a warning for each pending, unfrozen proposal whose SLA is about to be breached (module
    docstring), at most ``SLA_BATCH`` a run, soonest deadline first. Returns how many were owed. Does
    nothing (no query) when nobody opted in."""
    if not anyone_listening():
        return 0
    now = now or timezone.now()
    left = 1 - warn_at_fraction()
    longest = max(settings.ORCHESTRA_NOTIFY_SLA_LONGEST_SECONDS, 60)
    candidates = (Proposal.objects.filter(status=Proposal.Status.PENDING, is_frozen=False, inbox__isnull=False,
                                          sla_due_at__gt=now, sla_due_at__lte=now + timedelta(seconds=left * longest))
                  .only("pk", "inbox_id", "sla_due_at", "policy_id", "risk").order_by("sla_due_at")[:SLA_BATCH])
    candidates = list(candidates)
    warned = set(NotificationEvent.objects.filter(proposal__in=[p.pk for p in candidates], kind=Kind.SLA)
                 .values_list("proposal_id", "key"))
    owed = 0
    for p in candidates:
        key = p.sla_due_at.isoformat()
        if (p.pk, key) not in warned and p.sla_due_at - now <= timedelta(seconds=left * timers.governance_sla(p)):
            with transaction.atomic():
                owed += _owe(p, Kind.SLA, key=key) is not None
    return owed


def _listeners(kind: str):
    flag = FLAG[kind]
    return (NotificationPreference.objects.filter(**{flag: True}, user__is_active=True)
            .exclude(email=Email.OFF, slack=False).select_related("user"))


def recipients(event: NotificationEvent) -> tuple[list, list, bool]:
    """(users e-mailed now, users e-mailed in their digest, whether the inbox's Slack channel is posted
    to) for ``event``: reviewers who opted in for its kind and may decide in its inbox now (asked of
    ``governance.permissions.can_decide``), except who caused it. Slack only if the inbox has a channel."""
    now_, digest, slack = [], [], False
    for pref in _listeners(event.kind):
        user = pref.user
        if user.pk == event.by_id or not can_decide(user, event.inbox):
            continue
        if pref.email == Email.IMMEDIATE and user.email:
            now_.append(user)
        elif pref.email == Email.DIGEST and user.email:
            digest.append(user)
        slack = slack or pref.slack
    return now_, digest, slack and InboxSlack.objects.filter(inbox_id=event.inbox_id).exists()


def next_digest_at(now: datetime) -> datetime:
    """The next digest time after ``now``: every ``ORCHESTRA_NOTIFY_DIGEST_MINUTES`` from midnight UTC."""
    period = timedelta(minutes=settings.ORCHESTRA_NOTIFY_DIGEST_MINUTES)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + ((now - midnight) // period + 1) * period


def event_fan_out(event_id) -> list[OwedNotification]:
    """Write the deliveries of the event ``event_id`` and mark it fanned out, in one transaction (the
    event's row locked: of two runs at once, one writes them). Returns the deliveries to queue now
    (e-mails and Slack; digests wait for their time), [] when it was already fanned out or is gone."""
    with transaction.atomic():
        event = (NotificationEvent.objects.select_for_update(of=("self",)).select_related("inbox")
                 .filter(pk=event_id, fanned_out_at__isnull=True).first())
        if event is None:
            return []
        now = timezone.now()
        emailed, digest, slack = recipients(event)
        rows = [OwedNotification(event=event, channel=Channel.EMAIL, user=u, next_attempt_at=now, queued_at=now)
                for u in emailed]
        rows += [OwedNotification(event=event, channel=Channel.DIGEST, user=u, next_attempt_at=next_digest_at(now))
                 for u in digest]
        if slack:
            rows.append(OwedNotification(event=event, channel=Channel.SLACK, inbox_id=event.inbox_id,
                                         next_attempt_at=now, queued_at=now))
        OwedNotification.objects.bulk_create(rows)
        event.fanned_out_at = now
        event.save(update_fields=["fanned_out_at"])
    return [r for r in rows if r.channel != Channel.DIGEST]

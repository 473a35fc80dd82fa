"""The notification outbox's machinery: queueing, the lease on a delivery, retries with backoff, and the
sweep; the guarantees and helpers of ``inbox.outbox`` (the webhook outbox), for notifications.

- A fan-out or a delivery lost with a SIGKILLed cluster (off the broker, in a worker's memory, mid-send)
  is queued again by ``notifications_requeue`` (django-q2 schedule ``notification-outbox``, every
  minute) once it is due, not leased, and not queued in the last lease time; so is anything whose
  queueing failed. An event is fanned out once (its row is locked and marked in the transaction that
  writes its deliveries); a delivery is marked ``delivered`` only after the mail backend or Slack
  accepted it (at least once: one cut mid-send is sent again).
- A failed attempt is tried again after 10 s, 30 s, 90 s, … (``inbox.outbox.backoff_seconds``) up to
  ``ORCHESTRA_NOTIFY_MAX_ATTEMPTS`` attempts, then given up (``failed``, with its last error: the admin
  lists them). A digest is one e-mail for all of a reviewer's due digest rows, claimed together.
"""
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from governance.audit.changes import configuration_change
from inbox.outbox import backoff_seconds, lease_seconds, not_leased

from .models import NotificationEvent, OwedNotification

log = logging.getLogger("orchestra.notifications")
TASKS = "inbox.notifications.tasks"
REQUEUE_BATCH = 500
State = OwedNotification.State
Channel = OwedNotification.Channel


def _enqueue(func: str, ids: list, model, field: str) -> None:
    """Queue ``func(id)`` for each of ``ids``; those the broker refused are left unqueued for the sweep."""
    failed = []
    for pk in ids:
        try:
            async_task(f"{TASKS}.{func}", str(pk), task_name=f"notify-{func}-{pk}")
        except Exception:
            log.exception("could not queue %s(%s); the notification sweep will", func, pk)
            failed.append(pk)
    if failed:
        model.objects.filter(**{f"{field}__in": failed}).update(queued_at=None)


def enqueue_fanouts(event_ids: list) -> None:
    """Queue the fan-out of each event (after the commit that wrote them)."""
    _enqueue("fan_out", event_ids, NotificationEvent, "pk")


def enqueue_deliveries(rows: list[OwedNotification]) -> None:
    """Queue an attempt at each delivery of ``rows`` (digests are queued per reviewer by the sweep)."""
    _enqueue("deliver", [r.pk for r in rows if r.channel != Channel.DIGEST], OwedNotification, "pk")


def emails_owe(subject: str, body: str, recipients) -> list[OwedNotification]:
    """Inside the caller's transaction: owe one ready-made e-mail (``subject``, ``body``) to each
    distinct address in ``recipients`` (blank ones skipped; nobody sees the others' addresses), queued
    after the commit and delivered at least once like every notification (retries, the sweep, failures
    in admin). For apps above the inbox, e.g. an incident's notices. Returns the rows written."""
    now = timezone.now()
    rows = [OwedNotification(channel=Channel.EMAIL, to_email=to, subject=subject[:300], body=body,
                             next_attempt_at=now, queued_at=now)
            for to in sorted({r.strip() for r in recipients if r and r.strip()})]
    if rows:
        OwedNotification.objects.bulk_create(rows)
        transaction.on_commit(lambda: enqueue_deliveries(rows))
    return rows


def _lease(now):
    return now + timedelta(seconds=lease_seconds())


def delivery_claim(delivery_id) -> OwedNotification | None:
    """Take the lease on the owed delivery ``delivery_id`` and count one more attempt, in one conditional
    UPDATE; the row, or None when there is nothing to attempt now (done, not due, leased elsewhere)."""
    now = timezone.now()
    claimed = (OwedNotification.objects.filter(not_leased(now), pk=delivery_id, state=State.OWED,
                                               next_attempt_at__lte=now)
               .exclude(channel=Channel.DIGEST)
               .update(attempts=F("attempts") + 1, leased_until=_lease(now)))
    if not claimed:
        return None
    return OwedNotification.objects.select_related("event__proposal__agent", "event__inbox", "user").get(pk=delivery_id)


def digest_claim(user_id) -> list[OwedNotification]:
    """Take the lease on every due digest row of the reviewer ``user_id`` (one UPDATE; the lease's
    instant tells this run's rows from another's). [] when none is due and free."""
    now = timezone.now()
    until = _lease(now)
    due = OwedNotification.objects.filter(not_leased(now), user_id=user_id, channel=Channel.DIGEST, state=State.OWED,
                                          next_attempt_at__lte=now)
    ids = list(due.values_list("pk", flat=True)[:REQUEUE_BATCH])
    OwedNotification.objects.filter(not_leased(now), pk__in=ids, state=State.OWED).update(
        attempts=F("attempts") + 1, leased_until=until)
    return list(OwedNotification.objects.filter(pk__in=ids, leased_until=until)
                .select_related("event__proposal__agent", "event__inbox", "user").order_by("created_at"))


def deliveries_finish(rows: list[OwedNotification], *, ok: bool, error: str = "", refused: bool = False) -> str:
    """Record how the attempt holding the lease of ``rows`` ended; returns their new state: delivered
    (``ok``), refused (``refused``: a rule, never retried), owed again after the backoff, or failed
    after ``ORCHESTRA_NOTIFY_MAX_ATTEMPTS`` attempts."""
    now = timezone.now()
    attempts = max(r.attempts for r in rows)
    fields = {"leased_until": None, "queued_at": None, "last_error": error[:1000]}
    if ok:
        fields.update(state=State.DELIVERED, done_at=now)
    elif refused:
        fields.update(state=State.REFUSED, done_at=now)
    elif attempts >= settings.ORCHESTRA_NOTIFY_MAX_ATTEMPTS:
        fields.update(state=State.FAILED, done_at=now)
    else:
        fields["next_attempt_at"] = now + timedelta(seconds=backoff_seconds(attempts))
    OwedNotification.objects.filter(pk__in=[r.pk for r in rows], state=State.OWED).update(**fields)
    for row in rows:
        for name, value in fields.items():
            setattr(row, name, value)
    return rows[0].state


def delivery_retry(*, rows, by=None) -> int:
    """Admin: attempt again, now and from the first attempt, the given-up deliveries among ``rows``
    (after the address or the mail server was fixed), audited as done ``by``. Returns how many; the
    sweep queues them within a minute."""
    with transaction.atomic():
        count = (OwedNotification.objects.filter(pk__in=[r.pk for r in rows], state=State.FAILED)
                 .update(state=State.OWED, attempts=0, next_attempt_at=timezone.now(), done_at=None, queued_at=None))
        if count:
            configuration_change(f"{count} given-up notification deliveries to be tried again", by=by)
    return count


def notifications_requeue(now=None) -> dict:
    """Queue again what is owed and due, not in flight, not queued in the last lease time: fan-outs,
    deliveries, and one digest run per reviewer with due digest rows (at most ``REQUEUE_BATCH`` each).
    Returns the counts. Safe to run twice: a duplicate finds the row fanned out, leased or done."""
    now = now or timezone.now()
    recent = now - timedelta(seconds=lease_seconds())
    stale = Q(queued_at__isnull=True) | Q(queued_at__lt=recent)
    events = list(NotificationEvent.objects.filter(stale, fanned_out_at__isnull=True)
                  .order_by("created_at").values_list("pk", flat=True)[:REQUEUE_BATCH])
    if events:
        NotificationEvent.objects.filter(pk__in=events).update(queued_at=now)
        enqueue_fanouts(events)
    due = OwedNotification.objects.filter(not_leased(now), stale, state=State.OWED, next_attempt_at__lte=now)
    rows = list(due.exclude(channel=Channel.DIGEST).order_by("next_attempt_at")[:REQUEUE_BATCH])
    if rows:
        OwedNotification.objects.filter(pk__in=[r.pk for r in rows]).update(queued_at=now)
        enqueue_deliveries(rows)
    digests = due.filter(channel=Channel.DIGEST)
    users = sorted(set(digests.values_list("user_id", flat=True)[:REQUEUE_BATCH]))
    if users:
        digests.filter(user_id__in=users).update(queued_at=now)
        _enqueue("deliver_digest", users, OwedNotification, "user_id")
    return {"fanouts": len(events), "deliveries": len(rows), "digests": len(users)}


def owed_count() -> int:
    """How many notification deliveries are owed (not yet delivered, given up or refused)."""
    return OwedNotification.objects.filter(state=State.OWED).count()

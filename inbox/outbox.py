"""The webhook outbox: what makes a decision's callback survive any crash (at least once).

1. ``webhooks_owe`` runs *inside* the transaction that decides proposals: it writes one ``OwedWebhook``
   row per proposal with a callback URL, and queues its delivery task after the commit. A rolled-back
   decision owes nothing; a committed one owes its webhook even if the process dies right after.
2. The worker (``inbox.tasks.deliver_webhook``) claims the row with a conditional UPDATE (a lease: no
   other run may attempt it until ``leased_until``), POSTs, and marks it ``delivered`` only after a 2xx.
   A failure sets the next attempt after a backoff; the last allowed failure gives up (``failed``); a
   callback address the SSRF guard refuses is ``refused`` (a rule, not a passing failure).
3. ``webhooks_requeue`` (django-q2 schedule ``webhook-outbox``, every minute) queues again every row still
   owed, due, not leased and not queued recently: tasks lost with a killed cluster (taken off the Redis
   list, in a worker's memory, mid-POST), retries after their backoff, and anything whose queueing failed.

Every attempt carries the row's id as ``X-Orchestra-Delivery``; a receiver drops a delivery id it has
already handled. A run killed mid-POST leaves its lease, which runs out after the cluster's task timeout
plus the POST timeout; then the sweep queues it again and it is posted again (at least once).
"""
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import OwedWebhook, Proposal

log = logging.getLogger("orchestra.webhooks")
EVENT = "proposal.decided"
REQUEUE_BATCH = 500
State = OwedWebhook.State


def webhooks_owe(proposals: list[Proposal]) -> list[OwedWebhook]:
    """Inside the deciding transaction: record that each decided proposal in ``proposals`` with a
    ``callback_url`` is owed its ``proposal.decided`` webhook, and queue the deliveries after commit.
    One INSERT however many proposals. Returns the rows written."""
    now = timezone.now()
    rows = [OwedWebhook(proposal=p, event=EVENT, next_attempt_at=now, queued_at=now)
            for p in proposals if p.callback_url]
    if not rows:
        return []
    OwedWebhook.objects.bulk_create(rows)
    ids = [row.proposal_id for row in rows]
    transaction.on_commit(lambda: webhooks_enqueue(ids))
    return rows


def webhooks_enqueue(proposal_ids: list) -> None:
    """Put the delivery tasks of ``proposal_ids`` on the task queue. When the broker is unreachable the
    rows stay owed and unqueued, and the sweep queues them (nothing is lost, and the caller, often a
    decision that already committed, never fails because of the queue)."""
    from .tasks import enqueue_webhook  # the task module imports this one

    failed = []
    for pid in proposal_ids:
        try:
            enqueue_webhook(pid)
        except Exception:
            log.exception("could not queue the webhook of %s; the outbox sweep will", pid)
            failed.append(pid)
    if failed:
        OwedWebhook.objects.filter(proposal_id__in=failed, state=State.OWED).update(queued_at=None)


def lease_seconds() -> float:
    """How long an attempt may be in flight: django-q2 kills a task after the cluster's ``timeout``
    (``Q_CLUSTER``), and the POST itself lasts at most ``ORCHESTRA_WEBHOOK_TIMEOUT``."""
    return (settings.Q_CLUSTER.get("timeout") or 60) + settings.ORCHESTRA_WEBHOOK_TIMEOUT


def not_leased(now) -> Q:
    """Rows of an outbox (``leased_until``) that no run is attempting at ``now``."""
    return Q(leased_until__isnull=True) | Q(leased_until__lt=now)


def webhook_claim(proposal_id) -> OwedWebhook | None:
    """Take the lease on the owed webhook of ``proposal_id`` and count one more attempt, in one
    conditional UPDATE; returns the row, or None when there is nothing to attempt now (delivered, given
    up, not due yet, or another run holds the lease: of two runs at once, one wins)."""
    now = timezone.now()
    claimed = (OwedWebhook.objects.filter(not_leased(now), proposal_id=proposal_id, event=EVENT, state=State.OWED,
                                          next_attempt_at__lte=now)
               .update(attempts=F("attempts") + 1, leased_until=now + timedelta(seconds=lease_seconds())))
    if not claimed:
        return None
    return OwedWebhook.objects.select_related("proposal__agent").get(proposal_id=proposal_id, event=EVENT)


def backoff_seconds(attempt: int) -> int:
    """Delay in seconds before attempt ``attempt + 1``: 10, 30, 90, 270, … (capped at one hour)."""
    return min(10 * 3 ** (attempt - 1), 3600)


def webhook_finish(owed: OwedWebhook, *, ok: bool, error: str = "", refused: bool = False) -> str:
    """Record how the attempt holding ``owed``'s lease ended; returns the row's new state. A 2xx
    (``ok``) delivers it; ``refused`` ends it; any other failure schedules the next attempt after
    ``backoff_seconds``, or gives up after ``ORCHESTRA_WEBHOOK_MAX_ATTEMPTS``."""
    now = timezone.now()
    fields = {"leased_until": None, "queued_at": None, "last_error": error}
    if ok:
        fields.update(state=State.DELIVERED, done_at=now)
    elif refused:
        fields.update(state=State.REFUSED, done_at=now)
    elif owed.attempts >= settings.ORCHESTRA_WEBHOOK_MAX_ATTEMPTS:
        fields.update(state=State.FAILED, done_at=now)
    else:
        fields["next_attempt_at"] = now + timedelta(seconds=backoff_seconds(owed.attempts))
    OwedWebhook.objects.filter(pk=owed.pk, state=State.OWED).update(**fields)
    for name, value in fields.items():
        setattr(owed, name, value)
    return owed.state


def webhooks_requeue(now=None) -> int:
    """Queue again every webhook still owed, due, not in flight and not queued in the last lease time
    (what a killed cluster lost, retries past their backoff, failed queueing); at most
    ``REQUEUE_BATCH`` a run. Returns how many were queued. Safe to run twice: a duplicate task finds
    the row leased or delivered and does nothing."""
    now = now or timezone.now()
    recently = now - timedelta(seconds=lease_seconds())
    due = (OwedWebhook.objects.filter(not_leased(now), state=State.OWED, next_attempt_at__lte=now)
           .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=recently)))
    ids = list(due.order_by("next_attempt_at").values_list("proposal_id", flat=True)[:REQUEUE_BATCH])
    if ids:
        OwedWebhook.objects.filter(proposal_id__in=ids, event=EVENT).update(queued_at=now)
        webhooks_enqueue(ids)
    return len(ids)


def owed_count() -> int:
    """How many webhooks are owed (not yet delivered, given up or refused)."""
    return OwedWebhook.objects.filter(state=State.OWED).count()

"""django-q2 entry points of notifications (thin; each safe to run twice): the fan-out of an event, one
delivery, a reviewer's digest, and the sweep (schedule ``notification-outbox``, every minute)."""
import logging

from inbox import callbacks

from . import fanout, outbox, senders
from .models import OwedNotification

log = logging.getLogger("orchestra.notifications")
Channel = OwedNotification.Channel


def fan_out(event_id: str) -> int:
    """Write the deliveries of one event and queue those due now; returns how many were written."""
    rows = fanout.event_fan_out(event_id)
    outbox.enqueue_deliveries(rows)
    return len(rows)


def _attempt(rows: list[OwedNotification], send) -> bool:
    try:
        send()
    except callbacks.UnsafeCallback as exc:
        outbox.deliveries_finish(rows, ok=False, error=f"refused: {exc}", refused=True)
        log.error("notification %s refused: %s", rows[0].pk, exc)
        return False
    except senders.SendFailed as exc:
        state = outbox.deliveries_finish(rows, ok=False, error=str(exc))
        level = logging.WARNING if state == outbox.State.OWED else logging.ERROR
        log.log(level, "%s notification %s attempt %s failed (%s): %s", rows[0].channel, rows[0].pk,
                rows[0].attempts, "will retry" if state == outbox.State.OWED else "gave up", str(exc)[:200])
        return False
    outbox.deliveries_finish(rows, ok=True)
    log.info("%s notification %s delivered (attempt %s)", rows[0].channel, rows[0].pk, rows[0].attempts)
    return True


def deliver(delivery_id: str) -> bool:
    """Attempt one owed e-mail or Slack delivery; True when it was accepted, False when there was
    nothing to attempt now or it failed (retried after a backoff by the sweep)."""
    row = outbox.delivery_claim(delivery_id)
    if row is None:
        return False
    send = senders.slack_post if row.channel == Channel.SLACK else senders.email_one
    return _attempt([row], lambda: send(row))


def deliver_digest(user_id: str) -> bool:
    """Send one reviewer's digest: every due digest row of theirs in one e-mail."""
    rows = outbox.digest_claim(user_id)
    if not rows:
        return False
    return _attempt(rows, lambda: senders.email_digest(rows))


def sweep() -> dict:
    """Owe the SLA warnings now due, then queue again everything owed (``outbox.notifications_requeue``)."""
    result = {"sla_warnings": fanout.sla_warnings_owe(), **outbox.notifications_requeue()}
    log.info("notification outbox: %s", result)
    return result

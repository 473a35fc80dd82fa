"""Background work run by the django-q2 cluster: signed decision callbacks, with retries.

A callback is a POST of ``{"event": "proposal.decided", "sent_at": <ISO 8601>, "proposal": <ProposalOut>}``
to the proposal's ``callback_url`` with headers
``X-Orchestra-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed by the agent's webhook secret>``,
``X-Orchestra-Delivery: <proposal id>:<attempt>`` and ``X-Orchestra-Event: proposal.decided``
(``orchestra_client.verify_signature`` checks it). Any 2xx ends it; anything else (another status,
a refused connection, a timeout) is retried by a one-off django-q2 ``Schedule`` after 10 s, 30 s,
90 s, … (×3, capped at an hour), up to ``ORCHESTRA_WEBHOOK_MAX_ATTEMPTS`` attempts in all. The
cluster's scheduler looks at due schedules about every 30 s, so a retry may start up to that much
later. Every attempt is kept as a ``WebhookDelivery`` row, unique per (proposal, attempt) and written
*before* its POST ("in flight"), then completed with the answer. A delivery runs again safely: an
attempt already made or in flight, or a proposal already delivered, is skipped, and when two runs of
one attempt race (a task delivered twice by the broker, a retry schedule beside a queued task) the
unique key lets only one of them post; the other records nothing and returns False. So a receiver
sees each attempt at most once, except after a crash: a run whose worker died mid-POST leaves its
attempt in flight, and once no live run can still hold it (``claim_expiry_seconds``: the cluster's
task timeout plus the POST timeout) a run of the same attempt (the broker's redelivery) takes it over
and posts it again. Delivery is therefore at least once while the broker redelivers, and receivers
should still treat the proposal id as the idempotency key. Where a callback may go is
``inbox.callbacks``' business (SSRF guard); a refused address is recorded and not retried.
"""
import hashlib
import hmac
import json
import logging
from datetime import timedelta

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from . import callbacks
from .models import Proposal, WebhookDelivery
from .timers import proposals_escalate_overdue, proposals_expire_due

log = logging.getLogger("orchestra.webhooks")
TASK = "inbox.tasks.deliver_webhook"
EVENT = "proposal.decided"
MAX_ERROR_CHARS = 1000
IN_FLIGHT = "in flight: no answer recorded (yet)"


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 of ``body`` keyed by ``secret``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff_seconds(attempt: int) -> int:
    """Delay in seconds before attempt ``attempt + 1``: 10, 30, 90, 270, … (capped at one hour)."""
    return min(10 * 3 ** (attempt - 1), 3600)


def max_attempts() -> int:
    return settings.ORCHESTRA_WEBHOOK_MAX_ATTEMPTS


def retry_name(proposal_id, attempt: int) -> str:
    return f"webhook-{proposal_id}-{attempt}"


def enqueue_webhook(proposal_id, attempt: int = 1) -> None:
    """Queue delivery attempt ``attempt`` now. Called after the decision's commit; if the broker is
    unreachable the attempt is kept as a due ``Schedule`` in the database instead, so a decision
    never fails (or loses its callback) because of the task queue."""
    try:
        async_task(TASK, str(proposal_id), attempt, task_name=retry_name(proposal_id, attempt))
    except Exception:
        log.exception("could not queue webhook %s attempt %s; scheduling it instead", proposal_id, attempt)
        schedule_attempt(proposal_id, attempt, delay_seconds=0)


def schedule_attempt(proposal_id, attempt: int, *, delay_seconds: float) -> Schedule:
    """A one-off schedule running attempt ``attempt`` after ``delay_seconds`` (deleted once run).
    At most one per (proposal, attempt)."""
    name = f"webhook-retry-{proposal_id}-{attempt}"
    existing = Schedule.objects.filter(name=name, func=TASK).first()
    if existing is not None:
        return existing
    return Schedule.objects.create(
        name=name, func=TASK, args=repr((str(proposal_id), attempt)), schedule_type=Schedule.ONCE,
        repeats=-1, next_run=timezone.now() + timedelta(seconds=delay_seconds),
    )


def webhook_body(p: Proposal) -> bytes:
    from .schemas import proposal_out

    return json.dumps(
        {"event": EVENT, "sent_at": timezone.now().isoformat(), "proposal": proposal_out(p)},
        cls=DjangoJSONEncoder,
    ).encode()


def _post(target: callbacks.Target, body: bytes, headers: dict) -> tuple[int | None, str]:
    """(status code or None, error text) of one POST to a vetted target; never raises for network trouble."""
    try:
        with httpx.Client(timeout=settings.ORCHESTRA_WEBHOOK_TIMEOUT, follow_redirects=False) as client:
            request = client.build_request("POST", target.url, content=body, headers={**headers, **target.headers},
                                           extensions=target.extensions)
            r = client.send(request)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
    if r.is_success:
        return r.status_code, ""
    return r.status_code, r.text[:MAX_ERROR_CHARS]


def claim_expiry_seconds() -> float:
    """How long an in-flight attempt may belong to a live run: the cluster kills a task after its
    ``timeout`` (``Q_CLUSTER``), and the POST itself lasts at most ``ORCHESTRA_WEBHOOK_TIMEOUT``."""
    return (settings.Q_CLUSTER.get("timeout") or 60) + settings.ORCHESTRA_WEBHOOK_TIMEOUT


def _claim(p: Proposal, attempt: int, stale_before) -> WebhookDelivery | None:
    """The in-flight row of attempt ``attempt``, written now; or one whose run died (in flight since
    before ``stale_before``), taken over. None when another run holds or finished the attempt: the
    unique (proposal, attempt) key refused this one."""
    try:
        with transaction.atomic():
            return WebhookDelivery.objects.create(proposal=p, attempt=attempt, error=IN_FLIGHT)
    except IntegrityError:
        dead = WebhookDelivery.objects.filter(proposal=p, attempt=attempt, error=IN_FLIGHT, status_code=None,
                                              delivered=False, created_at__lt=stale_before)
        if dead.update(created_at=timezone.now()):  # conditional: of two runs taking over, one wins
            return WebhookDelivery.objects.get(proposal=p, attempt=attempt)
        return None


def deliver_webhook(proposal_id: str, attempt: int = 1) -> bool:
    """POST the decision of ``proposal_id`` to its callback URL; schedule a retry on failure.

    Returns True when the receiver answered 2xx. Skips (returns False) a proposal that no longer
    exists, is still pending, has no callback URL, or was already delivered, and an attempt that
    was already made or that another run is making (module docstring: claimed before the POST)."""
    p = Proposal.objects.select_related("agent", "inbox", "decided_by").filter(pk=proposal_id).first()
    if p is None or not p.callback_url or p.is_pending:
        log.info("webhook %s attempt %s skipped: no decided proposal with a callback URL", proposal_id, attempt)
        return False
    stale_before = timezone.now() - timedelta(seconds=claim_expiry_seconds())
    made = Q(attempt=attempt) & ~Q(error=IN_FLIGHT, created_at__lt=stale_before)  # made, or in flight
    claim = None
    if not WebhookDelivery.objects.filter(Q(proposal=p) & (Q(delivered=True) | made)).exists():
        claim = _claim(p, attempt, stale_before)
    if claim is None:
        log.info("webhook %s attempt %s skipped: already delivered, attempted or in flight", p.pk, attempt)
        return False
    body = webhook_body(p)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Orchestra-Webhook/1",
        "X-Orchestra-Event": EVENT,
        "X-Orchestra-Signature": sign(p.agent.webhook_secret, body),
        "X-Orchestra-Delivery": f"{p.pk}:{attempt}",
    }
    try:
        target = callbacks.resolve(p.callback_url)
    except callbacks.UnsafeCallback as exc:  # a rule, not a passing failure: no retry
        claim.error = f"refused: {exc}"[:MAX_ERROR_CHARS]
        claim.save(update_fields=["error"])
        log.error("webhook %s not sent: %s", p.pk, exc)
        return False
    status, error = _post(target, body, headers)
    ok = status is not None and 200 <= status < 300
    claim.status_code, claim.error, claim.delivered = status, error, ok
    claim.save(update_fields=["status_code", "error", "delivered"])
    if ok:
        log.info("webhook %s attempt %s delivered (%s)", p.pk, attempt, status)
    elif attempt < max_attempts():
        delay = backoff_seconds(attempt)
        schedule_attempt(p.pk, attempt + 1, delay_seconds=delay)
        log.warning("webhook %s attempt %s failed (%s %s); retrying in %s s", p.pk, attempt, status,
                    error[:120], delay)
    else:
        log.error("webhook %s gave up after %s attempts (last: %s %s)", p.pk, attempt, status, error[:120])
    return ok


def sweep() -> dict:
    """Expire proposals past their hard expiry, then escalate those past their SLA deadline (a django-q2
    schedule, every minute). Safe to run twice or on several clusters at once (each change locks its row)."""
    return {"expired": proposals_expire_due(), "escalated": proposals_escalate_overdue()}

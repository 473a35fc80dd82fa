"""Background work run by the django-q2 cluster: signed decision callbacks (from the outbox), the
outbox sweep, and the SLA / expiry sweep. Each task is thin and safe to run twice.

A callback is a POST of ``{"event": "proposal.decided", "sent_at": <ISO 8601>, "proposal": <ProposalOut>}``
to the proposal's ``callback_url`` with headers
``X-Orchestra-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed by the agent's webhook secret>``
(while a rotated secret's grace period lasts, a second one follows, comma-separated:
``sha256=<new>, sha256=<previous>``), ``X-Orchestra-Delivery: <delivery id>`` (a UUID, the same on every
attempt: drop one already handled), ``X-Orchestra-Attempt: <1, 2, …>`` and
``X-Orchestra-Event: proposal.decided`` (``orchestra_client.verify_signature`` checks the signature).

What is owed, the lease, retries and the sweep are ``inbox.outbox``'s business: any 2xx ends it;
anything else (another status, a refused connection, a timeout) is attempted again after 10 s, 30 s,
90 s, … (×3, capped at an hour), up to ``ORCHESTRA_WEBHOOK_MAX_ATTEMPTS`` attempts in all, by the
outbox sweep (every minute, so an attempt starts up to about a minute after it is due). Every attempt
is also kept as a ``WebhookDelivery`` row (proposal, attempt number, answer), written *before* its
POST ("in flight") and completed with the answer. Where a callback may go is ``inbox.callbacks``'
business (SSRF guard); a refused address is recorded and not retried.
"""
import json
import logging

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django_q.tasks import async_task

from governance.webhook_secrets import sign, signature_header  # noqa: F401  (sign: the signer, for tests and tools)

from . import callbacks, metrics, outbox
from .models import Proposal, WebhookDelivery
from .timers import proposals_escalate_overdue, proposals_expire_due

log = logging.getLogger("orchestra.webhooks")
TASK = "inbox.tasks.deliver_webhook"
EVENT = outbox.EVENT
MAX_ERROR_CHARS = 1000
IN_FLIGHT = "in flight: no answer recorded (yet)"
ABANDONED = "abandoned: the run making it died before an answer was recorded"
backoff_seconds = outbox.backoff_seconds


def enqueue_webhook(proposal_id, attempt: int = 1) -> None:
    """Put the delivery task of ``proposal_id``'s owed webhook on the queue (``attempt`` is ignored:
    the outbox row counts attempts). Raises what the broker raises; ``inbox.outbox`` handles it."""
    async_task(TASK, str(proposal_id), task_name=f"webhook-{proposal_id}")


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


def deliver_webhook(proposal_id: str, attempt: int | None = None) -> bool:
    """Attempt the owed webhook of ``proposal_id`` once: claim it (``outbox.webhook_claim``), POST the
    signed decision, record the answer. Returns True when the receiver answered 2xx; False when there
    was nothing to attempt now (delivered, given up, not due, in flight elsewhere) or it failed.
    ``attempt`` is accepted, and ignored, for tasks queued before the outbox."""
    owed = outbox.webhook_claim(proposal_id)
    if owed is None:
        log.info("webhook %s skipped: nothing owed and due, or in flight elsewhere", proposal_id)
        return False
    p = Proposal.objects.select_related("agent", "inbox", "decided_by").get(pk=proposal_id)
    WebhookDelivery.objects.filter(proposal=p, error=IN_FLIGHT, status_code=None).update(error=ABANDONED)
    row = WebhookDelivery.objects.create(proposal=p, attempt=owed.attempts, error=IN_FLIGHT)
    body = webhook_body(p)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Orchestra-Webhook/1",
        "X-Orchestra-Event": EVENT,
        "X-Orchestra-Signature": signature_header(p.agent, body),
        "X-Orchestra-Delivery": str(owed.pk),
        "X-Orchestra-Attempt": str(owed.attempts),
    }
    try:
        target = callbacks.resolve(p.callback_url)
    except callbacks.UnsafeCallback as exc:  # a rule, not a passing failure: no retry
        row.error = f"refused: {exc}"[:MAX_ERROR_CHARS]
        row.save(update_fields=["error"])
        outbox.webhook_finish(owed, ok=False, error=row.error, refused=True)
        log.error("webhook %s not sent: %s", p.pk, exc)
        return False
    status, error = _post(target, body, headers)
    ok = status is not None and 200 <= status < 300
    row.status_code, row.error, row.delivered = status, error, ok
    row.save(update_fields=["status_code", "error", "delivered"])
    state = outbox.webhook_finish(owed, ok=ok, error=f"{status or ''} {error}".strip())
    if ok:
        log.info("webhook %s attempt %s delivered (%s)", p.pk, owed.attempts, status)
    elif state == outbox.State.OWED:
        log.warning("webhook %s attempt %s failed (%s %s); next attempt at %s", p.pk, owed.attempts, status,
                    error[:120], owed.next_attempt_at.isoformat(timespec="seconds"))
    else:
        log.error("webhook %s gave up after %s attempts (last: %s %s)", p.pk, owed.attempts, status, error[:120])
    metrics.observe_webhook_attempt(ok=ok, state=state)
    return ok


def webhooks_requeue() -> int:
    """The outbox sweep (django-q2 schedule ``webhook-outbox``, every minute): queue what is owed."""
    queued = outbox.webhooks_requeue()
    log.info("webhook outbox: %s owed webhooks queued again", queued)
    return queued


def sweep() -> dict:
    """Expire proposals past their hard expiry, then escalate those past their SLA deadline (a django-q2
    schedule, every minute). Safe to run twice or on several clusters at once (each change locks its row).
    Nothing is lost when the cluster dies mid-sweep: both are read from the proposals' own deadlines
    each run, so the next run does what this one did not."""
    result = {"expired": proposals_expire_due(), "escalated": proposals_escalate_overdue()}
    log.info("sla sweep: %s", result)
    return result

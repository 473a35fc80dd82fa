"""The inbox's Prometheus metrics (served at ``/metrics`` by ``orchestra_site.metrics``).

Counted where they happen, after the commit, in whichever process (web worker or q2 worker; the
multiprocess mode of ``prometheus_client`` adds them up):

- ``orchestra_proposals_submitted_total{status}``: proposals stored, by their status on arrival
  (``pending``, ``approved`` by policy, ``refused`` by policy).
- ``orchestra_proposals_decided_total{outcome}``: proposals leaving ``pending`` (``approved``,
  ``rejected``, ``edited_and_approved``, ``answered``, ``expired``, ``superseded``; an auto-approval
  counts here too).
- ``orchestra_decision_latency_seconds``: histogram of the time from submission to decision, in seconds.
- ``orchestra_webhook_attempts_total{result}``: callback POSTs by result (``delivered``, ``retrying``:
  failed and attempted again later, ``gave_up``: failed for the last time, ``refused``: the SSRF guard
  refused the address).
- ``orchestra_long_poll_waiters`` and ``orchestra_websocket_connections``: open now (live processes).

Read from the database at each scrape (``InboxCollector``, registered by ``InboxConfig.ready``):

- ``orchestra_proposals_pending{inbox}``: pending proposals per inbox slug (one GROUP BY query).
- ``orchestra_webhooks_owed``: callbacks owed and not yet delivered, given up or refused (the outbox).
"""
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

SUBMITTED = Counter("orchestra_proposals_submitted", "Proposals stored, by status on arrival.", ["status"])
DECIDED = Counter("orchestra_proposals_decided", "Proposals decided, by outcome.", ["outcome"])
DECISION_LATENCY = Histogram(
    "orchestra_decision_latency_seconds", "Time from submission to decision (seconds).",
    buckets=(1, 5, 15, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 3 * 24 * 3600, float("inf")),
)
WEBHOOK_ATTEMPTS = Counter("orchestra_webhook_attempts", "Decision callback POSTs, by result.", ["result"])
LONG_POLL_WAITERS = Gauge("orchestra_long_poll_waiters", "Long-poll requests (/wait) waiting now.",
                          multiprocess_mode="livesum")
WEBSOCKET_CONNECTIONS = Gauge("orchestra_websocket_connections", "Inbox WebSocket connections open now.",
                              multiprocess_mode="livesum")
WEBHOOK_RESULTS = {"owed": "retrying", "failed": "gave_up", "refused": "refused"}


def observe_submission(p) -> None:
    SUBMITTED.labels(status=p.status).inc()
    if not p.is_pending and p.status != "refused":
        observe_decisions([p])


def observe_decisions(proposals) -> None:
    for p in proposals:
        DECIDED.labels(outcome=p.status).inc()
        if p.decided_at and p.created_at:
            DECISION_LATENCY.observe(max(0.0, (p.decided_at - p.created_at).total_seconds()))


def observe_webhook_attempt(*, ok: bool, state: str) -> None:
    WEBHOOK_ATTEMPTS.labels(result="delivered" if ok else WEBHOOK_RESULTS.get(state, state)).inc()


class InboxCollector:
    """Gauges read from the database when ``/metrics`` is scraped (module docstring)."""

    def describe(self):
        return []  # collected at scrape time only (never when registered)

    def collect(self):
        from django.db.models import Count

        from .models import OwedWebhook, Proposal

        pending = GaugeMetricFamily("orchestra_proposals_pending", "Pending proposals per inbox.", labels=["inbox"])
        rows = (Proposal.objects.filter(status=Proposal.Status.PENDING).values("inbox__slug")
                .annotate(n=Count("pk")).order_by())
        for row in rows:
            pending.add_metric([row["inbox__slug"] or ""], row["n"])
        yield pending
        owed = OwedWebhook.objects.filter(state=OwedWebhook.State.OWED).count()
        yield GaugeMetricFamily("orchestra_webhooks_owed", "Decision callbacks owed, not yet delivered.", value=owed)

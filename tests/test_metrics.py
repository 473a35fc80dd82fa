"""/metrics: Prometheus text from prometheus_client in multiprocess mode, after real proposals; who may
read it (loopback by default, an allowlist, a bearer token); the live gauges of a dead process dropped."""
import os
import subprocess
import sys

import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from inbox import services
from inbox.schemas import ProposalIn
from tests.conftest import PROPOSAL

pytestmark = pytest.mark.django_db


def scrape(client, **extra) -> dict:
    """{(sample name, frozenset of labels): value} of one scrape."""
    r = client.get("/metrics", **extra)
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(r.content.decode()) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def submit(agent, **fields):
    data = ProposalIn(**{**PROPOSAL, "risk": "low", **fields}).to_model_fields()
    return services.proposal_submit(agent=agent, data=data)[0]


def test_metrics_count_proposals_decisions_and_what_is_owed(client, agent, alice, platform_inbox,
                                                            django_capture_on_commit_callbacks):
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        a = submit(agent, resource="svc:a", callback_url="http://127.0.0.1:9/hook")
        b = submit(agent, resource="svc:b")
        submit(agent, resource="svc:c")
        services.proposal_decide(proposal=a, reviewer=alice, verdict="approve")  # owed; no cluster here
        services.proposal_decide(proposal=b, reviewer=alice, verdict="reject", comment="no")
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("orchestra_proposals_submitted_total", status="pending") == 3
    assert delta("orchestra_proposals_decided_total", outcome="approved") == 1
    assert delta("orchestra_proposals_decided_total", outcome="rejected") == 1
    assert delta("orchestra_decision_latency_seconds_count") == 2
    assert value(after, "orchestra_proposals_pending", inbox=platform_inbox.slug) == 1
    assert value(after, "orchestra_webhooks_owed") == 1
    assert ("orchestra_task_queue_depth", frozenset()) in after


def test_metrics_are_refused_outside_the_allowlist(client):
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 404


def test_an_allowlisted_network_may_read_them(client, settings):
    settings.ORCHESTRA_METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics").status_code == 404  # loopback is no longer listed


def test_the_token_opens_them_from_anywhere(client, settings):
    settings.ORCHESTRA_METRICS_TOKEN = "s3cret-scrape-token"
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3",
                      HTTP_AUTHORIZATION="Bearer s3cret-scrape-token").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404


def test_counters_of_other_processes_add_up_and_a_dead_processs_live_gauges_are_dropped(client):
    """Another process (a web or q2 worker) counts a webhook and opens a socket, then dies without
    closing it: its counter stays in the sum, its open socket does not."""
    before = scrape(client)
    code = ("from inbox import metrics; import os; metrics.observe_webhook_attempt(ok=True, state='delivered'); "
            "metrics.WEBSOCKET_CONNECTIONS.inc(); os._exit(0)")
    subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=settings.BASE_DIR,
                   env={**os.environ}, check=True, timeout=120)
    after = scrape(client)
    name = "orchestra_webhook_attempts_total"
    assert value(after, name, result="delivered") - value(before, name, result="delivered") == 1
    assert value(after, "orchestra_websocket_connections") == value(before, "orchestra_websocket_connections")


@pytest.mark.django_db(transaction=True)
async def test_an_open_inbox_socket_is_counted_until_it_closes(alice, platform_inbox):
    from asgiref.sync import sync_to_async
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator
    from django.test import Client

    from inbox.ws_urls import websocket_urlpatterns

    def sockets():
        return value(scrape(Client()), "orchestra_websocket_connections")

    before = await sync_to_async(sockets)()
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/inboxes/{platform_inbox.pk}/")
    communicator.scope["user"] = alice
    connected, _ = await communicator.connect()
    assert connected
    assert await sync_to_async(sockets)() == before + 1
    await communicator.disconnect()
    assert await sync_to_async(sockets)() == before


@pytest.mark.django_db(transaction=True)
async def test_a_long_poll_waiter_is_counted_while_it_waits(agent):
    from asgiref.sync import sync_to_async
    from django.test import Client

    from inbox.api import wakeups

    def waiters():
        return value(scrape(Client()), "orchestra_long_poll_waiters")

    p = await sync_to_async(submit)(agent)
    before = await sync_to_async(waiters)()
    async with wakeups(p.pk):
        assert await sync_to_async(waiters)() == before + 1
    assert await sync_to_async(waiters)() == before


def test_an_auto_approval_counts_once_as_submitted_and_once_as_decided(client, agent,
                                                                       django_capture_on_commit_callbacks):
    from tests.factories import PolicyFactory

    PolicyFactory(name="Rollbacks auto-approve", action_pattern="deploy.*", outcome="auto_approve",
                  min_confidence=0.1, priority=1)
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        p = submit(agent, callback_url="http://127.0.0.1:9/hook")
    assert p.status == "approved"
    after = scrape(client)
    for name, labels in [("orchestra_proposals_submitted_total", {"status": "approved"}),
                         ("orchestra_proposals_decided_total", {"outcome": "approved"})]:
        assert value(after, name, **labels) - value(before, name, **labels) == 1, name

"""Changes made in another process reach waiting agents and open pages within a second.

A real uvicorn with two worker processes serves the test database. On the embedded default (SQLite,
Channels' in-memory layer, no task cluster) each worker has its own channel layer; this test process
is a third process (like the django-q2 cluster or a management command) whose events reach neither
worker. ``ORCHESTRA_LONG_POLL_RECHECK_SECONDS`` is set high on the server, so what wakes a long-poll
within the bound is the worker's change watcher (``inbox.watcher``), or the shared Redis layer when
``REDIS_URL`` is set.
"""
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from websockets.sync.client import connect

from inbox import services
from inbox.models import Proposal
from tests.conftest import PROPOSAL

# reset_sequences: after each flush, content types and permissions get their ids back, which the server
# processes have cached (guardian checks by content type id).
pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)
P = "/api/v1/proposals"


def _database_url() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@contextlib.contextmanager
def live_server(database_url: str, workers: int = 2):
    """``uvicorn --workers N`` on a free port, on ``database_url``, without a task cluster; yields ``host:port``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": database_url, "ORCHESTRA_LONG_POLL_RECHECK_SECONDS": "30"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "orchestra_site.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--timeout-graceful-shutdown",
         "2"],
        cwd=settings.BASE_DIR, env=env, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.2)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # leftover workers of its group


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    """``uvicorn --workers 2`` on a free port, on the test database, without a task cluster."""
    with django_db_blocker.unblock():
        url = _database_url()
    with live_server(url) as base:
        yield base


@pytest.fixture
def fresh_server(transactional_db):
    """A live ``uvicorn --workers 2`` for one test. Its processes cache content types (guardian checks by
    their ids), which the database flushed after each test may number differently the first time: tests
    whose reviewers act over HTTP get a server of their own."""
    with live_server(_database_url()) as base:
        yield base


def post_proposal(base, token, **fields):
    """A pending proposal one approval decides (medium risk: high and critical need two approvers)."""
    body = dict(PROPOSAL, **{"risk": "medium", **fields})
    r = httpx.post(f"http://{base}{P}", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_a_decision_made_in_another_process_wakes_the_long_poll_within_1_5_s(server, agent_and_token, alice):
    agent, token = agent_and_token
    for _ in range(4):  # the long-polls land on either worker
        pid = post_proposal(server, token)
        got = {}

        def wait(pid=pid, got=got):
            r = httpx.get(f"http://{server}{P}/{pid}/wait?timeout=8", headers={"Authorization": f"Bearer {token}"},
                          timeout=20)
            got["at"], got["status"] = time.monotonic(), r.json()["status"]

        thread = threading.Thread(target=wait)
        thread.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        services.proposal_decide(proposal=Proposal.objects.get(pk=pid), reviewer=alice, verdict="approve")
        thread.join(20)
        assert got["status"] == "approved"
        assert got["at"] - t0 < 1.5


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def next_event(ws, proposal_id, timeout):
    """The next event about ``proposal_id`` on the socket, and how long it took (None: none came)."""
    t0 = time.monotonic()
    while (left := timeout - (time.monotonic() - t0)) > 0:
        try:
            message = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            break
        if message.get("proposal", {}).get("id") == str(proposal_id):
            return message, time.monotonic() - t0
    return None, None


def open_page(server, user, inbox_id):
    headers = {"Cookie": session_cookie(user), "Origin": f"http://{server}"}
    return connect(f"ws://{server}/ws/inboxes/{inbox_id}/", additional_headers=headers, open_timeout=10)


def test_an_open_inbox_page_hears_what_another_process_does_within_1_s(server, agent, alice, platform_inbox):
    with open_page(server, alice, platform_inbox.pk) as ws:
        time.sleep(0.3)  # the socket has joined its group
        submitted, _ = services.proposal_submit(agent=agent, data=dict(PROPOSAL))
        message, took = next_event(ws, submitted.pk, 3)
        assert message and message["proposal"]["status"] == "pending" and took < 1.0

        services.proposal_decide(proposal=submitted, reviewer=alice, verdict="reject", comment="No.")
        message, took = next_event(ws, submitted.pk, 3)
        assert message and message["proposal"]["status"] == "rejected" and took < 1.0
        assert message["proposal"]["decided_by"] == "alice"
        # With Redis the decision's own event (a delta); in memory the watcher's re-announcement (a count).
        assert message.get("pending_count") == 0 or message.get("pending_delta") == -1


def test_an_open_inbox_page_hears_an_escalation_made_in_another_process(server, agent, alice, platform_inbox):
    submitted, _ = services.proposal_submit(agent=agent, data=dict(PROPOSAL))
    with open_page(server, alice, platform_inbox.pk) as ws:
        time.sleep(0.3)
        # the server's watcher may first re-announce the submission (made here, in another process)
        # as it looks back at its first start: drain that before escalating
        while next_event(ws, submitted.pk, 1.2)[0] is not None:
            pass
        moved = services.proposal_escalate(proposal=submitted, reason="Sale week.", by=alice)
        message, took = next_event(ws, submitted.pk, 3)
        assert message and took < 1.0
        # the page drops the row: still pending, but in another inbox
        assert message["proposal"]["status"] == "pending"
        assert message["proposal"]["inbox_id"] == moved.inbox_id != platform_inbox.pk

"""Nothing lost when the task cluster dies: a real django-q2 cluster (``manage.py qcluster``, on the
test database and the configured broker: Redis with REDIS_URL, else the ORM) is SIGKILLed, every process
of it at once, while decision webhooks are queued and in flight; a new cluster then delivers every owed
webhook to a local receiver, each with its delivery id (at least once: a webhook cut mid-POST arrives
twice, with the same id)."""
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.db import connection

from inbox import services
from inbox.models import OwedWebhook
from inbox.schemas import ProposalIn
from tests.conftest import PROPOSAL

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")]
PROPOSALS = 12
SLOW_SECONDS = 1.5  # each POST takes this long: deliveries are in flight when the cluster dies


def _database_url() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class SlowReceiver:
    """Answers 200 after ``SLOW_SECONDS``; records each delivery id when the request arrives."""

    def __init__(self):
        self.arrived, self.answered = [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                delivery = self.headers["X-Orchestra-Delivery"]
                receiver.arrived.append(delivery)
                time.sleep(SLOW_SECONDS)
                self.send_response(200)
                self.end_headers()
                receiver.answered.append(delivery)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def start_cluster(log_path):
    env = {**os.environ, "DATABASE_URL": _database_url(), "ORCHESTRA_Q_WORKERS": "2",
           # A short task timeout and POST timeout: a dead run's lease runs out in 8 s, not 65 s.
           "ORCHESTRA_Q_TIMEOUT": "5", "ORCHESTRA_WEBHOOK_TIMEOUT": "3", "LOG_LEVEL": "INFO",
           "PYTHONUNBUFFERED": "1"}
    log = open(log_path, "ab")  # noqa: SIM115  (closed with the process, below)
    proc = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=settings.BASE_DIR, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    proc.log = log
    return proc


def kill_cluster(proc):
    """SIGKILL to every process of the cluster (its own process group): nobody gets to clean up."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    proc.log.close()


def wait_for(condition, timeout: float, what: str, log_path=None):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tail = log_path.read_text()[-3000:] if log_path and log_path.exists() else ""
            pytest.fail(f"timed out after {timeout} s waiting for {what}\n{tail}")
        time.sleep(0.1)


@pytest.fixture
def outbox_schedule(db):
    """The ``webhook-outbox`` schedule as migration 0007 creates it (a transactional test before this
    one may have flushed the tables, schedules included)."""
    from django_q.models import Schedule

    Schedule.objects.get_or_create(name="webhook-outbox", defaults={
        "func": "inbox.tasks.webhooks_requeue", "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1})


def test_a_sigkilled_cluster_loses_no_owed_webhook(agent, alice, tmp_path, outbox_schedule):
    receiver = SlowReceiver()
    log_path = tmp_path / "qcluster.log"
    data = ProposalIn(**{**PROPOSAL, "risk": "low", "callback_url": receiver.url}).to_model_fields()
    proposals = [services.proposal_submit(agent=agent, data={**data, "resource": f"service:s{i}"})[0]
                 for i in range(PROPOSALS)]
    cluster = start_cluster(log_path)
    try:
        wait_for(lambda: b"running" in log_path.read_bytes(), 60, "the cluster to start", log_path)
        for p in proposals:  # each commits: its webhook is owed, and queued on the broker
            services.proposal_decide(proposal=p, reviewer=alice, verdict="approve")
        wait_for(lambda: receiver.arrived, 30, "a first delivery in flight", log_path)
        kill_cluster(cluster)
        owed = set(OwedWebhook.objects.filter(proposal__in=proposals).values_list("pk", flat=True))
        delivered = OwedWebhook.objects.filter(proposal__in=proposals, state=OwedWebhook.State.DELIVERED).count()
        in_flight = set(receiver.arrived) - set(receiver.answered)
        assert len(owed) == PROPOSALS
        assert delivered < PROPOSALS and in_flight, "the kill came too late to test anything"

        cluster = start_cluster(log_path)  # the scheduler's first run (after ~30 s) sweeps the outbox
        done = OwedWebhook.objects.filter(proposal__in=proposals, state=OwedWebhook.State.DELIVERED)
        wait_for(lambda: done.count() == PROPOSALS, 150, "every owed webhook to be delivered", log_path)
    finally:
        kill_cluster(cluster)
        receiver.close()
    assert {str(pk) for pk in owed} == set(receiver.answered)  # each arrived, with its delivery id
    assert {str(pk) for pk in in_flight} <= set(receiver.answered)  # cut mid-POST: posted again
    log = log_path.read_text()
    assert "from schedule [webhook-outbox]" in log  # the cluster logs its schedule runs at INFO
    assert "webhook outbox:" in log  # and the sweep said what it queued

"""Nothing promised to reviewers is lost when the task cluster dies: a real django-q2 cluster is SIGKILLed
(every process at once) while notification fan-outs and Slack posts are queued and in flight; a new
cluster then delivers every owed notification (at least once). The webhook twin is test_outbox_crash.py."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django_q.models import Schedule

from inbox import services
from inbox.models import NotificationEvent, OwedNotification
from inbox.notifications import preferences
from inbox.schemas import ProposalIn
from tests.conftest import PROPOSAL
from tests.test_outbox_crash import kill_cluster, start_cluster, wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]
PROPOSALS = 10
SLOW_SECONDS = 1.5


class SlowSlack:
    """A Slack incoming webhook that answers 200 after ``SLOW_SECONDS``; records each message's proposal link."""

    def __init__(self):
        self.arrived, self.answered = [], []
        slack = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                text = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["text"]
                slack.arrived.append(text)
                time.sleep(SLOW_SECONDS)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")
                slack.answered.append(text)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T0/B0/x"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def notification_schedule(db):
    """The ``notification-outbox`` schedule as migration 0008 creates it (a transactional test before this
    one may have flushed it)."""
    Schedule.objects.get_or_create(name="notification-outbox", defaults={
        "func": "inbox.notifications.tasks.sweep", "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1})


def test_a_sigkilled_cluster_loses_no_owed_notification(agent, alice, platform_inbox, tmp_path,
                                                         notification_schedule):
    slack = SlowSlack()
    log_path = tmp_path / "qcluster.log"
    preferences.inbox_slack_set(inbox=platform_inbox, webhook_url=slack.url)
    preferences.notification_preference_set(user=alice, email="off", slack=True, on_new=True, on_escalation=True,
                                            on_sla=True)
    cluster = start_cluster(log_path)
    try:
        wait_for(lambda: b"running" in log_path.read_bytes(), 60, "the cluster to start", log_path)
        data = ProposalIn(**{**PROPOSAL, "risk": "low"}).to_model_fields()
        proposals = [services.proposal_submit(agent=agent, data={**data, "resource": f"service:s{i}"})[0]
                     for i in range(PROPOSALS)]  # each commits its event, and queues its fan-out
        wait_for(lambda: slack.arrived, 30, "a first Slack post in flight", log_path)
        kill_cluster(cluster)
        in_flight = set(slack.arrived) - set(slack.answered)
        events = NotificationEvent.objects.filter(proposal__in=proposals)
        delivered = OwedNotification.objects.filter(event__in=events, state=OwedNotification.State.DELIVERED)
        assert events.count() == PROPOSALS
        assert delivered.count() < PROPOSALS and in_flight, "the kill came too late to test anything"

        cluster = start_cluster(log_path)  # the scheduler's first run (after ~30 s) sweeps the outbox
        wait_for(lambda: delivered.count() == PROPOSALS, 150, "every owed notification to be delivered", log_path)
    finally:
        kill_cluster(cluster)
        slack.close()
        preferences.forget_listening()
    links = {f"/proposals/{p.pk}/" for p in proposals}
    assert links == {link for link in links if any(link in text for text in slack.answered)}  # each arrived
    assert in_flight <= set(slack.answered)  # cut mid-post: posted again
    assert "from schedule [notification-outbox]" in log_path.read_text()

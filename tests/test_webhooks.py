"""Decision callbacks (inbox.tasks) against a real HTTP receiver on 127.0.0.1: body, signature,
WebhookDelivery rows, retries by one-off django-q2 schedules with backoff, and enqueueing after commit."""
import ast
import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.scheduler import scheduler

from inbox import services, tasks
from inbox.models import Proposal, WebhookDelivery
from orchestra_client import parse_webhook, verify_signature


class Receiver:
    """A local webhook receiver: answers with ``statuses`` in turn (the last one repeats) and
    records every request as (headers dict, raw body bytes)."""

    def __init__(self):
        self.statuses = [200]
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append((dict(self.headers.items()), body))
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"receiver is down")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/orchestra"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def q2_sync(monkeypatch):
    """django-q2 in sync mode: ``async_task`` runs the task inline, in this transaction. (The
    ``Q_CLUSTER`` setting is read once at import, so the setting itself cannot be overridden.)"""
    monkeypatch.setattr(Conf, "SYNC", True)


def submit(agent, body, callback_url):
    proposal, _ = services.proposal_submit(agent=agent, data={**body, "callback_url": callback_url})
    return proposal


def decide(proposal, alice, verdict="approve", **kw):
    return services.proposal_decide(proposal=proposal, reviewer=alice, verdict=verdict, **kw)


@pytest.fixture
def body(proposal_body):
    from inbox.schemas import ProposalIn

    return ProposalIn(**{**proposal_body, "risk": "low", "confidence": 0}).to_model_fields()


@pytest.fixture
def decided(agent, alice, body, receiver):
    """A proposal with a callback to ``receiver``, approved by alice (its on-commit hooks not run)."""
    return decide(submit(agent, body, receiver.url), alice, "approve", comment="go")


def retry_schedule():
    return Schedule.objects.get(func=tasks.TASK)


def test_it_posts_the_signed_decision(decided, agent, receiver, body):
    assert tasks.deliver_webhook(str(decided.pk)) is True
    [(headers, raw)] = receiver.requests
    assert verify_signature(agent.webhook_secret, raw, headers["X-Orchestra-Signature"])
    assert headers["X-Orchestra-Delivery"] == f"{decided.pk}:1"
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(raw)
    assert payload["event"] == "proposal.decided"
    assert payload["proposal"]["id"] == str(decided.pk)
    assert payload["proposal"]["status"] == "approved"
    assert payload["proposal"]["decision"]["decided_by"] == "alice"
    assert payload["proposal"]["decision"]["comment"] == "go"
    p = parse_webhook(agent.webhook_secret, raw, headers["X-Orchestra-Signature"])
    assert p.approved and p.args_to_run == body["args"]
    delivery = WebhookDelivery.objects.get(proposal=decided)
    assert (delivery.attempt, delivery.status_code, delivery.delivered) == (1, 200, True)
    assert not Schedule.objects.filter(func=tasks.TASK).exists()


def test_the_signature_does_not_verify_with_another_secret(decided, receiver):
    tasks.deliver_webhook(str(decided.pk))
    [(headers, raw)] = receiver.requests
    assert not verify_signature("not-the-agent-secret", raw, headers["X-Orchestra-Signature"])


def test_a_500_is_recorded_and_retried_after_10_seconds(decided, receiver):
    receiver.statuses = [500]
    before = timezone.now()
    assert tasks.deliver_webhook(str(decided.pk)) is False
    delivery = WebhookDelivery.objects.get(proposal=decided)
    assert (delivery.attempt, delivery.status_code, delivery.delivered) == (1, 500, False)
    assert "receiver is down" in delivery.error
    schedule = retry_schedule()
    assert schedule.schedule_type == Schedule.ONCE
    assert ast.literal_eval(schedule.args) == (str(decided.pk), 2)
    assert before + timedelta(seconds=10) <= schedule.next_run <= timezone.now() + timedelta(seconds=10)


@pytest.mark.parametrize(("attempt", "delay"), [(2, 30), (3, 90), (4, 270)])
def test_the_backoff_triples(decided, receiver, attempt, delay):
    receiver.statuses = [503]
    before = timezone.now()
    tasks.deliver_webhook(str(decided.pk), attempt)
    schedule = retry_schedule()
    assert ast.literal_eval(schedule.args) == (str(decided.pk), attempt + 1)
    assert before + timedelta(seconds=delay) <= schedule.next_run <= timezone.now() + timedelta(seconds=delay)


def test_backoff_is_capped_at_an_hour():
    assert [tasks.backoff_seconds(n) for n in (1, 2, 3, 4, 5)] == [10, 30, 90, 270, 810]
    assert tasks.backoff_seconds(20) == 3600


def test_the_last_attempt_is_not_retried(decided, receiver, settings):
    settings.ORCHESTRA_WEBHOOK_MAX_ATTEMPTS = 3
    receiver.statuses = [500]
    assert tasks.deliver_webhook(str(decided.pk), 3) is False
    assert WebhookDelivery.objects.get(proposal=decided).attempt == 3
    assert not Schedule.objects.filter(func=tasks.TASK).exists()


def test_a_refused_connection_is_recorded_and_retried(agent, alice, body):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    p = decide(submit(agent, body, url), alice)
    assert tasks.deliver_webhook(str(p.pk)) is False
    delivery = WebhookDelivery.objects.get(proposal=p)
    assert delivery.status_code is None and "ConnectError" in delivery.error
    assert retry_schedule()


def test_running_an_attempt_twice_posts_once(decided, receiver):
    receiver.statuses = [500]
    tasks.deliver_webhook(str(decided.pk), 1)
    tasks.deliver_webhook(str(decided.pk), 1)
    assert len(receiver.requests) == 1
    assert Schedule.objects.filter(func=tasks.TASK).count() == 1


def test_a_delivered_proposal_is_not_posted_again(decided, receiver):
    tasks.deliver_webhook(str(decided.pk), 1)
    assert tasks.deliver_webhook(str(decided.pk), 2) is False
    assert len(receiver.requests) == 1


def test_a_pending_or_deleted_proposal_is_skipped(agent, body, receiver):
    p = submit(agent, body, receiver.url)
    assert tasks.deliver_webhook(str(p.pk)) is False
    assert tasks.deliver_webhook("00000000-0000-4000-8000-000000000000") is False
    assert receiver.requests == []


def test_the_retry_schedule_runs_through_the_django_q2_scheduler(decided, receiver, q2_sync):
    receiver.statuses = [500, 200]
    tasks.deliver_webhook(str(decided.pk))
    Schedule.objects.filter(func=tasks.TASK).update(next_run=timezone.now() - timedelta(seconds=1))
    Schedule.objects.exclude(func=tasks.TASK).update(next_run=timezone.now() + timedelta(days=1))  # only ours
    scheduler()  # what the cluster does every ~30 s; sync mode runs the task inline
    assert [h["X-Orchestra-Delivery"] for h, _ in receiver.requests] == [f"{decided.pk}:1", f"{decided.pk}:2"]
    assert list(WebhookDelivery.objects.filter(proposal=decided).values_list("attempt", "delivered")) == [
        (1, False), (2, True)]
    assert not Schedule.objects.filter(func=tasks.TASK).exists()  # one-off schedules remove themselves


# --- enqueueing: after the decision commits, never before --------------------------------------

def test_deciding_enqueues_the_webhook_after_commit(agent, alice, body, receiver, monkeypatch,
                                                    django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(tasks, "enqueue_webhook", lambda pid, attempt=1: queued.append((pid, attempt)))
    p = submit(agent, body, receiver.url)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        decide(p, alice)
        assert queued == []
    assert queued == []  # still nothing: the transaction has not committed
    for callback in callbacks:
        callback()
    assert queued == [(p.pk, 1)]


def test_no_callback_url_enqueues_nothing(agent, alice, body, monkeypatch, django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(tasks, "enqueue_webhook", lambda pid, attempt=1: queued.append(pid))
    p, _ = services.proposal_submit(agent=agent, data=body)
    with django_capture_on_commit_callbacks(execute=True):
        decide(p, alice)
    assert queued == []


def test_a_rolled_back_decision_enqueues_nothing(agent, alice, body, receiver, monkeypatch,
                                                 django_capture_on_commit_callbacks):
    from django.db import transaction

    queued = []
    monkeypatch.setattr(tasks, "enqueue_webhook", lambda pid, attempt=1: queued.append(pid))
    p = submit(agent, body, receiver.url)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                decide(p, alice)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert callbacks == [] and queued == []
    assert Proposal.objects.get(pk=p.pk).is_pending


def test_deciding_delivers_through_django_q2_end_to_end(agent, alice, body, receiver, q2_sync,
                                                        django_capture_on_commit_callbacks):
    p = submit(agent, body, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        decide(p, alice, "reject", comment="Not during the freeze.")
    [(headers, raw)] = receiver.requests
    assert verify_signature(agent.webhook_secret, raw, headers["X-Orchestra-Signature"])
    assert json.loads(raw)["proposal"]["decision"]["comment"] == "Not during the freeze."
    assert WebhookDelivery.objects.get(proposal=p).delivered


def test_an_unreachable_broker_falls_back_to_a_due_schedule(decided, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks, "async_task", broken)
    tasks.enqueue_webhook(decided.pk)
    schedule = retry_schedule()
    assert ast.literal_eval(schedule.args) == (str(decided.pk), 1)
    assert schedule.next_run <= timezone.now()


# --- one attempt, one row, one POST: the (proposal, attempt) key ----------------------------------

def test_the_attempt_is_recorded_before_it_is_posted(decided, receiver, monkeypatch):
    seen = []
    real_post = tasks._post

    def post(target, body, headers):
        seen.append(list(WebhookDelivery.objects.filter(proposal=decided).values_list("attempt", "error")))
        return real_post(target, body, headers)

    monkeypatch.setattr(tasks, "_post", post)
    assert tasks.deliver_webhook(str(decided.pk), 1) is True
    assert seen == [[(1, tasks.IN_FLIGHT)]]
    delivery = WebhookDelivery.objects.get(proposal=decided)
    assert (delivery.attempt, delivery.status_code, delivery.error, delivery.delivered) == (1, 200, "", True)


def test_an_attempt_in_flight_in_another_run_is_not_posted_again(decided, receiver):
    WebhookDelivery.objects.create(proposal=decided, attempt=1, error=tasks.IN_FLIGHT)
    assert tasks.deliver_webhook(str(decided.pk), 1) is False
    assert receiver.requests == [] and WebhookDelivery.objects.filter(proposal=decided).count() == 1


def test_a_concurrent_run_that_recorded_the_attempt_first_wins_without_an_error(decided, receiver, monkeypatch):
    """The other run inserts its row between this run's check and its insert: the unique key refuses
    this one, which records nothing, posts nothing and raises nothing."""
    real_claim = tasks._claim

    def raced(p, attempt, stale_before):
        WebhookDelivery.objects.create(proposal=p, attempt=attempt, error=tasks.IN_FLIGHT)  # the other run
        return real_claim(p, attempt, stale_before)

    monkeypatch.setattr(tasks, "_claim", raced)
    assert tasks.deliver_webhook(str(decided.pk), 1) is False
    assert receiver.requests == [] and WebhookDelivery.objects.filter(proposal=decided).count() == 1


def test_an_attempt_left_in_flight_by_a_dead_run_is_taken_over_and_posted(decided, receiver):
    """At least once: the worker died mid-POST; the broker's redelivery of the task posts it again,
    completing the same row."""
    long_ago = timezone.now() - timedelta(seconds=tasks.claim_expiry_seconds() + 1)
    row = WebhookDelivery.objects.create(proposal=decided, attempt=1, error=tasks.IN_FLIGHT)
    WebhookDelivery.objects.filter(pk=row.pk).update(created_at=long_ago)
    assert tasks.deliver_webhook(str(decided.pk), 1) is True
    assert len(receiver.requests) == 1
    row = WebhookDelivery.objects.get(proposal=decided)
    assert (row.pk, row.status_code, row.error, row.delivered) == (row.pk, 200, "", True)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres), "any"])
def test_two_concurrent_runs_of_one_attempt_record_and_post_it_once(agent, alice, body, backend):
    """Real threads and connections, a slow receiver: both runs start at once."""
    import time

    from django.db import connection

    with Receiver() as receiver:
        receiver_post = receiver.server.RequestHandlerClass.do_POST

        def slow_post(handler):
            time.sleep(0.3)
            receiver_post(handler)

        receiver.server.RequestHandlerClass.do_POST = slow_post
        p = decide(submit(agent, body, receiver.url), alice, "approve")
        barrier, results = threading.Barrier(2), [None, None]

        def run(i):
            try:
                barrier.wait()
                results[i] = tasks.deliver_webhook(str(p.pk), 1)
            except Exception as exc:  # noqa: BLE001  (what this test is about)
                results[i] = repr(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(results, key=str) == [False, True], results
        assert len(receiver.requests) == 1
        assert list(WebhookDelivery.objects.filter(proposal=p).values_list("attempt", "delivered")) == [(1, True)]

"""Decision callbacks (inbox.tasks, inbox.outbox) against a real HTTP receiver on 127.0.0.1: body,
signature, the delivery id, WebhookDelivery rows, the outbox row written with the decision, retries
with backoff through the outbox sweep, and queueing after commit. The crash test is test_outbox_crash.py."""
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

from inbox import outbox, services, tasks
from inbox.models import OwedWebhook, Proposal, WebhookDelivery
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
    """A proposal with a callback to ``receiver``, approved by alice (its on-commit hooks not run: the
    webhook is owed, not queued)."""
    return decide(submit(agent, body, receiver.url), alice, "approve", comment="go")


def owed(p) -> OwedWebhook:
    return OwedWebhook.objects.get(proposal=p)


def make_due(p, **fields):
    """Let the owed webhook of ``p`` be attempted now (its backoff over), with ``fields`` changed too."""
    OwedWebhook.objects.filter(proposal=p).update(next_attempt_at=timezone.now() - timedelta(seconds=1), **fields)


def test_it_posts_the_signed_decision(decided, agent, receiver, body):
    assert tasks.deliver_webhook(str(decided.pk)) is True
    [(headers, raw)] = receiver.requests
    assert verify_signature(agent.webhook_secret, raw, headers["X-Orchestra-Signature"])
    assert headers["X-Orchestra-Delivery"] == str(owed(decided).pk)
    assert headers["X-Orchestra-Attempt"] == "1"
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
    row = owed(decided)
    assert (row.state, row.attempts, row.leased_until) == (OwedWebhook.State.DELIVERED, 1, None)
    assert row.done_at is not None


def test_the_signature_does_not_verify_with_another_secret(decided, receiver):
    tasks.deliver_webhook(str(decided.pk))
    [(headers, raw)] = receiver.requests
    assert not verify_signature("not-the-agent-secret", raw, headers["X-Orchestra-Signature"])


def test_the_decision_writes_the_owed_webhook_in_its_own_transaction(agent, alice, body, receiver,
                                                                     django_capture_on_commit_callbacks):
    p = submit(agent, body, receiver.url)
    assert not OwedWebhook.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        decide(p, alice)
        row = owed(p)  # before the commit hooks run: it is the decision's own row
    assert (row.state, row.attempts, row.event) == (OwedWebhook.State.OWED, 0, "proposal.decided")


def test_a_rolled_back_decision_owes_nothing(agent, alice, body, receiver, django_capture_on_commit_callbacks):
    from django.db import transaction

    p = submit(agent, body, receiver.url)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        decide(p, alice)
        raise RuntimeError("rolled back")
    assert not OwedWebhook.objects.exists() and Proposal.objects.get(pk=p.pk).is_pending


def test_no_callback_url_owes_nothing(agent, alice, body):
    p, _ = services.proposal_submit(agent=agent, data=body)
    decide(p, alice)
    assert not OwedWebhook.objects.exists()


def test_a_500_is_recorded_and_attempted_again_after_10_seconds(decided, receiver):
    receiver.statuses = [500]
    before = timezone.now()
    assert tasks.deliver_webhook(str(decided.pk)) is False
    delivery = WebhookDelivery.objects.get(proposal=decided)
    assert (delivery.attempt, delivery.status_code, delivery.delivered) == (1, 500, False)
    assert "receiver is down" in delivery.error
    row = owed(decided)
    assert (row.state, row.attempts, row.leased_until) == (OwedWebhook.State.OWED, 1, None)
    assert before + timedelta(seconds=10) <= row.next_attempt_at <= timezone.now() + timedelta(seconds=10)
    assert "500" in row.last_error
    assert tasks.deliver_webhook(str(decided.pk)) is False  # not due yet: nothing posted
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(("attempts", "delay"), [(1, 30), (2, 90), (3, 270)])
def test_the_backoff_triples(decided, receiver, attempts, delay):
    receiver.statuses = [503]
    make_due(decided, attempts=attempts)
    before = timezone.now()
    tasks.deliver_webhook(str(decided.pk))
    row = owed(decided)
    assert row.attempts == attempts + 1
    assert before + timedelta(seconds=delay) <= row.next_attempt_at <= timezone.now() + timedelta(seconds=delay)


def test_backoff_is_capped_at_an_hour():
    assert [tasks.backoff_seconds(n) for n in (1, 2, 3, 4, 5)] == [10, 30, 90, 270, 810]
    assert tasks.backoff_seconds(20) == 3600


def test_the_last_attempt_gives_up_and_is_not_queued_again(decided, receiver, settings):
    settings.ORCHESTRA_WEBHOOK_MAX_ATTEMPTS = 3
    receiver.statuses = [500]
    make_due(decided, attempts=2)
    assert tasks.deliver_webhook(str(decided.pk)) is False
    row = owed(decided)
    assert (row.state, row.attempts) == (OwedWebhook.State.FAILED, 3) and row.done_at
    assert WebhookDelivery.objects.get(proposal=decided).attempt == 3
    assert outbox.webhooks_requeue(timezone.now() + timedelta(days=1)) == 0


def test_a_refused_connection_is_recorded_and_attempted_again(agent, alice, body):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    p = decide(submit(agent, body, url), alice)
    assert tasks.deliver_webhook(str(p.pk)) is False
    delivery = WebhookDelivery.objects.get(proposal=p)
    assert delivery.status_code is None and "ConnectError" in delivery.error
    assert owed(p).state == OwedWebhook.State.OWED


def test_an_address_the_guard_refuses_ends_the_delivery(decided, receiver, settings):
    settings.ORCHESTRA_WEBHOOK_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    assert tasks.deliver_webhook(str(decided.pk)) is False
    assert receiver.requests == []
    row = owed(decided)
    assert row.state == OwedWebhook.State.REFUSED and "ORCHESTRA_WEBHOOK_ALLOWED_NETWORKS" in row.last_error
    assert outbox.webhooks_requeue(timezone.now() + timedelta(days=1)) == 0


def test_every_attempt_carries_the_same_delivery_id(decided, receiver):
    receiver.statuses = [500, 502, 200]
    for _ in range(3):
        make_due(decided)
        tasks.deliver_webhook(str(decided.pk))
    assert [h["X-Orchestra-Attempt"] for h, _ in receiver.requests] == ["1", "2", "3"]
    assert {h["X-Orchestra-Delivery"] for h, _ in receiver.requests} == {str(owed(decided).pk)}
    assert list(WebhookDelivery.objects.filter(proposal=decided).values_list("attempt", "status_code")) == [
        (1, 500), (2, 502), (3, 200)]
    assert owed(decided).state == OwedWebhook.State.DELIVERED


def test_a_delivered_webhook_is_not_posted_again(decided, receiver):
    assert tasks.deliver_webhook(str(decided.pk)) is True
    make_due(decided)
    assert tasks.deliver_webhook(str(decided.pk)) is False
    assert len(receiver.requests) == 1


def test_a_pending_or_unknown_proposal_is_skipped(agent, body, receiver):
    p = submit(agent, body, receiver.url)
    assert tasks.deliver_webhook(str(p.pk)) is False
    assert tasks.deliver_webhook("00000000-0000-4000-8000-000000000000") is False
    assert receiver.requests == []


# --- the lease: one run at a time, and a dead run's attempt made again ----------------------------

def test_the_attempt_is_recorded_and_leased_before_it_is_posted(decided, receiver, monkeypatch):
    seen = []
    real_post = tasks._post

    def post(target, body, headers):
        row = owed(decided)
        seen.append((list(WebhookDelivery.objects.filter(proposal=decided).values_list("attempt", "error")),
                     row.leased_until > timezone.now()))
        return real_post(target, body, headers)

    monkeypatch.setattr(tasks, "_post", post)
    assert tasks.deliver_webhook(str(decided.pk)) is True
    assert seen == [([(1, tasks.IN_FLIGHT)], True)]


def test_a_webhook_in_flight_in_another_run_is_not_posted_again(decided, receiver):
    OwedWebhook.objects.filter(proposal=decided).update(leased_until=timezone.now() + timedelta(seconds=30))
    assert tasks.deliver_webhook(str(decided.pk)) is False
    assert receiver.requests == [] and owed(decided).attempts == 0


def test_an_attempt_left_in_flight_by_a_dead_run_is_made_again(decided, receiver):
    """At least once: the worker died mid-POST (its lease ran out); the next run posts again."""
    OwedWebhook.objects.filter(proposal=decided).update(attempts=1, leased_until=timezone.now() - timedelta(seconds=1))
    WebhookDelivery.objects.create(proposal=decided, attempt=1, error=tasks.IN_FLIGHT)
    assert tasks.deliver_webhook(str(decided.pk)) is True
    assert [h["X-Orchestra-Attempt"] for h, _ in receiver.requests] == ["2"]
    assert list(WebhookDelivery.objects.filter(proposal=decided).values_list("attempt", "error", "delivered")) == [
        (1, tasks.ABANDONED, False), (2, "", True)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres), "any"])
def test_two_concurrent_runs_post_once(agent, alice, body, backend):
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
                results[i] = tasks.deliver_webhook(str(p.pk))
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


# --- queueing: after the commit; and the sweep queues what is still owed -----------------------------

def test_deciding_queues_the_webhook_after_commit(agent, alice, body, receiver, monkeypatch,
                                                  django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(tasks, "enqueue_webhook", lambda pid, attempt=1: queued.append(pid))
    p = submit(agent, body, receiver.url)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        decide(p, alice)
    assert queued == []  # the transaction has not committed
    for callback in callbacks:
        callback()
    assert queued == [p.pk]


def test_deciding_delivers_through_django_q2_end_to_end(agent, alice, body, receiver, q2_sync,
                                                        django_capture_on_commit_callbacks):
    p = submit(agent, body, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        decide(p, alice, "reject", comment="Not during the freeze.")
    [(headers, raw)] = receiver.requests
    assert verify_signature(agent.webhook_secret, raw, headers["X-Orchestra-Signature"])
    assert json.loads(raw)["proposal"]["decision"]["comment"] == "Not during the freeze."
    assert owed(p).state == OwedWebhook.State.DELIVERED


def test_an_unreachable_broker_leaves_it_owed_for_the_sweep(agent, alice, body, receiver, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    def broken(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks, "async_task", broken)
    p = submit(agent, body, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        decide(p, alice)  # the decision stands
    assert Proposal.objects.get(pk=p.pk).status == "approved"
    assert (owed(p).state, owed(p).queued_at) == (OwedWebhook.State.OWED, None)
    queued = []
    monkeypatch.setattr(tasks, "enqueue_webhook", lambda pid, attempt=1: queued.append(pid))
    assert outbox.webhooks_requeue() == 1 and queued == [p.pk]


def test_the_sweep_queues_only_what_is_owed_due_free_and_not_just_queued(agent, alice, body, receiver, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks, "enqueue_webhook", lambda pid, attempt=1: queued.append(pid))
    now = timezone.now()
    lease = timedelta(seconds=outbox.lease_seconds())
    rows = {}
    for name, fields in {
        "lost": {"queued_at": now - lease - timedelta(seconds=1)},  # queued long ago, never attempted
        "dead_run": {"leased_until": now - timedelta(seconds=1), "queued_at": None},
        "just_queued": {"queued_at": now},
        "in_flight": {"leased_until": now + timedelta(seconds=30), "queued_at": None},
        "backing_off": {"next_attempt_at": now + timedelta(seconds=30), "queued_at": None},
        "delivered": {"state": OwedWebhook.State.DELIVERED, "queued_at": None},
    }.items():
        p = decide(submit(agent, dict(body, summary=name, resource=f"svc:{name}"), receiver.url), alice)
        OwedWebhook.objects.filter(proposal=p).update(**{"next_attempt_at": now - timedelta(seconds=1), **fields})
        rows[name] = p.pk
    assert outbox.webhooks_requeue(now) == 2
    assert sorted(queued) == sorted([rows["lost"], rows["dead_run"]])
    assert outbox.webhooks_requeue(now) == 0  # now they count as just queued


def test_the_outbox_schedule_runs_through_the_django_q2_scheduler(decided, receiver, q2_sync):
    receiver.statuses = [500, 200]
    tasks.deliver_webhook(str(decided.pk))
    make_due(decided)
    schedule = Schedule.objects.get(name="webhook-outbox")  # created by migration 0007
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == ("inbox.tasks.webhooks_requeue", "I", 1)
    Schedule.objects.exclude(pk=schedule.pk).update(next_run=timezone.now() + timedelta(days=1))  # only ours
    Schedule.objects.filter(pk=schedule.pk).update(next_run=timezone.now() - timedelta(seconds=1))
    scheduler()  # what the cluster does every ~30 s; sync mode runs the task inline
    assert [h["X-Orchestra-Attempt"] for h, _ in receiver.requests] == ["1", "2"]
    assert owed(decided).state == OwedWebhook.State.DELIVERED


def test_admin_lists_the_outbox_read_only(decided, client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    row = owed(decided)
    r = client.get("/admin/inbox/owedwebhook/?state__exact=owed")
    assert r.status_code == 200 and str(row.pk) in r.content.decode()
    assert client.get(f"/admin/inbox/owedwebhook/{row.pk}/change/").status_code == 200  # a view, no form
    assert client.post(f"/admin/inbox/owedwebhook/{row.pk}/change/", {"state": "delivered"}).status_code == 403
    assert client.post(f"/admin/inbox/owedwebhook/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert owed(decided).state == OwedWebhook.State.OWED

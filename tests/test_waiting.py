"""Waiting agents learn the truth, on time (in one process; across processes: test_waiting_live.py).

- ``/wait`` answers what the database says at the end of the wait, not what it read before waiting,
  and re-reads while waiting (``ORCHESTRA_LONG_POLL_RECHECK_SECONDS``) even when no event comes.
- Expiry does not wait for the task cluster's sweep: the waiter expires the proposal at its
  ``expires_at``; reads report it; a decision or escalation after it is refused (409 ``expired``).
- An ``Idempotency-Key`` replay is judged before the body is validated: an exact replay after
  ``expires_at`` gets the original (200), another body 409.

Decisions "from another process" are committed by a thread on its own connection with
``events.announce`` silenced and ``inbox.watcher`` off: no event reaches the waiter.
"""
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from inbox import events, services, timers, watcher
from inbox.models import Proposal
from tests.conftest import PROPOSAL

pytestmark = pytest.mark.django_db(transaction=True)
P = "/api/v1/proposals"


def submit(client, **fields):
    """A pending proposal one approval decides (medium risk: high and critical need two approvers)."""
    r = client.post_json(P, dict(PROPOSAL, **{"risk": "medium", **fields}))
    assert r.status_code == 201, r.content
    return Proposal.objects.get(pk=r.json()["id"])


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def later(seconds: float, work):
    """Run ``work`` in a thread (its own database connection) after ``seconds``."""

    def run():
        time.sleep(seconds)
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def approve_silently(proposal, reviewer):
    """Approve, committed, with no live event: as another process does on the in-memory layer."""
    with mock.patch.object(events, "announce"):
        services.proposal_decide(proposal=proposal, reviewer=reviewer, verdict="approve")


@pytest.fixture
def no_watcher(monkeypatch):
    monkeypatch.setattr(watcher, "needed", lambda: False)


def timed_wait(client, proposal, timeout):
    t0 = time.monotonic()
    r = client.get(f"{P}/{proposal.pk}/wait?timeout={timeout}")
    assert r.status_code == 200, r.content
    return r.json(), time.monotonic() - t0


# --- the long-poll re-reads -------------------------------------------------------------------------

def test_a_long_poll_that_times_out_answers_the_decision_committed_meanwhile(agent_client, alice, settings,
                                                                               no_watcher):
    settings.ORCHESTRA_LONG_POLL_RECHECK_SECONDS = 60  # only the read at the end of the wait can see it
    p = submit(agent_client)
    thread = later(0.3, lambda: approve_silently(p, alice))
    body, took = timed_wait(agent_client, p, 1.5)
    thread.join()
    assert body["status"] == "approved" and body["decision"]["decided_by"] == "alice"
    assert took >= 1.4  # it did wait for the timeout: no event came


def test_a_long_poll_rechecks_the_database_while_it_waits(agent_client, alice, settings, no_watcher):
    settings.ORCHESTRA_LONG_POLL_RECHECK_SECONDS = 0.2
    p = submit(agent_client)
    thread = later(0.3, lambda: approve_silently(p, alice))
    body, took = timed_wait(agent_client, p, 8)
    thread.join()
    assert body["status"] == "approved"
    assert took < 2.5


def test_a_long_poll_still_wakes_at_once_on_an_event(agent_client, alice, settings):
    settings.ORCHESTRA_LONG_POLL_RECHECK_SECONDS = 60
    p = submit(agent_client)
    thread = later(0.3, lambda: services.proposal_decide(proposal=p, reviewer=alice, verdict="approve"))
    body, took = timed_wait(agent_client, p, 8)
    thread.join()
    assert body["status"] == "approved" and took < 5


def test_the_change_watcher_brings_a_change_no_event_announced_here(agent_client, alice, settings):
    if not watcher.needed():
        pytest.skip("the Redis channel layer carries events across processes: no watcher")
    settings.ORCHESTRA_LONG_POLL_RECHECK_SECONDS = 60  # not the recheck: inbox.watcher reads the change
    p = submit(agent_client)
    thread = later(0.3, lambda: approve_silently(p, alice))
    body, took = timed_wait(agent_client, p, 8)
    thread.join()
    assert body["status"] == "approved" and took < 2.5


# --- expiry without a task cluster ------------------------------------------------------------------

def test_the_waiter_learns_expired_at_expires_at_without_a_task_cluster(agent_client, settings, no_watcher):
    settings.ORCHESTRA_LONG_POLL_RECHECK_SECONDS = 60  # the wait is cut at expires_at, not by a recheck
    p = submit(agent_client, expires_at=soon(3600))
    Proposal.objects.filter(pk=p.pk).update(expires_at=timezone.now() + timedelta(seconds=1.5))
    p.refresh_from_db()
    body, _ = timed_wait(agent_client, p, 10)
    late = (timezone.now() - p.expires_at).total_seconds()
    assert body["status"] == "expired" and body["decision"]["verdict"] == "expire"
    assert 0 <= late < 2.0
    p.refresh_from_db()
    assert p.status == "expired" and p.decided_at >= p.expires_at


def past_expiry(p):
    Proposal.objects.filter(pk=p.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_a_decision_after_expires_at_is_refused_and_the_proposal_expires(agent_client, alice_client):
    p = submit(agent_client, expires_at=soon(3600))
    past_expiry(p)  # and no sweep ran
    r = alice_client.post_json(f"{P}/{p.pk}/decision", {"verdict": "approve"})
    assert r.status_code == 409
    assert r.json()["code"] == "expired" and r.json()["status"] == "expired"
    p.refresh_from_db()
    assert p.status == "expired" and p.decided_by is None and p.final_args is None
    assert not p.votes.exists()


def test_an_escalation_after_expires_at_is_refused(agent_client, alice_client):
    p = submit(agent_client, expires_at=soon(3600))
    past_expiry(p)
    r = alice_client.post_json(f"{P}/{p.pk}/escalate", {"reason": "Too late anyway."})
    assert r.status_code == 409 and r.json()["code"] == "expired"
    p.refresh_from_db()
    assert p.status == "expired" and not p.escalations.exists()


def test_a_decision_on_an_expired_proposal_names_the_expiry(agent_client, alice_client):
    p = submit(agent_client, expires_at=soon(3600))
    past_expiry(p)
    services.proposals_expire_due()
    r = alice_client.post_json(f"{P}/{p.pk}/decision", {"verdict": "reject", "comment": "No."})
    assert r.status_code == 409 and r.json()["code"] == "expired" and r.json()["status"] == "expired"


def test_reading_a_proposal_past_its_expiry_reports_expired(agent_client):
    p = submit(agent_client, expires_at=soon(3600))
    past_expiry(p)
    body = agent_client.get(f"{P}/{p.pk}").json()
    assert body["status"] == "expired" and body["decision"]["verdict"] == "expire"


def test_expiry_announces_like_a_decision(agent_client):
    p = submit(agent_client, expires_at=soon(3600))
    past_expiry(p)
    p.refresh_from_db()
    with mock.patch.object(events, "_send") as send:
        assert services.proposal_expire(proposal=p) is True
    groups = [c.args[0] for c in send.call_args_list]
    assert f"proposal-{p.pk}" in groups and f"inbox-{p.inbox_id}" in groups
    assert services.proposal_expire(proposal=p) is False  # once


def test_the_sweep_expires_through_the_single_proposal_service(agent_client):
    due, fresh = submit(agent_client, expires_at=soon(3600)), submit(agent_client, expires_at=soon(3600))
    past_expiry(due)
    with mock.patch.object(timers, "proposal_expire", wraps=timers.proposal_expire) as expire:
        assert services.proposals_expire_due() == 1
    assert expire.call_count == 1
    assert Proposal.objects.get(pk=fresh.pk).status == "pending"


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres), "any"])
def test_an_expiry_and_decisions_racing_at_expires_at_leave_exactly_one_outcome(agent_client, platform_inbox,
                                                                                 backend):
    from tests.factories import UserFactory

    reviewers = [UserFactory(username=f"r{i}") for i in range(6)]
    for r in reviewers:
        r.groups.add(platform_inbox.reviewers)
    p = submit(agent_client, expires_at=soon(3600))
    Proposal.objects.filter(pk=p.pk).update(expires_at=timezone.now() + timedelta(seconds=0.6))
    p.refresh_from_db()
    outcomes = []

    def decide(reviewer, delay):
        time.sleep(delay)
        try:
            services.proposal_decide(proposal=p, reviewer=reviewer, verdict="approve")
            outcomes.append(("approved", timezone.now()))
        except Exception as exc:  # noqa: BLE001 - the test records every refusal
            outcomes.append((getattr(exc, "code", repr(exc)), timezone.now()))

    def expire():
        while not services.proposal_expire(proposal=Proposal.objects.get(pk=p.pk)):
            if not Proposal.objects.get(pk=p.pk).is_pending:
                return
            time.sleep(0.005)

    threads = [later(0, expire)] + [later(0, lambda r=r, i=i: decide(r, 0.45 + 0.05 * i))
                                    for i, r in enumerate(reviewers)]
    for t in threads:
        t.join(30)
    p.refresh_from_db()
    assert p.status in ("approved", "expired")
    assert p.history.exclude(status="pending").count() == 1  # decided or expired, once
    if p.status == "approved":
        assert p.decided_at < p.expires_at
    assert all(code in ("approved", "already_decided", "expired") for code, _ in outcomes)
    assert not [at for code, at in outcomes if code == "approved" and at > p.expires_at + timedelta(seconds=0.2)]


# --- idempotent replays are judged before validation ------------------------------------------------

def post_expiring_soon(client, key, **fields):
    """Post with ``key`` a body whose ``expires_at`` is a second away; return it and the response
    once that moment has passed (the body would no longer validate)."""
    submit(client, summary="warm-up")  # the first request of a process is slow: not this one
    body = dict(PROPOSAL, expires_at=soon(1), **fields)
    first = client.post_json(P, body, **{"Idempotency-Key": key})
    assert first.status_code == 201, first.content
    time.sleep(1.2)
    return body, first


def test_an_exact_replay_after_expires_at_returns_the_original(agent_client):
    body, first = post_expiring_soon(agent_client, "k-expired")
    again = agent_client.post_json(P, body, **{"Idempotency-Key": "k-expired"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Proposal.objects.filter(idempotency_key="k-expired").count() == 1


def test_another_body_with_a_used_key_is_a_conflict_even_when_invalid(agent_client):
    post_expiring_soon(agent_client, "k1")
    r = agent_client.post_json(P, dict(PROPOSAL, expires_at=soon(-5), summary="other"), **{"Idempotency-Key": "k1"})
    assert r.status_code == 409 and r.json()["code"] == "idempotency_conflict"


def test_a_replay_is_the_same_json_document_whatever_its_spelling(agent_client):
    first = agent_client.post(P, data=json.dumps(PROPOSAL), content_type="application/json",
                              headers={"Idempotency-Key": "k2"})
    reordered = json.dumps(dict(reversed(list(PROPOSAL.items()))), indent=2)
    again = agent_client.post(P, data=reordered, content_type="application/json", headers={"Idempotency-Key": "k2"})
    assert first.status_code == 201 and again.status_code == 200 and again.json()["id"] == first.json()["id"]


def test_a_new_key_with_a_bad_body_is_still_validated(agent_client):
    r = agent_client.post_json(P, dict(PROPOSAL, confidence="very"), **{"Idempotency-Key": "k3"})
    assert r.status_code == 422 and "confidence" in str(r.json())
    r = agent_client.post(P, data=b"{not json", content_type="application/json", headers={"Idempotency-Key": "k3"})
    assert r.status_code == 400
    assert not Proposal.objects.exists()

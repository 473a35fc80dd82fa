"""Escalation: by hand over the API, and by the SLA timer (inbox.tasks.sweep, a django-q2 schedule);
hard expiry by the same sweep; the live ``proposal.moved`` event.

A proposal moves up one level at a time: the domain's default inbox → the domain orchestrator's inbox
→ the enterprise board's inbox. Every move is an ``Escalation`` row (``by`` empty for the timer) and
restarts the SLA. At the enterprise level there is nobody above: a missed SLA is recorded once.
"""
import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.tasks import async_task, fetch

from governance import tokens
from governance.models import Policy
from governance.services import enterprise_inbox
from inbox import events, services
from inbox import tasks as governance_tasks
from inbox import tasks as inbox_tasks
from inbox.models import Escalation, Proposal
from inbox.schemas import ProposalIn
from inbox.services import agent_suspend
from orchestra_site.errors import Conflict
from tests.conftest import PROPOSAL, TokenClient
from tests.factories import PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db
P = "/api/v1/proposals"


def member_client(inbox, username):
    user = UserFactory(username=username)
    user.groups.add(inbox.reviewers)
    return user, TokenClient(tokens.user_token_create(user=user)[1])


@pytest.fixture
def orchestrator(platform):
    """olga: reviewer of the Platform orchestrators' inbox."""
    return member_client(platform.orchestrator_inbox, "olga")


@pytest.fixture
def board():
    """bea: member of the enterprise governance board."""
    return member_client(enterprise_inbox(), "bea")


@pytest.fixture
def q2_sync(monkeypatch):
    """django-q2 runs ``async_task`` inline, in this transaction. ``Q_CLUSTER`` is read once at import
    (``django_q.conf.Conf``), so overriding the setting would not do it; ``Conf.SYNC`` also keeps the
    worker from closing the test's database connection."""
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def sent(monkeypatch):
    """Every Channels group message, as (group, message)."""
    calls = []
    monkeypatch.setattr(events, "_send", lambda group, message: calls.append((group, message)))
    return calls


@pytest.fixture
def queued(monkeypatch):
    """Proposal ids whose webhook was enqueued."""
    ids = []
    monkeypatch.setattr(inbox_tasks, "enqueue_webhook", lambda pid, attempt=1: ids.append(pid))
    return ids


def submit(agent, **fields):
    data = ProposalIn(**{**PROPOSAL, **fields}).to_model_fields()
    return services.proposal_submit(agent=agent, data=data)[0]


def overdue(p, minutes=5):
    Proposal.objects.filter(pk=p.pk).update(sla_due_at=timezone.now() - timedelta(minutes=minutes))


def past_expiry(p):
    Proposal.objects.filter(pk=p.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def fresh(p):
    return Proposal.objects.select_related("inbox").get(pk=p.pk)


# --- by hand, over the API -------------------------------------------------------------------------

def test_a_reviewer_escalates_to_the_domain_orchestrators_inbox(agent_client, alice, alice_client, platform,
                                                                proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    r = alice_client.post_json(f"{P}/{pid}/escalate", {"reason": "Touches billing; needs the orchestrator."})
    assert r.status_code == 200, r.content
    assert r.json()["level"] == "domain" and r.json()["inbox"] == platform.orchestrator_inbox.slug
    assert r.json()["status"] == "pending"


def test_a_hand_escalation_is_recorded_with_who_and_why(agent_client, alice, alice_client, platform, proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    alice_client.post_json(f"{P}/{pid}/escalate", {"reason": "Touches billing."})
    esc = Escalation.objects.get(proposal_id=pid)
    assert (esc.by, esc.reason, esc.to_level) == (alice, "Touches billing.", "domain")
    assert (esc.from_inbox, esc.to_inbox) == (platform.default_inbox, platform.orchestrator_inbox)


def test_the_orchestrator_escalates_on_to_the_enterprise_board(agent_client, alice_client, orchestrator,
                                                               proposal_body):
    olga, olga_client = orchestrator
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    alice_client.post_json(f"{P}/{pid}/escalate", {"reason": "Needs the orchestrator."})
    r = olga_client.post_json(f"{P}/{pid}/escalate", {"reason": "Cross-domain; for the board."})
    assert r.status_code == 200, r.content
    assert r.json()["level"] == "enterprise" and r.json()["inbox"] == enterprise_inbox().slug
    assert Escalation.objects.filter(proposal_id=pid).latest("created_at").by == olga


def test_escalating_at_the_enterprise_level_is_409_top_level(agent_client, board, proposal_body):
    PolicyFactory(outcome=Policy.Outcome.ESCALATE, escalate_to="enterprise")
    _, bea_client = board
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    r = bea_client.post_json(f"{P}/{pid}/escalate", {"reason": "Higher?"})
    assert r.status_code == 409 and r.json()["code"] == "top_level"
    assert not Escalation.objects.filter(proposal_id=pid).exists()


@pytest.mark.parametrize("body", [{}, {"reason": ""}])
def test_escalating_needs_a_reason(agent_client, alice_client, platform_inbox, proposal_body, body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    r = alice_client.post_json(f"{P}/{pid}/escalate", body)
    assert r.status_code == 422 and "reason" in str(r.json())
    assert Proposal.objects.get(pk=pid).inbox == platform_inbox
    assert not Escalation.objects.exists()


def test_a_reviewer_of_another_inbox_gets_404_when_escalating(agent_client, bob_client, platform_inbox,
                                                               proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    r = bob_client.post_json(f"{P}/{pid}/escalate", {"reason": "Not mine."})
    assert r.status_code == 404
    assert Proposal.objects.get(pk=pid).inbox == platform_inbox


def test_an_agent_cannot_escalate_its_own_proposal(agent_client, platform_inbox, proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    assert agent_client.post_json(f"{P}/{pid}/escalate", {"reason": "Please."}).status_code == 403
    assert Proposal.objects.get(pk=pid).inbox == platform_inbox


def test_after_escalating_the_first_line_no_longer_decides_it(agent_client, alice_client, proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    alice_client.post_json(f"{P}/{pid}/escalate", {"reason": "Not mine to decide."})
    # Who escalated keeps reading it (the reviewer experience issue), so deciding is 403, not 404.
    r = alice_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"})
    assert r.status_code == 403 and r.json()["code"] == "decide_forbidden"
    assert alice_client.get(f"{P}/{pid}").status_code == 200
    assert Proposal.objects.get(pk=pid).is_pending


def test_escalating_a_decided_proposal_is_409(agent_client, alice_client, proposal_body):
    pid = agent_client.post_json(P, dict(proposal_body, risk="medium")).json()["id"]  # one approver decides
    alice_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"})
    r = alice_client.post_json(f"{P}/{pid}/escalate", {"reason": "Too late."})
    assert r.status_code == 409 and r.json()["code"] == "already_decided" and r.json()["decided_by"] == "alice"


def test_escalating_restarts_the_sla(agent, alice):
    p = submit(agent)  # high risk: one hour
    overdue(p)
    services.proposal_escalate(proposal=p, reason="Stuck.", by=alice)
    due = fresh(p).sla_due_at
    assert timezone.now() + timedelta(minutes=59) < due <= timezone.now() + timedelta(hours=1)


# --- by the SLA timer -------------------------------------------------------------------------------

def test_the_sweep_is_scheduled_every_minute_by_migration():
    schedule = Schedule.objects.get(name="inbox-sweep")
    assert schedule.func == "inbox.tasks.sweep"
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 1, -1)


def test_the_sweep_task_escalates_an_overdue_proposal(agent, platform, q2_sync):
    p = submit(agent)
    overdue(p)
    task_id = async_task("inbox.tasks.sweep")
    task = fetch(task_id)
    assert task.success, task.result
    assert task.result == {"expired": 0, "escalated": 1}
    p = fresh(p)
    assert (p.level, p.inbox, p.status) == ("domain", platform.orchestrator_inbox, "pending")


def test_a_timer_escalation_is_recorded_without_a_reviewer(agent, platform):
    p = submit(agent)
    overdue(p)
    governance_tasks.sweep()
    esc = Escalation.objects.get(proposal=p)
    assert esc.by is None and "SLA" in esc.reason
    assert (esc.from_inbox, esc.to_inbox, esc.to_level) == (platform.default_inbox, platform.orchestrator_inbox,
                                                           "domain")


def test_a_timer_escalation_sets_a_new_deadline_in_the_future(agent):
    p = submit(agent)
    overdue(p)
    governance_tasks.sweep()
    assert fresh(p).sla_due_at > timezone.now()


def test_the_new_deadline_follows_the_policys_sla(agent):
    PolicyFactory(name="Ten minutes", sla_seconds=600)
    p = submit(agent, risk="low")
    overdue(p)
    governance_tasks.sweep()
    due = fresh(p).sla_due_at
    assert timezone.now() + timedelta(seconds=590) < due <= timezone.now() + timedelta(seconds=600)


def test_a_proposal_within_its_sla_is_left_alone(agent, platform_inbox):
    p = submit(agent)
    assert governance_tasks.sweep() == {"expired": 0, "escalated": 0}
    assert fresh(p).inbox == platform_inbox and not Escalation.objects.exists()


def test_the_timer_moves_a_proposal_one_level_per_missed_deadline(agent, platform):
    p = submit(agent)
    overdue(p)
    governance_tasks.sweep()
    governance_tasks.sweep()  # the new deadline has not passed
    assert fresh(p).level == "domain"
    overdue(p)
    governance_tasks.sweep()
    assert fresh(p).level == "enterprise" and fresh(p).inbox == enterprise_inbox()


def test_at_the_enterprise_level_a_missed_sla_is_recorded_once(agent):
    PolicyFactory(outcome=Policy.Outcome.ESCALATE, escalate_to="enterprise")
    p = submit(agent)
    overdue(p)
    assert governance_tasks.sweep()["escalated"] == 0
    governance_tasks.sweep()
    esc = Escalation.objects.get(proposal=p)
    assert esc.by is None and "enterprise" in esc.reason and "SLA" in esc.reason
    p = fresh(p)
    assert (p.level, p.inbox, p.status, p.sla_due_at) == ("enterprise", enterprise_inbox(), "pending", None)


def test_a_frozen_overdue_proposal_is_not_escalated(agent, alice, platform_inbox):
    p = submit(agent)
    agent_suspend(agent=agent, by=alice, reason="Runaway.")
    overdue(p)
    governance_tasks.sweep()
    assert fresh(p).inbox == platform_inbox and not Escalation.objects.exists()


# --- hard expiry ----------------------------------------------------------------------------------

def test_the_sweep_expires_a_proposal_past_its_hard_expiry(agent):
    p = submit(agent)
    past_expiry(p)
    assert governance_tasks.sweep()["expired"] == 1
    p = fresh(p)
    assert p.status == "expired" and p.decided_by is None and p.decided_at is not None
    assert "nothing was run" in p.decision_comment
    assert p.final_args is None


def test_a_proposal_before_its_expiry_stays_pending(agent):
    p = submit(agent, expires_at=timezone.now() + timedelta(hours=1))
    assert governance_tasks.sweep()["expired"] == 0
    assert fresh(p).status == "pending"


def test_an_expired_proposal_is_not_also_escalated(agent):
    p = submit(agent)
    overdue(p)
    past_expiry(p)
    assert governance_tasks.sweep() == {"expired": 1, "escalated": 0}
    assert not Escalation.objects.exists()


def test_the_agent_reads_expired_and_the_long_poll_returns_at_once(agent, agent_client):
    p = submit(agent)
    past_expiry(p)
    governance_tasks.sweep()
    body = agent_client.get(f"{P}/{p.pk}").json()
    assert body["status"] == "expired" and body["decision"]["verdict"] == "expire"
    r = agent_client.get(f"{P}/{p.pk}/wait?timeout=5")
    assert r.status_code == 200 and r.json()["status"] == "expired"


def test_an_expired_proposal_with_a_callback_gets_its_webhook_enqueued(agent, queued,
                                                                       django_capture_on_commit_callbacks):
    p = submit(agent, callback_url="http://127.0.0.1:9/hooks/orchestra")
    past_expiry(p)
    with django_capture_on_commit_callbacks(execute=True):
        governance_tasks.sweep()
    assert queued == [p.pk]


def test_an_expired_proposal_without_a_callback_enqueues_nothing(agent, queued, django_capture_on_commit_callbacks):
    p = submit(agent)
    past_expiry(p)
    with django_capture_on_commit_callbacks(execute=True):
        governance_tasks.sweep()
    assert queued == []


# --- the live event ---------------------------------------------------------------------------------

def test_an_escalation_is_announced_as_moved_to_both_inboxes(agent, alice, platform, sent,
                                                             django_capture_on_commit_callbacks):
    p = submit(agent)
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_escalate(proposal=p, reason="Needs the orchestrator.", by=alice)
    moved = [group for group, message in sent if json.loads(message["data"])["event"] == "proposal.moved"]
    assert sorted(moved) == sorted([f"inbox-{platform.default_inbox_id}", f"inbox-{platform.orchestrator_inbox_id}"])


def test_the_moved_event_carries_the_new_inbox_and_its_pending_count(agent, alice, platform, sent,
                                                                     django_capture_on_commit_callbacks):
    p = submit(agent)
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_escalate(proposal=p, reason="Needs the orchestrator.", by=alice)
    counts = {group: message["pending_count"] for group, message in sent}
    assert counts == {f"inbox-{platform.default_inbox_id}": 0, f"inbox-{platform.orchestrator_inbox_id}": 1}
    assert json.loads(sent[0][1]["data"])["proposal"]["inbox_id"] == platform.orchestrator_inbox_id


def test_a_rolled_back_escalation_announces_nothing(agent, alice, sent, django_capture_on_commit_callbacks):
    p = submit(agent)
    sent.clear()
    with (django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError),
          transaction.atomic()):
        services.proposal_escalate(proposal=p, reason="Needs the orchestrator.", by=alice)
        raise RuntimeError("rolled back")
    assert callbacks == [] and sent == []
    assert fresh(p).level == "agent" and not Escalation.objects.exists()


def test_escalating_a_frozen_proposal_is_409_frozen(agent, alice):
    p = submit(agent)
    agent_suspend(agent=agent, by=alice, reason="Runaway.")
    with pytest.raises(Conflict) as exc:
        services.proposal_escalate(proposal=p, reason="Stuck.", by=alice)
    assert exc.value.code == "frozen"


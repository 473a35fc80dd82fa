"""The SLA sweep (``inbox.timers.proposals_escalate_overdue``) changes each proposal under its row lock:
rechecked (still pending, unfrozen, overdue) in the transaction that changes it, with a history row;
at the enterprise level the missed SLA, its Escalation and its history row are written together.
History change reasons fit their 100-character column (PostgreSQL refuses longer ones).
"""
import pytest
from django.utils import timezone

from governance.models import Policy
from governance.services import enterprise_inbox
from inbox import services
from inbox import tasks as governance_tasks
from inbox.models import Escalation
from tests.factories import PolicyFactory
from tests.test_escalation import fresh, member_client, overdue, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def at_the_top(agent):
    """A pending proposal at the enterprise level, past its SLA deadline."""
    PolicyFactory(outcome=Policy.Outcome.ESCALATE, escalate_to="enterprise")
    p = submit(agent)
    overdue(p)
    return p


def test_a_missed_sla_at_the_enterprise_level_is_in_the_proposals_history(at_the_top):
    governance_tasks.sweep()
    last = at_the_top.history.order_by("-history_id").first()
    assert last.history_change_reason.startswith("SLA missed at the enterprise level")
    assert last.sla_due_at is None and last.status == "pending"


def test_the_missed_sla_and_its_history_row_are_written_together(at_the_top, monkeypatch):
    """The Escalation, the cleared deadline and the history row are one transaction: all or nothing."""
    rows = at_the_top.history.count()

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(Escalation.objects, "create", broken)
    with pytest.raises(RuntimeError):
        governance_tasks.sweep()
    assert fresh(at_the_top).sla_due_at is not None and at_the_top.history.count() == rows


def test_the_sweep_leaves_alone_a_proposal_decided_after_it_was_listed(at_the_top, monkeypatch):
    from inbox import timers

    listed = timers.overdue_ids(timezone.now())
    assert at_the_top.pk in listed
    board_member = member_client(enterprise_inbox(), "bea")[0]
    services.proposal_decide(proposal=at_the_top, reviewer=board_member, verdict="reject", comment="No.")
    rows = at_the_top.history.count()
    monkeypatch.setattr(timers, "overdue_ids", lambda now: listed)  # the list read before the decision

    governance_tasks.sweep()
    p = fresh(at_the_top)
    assert p.status == "rejected" and p.sla_due_at is not None
    assert not Escalation.objects.filter(proposal=p).exists() and p.history.count() == rows


def test_the_sweep_leaves_alone_a_proposal_escalated_by_hand_after_it_was_listed(agent, alice, platform,
                                                                                 monkeypatch):
    from inbox import timers

    p = submit(agent)
    overdue(p)
    listed = timers.overdue_ids(timezone.now())
    services.proposal_escalate(proposal=p, reason="The orchestrator should see it.", by=alice)  # new deadline
    monkeypatch.setattr(timers, "overdue_ids", lambda now: listed)

    assert governance_tasks.sweep()["escalated"] == 0
    assert fresh(p).level == "domain" and Escalation.objects.filter(proposal=p).count() == 1


def test_a_long_escalation_reason_is_kept_whole_and_cut_to_fit_the_history(agent, alice):
    """History change reasons are 100 characters at most (PostgreSQL refuses longer); the Escalation
    keeps the reason whole."""
    reason = "The orchestrator must see this. " * 40
    p = submit(agent)
    services.proposal_escalate(proposal=p, reason=reason, by=alice)
    assert Escalation.objects.get(proposal=p).reason == reason
    last = p.history.order_by("-history_id").first()
    assert len(last.history_change_reason) == 100 and last.history_change_reason.endswith("…")
    assert last.history_user == alice

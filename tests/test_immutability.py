"""A decision is kept as it was taken: decided proposals and cast votes are immutable in the ORM's
ordinary paths (``inbox.models``), while the lifecycle's own writes on pending rows keep working."""
import pytest

from inbox import services
from inbox.models import Proposal, Vote
from orchestra_site.errors import ImmutableRecord
from tests.conftest import PROPOSAL
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def submit(agent, **fields):
    return services.proposal_submit(agent=agent, data=dict(PROPOSAL, risk="low", confidence=0.3, **fields))[0]


@pytest.fixture
def decided(agent, alice):
    p = submit(agent)
    return services.proposal_decide(proposal=p, reviewer=alice, verdict="approve")


def stored(p):
    return Proposal.objects.get(pk=p.pk)


def test_a_decided_proposal_refuses_save(decided):
    p = stored(decided)
    p.status, p.decided_by = "pending", None
    with pytest.raises(ImmutableRecord):
        p.save()
    assert stored(decided).status == "approved" and stored(decided).decided_by.username == "alice"


def test_a_decided_proposal_refuses_save_with_update_fields(decided):
    p = stored(decided)
    p.decision_comment = "rewritten"
    with pytest.raises(ImmutableRecord):
        p.save(update_fields=["decision_comment"])
    assert stored(decided).decision_comment == ""


def test_a_decided_proposal_refuses_delete(decided):
    with pytest.raises(ImmutableRecord):
        stored(decided).delete()
    assert Proposal.objects.filter(pk=decided.pk).exists()


def test_a_pending_proposal_is_not_deleted_either(agent):
    p = submit(agent)
    with pytest.raises(ImmutableRecord):
        p.delete()
    assert Proposal.objects.filter(pk=p.pk).exists()


def test_queryset_delete_is_refused(decided, agent):
    submit(agent, resource="service:search")
    with pytest.raises(ImmutableRecord):
        Proposal.objects.all().delete()
    with pytest.raises(ImmutableRecord):
        Proposal.objects.filter(pk=decided.pk).delete()
    assert Proposal.objects.count() == 2


def test_queryset_update_never_reaches_a_decided_row(decided, agent):
    pending = submit(agent, resource="service:search")
    assert Proposal.objects.all().update(decision_comment="rewritten") == 1
    assert stored(decided).decision_comment == "" and stored(pending).decision_comment == "rewritten"


def test_bulk_update_never_reaches_a_decided_row(decided):
    p = stored(decided)
    p.status = "pending"
    Proposal.objects.bulk_update([p], ["status"])
    assert stored(decided).status == "approved"


def test_an_instance_rebuilt_from_history_cannot_revert_a_decision(decided):
    """What simple-history's revert form saves: the old version's instance, marked as stored."""
    old = Proposal.history.filter(id=decided.pk).earliest().instance
    old._state.adding = False
    assert old.status == "pending"
    with pytest.raises(ImmutableRecord):
        old.save()
    assert stored(decided).status == "approved"


def test_refresh_from_db_learns_a_decision_taken_elsewhere(agent, alice):
    p = submit(agent)
    stale = stored(p)
    services.proposal_decide(proposal=p, reviewer=alice, verdict="approve")
    stale.refresh_from_db()
    stale.decision_comment = "rewritten"
    with pytest.raises(ImmutableRecord):
        stale.save()


def test_a_proposal_decided_at_submission_is_stored_and_then_immutable(agent):
    from tests.factories import PolicyFactory

    PolicyFactory(name="Rollbacks auto-approve", action_pattern="deploy.*", outcome="auto_approve",
                  min_confidence=0.1, priority=1)
    p = submit(agent)
    assert p.status == "approved"
    p.decision_comment = "rewritten"
    with pytest.raises(ImmutableRecord):
        p.save()


def test_conflicts_can_still_be_linked_to_a_decided_proposal(decided, agent):
    rival = submit(agent, resource="service:other")
    stored(decided).conflicts_with.add(rival)
    assert list(stored(decided).conflicts_with.all()) == [rival]


def test_the_lifecycle_writes_pending_rows(agent, alice):
    """Votes awaiting quorum, escalation and the freeze all save pending proposals."""
    p = submit(agent, resource="service:a")
    services.proposal_escalate(proposal=p, reason="Needs the orchestrator.", by=alice)
    assert stored(p).level == "domain"
    services.agent_suspend(agent=agent, reason="Test.")
    assert stored(p).is_frozen
    services.agent_resume(agent=agent)
    assert not stored(p).is_frozen


# --- votes --------------------------------------------------------------------------------------------

@pytest.fixture
def vote(decided):
    return Vote.objects.get(proposal=decided)


def test_a_cast_vote_refuses_save(vote):
    vote.verdict = "reject"
    with pytest.raises(ImmutableRecord):
        vote.save()
    assert Vote.objects.get(pk=vote.pk).verdict == "approve"


def test_a_cast_vote_refuses_delete(vote):
    with pytest.raises(ImmutableRecord):
        vote.delete()
    with pytest.raises(ImmutableRecord):
        Vote.objects.filter(pk=vote.pk).delete()
    assert Vote.objects.filter(pk=vote.pk).exists()


def test_votes_refuse_queryset_update(vote):
    with pytest.raises(ImmutableRecord):
        Vote.objects.filter(pk=vote.pk).update(verdict="reject")
    with pytest.raises(ImmutableRecord):
        Vote.objects.bulk_update([vote], ["verdict"])
    assert Vote.objects.get(pk=vote.pk).verdict == "approve"


def test_a_new_vote_is_cast(agent):
    p = submit(agent)
    Vote.objects.create(proposal=p, reviewer=UserFactory(username="zed"), verdict="approve")
    assert Vote.objects.filter(proposal=p).count() == 1

"""Conflicts: pending proposals from different agents on the same resource.

They are marked as conflicting (both ways). Approving one supersedes the others (their agents see
``superseded`` and get their webhook), unless the reviewer asks ``supersede_conflicts: false``.
"""
import pytest

from governance import services as governance_services
from inbox import services
from inbox import tasks as inbox_tasks
from inbox.models import Proposal
from tests.factories import PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db
P = "/api/v1/proposals"
HOOK = "http://127.0.0.1:9/hooks/orchestra"


@pytest.fixture
def queued(monkeypatch):
    """Proposal ids whose webhook was enqueued."""
    ids = []
    monkeypatch.setattr(inbox_tasks, "enqueue_webhook", lambda pid, attempt=1: ids.append(str(pid)))
    return ids


@pytest.fixture
def pair(agent_client, other_agent_client, proposal_body):
    """Two pending proposals on service:payments, from deploy-bot (first) and other-bot (second)."""
    first = agent_client.post_json(P, proposal_body).json()["id"]
    second = other_agent_client.post_json(P, dict(proposal_body, summary="Restart payments instead")).json()["id"]
    return first, second


def conflicts_of(pid):
    return {str(pk) for pk in Proposal.objects.get(pk=pid).conflicts_with.values_list("pk", flat=True)}


# --- marking --------------------------------------------------------------------------------------

def test_two_agents_on_the_same_resource_conflict_both_ways(pair):
    first, second = pair
    assert conflicts_of(first) == {second}
    assert conflicts_of(second) == {first}


def test_the_same_agent_twice_is_not_a_conflict(agent_client, proposal_body):
    first = agent_client.post_json(P, proposal_body).json()["id"]
    second = agent_client.post_json(P, dict(proposal_body, summary="again")).json()["id"]
    assert conflicts_of(first) == set() and conflicts_of(second) == set()


def test_different_resources_do_not_conflict(agent_client, other_agent_client, proposal_body):
    first = agent_client.post_json(P, proposal_body).json()["id"]
    other_agent_client.post_json(P, dict(proposal_body, resource="service:ledger"))
    assert conflicts_of(first) == set()


def test_proposals_without_a_resource_do_not_conflict(agent_client, other_agent_client, proposal_body):
    first = agent_client.post_json(P, dict(proposal_body, resource="")).json()["id"]
    other_agent_client.post_json(P, dict(proposal_body, resource=""))
    assert conflicts_of(first) == set()


def test_a_decided_proposal_conflicts_with_nothing_new(agent_client, other_agent_client, alice_client,
                                                        proposal_body):
    first = agent_client.post_json(P, proposal_body).json()["id"]
    alice_client.post_json(f"{P}/{first}/decision", {"verdict": "approve"})
    second = other_agent_client.post_json(P, proposal_body).json()["id"]
    assert conflicts_of(second) == set()


# --- supersession ---------------------------------------------------------------------------------

def test_approving_one_supersedes_the_other(pair, alice_client):
    first, second = pair
    assert alice_client.post_json(f"{P}/{first}/decision", {"verdict": "approve"}).status_code == 200
    other = Proposal.objects.get(pk=second)
    assert other.status == "superseded" and other.decided_at is not None
    assert first in other.decision_comment


def test_the_other_agent_reads_superseded(pair, alice_client, other_agent_client):
    first, second = pair
    alice_client.post_json(f"{P}/{first}/decision", {"verdict": "approve"})
    body = other_agent_client.get(f"{P}/{second}").json()
    assert body["status"] == "superseded"
    assert body["decision"]["verdict"] == "supersede" and first in body["decision"]["comment"]


def test_the_superseded_agent_gets_its_webhook(agent_client, other_agent_client, alice_client, proposal_body,
                                               queued, django_capture_on_commit_callbacks):
    first = agent_client.post_json(P, proposal_body).json()["id"]
    second = other_agent_client.post_json(P, dict(proposal_body, callback_url=HOOK)).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post_json(f"{P}/{first}/decision", {"verdict": "approve"})
    assert queued == [second]


def test_supersede_conflicts_false_leaves_the_other_pending(pair, alice_client):
    first, second = pair
    r = alice_client.post_json(f"{P}/{first}/decision", {"verdict": "approve", "supersede_conflicts": False})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert Proposal.objects.get(pk=second).status == "pending"


def test_rejecting_one_leaves_the_other_pending(pair, alice_client):
    first, second = pair
    alice_client.post_json(f"{P}/{first}/decision", {"verdict": "reject", "comment": "Restart instead."})
    assert Proposal.objects.get(pk=second).status == "pending"


def test_an_approval_short_of_quorum_supersedes_nothing(agent_client, other_agent_client, alice_client,
                                                        proposal_body):
    PolicyFactory(name="Two approvers", quorum=2)
    first = agent_client.post_json(P, proposal_body).json()["id"]
    second = other_agent_client.post_json(P, proposal_body).json()["id"]
    alice_client.post_json(f"{P}/{first}/decision", {"verdict": "approve"})
    assert Proposal.objects.get(pk=second).status == "pending"


def test_an_edited_approval_supersedes_too(pair, alice, platform_inbox):
    first, second = pair
    carol = UserFactory(username="carol")
    carol.groups.add(platform_inbox.reviewers)
    p = Proposal.objects.get(pk=first)
    services.proposal_decide(proposal=p, reviewer=alice, verdict="edit",
                             args={"service": "payments", "to_version": "2026.11.1"})
    services.proposal_decide(proposal=p, reviewer=carol, verdict="approve")
    assert Proposal.objects.get(pk=second).status == "superseded"


def test_a_superseded_proposal_cannot_be_decided(pair, alice_client):
    first, second = pair
    alice_client.post_json(f"{P}/{first}/decision", {"verdict": "approve"})
    r = alice_client.post_json(f"{P}/{second}/decision", {"verdict": "approve"})
    assert r.status_code == 409 and r.json()["code"] == "already_decided" and r.json()["status"] == "superseded"


# --- many rivals on one resource ------------------------------------------------------------------

def test_marking_is_bounded_but_approving_supersedes_every_rival(platform, alice, proposal_body):
    """Work per new proposal stays constant (it is linked to the 20 most recent rivals), yet approving
    it supersedes every pending proposal of other agents on the resource, and records them all."""
    from inbox.schemas import ProposalIn
    from inbox.submission import CONFLICTS_MARKED_MAX

    data = ProposalIn(**{**proposal_body, "risk": "low"}).to_model_fields()
    rivals = [services.proposal_submit(agent=governance_services.agent_create(name=f"rival-{i}", domain=platform)[0],
                                       data=dict(data))[0] for i in range(CONFLICTS_MARKED_MAX + 5)]
    winner = services.proposal_submit(agent=governance_services.agent_create(name="winner", domain=platform)[0],
                                      data=dict(data))[0]
    assert winner.conflicts_with.count() == CONFLICTS_MARKED_MAX
    assert set(conflicts_of(winner.pk)) == {str(p.pk) for p in rivals[-CONFLICTS_MARKED_MAX:]}
    services.proposal_decide(proposal=winner, reviewer=alice, verdict="approve")
    assert set(Proposal.objects.filter(pk__in=[p.pk for p in rivals]).values_list("status", flat=True)) == {
        "superseded"}
    assert winner.conflicts_with.count() == len(rivals)

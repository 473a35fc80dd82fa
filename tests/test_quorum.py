"""Quorum and four-eyes (inbox.decisions.proposal_decide): who must approve before a proposal is approved.

The rules: a policy's quorum needs that many distinct approvers; when it leaves the quorum blank, or no
policy matched at all, high and critical risk need 2 and the rest 1 (as the README says). A single
rejection rejects, an answer ends it.
Nobody votes twice. The owner of the proposing agent, and anyone who edited the args, cannot be the
only approver; approvals given before an edit do not count towards the edited args.
"""
import pytest

from governance import tokens
from governance.models import Agent
from inbox import services
from inbox.models import Proposal, Vote
from inbox.schemas import ProposalIn
from orchestra_site.errors import Conflict, InvalidInput, ProposalAlreadyDecided
from tests.conftest import PROPOSAL, TokenClient
from tests.factories import PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db
P = "/api/v1/proposals"
EDITED_ARGS = {"service": "payments", "to_version": "2026.11.1"}


def reviewer(inbox, username):
    user = UserFactory(username=username)
    user.groups.add(inbox.reviewers)
    return user


@pytest.fixture
def carol(platform_inbox):
    return reviewer(platform_inbox, "carol")


@pytest.fixture
def dave(platform_inbox):
    return reviewer(platform_inbox, "dave")


@pytest.fixture
def carol_client(carol):
    return TokenClient(tokens.user_token_create(user=carol)[1])


@pytest.fixture
def quorum_two(db):
    return PolicyFactory(name="Two approvers", quorum=2)


def submit(agent, **fields):
    data = ProposalIn(**{**PROPOSAL, **fields}).to_model_fields()
    return services.proposal_submit(agent=agent, data=data)[0]


def decide(proposal, user, verdict="approve", **kw):
    return services.proposal_decide(proposal=proposal, reviewer=user, verdict=verdict, **kw)


def fresh(proposal):
    return Proposal.objects.get(pk=proposal.pk)


# --- how many approvers ----------------------------------------------------------------------------

def test_one_approval_of_a_quorum_of_two_leaves_it_pending(agent, alice, quorum_two):
    p = submit(agent, risk="low")
    assert p.quorum == 2
    assert decide(p, alice).status == "pending"
    assert fresh(p).decided_by is None


def test_a_second_distinct_approver_approves(agent, alice, carol, quorum_two):
    p = submit(agent, risk="low")
    decide(p, alice)
    decided = decide(p, carol)
    assert decided.status == "approved" and decided.decided_by == carol
    assert decided.final_args == PROPOSAL["args"]


@pytest.mark.parametrize("risk", ["high", "critical"])
def test_high_and_critical_risk_need_two_approvers_when_a_policy_matched(agent, alice, risk):
    PolicyFactory(name="Any action")  # matches everything, sets no quorum
    p = submit(agent, risk=risk)
    assert p.quorum == 2
    assert decide(p, alice).status == "pending"


@pytest.mark.parametrize("risk", ["low", "medium", "high", "critical"])
def test_with_no_policy_one_approver_decides_whatever_the_risk(agent, alice, risk):
    """The README says so; a fresh install (no policies) is what the pinned API contract probes."""
    p = submit(agent, risk=risk)
    assert p.policy_id is None and p.quorum == 1
    assert decide(p, alice).status == "approved"


def test_the_no_policy_fallback_says_one_reviewer_at_high_risk(agent):
    assert "(one reviewer)" in submit(agent, risk="high").routing_reason


def test_a_policy_quorum_of_one_stays_one_at_high_risk(agent, alice):
    PolicyFactory(name="One approver is enough", quorum=1)
    p = submit(agent, risk="high")
    assert p.quorum == 1
    assert decide(p, alice).status == "approved"


def test_the_readme_and_the_policy_help_text_state_the_same_default():
    from pathlib import Path

    from governance.models import Policy

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "High and critical risk need two distinct approvers by default when a\n  policy routes them" in readme
    assert "A proposal that no policy matches goes to the domain's default inbox\n  with one approver" in readme
    assert "blank = 2 for high/critical risk, else 1" in Policy._meta.get_field("quorum").help_text


def test_a_policy_quorum_overrides_the_risk_default(agent, alice, carol, dave):
    PolicyFactory(name="Three approvers", quorum=3)
    p = submit(agent, risk="low")
    decide(p, alice)
    assert decide(p, carol).status == "pending"
    assert decide(p, dave).status == "approved"


# --- what ends it at once --------------------------------------------------------------------------

def test_a_single_rejection_rejects(agent, alice, carol, quorum_two):
    p = submit(agent)
    decide(p, carol)
    decided = decide(p, alice, "reject", comment="Not during the freeze.")
    assert decided.status == "rejected" and decided.decided_by == alice
    assert decided.final_args is None


def test_an_answer_ends_it(agent, alice, quorum_two):
    p = submit(agent)
    decided = decide(p, alice, "answer", comment="Check the canary first.")
    assert decided.status == "answered" and decided.decision_comment == "Check the canary first."


# --- nobody votes twice, nobody votes late ---------------------------------------------------------

def test_the_same_reviewer_voting_twice_is_409_already_voted(agent, alice, quorum_two):
    p = submit(agent)
    decide(p, alice)
    with pytest.raises(Conflict) as exc:
        decide(p, alice)
    assert exc.value.code == "already_voted"
    assert Vote.objects.filter(proposal=p).count() == 1
    assert fresh(p).status == "pending"


def test_a_reviewer_who_approved_cannot_reject_afterwards(agent, alice, quorum_two):
    p = submit(agent)
    decide(p, alice)
    with pytest.raises(Conflict) as exc:
        decide(p, alice, "reject", comment="Changed my mind.")
    assert exc.value.code == "already_voted"
    assert fresh(p).status == "pending"


def test_a_vote_after_the_decision_is_409_naming_who_decided(agent, alice, carol, dave, quorum_two):
    p = submit(agent)
    decide(p, alice)
    decide(p, carol)
    with pytest.raises(ProposalAlreadyDecided) as exc:
        decide(p, dave, "reject", comment="Too late?")
    assert exc.value.extra["decided_by"] == "carol"
    assert exc.value.extra["status"] == "approved"
    assert not Vote.objects.filter(proposal=p, reviewer=dave).exists()


# --- four-eyes: the owner ----------------------------------------------------------------------------

def test_the_agents_owner_cannot_be_the_only_approver(agent, alice):
    Agent.objects.filter(pk=agent.pk).update(owner=alice)
    p = submit(agent, risk="low")
    assert p.quorum == 1
    assert decide(p, alice).status == "pending"


def test_someone_else_completes_what_the_owner_approved(agent, alice, carol):
    Agent.objects.filter(pk=agent.pk).update(owner=alice)
    p = submit(agent, risk="low")
    decide(p, alice)
    decided = decide(p, carol)
    assert decided.status == "approved" and decided.decided_by == carol


def test_the_owners_approval_counts_towards_quorum_beside_an_independent_one(agent, alice, carol, quorum_two):
    Agent.objects.filter(pk=agent.pk).update(owner=alice)
    p = submit(agent)
    decide(p, alice)
    assert decide(p, carol).status == "approved"


def test_the_owner_may_reject_alone(agent, alice):
    Agent.objects.filter(pk=agent.pk).update(owner=alice)
    p = submit(agent, risk="low")
    assert decide(p, alice, "reject", comment="My bot is wrong.").status == "rejected"


# --- four-eyes: editors ----------------------------------------------------------------------------

def test_an_editor_cannot_be_the_only_approver(agent, alice):
    p = submit(agent, risk="low")
    pending = decide(p, alice, "edit", args=EDITED_ARGS)
    assert pending.status == "pending"
    assert pending.final_args == EDITED_ARGS  # kept for the next reviewer


def test_a_second_reviewer_approves_the_edited_args(agent, alice, carol):
    p = submit(agent, risk="low")
    decide(p, alice, "edit", args=EDITED_ARGS)
    decided = decide(p, carol)
    assert decided.status == "edited_and_approved" and decided.decided_by == carol
    assert decided.final_args == EDITED_ARGS
    assert decided.args == PROPOSAL["args"]  # what the agent proposed is kept


def test_approvals_before_an_edit_do_not_count_towards_the_edited_args(agent, alice, carol, quorum_two):
    p = submit(agent)
    decide(p, carol)  # approves the original args
    assert decide(p, alice, "edit", args=EDITED_ARGS).status == "pending"


def test_after_an_edit_a_fresh_independent_approval_completes_the_quorum(agent, alice, carol, dave, quorum_two):
    p = submit(agent)
    decide(p, carol)
    decide(p, alice, "edit", args=EDITED_ARGS)
    decided = decide(p, dave)
    assert decided.status == "edited_and_approved" and decided.final_args == EDITED_ARGS


def test_an_edit_must_keep_the_action_contract(agent, alice):
    p = submit(agent)
    with pytest.raises(InvalidInput) as exc:
        decide(p, alice, "edit", args={"service": "payments"})
    assert exc.value.field == "args.to_version"
    assert not Vote.objects.filter(proposal=p).exists()


# --- over the API --------------------------------------------------------------------------------

def test_over_the_api_one_of_two_approvals_shows_pending(agent_client, alice_client, quorum_two, proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    r = alice_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "pending" and r.json()["decision"] is None and r.json()["quorum"] == 2
    assert agent_client.get(f"{P}/{pid}").json()["status"] == "pending"


def test_over_the_api_the_second_approval_approves(agent_client, alice_client, carol_client, quorum_two,
                                                   proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    alice_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"})
    r = carol_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"})
    assert r.status_code == 200
    assert r.json()["status"] == "approved" and r.json()["decision"]["decided_by"] == "carol"


def test_over_the_api_voting_twice_is_409_already_voted(agent_client, alice_client, quorum_two, proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    alice_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"})
    r = alice_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"})
    assert r.status_code == 409 and r.json()["code"] == "already_voted"


def test_over_the_api_a_late_vote_is_409_naming_the_approver_who_completed_the_quorum(
        agent_client, alice_client, carol_client, dave, quorum_two, proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    alice_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"})
    carol_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"})
    dave_client = TokenClient(tokens.user_token_create(user=dave)[1])
    r = dave_client.post_json(f"{P}/{pid}/decision", {"verdict": "reject", "comment": "no"})
    assert r.status_code == 409
    assert r.json()["code"] == "already_decided" and r.json()["decided_by"] == "carol"


def test_over_the_api_an_edit_waits_for_a_second_reviewer(agent_client, alice_client, carol_client, proposal_body):
    pid = agent_client.post_json(P, dict(proposal_body, risk="low")).json()["id"]
    r = alice_client.post_json(f"{P}/{pid}/decision", {"verdict": "edit", "args": EDITED_ARGS})
    assert r.status_code == 200 and r.json()["status"] == "pending"
    r = carol_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"})
    assert r.status_code == 200
    body = agent_client.get(f"{P}/{pid}").json()
    assert body["status"] == "edited_and_approved"
    assert body["decision"]["decided_by"] == "carol" and body["decision"]["final_args"] == EDITED_ARGS


def test_over_the_api_the_owner_alone_leaves_it_pending(agent, agent_client, alice, alice_client, proposal_body):
    Agent.objects.filter(pk=agent.pk).update(owner=alice)
    pid = agent_client.post_json(P, dict(proposal_body, risk="low")).json()["id"]
    r = alice_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"})
    assert r.status_code == 200 and r.json()["status"] == "pending"

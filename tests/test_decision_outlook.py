"""The decision panel says before acting what a decision will do (``inbox.decision_outlook``), and the
proposal page shows it: the quorum state, who may not be the next approver (four eyes), that an edit
needs another approver, frozen by the kill switch (and then no Approve button), errors shown once.

Each sentence is checked against what the decision service then really does, so the panel and the
rules cannot drift apart."""
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance.models import Agent
from inbox import services
from inbox.decision_outlook import decision_outlook
from inbox.models import Proposal
from tests.conftest import PROPOSAL
from tests.factories import PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db
EDITED = {"service": "payments", "to_version": "2026.11.1"}


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
def quorum_two(db):
    return PolicyFactory(name="Two approvers", quorum=2)


def submit(agent, **fields):
    return services.proposal_submit(agent=agent, data={**PROPOSAL, "risk": "medium", **fields})[0]


def fresh(p):
    return Proposal.objects.select_related("agent__domain").get(pk=p.pk)


def outlook(p, user):
    return decision_outlook(fresh(p), user)


def decide(p, user, verdict="approve", **kw):
    return services.proposal_decide(proposal=fresh(p), reviewer=user, verdict=verdict, **kw)


# --- the quorum state and what approving does ---------------------------------------------------------

def test_a_single_approval_decides_and_says_so(agent, alice):
    p = submit(agent)
    o = outlook(p, alice)
    assert o.tally == "0 of 1 approval"
    assert o.says["approve"] == "Approving decides it: approved, and the agent is told at once."
    assert decide(p, alice).status == "approved"  # as said


def test_the_first_of_two_approvals_says_it_stays_pending(agent, alice, quorum_two):
    p = submit(agent)
    o = outlook(p, alice)
    assert o.tally == "0 of 2 approvals"
    assert o.says["approve"] == "Your approval makes 1 of 2; it stays pending for 1 more approval."
    assert decide(p, alice).status == "pending"


def test_the_second_approval_decides(agent, alice, carol, quorum_two):
    p = submit(agent)
    decide(p, alice)
    o = outlook(p, carol)
    assert o.tally == "1 of 2 approvals"
    assert o.says["approve"].startswith("Approving decides it: approved")
    assert decide(p, carol).status == "approved"


def test_who_approved_cannot_be_the_second(agent, alice, quorum_two):
    p = submit(agent)
    decide(p, alice)
    o = outlook(p, alice)
    assert o.blocked == ("You approved it. 1 of 2 approvals — you cannot be the second: your vote is already "
                         "counted. It waits for 1 more approval, or for anyone's rejection.")
    assert o.blocked_code == "voted" and o.says == {} and not o.can_approve


def test_the_agents_owner_cannot_be_the_deciding_approver(agent, alice):
    Agent.objects.filter(pk=agent.pk).update(owner=alice)
    p = submit(agent)
    o = outlook(p, alice)
    assert o.says["approve"] == (
        "0 of 1 approval — you cannot be the first: you own deploy-bot, so your approval is recorded but "
        "someone who neither owns the agent nor edited it must approve it too (four eyes).")
    assert decide(p, alice).status == "pending"  # as said


def test_the_owner_may_complete_what_an_independent_reviewer_began(agent, alice, carol, quorum_two):
    Agent.objects.filter(pk=agent.pk).update(owner=alice)
    p = submit(agent)
    decide(p, carol)
    assert outlook(p, alice).says["approve"].startswith("Approving decides it")
    assert decide(p, alice).status == "approved"


def test_the_owner_as_first_of_two_hears_that_an_independent_approver_is_needed(agent, alice, quorum_two):
    Agent.objects.filter(pk=agent.pk).update(owner=alice)
    p = submit(agent)
    assert outlook(p, alice).says["approve"] == (
        "Your approval makes 1 of 2; it stays pending for 1 more approval, one from someone who neither owns "
        "the agent nor edited it.")


# --- edits: four eyes ---------------------------------------------------------------------------------

def test_an_edit_needs_another_approver(agent, alice):
    p = submit(agent)
    assert outlook(p, alice).says["edit"] == (
        "This edit needs another approver: your edited arguments count as 1 of 1 approval and run only after "
        "1 other reviewer who did not edit them approves (four eyes).")
    assert decide(p, alice, "edit", args=EDITED).status == "pending"  # as said


def test_an_edit_after_an_approval_says_the_approval_stops_counting(agent, alice, carol, quorum_two):
    p = submit(agent)
    decide(p, alice)
    assert outlook(p, carol).says["edit"].endswith("(four eyes). The 1 approval given so far will no longer count.")


def test_the_editor_cannot_be_the_second(agent, alice, carol):
    p = submit(agent)
    decide(p, alice, "edit", args=EDITED)
    o = outlook(p, alice)
    assert o.blocked == ("You edited its arguments. 1 of 1 approval — you cannot be the second: four eyes: someone "
                         "else must approve your edit. It waits for 1 more approval, one from someone who neither "
                         "owns the agent nor edited it, or for anyone's rejection.")
    assert not o.can_approve
    assert outlook(p, carol).says["approve"] == (
        "Approving decides it: approved with the edited arguments, and the agent is told at once.")
    assert decide(p, carol).status == "edited_and_approved"


def test_approvals_before_an_edit_are_counted_out_in_the_tally(agent, alice, carol, dave, quorum_two):
    p = submit(agent)
    decide(p, alice)
    decide(p, carol, "edit", args=EDITED)
    o = outlook(p, dave)
    assert o.tally == "1 of 2 approvals (the 1 given before the last edit no longer counts)"
    assert o.says["approve"].startswith("Approving decides it")
    assert outlook(p, alice).blocked.startswith("You approved it. 1 of 2 approvals — you cannot be the second: you "
                                                "voted before the last edit")


# --- reject, questions, tools that accept only some verdicts -------------------------------------------

def test_rejecting_decides_at_once(agent, alice, quorum_two):
    p = submit(agent)
    assert outlook(p, alice).says["reject"] == (
        "Rejecting decides it at once: the agent is told no, with your comment (required).")


def test_a_question_is_answered_or_declined(agent, alice):
    p = submit(agent, kind="question", summary="Which region first?")
    says = outlook(p, alice).says
    assert list(says) == ["answer", "reject"]
    assert says["answer"] == "Answering decides it at once: your comment goes to the agent as the answer."


def test_only_the_verdicts_the_tool_accepts_are_offered(agent, alice):
    p = submit(agent, allowed_verdicts=["approve", "reject"])
    assert list(outlook(p, alice).says) == ["approve", "reject"]


# --- frozen, expired, view only ---------------------------------------------------------------------

def test_frozen_by_the_kill_switch_until_the_agent_is_resumed(agent, alice):
    p = submit(agent)
    services.agent_suspend(agent=agent, by=alice, reason="Runaway loop.")
    o = outlook(p, alice)
    assert o.blocked == ("Frozen by the kill switch until agent deploy-bot is resumed: no one can approve, reject "
                         "or edit it now. Reason given: Runaway loop.")
    assert o.blocked_code == "frozen" and not o.can_approve and not o.can_decide


def test_frozen_by_agent_and_domain_names_both(agent, alice, platform):
    p = submit(agent)
    services.agent_suspend(agent=agent, by=alice, reason="Loop.")
    services.domain_suspend(domain=platform, by=alice, reason="Incident.")
    assert outlook(p, alice).blocked.startswith(
        "Frozen by the kill switch until agent deploy-bot and the Platform domain are resumed")


def test_an_expired_proposal_cannot_be_decided(agent, alice):
    p = submit(agent)
    Proposal.objects.filter(pk=p.pk).update(expires_at=timezone.now() - timezone.timedelta(minutes=1))
    o = outlook(p, alice)
    assert o.blocked_code == "expired" and o.blocked.startswith("Expired at ") and o.says == {}


def test_a_viewer_who_may_not_decide_is_told_so(agent, auditor):
    p = submit(agent)
    o = outlook(p, auditor)
    assert o.blocked == "You may view this inbox but not decide in it." and o.says == {}


def test_a_decided_proposal_has_no_outlook(agent, alice):
    p = submit(agent)
    decide(p, alice)
    assert outlook(p, alice) is None


# --- the page ---------------------------------------------------------------------------------------

def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(p):
    return reverse("inbox:proposal", args=[p.id])


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_page_says_what_each_decision_does_before_acting(agent, alice, quorum_two):
    p = submit(agent)
    page = text(login(alice).get(url(p)))
    assert "0 of 2 approvals" in page
    assert "Your approval makes 1 of 2; it stays pending for 1 more approval." in page
    assert "This edit needs another approver" in page
    assert 'data-shortcut="a"' in page and 'data-shortcut="r"' in page and 'data-shortcut="e"' in page


def test_a_frozen_proposal_has_no_approve_button_and_says_why_once(agent, alice):
    p = submit(agent)
    services.agent_suspend(agent=agent, by=alice, reason="Runaway loop.")
    r = login(alice).get(url(p))
    page = text(r)
    assert page.count("Frozen by the kill switch") == 1
    assert 'value="approve"' not in page and 'value="edit"' not in page and 'data-shortcut="a"' not in page


def test_approving_a_frozen_proposal_is_refused_and_said_once(agent, alice):
    p = submit(agent)
    services.agent_suspend(agent=agent, by=alice, reason="Runaway loop.")
    r = login(alice).post(url(p), {"verdict": "approve"})
    assert r.status_code == 409
    page = text(r)
    assert page.count("Frozen by the kill switch") == 1 and "This proposal is frozen" not in page
    assert 'role="alert">Frozen by the kill switch' in page
    assert fresh(p).status == "pending" and not fresh(p).votes.exists()


def test_voting_twice_is_refused_and_said_once(agent, alice, quorum_two, monkeypatch):
    p = submit(agent)
    decide(p, alice)
    r = login(alice).post(url(p), {"verdict": "approve"})
    assert r.status_code == 409
    page = text(r)
    assert page.count("you cannot be the second") == 1 and "You have already voted" not in page


def test_an_invalid_form_shows_its_error_once(agent, alice):
    p = submit(agent)
    r = login(alice).post(url(p), {"verdict": "reject", "comment": ""})
    assert r.status_code == 422
    assert text(r).count("A comment is required to reject.") == 1


def test_a_decision_that_lost_the_race_says_who_won_once(agent, alice, carol):
    p = submit(agent)
    stale = fresh(p)
    decide(p, carol)
    r = login(alice).post(url(stale), {"verdict": "approve"})
    assert r.status_code == 409
    assert text(r).count("Already approved by carol.") == 1


def test_the_page_names_the_level_category_and_policy_version(agent, alice, platform):
    policy = PolicyFactory(name="Rollbacks", action_pattern="deploy.*")
    services_policy_bump(policy, alice)
    p = submit(agent)
    page = text(login(alice).get(url(p)))
    assert "v2 of this policy" in page
    assert 'id="level-name">First-line review<' in page
    assert ">Tactical approaches</span>" in page  # deploy.rollback's category, by its label


def services_policy_bump(policy, user):
    from governance import services as governance_services

    governance_services.policy_update(policy=policy, by=user, reason="Tighter.", priority=50)

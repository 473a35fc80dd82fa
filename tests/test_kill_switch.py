"""The kill switch (governance.services agent_suspend / domain_suspend, and the governance API).

Suspending an agent refuses its new proposals (403 agent_suspended) and freezes its pending ones
(deciding a frozen proposal is 409 frozen); resuming thaws them unless the domain is still suspended.
Suspending a domain does the same for every agent of the domain (403 domain_suspended). Every change
is in the history with its reason. Over the API: domain orchestrators (their own domain) and the
enterprise board may suspend; plain reviewers and auditors may not.
"""
import pytest
from django.contrib.auth.models import Permission
from guardian.shortcuts import assign_perm

from governance import services as governance_services
from governance import tokens
from governance.models import Agent, Domain
from governance.services import domain_get_or_create
from inbox import services
from inbox.models import Proposal
from inbox.schemas import ProposalIn
from inbox.services import agent_resume, agent_suspend, domain_resume, domain_suspend
from tests.conftest import PROPOSAL, TokenClient
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
P = "/api/v1/proposals"
G = "/api/v1/governance"


@pytest.fixture
def other_agent(platform):
    return governance_services.agent_create(name="other-bot", domain=platform)[0]


@pytest.fixture
def olga(platform):
    """Orchestrator of the Platform domain (guardian object permission on the Domain)."""
    user = UserFactory(username="olga")
    assign_perm("governance.orchestrate_domain", user, platform)
    return user


@pytest.fixture
def olga_client(olga):
    return TokenClient(tokens.user_token_create(user=olga)[1])


@pytest.fixture
def board_client(db):
    user = UserFactory(username="bea")
    user.user_permissions.add(Permission.objects.get(codename="enterprise_governance"))
    return TokenClient(tokens.user_token_create(user=user)[1])


def submit(agent, **fields):
    data = ProposalIn(**{**PROPOSAL, **fields}).to_model_fields()
    return services.proposal_submit(agent=agent, data=data)[0]


def fresh(p):
    return Proposal.objects.get(pk=p.pk)


# --- an agent --------------------------------------------------------------------------------------

def test_a_suspended_agents_next_proposal_is_403_agent_suspended(agent, agent_client, olga, proposal_body):
    agent_suspend(agent=agent, by=olga, reason="Runaway loop.")
    r = agent_client.post_json(P, proposal_body)
    assert r.status_code == 403 and r.json()["code"] == "agent_suspended"
    assert not Proposal.objects.exists()


def test_suspending_an_agent_freezes_its_pending_proposals(agent, other_agent, olga):
    mine, theirs = submit(agent), submit(other_agent)
    assert agent_suspend(agent=agent, by=olga, reason="Runaway loop.") == 1
    assert fresh(mine).is_frozen and not fresh(theirs).is_frozen


def test_suspending_an_agent_leaves_its_decided_proposals_alone(agent, alice, olga):
    p = submit(agent, risk="low")
    services.proposal_decide(proposal=p, reviewer=alice, verdict="approve")
    agent_suspend(agent=agent, by=olga, reason="Runaway loop.")
    assert not fresh(p).is_frozen and fresh(p).status == "approved"


def test_deciding_a_frozen_proposal_is_409_frozen(agent, agent_client, alice_client, olga, proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    agent_suspend(agent=agent, by=olga, reason="Runaway loop.")
    r = alice_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"})
    assert r.status_code == 409 and r.json()["code"] == "frozen"
    p = Proposal.objects.get(pk=pid)
    assert p.status == "pending" and not p.votes.exists()


def test_a_frozen_proposal_shows_frozen_to_its_agent(agent, agent_client, olga, proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    agent_suspend(agent=agent, by=olga, reason="Runaway loop.")
    body = agent_client.get(f"{P}/{pid}").json()
    assert body["is_frozen"] is True and body["status"] == "pending"


def test_resuming_an_agent_thaws_its_proposals(agent, alice, olga):
    p = submit(agent, risk="low")
    agent_suspend(agent=agent, by=olga, reason="Runaway loop.")
    assert agent_resume(agent=agent, by=olga, reason="Fixed.") == 1
    assert not fresh(p).is_frozen
    assert services.proposal_decide(proposal=p, reviewer=alice, verdict="approve").status == "approved"


def test_a_resumed_agent_may_propose_again(agent, agent_client, olga, proposal_body):
    agent_suspend(agent=agent, by=olga, reason="Runaway loop.")
    agent_resume(agent=agent, by=olga, reason="Fixed.")
    assert agent_client.post_json(P, proposal_body).status_code == 201


def test_resuming_an_agent_of_a_suspended_domain_thaws_nothing(agent, platform, olga):
    p = submit(agent)
    agent_suspend(agent=agent, by=olga, reason="Runaway loop.")
    domain_suspend(domain=platform, by=olga, reason="Incident.")
    assert agent_resume(agent=agent, by=olga, reason="Fixed.") == 0
    assert fresh(p).is_frozen


def test_suspension_is_in_the_agents_history(agent, olga):
    agent_suspend(agent=agent, by=olga, reason="Runaway loop.")
    latest = Agent.history.filter(id=agent.pk).latest()
    assert latest.status == "suspended" and latest.suspended_reason == "Runaway loop."
    assert "Runaway loop." in latest.history_change_reason and latest.history_user == olga


def test_each_frozen_proposal_has_a_history_row_with_the_reason(agent, olga):
    first, second = submit(agent), submit(agent, summary="again")
    agent_suspend(agent=agent, by=olga, reason="Runaway loop.")
    for p in (first, second):
        latest = Proposal.history.filter(id=p.pk).latest()
        assert latest.is_frozen and "Runaway loop." in latest.history_change_reason


def test_each_frozen_proposals_history_names_who_suspended(agent, olga):
    p = submit(agent)
    agent_suspend(agent=agent, by=olga, reason="Runaway loop.")
    assert Proposal.history.filter(id=p.pk).latest().history_user == olga


# --- a domain --------------------------------------------------------------------------------------

def test_a_suspended_domain_refuses_every_agent_with_403_domain_suspended(platform, agent_client,
                                                                          other_agent_client, olga, proposal_body):
    domain_suspend(domain=platform, by=olga, reason="Incident.")
    for client in (agent_client, other_agent_client):
        r = client.post_json(P, proposal_body)
        assert r.status_code == 403 and r.json()["code"] == "domain_suspended"
    assert not Proposal.objects.exists()


def test_suspending_a_domain_freezes_its_agents_pending_proposals(platform, agent, other_agent, olga):
    product_agent = governance_services.agent_create(name="product-bot", domain=domain_get_or_create(name="Product"))[0]
    mine, theirs, elsewhere = submit(agent), submit(other_agent), submit(product_agent)
    assert domain_suspend(domain=platform, by=olga, reason="Incident.") == 2
    assert fresh(mine).is_frozen and fresh(theirs).is_frozen and not fresh(elsewhere).is_frozen


def test_resuming_a_domain_thaws_its_proposals(platform, agent, alice, olga):
    p = submit(agent, risk="low")
    domain_suspend(domain=platform, by=olga, reason="Incident.")
    assert domain_resume(domain=platform, by=olga, reason="Over.") == 1
    assert services.proposal_decide(proposal=p, reviewer=alice, verdict="approve").status == "approved"


def test_resuming_a_domain_keeps_a_suspended_agents_proposals_frozen(platform, agent, other_agent, olga):
    mine, theirs = submit(agent), submit(other_agent)
    domain_suspend(domain=platform, by=olga, reason="Incident.")
    agent_suspend(agent=agent, by=olga, reason="Runaway loop.")
    assert domain_resume(domain=platform, by=olga, reason="Over.") == 1
    assert fresh(mine).is_frozen and not fresh(theirs).is_frozen


def test_domain_suspension_is_in_the_domains_and_proposals_history(platform, agent, olga):
    p = submit(agent)
    domain_suspend(domain=platform, by=olga, reason="Incident.")
    latest = Domain.history.filter(id=platform.pk).latest()
    assert latest.is_suspended and "Incident." in latest.history_change_reason and latest.history_user == olga
    assert "Incident." in Proposal.history.filter(id=p.pk).latest().history_change_reason


# --- over the API ----------------------------------------------------------------------------------

def test_a_domain_orchestrator_suspends_an_agent(agent, olga, olga_client):
    submit(agent)
    r = olga_client.post_json(f"{G}/agents/deploy-bot/suspend", {"reason": "Runaway loop."})
    assert r.status_code == 200, r.content
    assert r.json() == {"name": "deploy-bot", "suspended": True, "frozen_or_thawed": 1}
    agent.refresh_from_db()
    assert agent.status == "suspended" and agent.suspended_reason == "Runaway loop."
    assert Agent.history.filter(id=agent.pk).latest().history_user == olga


def test_a_domain_orchestrator_resumes_an_agent(agent, olga_client):
    submit(agent)
    olga_client.post_json(f"{G}/agents/deploy-bot/suspend", {"reason": "Runaway loop."})
    r = olga_client.post_json(f"{G}/agents/deploy-bot/resume", {"reason": "Fixed."})
    assert r.status_code == 200 and r.json()["suspended"] is False and r.json()["frozen_or_thawed"] == 1
    agent.refresh_from_db()
    assert agent.is_active


def test_a_domain_orchestrator_suspends_their_domain(platform, agent, olga_client):
    submit(agent)
    r = olga_client.post_json(f"{G}/domains/platform/suspend", {"reason": "Incident."})
    assert r.status_code == 200, r.content
    assert r.json() == {"name": "Platform", "suspended": True, "frozen_or_thawed": 1}
    platform.refresh_from_db()
    assert platform.is_suspended and platform.suspended_reason == "Incident."


def test_an_orchestrator_of_another_domain_is_refused(platform, agent):
    stranger = UserFactory(username="otto")
    assign_perm("governance.orchestrate_domain", stranger, domain_get_or_create(name="Product"))
    client = TokenClient(tokens.user_token_create(user=stranger)[1])
    assert client.post_json(f"{G}/domains/platform/suspend", {"reason": "x"}).status_code == 404
    assert client.post_json(f"{G}/agents/deploy-bot/suspend", {"reason": "x"}).status_code == 404
    platform.refresh_from_db()
    agent.refresh_from_db()
    assert not platform.is_suspended and agent.is_active


def test_the_enterprise_board_suspends_any_domain_and_agent(platform, agent, board_client):
    assert board_client.post_json(f"{G}/agents/deploy-bot/suspend", {"reason": "Board."}).status_code == 200
    assert board_client.post_json(f"{G}/domains/platform/suspend", {"reason": "Board."}).status_code == 200
    platform.refresh_from_db()
    agent.refresh_from_db()
    assert platform.is_suspended and not agent.is_active


@pytest.mark.parametrize("who", ["alice_client", "auditor_client"])
@pytest.mark.parametrize("path", ["agents/deploy-bot/suspend", "domains/platform/suspend",
                                  "agents/deploy-bot/resume", "domains/platform/resume"])
def test_a_plain_reviewer_or_an_auditor_gets_the_404_of_a_missing_name(request, platform, agent, who, path):
    client = request.getfixturevalue(who)
    r = client.post_json(f"{G}/{path}", {"reason": "Because."})
    missing = client.post_json(f"{G}/{path.replace('deploy-bot', 'no-such-bot').replace('platform', 'nowhere')}",
                               {"reason": "Because."})
    assert r.status_code == missing.status_code == 404
    assert r.json() == missing.json() and r.json()["code"] == "not_found"
    platform.refresh_from_db()
    agent.refresh_from_db()
    assert not platform.is_suspended and agent.is_active


def test_suspending_without_a_token_is_401(client, agent):
    r = client.post(f"{G}/agents/deploy-bot/suspend", {"reason": "x"}, content_type="application/json")
    assert r.status_code == 401
    agent.refresh_from_db()
    assert agent.is_active


@pytest.mark.parametrize("path", ["agents/deploy-bot/suspend", "domains/platform/suspend"])
def test_an_agent_token_cannot_suspend(platform, agent, agent_client, path):
    r = agent_client.post_json(f"{G}/{path}", {"reason": "Stop me."})
    assert r.status_code == 403 and r.json()["code"] == "reviewer_required"
    platform.refresh_from_db()
    agent.refresh_from_db()
    assert not platform.is_suspended and agent.is_active


def test_suspending_needs_a_reason(agent, olga_client):
    assert olga_client.post_json(f"{G}/agents/deploy-bot/suspend", {}).status_code == 422
    assert olga_client.post_json(f"{G}/agents/deploy-bot/suspend", {"reason": ""}).status_code == 422
    agent.refresh_from_db()
    assert agent.is_active


def test_an_unknown_agent_or_domain_is_404(olga_client):
    assert olga_client.post_json(f"{G}/agents/nobody/suspend", {"reason": "x"}).status_code == 404
    assert olga_client.post_json(f"{G}/domains/nowhere/suspend", {"reason": "x"}).status_code == 404


# --- Django admin: the ops flag ------------------------------------------------------------------------

@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_admin_action_suspends_an_agent_and_freezes_its_proposals(admin_client, agent):
    p = submit(agent)
    r = admin_client.post("/admin/governance/agent/", {"action": "suspend", "_selected_action": [agent.pk]})
    assert r.status_code == 302
    assert Agent.objects.get(pk=agent.pk).status == "suspended" and fresh(p).is_frozen
    assert Agent.history.filter(id=agent.pk).latest().history_user.username == "root"
    admin_client.post("/admin/governance/agent/", {"action": "resume", "_selected_action": [agent.pk]})
    assert Agent.objects.get(pk=agent.pk).is_active and not fresh(p).is_frozen


def test_the_admin_action_suspends_a_domain(admin_client, platform, agent):
    p = submit(agent)
    admin_client.post("/admin/governance/domain/", {"action": "suspend", "_selected_action": [platform.pk]})
    assert Domain.objects.get(pk=platform.pk).is_suspended and fresh(p).is_frozen


def test_status_is_not_editable_in_the_agent_form(admin_client, agent):
    """Editing the field would skip freezing and the reason: the actions are the only way."""
    html = admin_client.get(f"/admin/governance/agent/{agent.pk}/change/").content.decode()
    assert 'name="status"' not in html

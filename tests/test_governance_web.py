"""Governance in the reviewer's browser pages: policy and reasons on the proposal page, conflicting
proposals side by side, and the kill-switch page of domain orchestrators (web, session login)."""
import pytest
from django.contrib.auth.models import Permission
from guardian.shortcuts import assign_perm

from governance import services as governance_services
from governance.models import Agent, Domain
from inbox.models import Proposal
from tests.factories import PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db
P = "/api/v1/proposals"
KS = "/governance/kill-switch/"


@pytest.fixture
def pair(agent_client, other_agent_client, proposal_body):
    first = agent_client.post_json(P, dict(proposal_body, risk="low")).json()["id"]
    second = other_agent_client.post_json(P, dict(proposal_body, risk="low", summary="Restart payments instead",
                                                  args={"service": "payments", "to_version": "2026.11.1"})).json()["id"]
    return first, second


@pytest.fixture
def web(client):
    def login(user):
        client.force_login(user)
        return client
    return login


@pytest.fixture
def olga(platform):
    user = UserFactory(username="olga")
    assign_perm("governance.orchestrate_domain", user, platform)
    return user


# --- the proposal page --------------------------------------------------------------------------

def test_the_proposal_page_names_the_routing_policy_its_version_and_why(web, alice, agent_client, proposal_body):
    policy = PolicyFactory(name="Platform rollbacks need review", action_pattern="deploy.*", outcome="review",
                           priority=5)
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    version = Proposal.objects.get(pk=pid).policy_version
    html = web(alice).get(f"/proposals/{pid}/").content.decode()
    assert policy.name in html and f"v{version} of this policy" in html and version == policy.version
    assert Proposal.objects.get(pk=pid).routing_reason.split(";")[0] in html


def test_conflicting_proposals_are_shown_side_by_side(web, alice, pair):
    first, second = pair
    r = web(alice).get(f"/proposals/{first}/")
    html = r.content.decode()
    assert 'id="conflicts"' in html and "Restart payments instead" in html and "2026.11.1" in html
    assert f'/proposals/{second}/' in html and 'name="supersede"' in html


def test_conflicts_in_inboxes_the_reviewer_cannot_see_are_counted_not_shown(web, alice, pair, platform):
    first, second = pair
    hidden = governance_services.inbox_create(slug="hidden", name="Hidden", domain=platform)
    Proposal.objects.filter(pk=second).update(inbox=hidden)
    html = web(alice).get(f"/proposals/{first}/").content.decode()
    assert "Restart payments instead" not in html and "1 more in inbox you may not see" in html


def test_approving_on_the_page_supersedes_the_conflicting_proposal(web, alice, pair):
    first, second = pair
    r = web(alice).post(f"/proposals/{first}/", {"verdict": "approve", "supersede_shown": "1", "supersede": "on"})
    assert r.status_code == 302
    assert Proposal.objects.get(pk=second).status == "superseded"


def test_unticking_supersede_leaves_the_conflicting_proposal_pending(web, alice, pair):
    first, second = pair
    assert web(alice).post(f"/proposals/{first}/", {"verdict": "approve", "supersede_shown": "1"}).status_code == 302
    assert Proposal.objects.get(pk=first).status == "approved"
    assert Proposal.objects.get(pk=second).status == "pending"


# --- the kill switch page -------------------------------------------------------------------------

def test_the_orchestrator_sees_the_kill_switch_for_their_domain_only(web, olga, agent, platform):
    product = Domain.objects.create(name="Product", slug="product")
    other = governance_services.agent_create(name="product-bot", domain=product)[0]
    client = web(olga)
    assert "Kill switch" in client.get("/").content.decode()
    html = client.get(KS).content.decode()
    assert agent.name in html and other.name not in html
    assert f"/governance/domains/{platform.slug}/suspend/" in html


def test_the_orchestrator_suspends_an_agent_with_a_reason_and_it_is_recorded(web, olga, agent, agent_client,
                                                                           proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    r = web(olga).post(f"/governance/agents/{agent.name}/suspend/", {"reason": "Looping on rollbacks."}, follow=True)
    assert "1 pending proposal frozen" in r.content.decode()
    agent.refresh_from_db()
    assert agent.status == "suspended" and agent.suspended_reason == "Looping on rollbacks."
    assert Agent.history.filter(id=agent.pk).latest().history_user == olga
    assert Proposal.objects.get(pk=pid).is_frozen
    assert agent_client.post_json(P, proposal_body).status_code == 403


def test_suspending_without_a_reason_changes_nothing(web, olga, agent):
    r = web(olga).post(f"/governance/agents/{agent.name}/suspend/", {"reason": "  "}, follow=True)
    assert "Say why" in r.content.decode()
    agent.refresh_from_db()
    assert agent.status == "active"


def test_the_orchestrator_suspends_and_resumes_the_domain(web, olga, platform, agent_client, proposal_body):
    client = web(olga)
    client.post(f"/governance/domains/{platform.slug}/suspend/", {"reason": "Incident INC-7."})
    assert agent_client.post_json(P, proposal_body).status_code == 403
    client.post(f"/governance/domains/{platform.slug}/resume/", {"reason": ""})
    assert agent_client.post_json(P, proposal_body).status_code == 201


def test_an_orchestrator_cannot_switch_off_another_domain(web, olga):
    product = Domain.objects.create(name="Product", slug="product")
    bot = governance_services.agent_create(name="product-bot", domain=product)[0]
    client = web(olga)
    assert client.post("/governance/domains/product/suspend/", {"reason": "x"}).status_code == 404
    assert client.post(f"/governance/agents/{bot.name}/suspend/", {"reason": "x"}).status_code == 404
    assert not Domain.objects.get(pk=product.pk).is_suspended and Agent.objects.get(pk=bot.pk).is_active


@pytest.mark.parametrize("who", ["alice", "auditor"])
def test_reviewers_and_auditors_get_no_kill_switch(web, who, request, agent):
    client = web(request.getfixturevalue(who))
    assert "Kill switch" not in client.get("/").content.decode()
    assert client.get(KS).status_code == 403
    # the same answer as for an agent that does not exist: names cannot be probed
    assert client.post(f"/governance/agents/{agent.name}/suspend/", {"reason": "x"}).status_code == 404
    assert client.post("/governance/agents/no-such-bot/suspend/", {"reason": "x"}).status_code == 404


def test_the_board_sees_every_domain(web, agent):
    board = UserFactory(username="bea")
    board.user_permissions.add(Permission.objects.get(codename="enterprise_governance"))
    Domain.objects.create(name="Product", slug="product")
    html = web(board).get(KS).content.decode()
    assert 'id="domain-platform"' in html and 'id="domain-product"' in html


def test_anonymous_is_sent_to_login(client, agent):
    assert client.get(KS).status_code == 302
    r = client.post(f"/governance/agents/{agent.name}/suspend/", {"reason": "x"})
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]
    assert Agent.objects.get(pk=agent.pk).is_active


def test_unknown_agent_or_domain_is_404(web, olga):
    client = web(olga)
    assert client.post("/governance/agents/nobody/suspend/", {"reason": "x"}).status_code == 404
    assert client.post("/governance/domains/nowhere/suspend/", {"reason": "x"}).status_code == 404


def test_a_frozen_proposal_shows_why_instead_of_the_decision_form(web, olga, alice, agent, agent_client,
                                                                  proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    web(olga).post(f"/governance/agents/{agent.name}/suspend/", {"reason": "Looping on rollbacks."})
    html = web(alice).get(f"/proposals/{pid}/").content.decode()
    assert 'name="verdict"' not in html and "Frozen by the kill switch" in html and "Looping on rollbacks." in html

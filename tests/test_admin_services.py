"""Django admin writes through the services (history names who and why), shows a new token once on
the response page (never in a message or cookie), shows the webhook secret only to those who may
rotate it, and keeps the policy dry-run for those who may see governance."""
import json

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from governance import permissions
from governance import services as governance_services
from governance.models import ActionType, Agent, AgentGroup, AuthorityRule, Inbox, Policy
from governance.tokens import token_authenticate
from orchestra_site.errors import InvalidInput
from tests.admin_forms import action, form_data
from tests.conftest import PROPOSAL
from tests.factories import PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def root():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def root_client(root):
    client = Client()
    client.force_login(root)
    return client


def staff_client(username, *codenames):
    user = UserFactory(username=username, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["governance", "inbox"],
                                                         codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def latest(model, obj):
    return model.history.filter(id=obj.pk).latest()


# --- agents: created and changed by the services, tokens shown once ---------------------------------

def test_adding_an_agent_goes_through_agent_create_and_shows_its_token_once(root_client, platform):
    data = {"name": "new-bot", "domain": platform.pk, "team": "SRE", "approved_tools": '["deploy"]',
            "tokens-TOTAL_FORMS": "0", "tokens-INITIAL_FORMS": "0", "_save": "Save"}
    r = root_client.post("/admin/governance/agent/add/", data)
    assert r.status_code == 200, r.content[:2000]
    agent = Agent.objects.get(name="new-bot")
    raw = r.context["issued"][0][1]
    assert raw.encode() in r.content and token_authenticate(raw) == agent
    assert agent.webhook_secret and agent.approved_tools == ["deploy"] and agent.tokens.count() == 1
    assert latest(Agent, agent).history_user.username == "root"
    assert "messages" not in r.cookies and "no-store" in r["Cache-Control"]
    # the token is on that page only: not in the session's messages, not on the next page
    assert raw.encode() not in root_client.get("/admin/governance/agent/").content


def test_the_issue_token_action_shows_the_token_on_its_page(root_client, agent):
    r = root_client.post("/admin/governance/agent/", action("issue_token", agent))
    assert r.status_code == 200
    raw = r.context["issued"][0][1]
    assert token_authenticate(raw) == agent and "messages" not in r.cookies


def test_changing_an_agent_goes_through_agent_update(root_client, agent):
    r = root_client.post(f"/admin/governance/agent/{agent.pk}/change/",
                         form_data(agent, inlines=["tokens"], team="Payments", rate_limit_per_minute=5))
    assert r.status_code == 302
    agent.refresh_from_db()
    assert (agent.team, agent.rate_limit_per_minute, agent.status) == ("Payments", 5, "active")
    version = latest(Agent, agent)
    assert version.history_user.username == "root" and "team" in version.history_change_reason


def test_the_webhook_secret_is_shown_only_to_those_who_may_rotate_it(agent):
    viewer = staff_client("vera", "view_agent")
    changer = staff_client("carl", "view_agent", "change_agent")
    secret = agent.webhook_secret.encode()
    assert secret not in viewer.get(f"/admin/governance/agent/{agent.pk}/change/").content
    assert secret in changer.get(f"/admin/governance/agent/{agent.pk}/change/").content
    r = changer.post("/admin/governance/agent/", action("rotate_webhook_secret", agent))
    assert r.status_code == 302
    agent.refresh_from_db()
    assert agent.webhook_secret.encode() != secret and latest(Agent, agent).history_user.username == "carl"
    history = viewer.get(f"/admin/governance/agent/{agent.pk}/history/")
    assert history.status_code == 200 and secret not in history.content
    assert agent.webhook_secret.encode() not in history.content
    version = Agent.history.filter(id=agent.pk).earliest()
    page = viewer.get(f"/admin/governance/agent/{agent.pk}/history/{version.history_id}/")
    assert page.status_code == 200 and secret not in page.content


def test_view_only_staff_cannot_rotate_the_secret(agent):
    viewer = staff_client("vera", "view_agent")
    secret = agent.webhook_secret
    assert viewer.post("/admin/governance/agent/", action("rotate_webhook_secret", agent)).status_code == 403
    assert Agent.objects.get(pk=agent.pk).webhook_secret == secret


# --- policies and the rulebook -------------------------------------------------------------------------

def test_a_policy_changed_in_admin_is_a_version_naming_who(root_client):
    policy = PolicyFactory(name="Deploys", action_pattern="deploy.*")
    r = root_client.post(f"/admin/governance/policy/{policy.pk}/change/",
                         form_data(policy, priority=7, change_reason="Deploys first."))
    assert r.status_code == 302
    version = latest(Policy, policy)
    assert version.priority == 7 and version.history_user.username == "root" and version.updated_by_id
    assert version.history_change_reason == "Deploys first."


def test_the_policy_list_changes_nothing_without_a_reason(root_client):
    """No inline editing in the list: a change needs its reason, which only the change form asks for."""
    policy = PolicyFactory(name="Deploys", action_pattern="deploy.*")
    data = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": str(policy.pk), "_save": "Save"}
    root_client.post("/admin/governance/policy/", data)  # is_active unchecked
    assert Policy.objects.get(pk=policy.pk).is_active and Policy.history.filter(id=policy.pk).count() == 1


def test_adding_a_policy_with_agents_goes_through_policy_create(root_client, agent):
    data = form_data(Policy(name="Only deploy-bot", outcome="review", priority=3), agents=[agent])
    data.pop("id", None)
    r = root_client.post("/admin/governance/policy/add/", data)
    assert r.status_code == 302
    policy = Policy.objects.get(name="Only deploy-bot")
    assert list(policy.agents.all()) == [agent] and latest(Policy, policy).history_user.username == "root"
    assert "deploy-bot" in Policy.history.filter(id=policy.pk).earliest().history_change_reason


def test_the_authority_matrix_grid_goes_through_the_service(root_client):
    rule = AuthorityRule.objects.get(level="agent", category__slug="scope_change")
    data = {f"rule-{rule.pk}": "can_decide", "reason": "Agents may widen scope in the pilot."}
    assert root_client.post("/admin/governance/authorityrule/", data).status_code == 302
    version = latest(AuthorityRule, rule)
    assert version.mode == "can_decide" and version.history_user.username == "root"
    assert version.history_change_reason == "Agents may widen scope in the pilot."


def test_an_agent_group_goes_through_its_service(root_client, agent):
    r = root_client.post("/admin/governance/agentgroup/add/", {"name": "Release bots", "agents": [agent.pk]})
    assert r.status_code == 302
    group = AgentGroup.objects.get(name="Release bots")
    assert list(group.agents.all()) == [agent] and latest(AgentGroup, group).history_user.username == "root"
    assert "agents=[deploy-bot]" in AgentGroup.history.filter(id=group.pk).earliest().history_change_reason


def test_an_invalid_json_schema_is_refused_by_the_admin_form(root_client):
    action_type = ActionType.objects.get(name="deploy.rollback")
    before = action_type.args_schema
    broken = {"type": "object", "properties": {"service": {"type": "strng"}}}
    r = root_client.post(f"/admin/governance/actiontype/{action_type.pk}/change/",
                         form_data(action_type, args_schema=broken))
    assert r.status_code == 200 and b"not a valid JSON Schema" in r.content
    assert ActionType.objects.get(pk=action_type.pk).args_schema == before


# --- inboxes: a change of reviewers group takes the old one's access away ----------------------------

def test_changing_an_inbox_group_in_admin_revokes_the_old_group(root_client, platform_inbox, alice):
    new_group = Group.objects.create(name="Platform SRE")
    r = root_client.post(f"/admin/governance/inbox/{platform_inbox.pk}/change/",
                         form_data(platform_inbox, reviewers=new_group.pk))
    assert r.status_code == 302
    inbox = Inbox.objects.get(pk=platform_inbox.pk)
    assert inbox.reviewers == new_group and latest(Inbox, inbox).history_user.username == "root"
    alice = type(alice).objects.get(pk=alice.pk)
    assert not permissions.can_view(alice, inbox) and not permissions.can_decide(alice, inbox)


def test_object_permission_pages_grant_through_the_roles_service(root_client, platform_inbox, bob):
    url = f"/admin/governance/inbox/{platform_inbox.pk}/permissions/user-manage/{bob.pk}/"
    assert root_client.post(url, {"permissions": ["view_inbox"]}).status_code == 302
    bob = type(bob).objects.get(pk=bob.pk)
    assert permissions.can_view(bob, platform_inbox) and not permissions.can_decide(bob, platform_inbox)
    r = root_client.post(url, {"permissions": ["delete_inbox"]})  # not grantable on an object
    assert r.status_code == 200
    assert not type(bob).objects.get(pk=bob.pk).has_perm("governance.delete_inbox", platform_inbox)


# --- the policy dry-run page ---------------------------------------------------------------------------

def test_the_dry_run_page_needs_governance_visibility(agent):
    body = {"agent": agent.pk, "proposal": json.dumps(PROPOSAL)}
    blind = staff_client("sam", "view_agent")
    assert blind.get("/admin/inbox/proposal/dry-run/").status_code == 403
    assert blind.post("/admin/inbox/proposal/dry-run/", body).status_code == 403
    auditor = staff_client("audrey", "view_policy")
    assert auditor.post("/admin/inbox/proposal/dry-run/", body).status_code == 200


# --- the services admin calls ---------------------------------------------------------------------------

def test_agent_update_refuses_the_kill_switch_and_the_secret(agent, root):
    for field, value in [("status", "active"), ("webhook_secret", "x"), ("suspended_reason", "")]:
        with pytest.raises(InvalidInput) as exc:
            governance_services.agent_update(agent=agent, by=root, **{field: value})
        assert exc.value.field == field


def test_domain_update_refuses_the_kill_switch(platform, root):
    with pytest.raises(InvalidInput):
        governance_services.domain_update(domain=platform, by=root, is_suspended=False)
    governance_services.domain_update(domain=platform, by=root, rate_limit_per_minute=3)
    assert latest(type(platform), platform).history_user == root


def test_domain_create_gives_the_domain_its_level_inboxes(root):
    domain = governance_services.domain_create(name="Finance", by=root, description="Money.")
    assert domain.default_inbox.slug == "finance-reviewers" and domain.orchestrator_inbox.level == "domain"
    assert type(domain).history.filter(id=domain.pk).earliest().history_user == root


def test_role_grants(platform):
    user = UserFactory(username="gina")
    governance_services.global_role_grant(user=user, role="audit")
    user = type(user).objects.get(pk=user.pk)
    assert user.has_perm("governance.audit") and user.has_perm("governance.view_inbox")
    governance_services.global_role_revoke(user=user, role="audit")
    governance_services.domain_orchestrator_grant(user=user, domain=platform)
    user = type(user).objects.get(pk=user.pk)
    assert not user.has_perm("governance.audit") and permissions.orchestrates(user, platform.pk)
    assert permissions.can_suspend_domain(user, platform)


def test_unknown_roles_and_permissions_are_refused(platform_inbox):
    user = UserFactory(username="gina")
    with pytest.raises(InvalidInput):
        governance_services.global_role_grant(user=user, role="superuser")
    with pytest.raises(InvalidInput):
        governance_services.object_permissions_set(obj=platform_inbox, user=user, perms={"delete_inbox"})


def test_a_long_suspension_reason_is_kept_and_never_a_500(agent, platform, root):
    """The history column holds 100 characters (PostgreSQL refused longer ones: a 500); the flag keeps it all."""
    from inbox import services as inbox_services

    inbox_services.proposal_submit(agent=agent, data=dict(PROPOSAL, risk="low", confidence=0.3))
    reason = "Runaway loop. " * 40
    inbox_services.agent_suspend(agent=agent, by=root, reason=reason)
    inbox_services.domain_suspend(domain=platform, by=root, reason=reason)
    assert Agent.objects.get(pk=agent.pk).suspended_reason == reason
    assert len(latest(Agent, agent).history_change_reason) == 100


def test_adding_an_inbox_and_a_domain_goes_through_their_services(root_client, platform):
    group = Group.objects.create(name="Payments")
    r = root_client.post("/admin/governance/inbox/add/", {"slug": "payments", "name": "Payments", "level": "agent",
                                                          "domain": platform.pk, "reviewers": group.pk})
    assert r.status_code == 302
    inbox = Inbox.objects.get(slug="payments")
    assert group.groupobjectpermission_set.filter(object_pk=str(inbox.pk)).count() == 2  # view + decide
    assert latest(Inbox, inbox).history_user.username == "root"
    r = root_client.post("/admin/governance/domain/add/", {"name": "Finance", "slug": "finance"})
    assert r.status_code == 302
    domain = type(platform).objects.get(slug="finance")
    assert domain.default_inbox and domain.orchestrator_inbox
    assert type(domain).history.filter(id=domain.pk).earliest().history_user.username == "root"


def test_adding_an_action_type_checks_its_schema(root_client):
    category = ActionType.objects.first().category
    data = {"name": "queue.drain", "category": category.pk, "args_schema": '{"type": "strng"}'}
    r = root_client.post("/admin/governance/actiontype/add/", data)
    assert r.status_code == 200 and not ActionType.objects.filter(name="queue.drain").exists()
    r = root_client.post("/admin/governance/actiontype/add/", dict(data, args_schema='{"type": "object"}'))
    assert r.status_code == 302
    assert latest(ActionType, ActionType.objects.get(name="queue.drain")).history_user.username == "root"

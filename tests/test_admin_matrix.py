"""The authorization matrix of Django admin, table-driven: staff roles × every admin action, history
page and change form (the rest of the matrix, API / browser / WebSocket, is test_authorization_matrix).

Roles: ``staff_view`` (is_staff, every view_* permission of the admin's models, nothing else),
``staff_change`` (view_* and change_*, but no suspend, no token minting, no add), ``admin`` (superuser).
Each cell says what must happen: ``OK`` (allowed, and the change is made) or the refusal (403), and then
nothing changed. History pages are readable by all three and never revert (POST 403 for all).
"""
import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from governance import services as governance_services
from governance import tokens
from governance.models import (
    ActionCategory,
    ActionType,
    Agent,
    AgentGroup,
    ApiToken,
    AuthorityRule,
    Domain,
    Inbox,
    Policy,
)
from inbox import services
from inbox.models import Escalation, Proposal, WebhookDelivery
from tests.admin_forms import action, form_data
from tests.conftest import PROPOSAL
from tests.factories import PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db
OK = "ok"
ROLES = ["staff_view", "staff_change", "admin"]
APPS = ["governance", "inbox"]


@pytest.fixture
def world(platform, agent_and_token, alice):
    """Deploy-bot (active, one pending proposal), held-bot (suspended), Operations (suspended), alice's
    personal token, a policy, an agent group, an escalation and a webhook delivery; each role's user."""
    agent = agent_and_token[0]
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    viewer = UserFactory(username="vera", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=APPS,
                                                           codename__startswith="view_"))
    changer = UserFactory(username="carl", is_staff=True)
    changer.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=APPS,
                                                            codename__regex=r"^(view|change)_"))
    held = governance_services.agent_create(name="held-bot", domain=platform)[0]
    services.agent_suspend(agent=held, by=root, reason="Held.")
    ops = governance_services.domain_get_or_create(name="Operations")
    services.domain_suspend(domain=ops, by=root, reason="Held.")
    proposal = services.proposal_submit(agent=agent, data=dict(PROPOSAL, risk="low", confidence=0.3))[0]
    return {
        "users": {"staff_view": viewer, "staff_change": changer, "admin": root},
        "agent": agent, "held": held, "platform": platform, "ops": ops, "proposal": proposal,
        "token": tokens.user_token_create(user=alice, name="laptop")[0],
        "policy": PolicyFactory(name="Deploys", action_pattern="deploy.*", priority=500),
        "group": governance_services.agent_group_save(by=root, name="Release bots", agents=[agent]),
        "escalation": Escalation.objects.create(proposal=proposal, to_level="domain", reason="x"),
        "delivery": WebhookDelivery.objects.create(proposal=proposal, attempt=1),
    }


def client_for(role, world) -> Client:
    client = Client()
    client.force_login(world["users"][role])
    return client


def state(world) -> dict:
    """Everything an admin action or form could change here."""
    agent, held = Agent.objects.get(pk=world["agent"].pk), Agent.objects.get(pk=world["held"].pk)
    return {
        "agent": (agent.status, agent.team, agent.webhook_secret, agent.tokens.count()),
        "held": held.status,
        "domains": list(Domain.objects.order_by("pk").values_list("is_suspended", "description")),
        "token": ApiToken.objects.get(pk=world["token"].pk).revoked_at,
        "policies": list(Policy.objects.order_by("pk").values_list("priority", "is_active")),
        "rows": [m.objects.count() for m in (Agent, Policy, AgentGroup, Proposal, Escalation, WebhookDelivery)],
        "text": [list(m.objects.order_by("pk").values_list(f, flat=True)) for m, f in [
            (Inbox, "description"), (ActionType, "description"), (ActionCategory, "description"),
            (AuthorityRule, "note"), (AgentGroup, "name"), (Proposal, "decision_comment"),
            (Escalation, "reason"), (WebhookDelivery, "error"), (ApiToken, "name")]],
    }


# --- admin actions --------------------------------------------------------------------------------------

#                                             staff_view staff_change admin
ACTIONS = {
    ("agent", "issue_token", "agent"):            (403, 403, OK),
    ("agent", "suspend", "agent"):                (403, 403, OK),
    ("agent", "resume", "held"):                  (403, 403, OK),
    ("agent", "rotate_webhook_secret", "agent"):  (403, OK, OK),
    ("agent", "delete_selected", "agent"):        (403, 403, 403),
    ("domain", "suspend", "platform"):            (403, 403, OK),
    ("domain", "resume", "ops"):                  (403, 403, OK),
    ("apitoken", "revoke", "token"):              (403, OK, OK),
    ("policy", "delete_selected", "policy"):      (403, 403, 403),
}
EFFECTS = {
    "issue_token": lambda w: Agent.objects.get(pk=w["agent"].pk).tokens.count() == 2,
    "suspend": lambda w: not Agent.objects.get(pk=w["agent"].pk).is_active or Domain.objects.get(
        pk=w["platform"].pk).is_suspended,
    "resume": lambda w: Agent.objects.get(pk=w["held"].pk).is_active or not Domain.objects.get(
        pk=w["ops"].pk).is_suspended,
    "rotate_webhook_secret": lambda w: Agent.objects.get(pk=w["agent"].pk).webhook_secret != w["agent"].webhook_secret,
    "revoke": lambda w: ApiToken.objects.get(pk=w["token"].pk).revoked_at is not None,
}


def cells(table):
    return [pytest.param(role, key, expected[i], id=f"{role}-{'-'.join(key)}")
            for key, expected in table.items() for i, role in enumerate(ROLES)]


@pytest.mark.parametrize(("role", "key", "expected"), cells(ACTIONS))
def test_actions(world, role, key, expected):
    model, name, target = key
    before = state(world)
    r = client_for(role, world).post(f"/admin/governance/{model}/", action(name, world[target]))
    if expected == OK:
        assert r.status_code in (200, 302), r.status_code
        assert EFFECTS[name](world)
        if name == "issue_token":
            assert r.context["issued"][0][0] == world["agent"]
    else:
        assert r.status_code == expected
        assert state(world) == before


# --- history pages: readable by all, never reverted --------------------------------------------------------

HISTORY = {"agent": ("governance", Agent, "agent"), "domain": ("governance", Domain, "platform"),
           "policy": ("governance", Policy, "policy"), "agentgroup": ("governance", AgentGroup, "group"),
           "inbox": ("governance", Inbox, None), "actiontype": ("governance", ActionType, None),
           "actioncategory": ("governance", ActionCategory, None),
           "authorityrule": ("governance", AuthorityRule, None), "proposal": ("inbox", Proposal, "proposal")}


def history_target(name, world):
    app, model, key = HISTORY[name]
    obj = world[key] if key else model.objects.order_by("pk").first()
    if not model.history.filter(id=obj.pk).exists():  # rows seeded by migration have no history yet
        obj.save()
    return app, model, obj


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(HISTORY))
def test_history_pages(world, role, name):
    app, model, obj = history_target(name, world)
    client, before = client_for(role, world), state(world)
    base = f"/admin/{app}/{name}/{obj.pk}/history/"
    assert client.get(base).status_code == 200
    version = model.history.filter(id=obj.pk).earliest()
    assert client.get(f"{base}{version.history_id}/").status_code == 200
    inlines = {"agent": ["tokens"], "proposal": ["votes"]}.get(name, [])
    assert client.post(f"{base}{version.history_id}/", form_data(version.instance, inlines=inlines)).status_code == 403
    assert state(world) == before


# --- change forms ---------------------------------------------------------------------------------------

#                 url,                         object, inlines,     change,                    view  change admin
CHANGES = {
    "agent":          ("governance/agent", "agent", ["tokens"], {"team": "X"}, (403, OK, OK)),
    "domain":         ("governance/domain", "platform", [], {"description": "X"}, (403, OK, OK)),
    "policy":         ("governance/policy", "policy", [], {"priority": 7, "change_reason": "X"}, (403, OK, OK)),
    "agentgroup":     ("governance/agentgroup", "group", [], {"name": "X"}, (403, OK, OK)),
    "inbox":          ("governance/inbox", Inbox, [], {"description": "X"}, (403, OK, OK)),
    "actiontype":     ("governance/actiontype", ActionType, [], {"description": "X"}, (403, OK, OK)),
    "actioncategory": ("governance/actioncategory", ActionCategory, [], {"description": "X"}, (403, OK, OK)),
    "authorityrule":  ("governance/authorityrule", AuthorityRule, [], {"note": "X"}, (403, OK, OK)),
    "apitoken":       ("governance/apitoken", "token", [], {"name": "X"}, (403, 403, 403)),
    "proposal":       ("inbox/proposal", "proposal", ["votes"], {"decision_comment": "X"}, (403, 403, 403)),
    "escalation":     ("inbox/escalation", "escalation", [], {"reason": "X"}, (403, 403, 403)),
    "webhookdelivery": ("inbox/webhookdelivery", "delivery", [], {"error": "X"}, (403, 403, 403)),
}


@pytest.mark.parametrize(("role", "key", "expected"),
                         [pytest.param(role, name, spec[4][i], id=f"{role}-{name}")
                          for name, spec in CHANGES.items() for i, role in enumerate(ROLES)])
def test_change_forms(world, role, key, expected):
    url, target, inlines, change, _ = CHANGES[key]
    obj = world[target] if isinstance(target, str) else target.objects.order_by("pk").first()
    obj = type(obj).objects.get(pk=obj.pk)
    before = state(world)
    r = client_for(role, world).post(f"/admin/{url}/{obj.pk}/change/", form_data(obj, inlines=inlines, **change))
    field, value = next(iter(change.items()))
    if expected == OK:
        assert r.status_code == 302, r.content[:3000]
        changed = type(obj).objects.get(pk=obj.pk)
        assert getattr(changed, field) == value
        assert changed.history.latest().history_user == world["users"][role]
    else:
        assert r.status_code == expected
        assert state(world) == before


# --- adding an agent mints a token; secrets; the dry-run ---------------------------------------------------

@pytest.mark.parametrize(("role", "expected"), [("staff_view", 403), ("staff_change", 403), ("admin", OK)])
def test_adding_an_agent(world, role, expected):
    data = {"name": "new-bot", "domain": world["platform"].pk, "approved_tools": "[]",
            "tokens-TOTAL_FORMS": "0", "tokens-INITIAL_FORMS": "0", "_save": "Save"}
    r = client_for(role, world).post("/admin/governance/agent/add/", data)
    assert r.status_code == (200 if expected == OK else expected)
    assert Agent.objects.filter(name="new-bot").exists() == (expected == OK)


@pytest.mark.parametrize(("role", "sees"), [("staff_view", False), ("staff_change", True), ("admin", True)])
def test_the_webhook_secret_on_the_agent_page(world, role, sees):
    r = client_for(role, world).get(f"/admin/governance/agent/{world['agent'].pk}/change/")
    assert r.status_code == 200 and (world["agent"].webhook_secret.encode() in r.content) == sees


@pytest.mark.parametrize("role", ROLES)
def test_the_dry_run_page(world, role):
    assert client_for(role, world).get("/admin/inbox/proposal/dry-run/").status_code == 200

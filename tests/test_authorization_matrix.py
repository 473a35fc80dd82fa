"""The whole authorization matrix, table-driven: every role × every operation × every channel.

Roles: the agent that posted the proposal (its token), a reviewer of inbox A (where the proposal
is), a reviewer of inbox B (another domain's inbox), the orchestrator of A's domain, the enterprise
board, an auditor, an anonymous caller, and an admin (superuser).
Operations: view the proposal, decide it, escalate it, edit a policy, suspend the proposing agent.
Channels: the browser (session; Django admin for policies), the API (bearer token), and the inbox
WebSocket (viewing is the only thing a socket does: it relays, it never takes a decision).

Each cell says what must happen: ``OK`` (allowed, and the change is made), or the refusal (401, 403,
404, or ``LOGIN``: sent to a login page), and then nothing changed. A change in
``inbox.permissions`` or ``governance.permissions`` that opens a hole fails here.

A change of inbox A's reviewers group (``governance.services.inbox_update``, what Django admin calls)
moves the reviewer role: the old group's member is then refused like reviewer B, the new group's
member allowed like reviewer A. Django admin's own matrix (staff roles) is test_admin_matrix.
"""
import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group, Permission
from django.forms.models import model_to_dict
from django.test import Client
from guardian.shortcuts import assign_perm

from governance import services as governance_services
from governance import tokens
from governance.models import Agent, Policy
from inbox import services
from inbox.consumers import FORBIDDEN
from inbox.models import Escalation, Proposal, Vote
from orchestra_site.asgi import application
from tests.conftest import PROPOSAL, TokenClient
from tests.factories import PolicyFactory, UserFactory

OK, LOGIN = "ok", "login"
NA = None  # no such channel for this role: agents have no browser session
ROLES = ["agent", "reviewer_a", "reviewer_b", "orchestrator", "enterprise", "auditor", "anonymous", "admin"]
OPERATIONS = ["view", "decide", "escalate", "edit_policy", "suspend"]

#                 view    decide  escalate edit_policy suspend
API = {
    "agent":        (OK,  403,    403,     403,        403),
    "reviewer_a":   (OK,  OK,     OK,      403,        404),
    "reviewer_b":   (404, 404,    404,     403,        404),
    "orchestrator": (OK,  OK,     OK,      403,        OK),
    "enterprise":   (OK,  403,    403,     403,        OK),
    "auditor":      (OK,  403,    403,     403,        404),
    "anonymous":    (401, 401,    401,     401,        401),
    "admin":        (OK,  OK,     OK,      OK,         OK),
}
WEB = {
    "agent":        (NA,    NA,    NA,    NA,    NA),
    "reviewer_a":   (OK,    OK,    OK,    LOGIN, 404),
    "reviewer_b":   (404,   404,   404,   LOGIN, 404),
    "orchestrator": (OK,    OK,    OK,    LOGIN, OK),
    "enterprise":   (OK,    403,   403,   LOGIN, OK),
    "auditor":      (OK,    403,   403,   LOGIN, 404),
    "anonymous":    (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    "admin":        (OK,    OK,    OK,    OK,    OK),
}
# Listening to inbox A's live updates (the WebSocket's only operation).
WEBSOCKET = {"agent": FORBIDDEN, "reviewer_a": OK, "reviewer_b": FORBIDDEN, "orchestrator": OK, "enterprise": OK,
             "auditor": OK, "anonymous": FORBIDDEN, "admin": OK}


def cells(table):
    return [pytest.param(role, op, table[role][i], id=f"{role}-{op}")
            for role in ROLES for i, op in enumerate(OPERATIONS) if table[role][i] is not NA]


@pytest.fixture
def world(db, platform, legal_inbox, agent_and_token):
    """Inbox A (Platform's default inbox) holds one pending proposal from deploy-bot; each role's user."""
    agent, agent_token = agent_and_token
    users = {
        "reviewer_a": UserFactory(username="alice"), "reviewer_b": UserFactory(username="bob"),
        "orchestrator": UserFactory(username="olga"), "enterprise": UserFactory(username="bea"),
        "auditor": UserFactory(username="audrey"),
        "admin": UserFactory(username="root", is_staff=True, is_superuser=True),
    }
    users["reviewer_a"].groups.add(platform.default_inbox.reviewers)
    users["reviewer_b"].groups.add(legal_inbox.reviewers)
    assign_perm("governance.orchestrate_domain", users["orchestrator"], platform)
    users["enterprise"].user_permissions.add(Permission.objects.get(codename="enterprise_governance"))
    users["auditor"].user_permissions.add(Permission.objects.get(codename="view_inbox"),
                                          Permission.objects.get(codename="audit"))
    proposal = services.proposal_submit(agent=agent, data=dict(PROPOSAL, risk="low", confidence=0.3))[0]
    assert proposal.inbox == platform.default_inbox and proposal.is_pending and proposal.quorum == 1
    return {"agent": agent, "agent_token": agent_token, "users": users, "proposal": proposal,
            "policy": PolicyFactory(name="Rollbacks need review", action_pattern="deploy.*", priority=500),
            "inbox": platform.default_inbox}


def effect(op: str, world) -> bool:
    """Did ``op`` change anything? (views change nothing: their effect is the response itself)."""
    p = Proposal.objects.get(pk=world["proposal"].pk)
    return {
        "view": False,
        "decide": p.status != "pending" or Vote.objects.filter(proposal=p).exists(),
        "escalate": Escalation.objects.filter(proposal=p).exists(),
        "edit_policy": not Policy.objects.get(pk=world["policy"].pk).is_active,
        "suspend": not Agent.objects.get(pk=world["agent"].pk).is_active,
    }[op]


# --- the API --------------------------------------------------------------------------------------

def api_client(role, world) -> Client:
    if role == "agent":
        return TokenClient(world["agent_token"])
    if role == "anonymous":
        return Client()
    return TokenClient(tokens.user_token_create(user=world["users"][role])[1])


def api_call(client, op, world):
    pid, body = world["proposal"].pk, {"content_type": "application/json"}
    if op == "view":
        return client.get(f"/api/v1/proposals/{pid}")
    if op == "decide":
        return client.post(f"/api/v1/proposals/{pid}/decision", {"verdict": "approve", "comment": "ok"}, **body)
    if op == "escalate":
        return client.post(f"/api/v1/proposals/{pid}/escalate", {"reason": "Needs the orchestrator."}, **body)
    if op == "edit_policy":
        return client.patch(f"/api/v1/governance/policies/{world['policy'].pk}", {"is_active": False}, **body)
    return client.post(f"/api/v1/governance/agents/{world['agent'].name}/suspend", {"reason": "Test."}, **body)


@pytest.mark.parametrize(("role", "op", "expected"), cells(API))
def test_api(world, role, op, expected):
    r = api_call(api_client(role, world), op, world)
    if expected == OK:
        assert r.status_code == 200, r.content
        if op == "view":
            assert r.json()["id"] == str(world["proposal"].pk)
        else:
            assert effect(op, world)
    else:
        assert r.status_code == expected, r.content
        assert isinstance(r.json()["detail"], str) and isinstance(r.json()["code"], str)
        assert not effect(op, world)


# --- the browser ------------------------------------------------------------------------------------

def web_client(role, world) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(world["users"][role])
    return client


def policy_form(policy: Policy, **changes) -> dict:
    """The Django admin change form's POST data for ``policy`` (unchecked boxes are left out)."""
    data = {k: ("" if v is None else v) for k, v in model_to_dict(policy).items()}
    data.update(changes, agents=[a.pk for a in policy.agents.all()], agent_groups=[], _save="Save")
    return {k: v for k, v in data.items() if v is not False}


def web_call(client, op, world):
    pid = world["proposal"].pk
    if op == "view":
        return client.get(f"/proposals/{pid}/")
    if op == "decide":
        return client.post(f"/proposals/{pid}/", {"verdict": "approve", "comment": "ok"})
    if op == "escalate":
        return client.post(f"/proposals/{pid}/escalate/", {"reason": "Needs the orchestrator."})
    if op == "edit_policy":
        return client.post(f"/admin/governance/policy/{world['policy'].pk}/change/",
                           policy_form(world["policy"], is_active=False, change_reason="Retired."))
    return client.post(f"/governance/agents/{world['agent'].name}/suspend/", {"reason": "Test."})


@pytest.mark.parametrize(("role", "op", "expected"), cells(WEB))
def test_browser(world, role, op, expected):
    r = web_call(web_client(role, world), op, world)
    if expected == OK:
        assert r.status_code in (200, 302), r.status_code
        if op == "view":
            assert r.status_code == 200 and str(world["proposal"].pk) in r.content.decode()
        else:
            assert "login" not in r.get("Location", "") and effect(op, world)
    elif expected == LOGIN:
        assert r.status_code == 302 and "login" in r["Location"]
        assert not effect(op, world)
    else:
        assert r.status_code == expected
        assert not effect(op, world)


# --- a change of reviewers group ----------------------------------------------------------------------

CHANGE_OF_GROUP = ["view", "decide", "escalate"]


@pytest.fixture
def regrouped(world):
    """Inbox A now reviewed by "Platform SRE" (nina's group); alice stays in the old group."""
    group = Group.objects.create(name="Platform SRE")
    world["users"]["newcomer"] = UserFactory(username="nina")
    world["users"]["newcomer"].groups.add(group)
    governance_services.inbox_update(inbox=world["inbox"], reviewers=group, by=world["users"]["admin"])
    return world


@pytest.mark.parametrize("channel", ["api", "browser"])
@pytest.mark.parametrize("op", CHANGE_OF_GROUP)
def test_the_old_reviewers_group_loses_the_inbox(regrouped, channel, op):
    client = api_client("reviewer_a", regrouped) if channel == "api" else web_client("reviewer_a", regrouped)
    r = (api_call if channel == "api" else web_call)(client, op, regrouped)
    assert r.status_code == 404
    assert not effect(op, regrouped)


@pytest.mark.parametrize("channel", ["api", "browser"])
@pytest.mark.parametrize("op", CHANGE_OF_GROUP)
def test_the_new_reviewers_group_gains_it(regrouped, channel, op):
    client = api_client("newcomer", regrouped) if channel == "api" else web_client("newcomer", regrouped)
    r = (api_call if channel == "api" else web_call)(client, op, regrouped)
    assert r.status_code in (200, 302), r.content[:500]
    assert op == "view" or effect(op, regrouped)


# --- the WebSocket ------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("role", "expected"), list(WEBSOCKET.items()), ids=list(WEBSOCKET))
async def test_websocket(role, expected, request):
    """Through the real ASGI stack (origin check, session auth): the session decides, a bearer
    token counts for nothing on a socket."""
    from channels.db import database_sync_to_async

    world = await database_sync_to_async(request.getfixturevalue)("world")
    headers = [(b"origin", b"http://localhost")]
    if role == "agent":
        headers.append((b"authorization", f"Bearer {world['agent_token']}".encode()))
    elif role != "anonymous":
        client = await database_sync_to_async(web_client)(role, world)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    ws = WebsocketCommunicator(application, f"/ws/inboxes/{world['inbox'].pk}/", headers=headers)
    connected, code = await ws.connect(timeout=5)
    if expected == OK:
        assert connected
        await database_sync_to_async(services.proposal_submit)(
            agent=world["agent"], data=dict(PROPOSAL, risk="low", confidence=0.3, resource="service:search"))
        assert (await ws.receive_json_from(timeout=5))["event"] == "proposal.created"
    else:
        assert not connected and code == expected
    await ws.disconnect()

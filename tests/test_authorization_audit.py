"""The authorization matrix, grown by the audit trail's operations (same roles and world as
test_authorization_matrix): search and export the audit trail over the API; the audit search, the
alerts page and a proposal's trace in the browser; the live alerts socket. Auditors, the board and
admins read everything; a domain's orchestrator reads that domain; reviewers read a proposal's trace
when they may see the proposal, and nothing else. Reading is all any of these do."""
import pytest
from channels.testing import WebsocketCommunicator

from governance import services as governance_services
from governance.audit.models import AuditEvent
from inbox.consumers import FORBIDDEN
from orchestra_site.asgi import application
from tests.factories import UserFactory
from tests.test_authorization_matrix import LOGIN, OK, ROLES, api_client, web_client, world  # noqa: F401

#                  search export
API = {
    "agent":        (404, 404),
    "reviewer_a":   (404, 404),
    "reviewer_b":   (404, 404),
    "orchestrator": (OK,  OK),
    "enterprise":   (OK,  OK),
    "auditor":      (OK,  OK),
    "anonymous":    (401, 401),
    "admin":        (OK,  OK),
}
#                  audit  alerts trace
WEB = {
    "reviewer_a":   (404,   404,   OK),
    "reviewer_b":   (404,   404,   404),
    "orchestrator": (OK,    OK,    OK),
    "enterprise":   (OK,    OK,    OK),
    "auditor":      (OK,    OK,    OK),
    "anonymous":    (LOGIN, LOGIN, LOGIN),
    "admin":        (OK,    OK,    OK),
}
SOCKET = {"agent": FORBIDDEN, "reviewer_a": FORBIDDEN, "reviewer_b": FORBIDDEN, "orchestrator": OK,
          "enterprise": OK, "auditor": OK, "anonymous": FORBIDDEN, "admin": OK}
EVERYTHING = {"enterprise", "auditor", "admin"}


@pytest.fixture
def other_domain_event(world):  # noqa: F811
    """An event in another domain (Product: the legal inbox's), which Platform's orchestrator must not see."""
    governance_services.inbox_grant(inbox=world["users"]["reviewer_b"].groups.first().inboxes.first(),
                                    user=UserFactory(username="zed"))
    return AuditEvent.objects.get(summary__contains="zed")


def cells(table, operations, roles):
    return [pytest.param(role, op, table[role][i], id=f"{role}-{op}")
            for role in roles for i, op in enumerate(operations)]


@pytest.mark.parametrize(("role", "op", "expected"), cells(API, ["search", "export"], ROLES))
def test_api(world, other_domain_event, role, op, expected):  # noqa: F811
    client = api_client(role, world)
    r = client.get("/api/v1/audit/events" if op == "search" else "/api/v1/audit/export", {"limit": 200})
    if expected != OK:
        assert r.status_code == expected and r.json()["code"]
        return
    assert r.status_code == 200
    if op == "search":
        domains = {e["domain"] for e in r.json()["items"]}
        assert ("product" in domains) == (role in EVERYTHING)
        assert "platform" in domains
    else:
        assert b"".join(r.streaming_content)


@pytest.mark.parametrize(("role", "op", "expected"), cells(WEB, ["audit", "alerts", "trace"], WEB))
def test_browser(world, role, op, expected):  # noqa: F811
    path = {"audit": "/audit/", "alerts": "/audit/alerts/", "trace": f"/proposals/{world['proposal'].pk}/trace/"}[op]
    before = AuditEvent.objects.count()
    r = web_client(role, world).get(path)
    if expected == OK:
        assert r.status_code == 200
    elif expected == LOGIN:
        assert r.status_code == 302 and "login" in r["Location"]
    else:
        assert r.status_code == expected
    assert AuditEvent.objects.count() == before  # reading changes nothing


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("role", "expected"), list(SOCKET.items()), ids=list(SOCKET))
async def test_alerts_socket(role, expected, request):
    from channels.db import database_sync_to_async

    world = await database_sync_to_async(request.getfixturevalue)("world")  # noqa: F811
    headers = [(b"origin", b"http://localhost")]
    if role == "agent":
        headers.append((b"authorization", f"Bearer {world['agent_token']}".encode()))
    elif role != "anonymous":
        client = await database_sync_to_async(web_client)(role, world)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    ws = WebsocketCommunicator(application, "/ws/alerts/", headers=headers)
    connected, code = await ws.connect(timeout=5)
    if expected == OK:
        assert connected
        newcomer = await database_sync_to_async(UserFactory)(username="newcomer")
        await database_sync_to_async(governance_services.inbox_grant)(inbox=world["inbox"], user=newcomer)
        alert = await ws.receive_json_from(timeout=5)
        assert alert["type"] == "alert" and alert["kind"] == "authority_widened" and "newcomer" in alert["summary"]
        assert alert["domain"] == "platform"
    else:
        assert not connected and code == expected
    await ws.disconnect()

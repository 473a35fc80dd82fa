"""The inbox WebSocket: who may listen, and what arrives after a proposal is submitted or decided.

Events are sent in ``transaction.on_commit``, so these tests use real transactions
(``transactional_db``) and do their database work in ``database_sync_to_async``.
"""
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from inbox import services
from inbox.consumers import FORBIDDEN
from inbox.ws_urls import websocket_urlpatterns
from orchestra_site.asgi import application
from tests.conftest import PROPOSAL

pytestmark = pytest.mark.django_db(transaction=True)


async def listen(user, inbox_id):
    """A socket on the consumer's route with ``scope["user"]`` set, as the auth middleware would."""
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/inboxes/{inbox_id}/")
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    return communicator, connected, code


submit = database_sync_to_async(services.proposal_submit)
decide = database_sync_to_async(services.proposal_decide)


async def test_reviewer_receives_proposal_created(alice, agent, platform_inbox):
    ws, connected, _ = await listen(alice, platform_inbox.pk)
    assert connected
    proposal, _ = await submit(agent=agent, data=dict(PROPOSAL))

    message = await ws.receive_json_from(timeout=3)
    assert message["event"] == "proposal.created"
    assert message["pending_delta"] == 1 and "pending_count" not in message  # no COUNT per event
    card = message["proposal"]
    assert card["id"] == str(proposal.id) and card["inbox_id"] == platform_inbox.pk
    assert card["status"] == "pending" and card["agent"] == "deploy-bot" and card["risk"] == "high"
    assert card["summary"] == PROPOSAL["summary"] and Decimal(card["cost_usd"]) == Decimal("0.40")
    await ws.disconnect()


async def test_reviewer_receives_proposal_decided_with_the_decider(alice, agent, platform_inbox):
    proposal, _ = await submit(agent=agent, data=dict(PROPOSAL))
    ws, connected, _ = await listen(alice, platform_inbox.pk)
    assert connected
    await decide(proposal=proposal, reviewer=alice, verdict="reject", comment="Not now.")

    message = await ws.receive_json_from(timeout=3)
    assert message["event"] == "proposal.decided"
    assert message["pending_delta"] == -1 and "pending_count" not in message
    assert message["proposal"]["status"] == "rejected" and message["proposal"]["decided_by"] == "alice"
    await ws.disconnect()


async def test_every_open_page_of_the_inbox_gets_the_event(alice, agent, platform_inbox):
    pages = [(await listen(alice, platform_inbox.pk))[0] for _ in range(3)]
    await submit(agent=agent, data=dict(PROPOSAL))
    for ws in pages:
        assert (await ws.receive_json_from(timeout=3))["event"] == "proposal.created"
        await ws.disconnect()


async def test_events_of_other_inboxes_are_not_sent(bob, agent, legal_inbox, platform_inbox):
    ws, connected, _ = await listen(bob, legal_inbox.pk)
    assert connected
    await submit(agent=agent, data=dict(PROPOSAL))  # routed to the platform inbox
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()


async def test_user_without_view_permission_is_refused(bob, platform_inbox):
    _, connected, code = await listen(bob, platform_inbox.pk)
    assert not connected and code == FORBIDDEN == 4403


async def test_unknown_inbox_is_refused(alice):
    _, connected, code = await listen(alice, 999_999)
    assert not connected and code == 4403


async def test_anonymous_is_refused(platform_inbox):
    _, connected, code = await listen(AnonymousUser(), platform_inbox.pk)
    assert not connected and code == 4403


# --- through the whole ASGI stack: origin check, session cookie -------------------------------------

def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def open_app_socket(inbox_id, headers):
    communicator = WebsocketCommunicator(application, f"/ws/inboxes/{inbox_id}/", headers=headers)
    return communicator, *(await communicator.connect())


async def test_session_user_connects_through_the_asgi_app(alice, agent, platform_inbox):
    cookie = await database_sync_to_async(session_cookie)(alice)
    ws, connected, _ = await open_app_socket(platform_inbox.pk, [(b"origin", b"http://localhost"), (b"cookie", cookie)])
    assert connected
    await submit(agent=agent, data=dict(PROPOSAL))
    assert (await ws.receive_json_from(timeout=3))["event"] == "proposal.created"
    await ws.disconnect()


async def test_anonymous_is_refused_by_the_asgi_app(platform_inbox):
    _, connected, code = await open_app_socket(platform_inbox.pk, [(b"origin", b"http://localhost")])
    assert not connected and code == 4403


async def test_foreign_origin_is_refused_by_the_asgi_app(alice, platform_inbox):
    cookie = await database_sync_to_async(session_cookie)(alice)
    headers = [(b"origin", b"https://evil.example"), (b"cookie", cookie)]
    _, connected, _ = await open_app_socket(platform_inbox.pk, headers)
    assert not connected


async def test_escalation_tells_the_old_inbox_where_the_proposal_went(alice, agent, platform_inbox):
    proposal, _ = await submit(agent=agent, data=dict(PROPOSAL))
    ws, connected, _ = await listen(alice, platform_inbox.pk)
    assert connected
    moved = await database_sync_to_async(services.proposal_escalate)(proposal=proposal, reason="Sale week.", by=alice)

    message = await ws.receive_json_from(timeout=3)
    assert message["event"] == "proposal.moved" and message["pending_count"] == 0
    assert message["proposal"]["status"] == "pending"
    assert message["proposal"]["inbox_id"] == moved.inbox_id != platform_inbox.pk  # the page drops the row
    await ws.disconnect()

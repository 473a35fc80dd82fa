"""The board's and the war room's sockets: who may listen, and what arrives after each change.
Events are sent after commit, so these tests use real transactions (``transactional_db``)."""
import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from inbox.consumers import FORBIDDEN
from incidents import services
from incidents.ws_urls import websocket_urlpatterns
from tests.incident_fixtures import candidate

pytestmark = pytest.mark.django_db(transaction=True)


async def listen(user, path):
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    return communicator, connected, code


report = database_sync_to_async(candidate)
set_status = database_sync_to_async(services.incident_set_status)
add_finding = database_sync_to_async(services.finding_add)


async def test_the_board_hears_a_new_candidate_and_its_acceptance(monitor, ines, raj):
    board, connected, _ = await listen(raj, "/ws/incidents/")
    assert connected
    incident = await report(monitor)
    message = await board.receive_json_from(timeout=3)
    assert message["event"] == "incident.changed"
    card = message["incident"]
    assert card["id"] == str(incident.pk) and card["status"] == "triage" and card["is_candidate"]
    assert card["severity"] == "SEV-2" and card["reported_by"] == "monitor-bot" and card["last_entry"]
    await set_status(incident=incident, status="investigating", by=ines)
    messages = [await board.receive_json_from(timeout=3) for _ in range(2)]  # the acceptance, the command
    assert messages[-1]["incident"]["status"] == "investigating" and messages[-1]["incident"]["commander"] == "ines"
    await board.disconnect()


async def test_the_war_room_hears_findings_in_order(monitor, ines):
    incident = await report(monitor)
    room, connected, _ = await listen(ines, f"/ws/incidents/{incident.pk}/")
    assert connected
    await add_finding(incident=incident, by=monitor, summary="p99 latency 2.4 s", confidence=0.7,
                      question="impact", answer="20 % of charges fail")
    message = await room.receive_json_from(timeout=3)  # one message per change: the entry and the card
    assert message["event"] == "timeline.added" and message["incident"]["id"] == str(incident.pk)
    assert message["incident"]["last_entry"] == "p99 latency 2.4 s"
    entry = message["entry"]
    assert entry["kind"] == "finding" and entry["actor"] == "monitor-bot" and entry["confidence"] == 0.7
    assert entry["question"] == "impact" and entry["summary"] == "p99 latency 2.4 s"
    assert await room.receive_nothing(timeout=0.3)
    await room.disconnect()


async def test_who_may_not_see_is_refused_before_joining(monitor, mallory):
    incident = await report(monitor)
    _, connected, code = await listen(mallory, f"/ws/incidents/{incident.pk}/")
    assert not connected and code == FORBIDDEN
    _, connected, code = await listen(AnonymousUser(), "/ws/incidents/")
    assert not connected and code == FORBIDDEN


async def test_a_board_without_responder_domains_hears_nothing(monitor, mallory):
    board, connected, _ = await listen(mallory, "/ws/incidents/")
    assert connected  # a signed-in person with no domain: an empty board
    await report(monitor)
    assert await board.receive_nothing(timeout=0.5)
    await board.disconnect()

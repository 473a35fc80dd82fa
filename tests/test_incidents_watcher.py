"""Without Redis, a change made in another process (the task cluster's escalation, a second web
worker) reaches this process's open boards and war rooms through ``inbox.watcher``, which runs
``incidents.watcher.look_once``. "Another process" is the change made with this process's own
announcement silenced; the in-memory channel layer stands for this process's open sockets."""
import asyncio
import json
from datetime import timedelta
from unittest import mock

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from inbox import watcher
from incidents import events, services
from incidents.watcher import look_once
from tests.incident_fixtures import accepted

pytestmark = pytest.mark.django_db(transaction=True)


def listen(*groups):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    for group in groups:
        async_to_sync(layer.group_add)(group, channel)
    return layer, channel


def received(layer, channel, wait: float = 0.2) -> list[dict]:
    """Every message waiting on ``channel`` (none more within ``wait`` seconds)."""
    async def drain():
        out = []
        while True:
            try:
                message = await asyncio.wait_for(layer.receive(channel), wait)
            except TimeoutError:
                return out
            out.append(json.loads(message["data"]))
    return async_to_sync(drain)()


@pytest.fixture
def in_memory_layer(settings):
    """The watcher's case: the embedded default, whatever layer this run is configured with."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def test_a_change_made_elsewhere_reaches_this_process_board_and_war_room_once(monitor, ines, in_memory_layer):
    assert look_once in watcher._looks  # registered by IncidentsConfig.ready
    incident = accepted(monitor, ines)
    layer, channel = listen(events.board_group(incident.domain_id), events.incident_group(incident.pk))
    since = timezone.now() - timedelta(seconds=2)
    received(layer, channel)  # what this process announced itself
    look_once(since)
    assert received(layer, channel) == []  # already announced here: not sent twice

    with mock.patch.object(events, "incident_changed"):  # as if another process made the change
        services.incident_set_severity(incident=incident, severity="SEV-1", by=ines, reason="Checkout down")
    look_once(since)
    messages = received(layer, channel)
    board = [m for m in messages if m["event"] == "incident.changed"]
    room = [m for m in messages if m["event"] == "timeline.added"]
    assert board and board[0]["incident"]["severity"] == "SEV-1"
    assert len(room) == 1 and "SEV-1" in room[0]["entry"]["summary"]
    look_once(since)
    assert received(layer, channel) == []  # remembered once announced

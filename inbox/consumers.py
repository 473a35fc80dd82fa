"""WebSocket consumer of a reviewer's inbox page: authenticates, checks access, then only relays.

``/ws/inboxes/<inbox_id>/``: the session's user must be allowed to view the inbox
(``permissions.access_inbox``), else the socket is closed with code 4403 before joining. Events
come from ``inbox.events`` after commit; the consumer forwards their pre-encoded JSON unchanged.
"""
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from orchestra_site.errors import NotFound

from . import permissions
from .events import inbox_group

FORBIDDEN = 4403


class InboxConsumer(AsyncWebsocketConsumer):
    group = None

    async def connect(self):
        user = self.scope.get("user")
        inbox_id = self.scope["url_route"]["kwargs"]["inbox_id"]
        try:
            await database_sync_to_async(permissions.access_inbox)(user, inbox_id)
        except NotFound:
            await self.close(code=FORBIDDEN)
            return
        self.group = inbox_group(inbox_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        """Reviewers decide over HTTP (forms or API); the socket only listens."""

    async def inbox_event(self, message):
        # ``data`` is encoded once per event by inbox.events; splice the count in without re-encoding.
        await self.send(text_data=message["data"][:-1] + f', "pending_count": {message["pending_count"]}}}')

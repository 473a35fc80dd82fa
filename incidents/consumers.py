"""WebSocket consumers of the SEV board and the war room: authenticate, check access, then only relay.

- ``/ws/incidents/``: the board. Joins ``incidents-domain-<id>`` for every domain whose incidents the
  session's user may see (``permissions.board_domains``); nobody signed in: closed with 4403.
- ``/ws/incidents/<uuid>/``: a war room. Joins ``incident-<uuid>`` only when
  ``permissions.access_incident`` says yes; else closed with 4403 before joining.

Both also join ``user-<id>`` (``inbox.signals``): on logout the sockets of that session close with
4401; on ``access.changed`` they re-read the session and ask again (4401 / 4403), as the inbox's do.
"""
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from inbox.consumers import FORBIDDEN, SESSION_ENDED, _current_user
from inbox.signals import session_digest, user_group
from orchestra_site.errors import NotFound

from . import permissions
from .events import board_group, incident_group


def _board_groups(user) -> list[str] | None:
    if not permissions.is_person(user):
        return None
    return [board_group(pk) for pk in permissions.board_domain_ids(user)]


def _war_room_groups(user, incident_id) -> list[str] | None:
    try:
        incident = permissions.access_incident(user, incident_id)
    except NotFound:
        return None
    return [incident_group(incident.pk)]


class _Relay(AsyncWebsocketConsumer):
    joined = ()

    def groups_for(self, user):  # pragma: no cover - overridden
        raise NotImplementedError

    async def connect(self):
        user = self.scope.get("user")
        groups = await database_sync_to_async(self.groups_for)(user)
        if groups is None:
            await self.close(code=FORBIDDEN)
            return
        self.joined = (*groups, user_group(user.pk))
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self._leave()

    async def _leave(self):
        joined, self.joined = self.joined, ()
        for group in joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        """Changes go over HTTP (forms or API); the socket only listens."""

    async def incidents_event(self, message):
        if self.joined:
            await self.send(text_data=message["data"])

    async def inbox_event(self, message):
        """Not ours (a user group carries only access notices); ignored."""

    async def session_ended(self, message):
        session = self.scope.get("session")
        mine = session_digest(session.session_key) if session is not None else None
        if self.joined and (message["session"] is None or mine is None or message["session"] == mine):
            await self._leave()
            await self.close(code=SESSION_ENDED)

    async def access_changed(self, message):
        if not self.joined:
            return
        code = await database_sync_to_async(self._recheck)()
        if code is not None:
            await self._leave()
            await self.close(code=code)

    def _recheck(self) -> int | None:
        user = _current_user(self.scope)
        if user is None:
            return SESSION_ENDED
        return FORBIDDEN if self.groups_for(user) is None else None


class BoardConsumer(_Relay):
    def groups_for(self, user):
        return _board_groups(user)


class WarRoomConsumer(_Relay):
    def groups_for(self, user):
        return _war_room_groups(user, self.scope["url_route"]["kwargs"]["incident_id"])



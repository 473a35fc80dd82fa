"""WebSocket of the alerts a user must see live (``/ws/alerts/``): permission widenings and refused
executions in the domains they orchestrate (auditors and the board: all of them). The scope is
``permissions.audit_domains``; a user with none is refused (4403). Closes with 4401 when the session
ends (the ``user-<id>`` group of ``inbox.signals``), like the inbox sockets."""
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from governance.audit.alerts import ALL, alerts_group

from . import permissions
from .consumers import FORBIDDEN, SESSION_ENDED
from .signals import session_digest, user_group


def _groups(user) -> list[str] | None:
    if user is None or not user.is_authenticated:
        return None
    scope = permissions.audit_domains(user)
    if scope is None:
        return [ALL]
    return [alerts_group(slug) for slug in sorted(scope)] or None


class AlertsConsumer(AsyncJsonWebsocketConsumer):
    joined = ()

    async def connect(self):
        user = self.scope.get("user")
        groups = await database_sync_to_async(_groups)(user)
        if not groups:
            await self.close(code=FORBIDDEN)
            return
        self.joined = (*groups, user_group(user.pk))
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        joined, self.joined = self.joined, ()
        for group in joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        """The socket only listens."""

    async def alert_raised(self, message):
        if self.joined:
            await self.send_json({"type": "alert", **message["alert"]})

    async def session_ended(self, message):
        session = self.scope.get("session")
        mine = session_digest(session.session_key) if session is not None else None
        if self.joined and (message["session"] is None or mine is None or message["session"] == mine):
            await self.disconnect(SESSION_ENDED)
            await self.close(code=SESSION_ENDED)

    async def access_changed(self, message):
        if not self.joined:
            return
        groups = await database_sync_to_async(_groups)(self.scope.get("user"))
        if not groups:
            await self.disconnect(FORBIDDEN)
            await self.close(code=FORBIDDEN)

"""WebSocket consumer of a reviewer's inbox page: authenticates, checks access, then only relays.

``/ws/inboxes/<inbox_id>/``: the session's user must be allowed to view the inbox
(``permissions.access_inbox``), else the socket is closed with code 4403 before joining. Events
come from ``inbox.events`` after commit; the consumer forwards their pre-encoded JSON unchanged.

Access is checked again whenever ``inbox.signals`` says it may have changed (group ``user-<id>``):
on logout the sockets of that session close with 4401; on ``access.changed`` the socket re-reads its
session and asks ``access_inbox`` again, closing with 4401 (session over) or 4403 (no access).
"""
from importlib import import_module
from types import SimpleNamespace

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib import auth

from orchestra_site.errors import NotFound

from . import metrics, permissions
from .events import inbox_group
from .signals import session_digest, user_group

SESSION_ENDED = 4401
FORBIDDEN = 4403


def _current_user(scope):
    """The socket's user as of now, or None when its session is over.

    With a session (the browser's case) it is read again from the session store, and
    ``django.contrib.auth.get_user`` checks it still names an active user with an unchanged password.
    Without one (a scope built by hand), the user is reloaded and must still be active."""
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return None
    session = scope.get("session")
    if session is not None and session.session_key:
        store = import_module(settings.SESSION_ENGINE).SessionStore(session.session_key)
        fresh = auth.get_user(SimpleNamespace(session=store))
        return fresh if fresh.is_authenticated and fresh.pk == user.pk else None
    return type(user)._default_manager.filter(pk=user.pk, is_active=True).first()


def _recheck(scope, inbox_id) -> int | None:
    """The close code for a socket that may no longer listen, or None when it still may."""
    user = _current_user(scope)
    if user is None:
        return SESSION_ENDED
    try:
        permissions.access_inbox(user, inbox_id)
    except NotFound:
        return FORBIDDEN
    return None


class InboxConsumer(AsyncWebsocketConsumer):
    joined = ()

    async def connect(self):
        user = self.scope.get("user")
        self.inbox_id = self.scope["url_route"]["kwargs"]["inbox_id"]
        try:
            await database_sync_to_async(permissions.access_inbox)(user, self.inbox_id)
        except NotFound:
            await self.close(code=FORBIDDEN)
            return
        self.joined = (inbox_group(self.inbox_id), user_group(user.pk))
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        self.counted = True
        metrics.WEBSOCKET_CONNECTIONS.inc()

    async def disconnect(self, code):
        if getattr(self, "counted", False):
            self.counted = False
            metrics.WEBSOCKET_CONNECTIONS.dec()
        await self._leave()

    async def _leave(self):
        joined, self.joined = self.joined, ()
        for group in joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _shut(self, code: int):
        await self._leave()  # nothing more is relayed, even before the client acknowledges the close
        await self.close(code=code)

    async def receive(self, text_data=None, bytes_data=None):
        """Reviewers decide over HTTP (forms or API); the socket only listens."""

    async def inbox_event(self, message):
        if not self.joined:
            return
        # ``data`` is encoded once per event by inbox.events; splice the count (a delta, or the
        # absolute count where the event does not tell) in without re-encoding.
        key = "pending_delta" if "pending_delta" in message else "pending_count"
        await self.send(text_data=message["data"][:-1] + f', "{key}": {int(message[key])}}}')

    async def session_ended(self, message):
        session = self.scope.get("session")
        mine = session_digest(session.session_key) if session is not None else None
        if self.joined and (message["session"] is None or mine is None or message["session"] == mine):
            await self._shut(SESSION_ENDED)

    async def access_changed(self, message):
        if not self.joined:
            return
        code = await database_sync_to_async(_recheck)(self.scope, self.inbox_id)
        if code is not None:
            await self._shut(code)

"""Changes made in other processes reach this process's listeners when the channel layer is per process.

Why: Channels' in-memory layer (the embedded default, without ``REDIS_URL``) lives inside one
process. A decision, escalation or expiry made in another process — a second web worker, the
django-q2 cluster, a management command — is announced (``inbox.events``) in *that* process's layer,
and reaches none of this process's open inbox pages and long-polls. With Redis the layer is shared
(channels_redis pub/sub) and this module stays idle.

What: while this process has listeners (open WebSockets, waiting long-polls: ``listening()``), one
asyncio task in its event loop looks at the database every ``WATCH_SECONDS``: one query on the
``updated_at`` index for the proposals changed lately. Those whose current version this process has
not announced itself (``events.announced_here``) are announced again, through the ordinary
``events.announce``, to the local layer. A change made anywhere so reaches this process's pages and
long-polls within about ``WATCH_SECONDS`` plus a query.

Why this is not a pub/sub, queue or lock of our own: nothing is published, stored or delivered for
it. It reads committed rows of the source of truth — what a page reload would show — and sends the
ordinary events. A repeated event is harmless (pages update a row in place; a long-poll re-reads the
proposal), and a missed one is covered by the long-poll's periodic re-read
(``ORCHESTRA_LONG_POLL_RECHECK_SECONDS``) and the pages' re-sync after a dropped socket.

Other apps' changes: an app above the inbox whose pages also listen here (the incident boards and war
rooms) registers its own look with ``register_look(look)``; ``look(since)`` runs in the same worker
thread, on the same schedule and window, after the proposals' look, and announces its own changes.

Commit lag: ``updated_at`` is stamped before the writing transaction commits, so each look reaches
``LOOKBACK`` further back than the previous one (never before the watcher started) and skips
versions already announced. A change whose transaction stays open longer than that is left to those
safety nets. ``Proposal.objects.update()`` and ``bulk_update`` do not stamp ``updated_at``: their
changes are not seen here.
"""
import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import timedelta

from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import close_old_connections
from django.utils import timezone

from . import events
from .models import Proposal

log = logging.getLogger("orchestra.events")

WATCH_SECONDS = 0.5
LOOKBACK = timedelta(seconds=2)
BATCH = 500


class _State:
    listeners = 0  # open WebSockets and waiting long-polls of this process
    task: asyncio.Task | None = None


_state = _State()
_looks: list = []  # other apps' looks: callables (since) -> None, run after the proposals' look


def register_look(look) -> None:
    """Add an app's look (``look(since)``: announce here what changed after ``since`` and was not
    announced here); call from ``AppConfig.ready``. Registering the same callable twice is a no-op."""
    if look not in _looks:
        _looks.append(look)


def needed() -> bool:
    """True when the channel layer does not carry events across processes (Channels' in-memory one)."""
    return isinstance(get_channel_layer(), InMemoryChannelLayer)


@contextlib.asynccontextmanager
async def listening():
    """Around a listener of this process (an open WebSocket, a waiting long-poll): while any is open,
    and the layer is the in-memory one, the watcher runs in the current event loop."""
    if not needed():
        yield
        return
    _state.listeners += 1
    loop = asyncio.get_running_loop()
    if _state.task is None or _state.task.done() or _state.task.get_loop() is not loop:
        _state.task = loop.create_task(_watch(), name="orchestra-change-watcher")
    try:
        yield
    finally:
        _state.listeners -= 1


async def _watch() -> None:
    """Look every ``WATCH_SECONDS`` while this process has listeners; then stop."""
    look = sync_to_async(look_once, thread_sensitive=False)
    started = since = timezone.now()
    while _state.listeners > 0:
        await asyncio.sleep(WATCH_SECONDS)
        try:
            since = max(started, await look(since))
        except Exception:  # a failed look must not end live updates; the next one tries again
            log.exception("change watcher: looking at the database failed")


def look_once(since):
    """Announce here the proposals changed (``updated_at``) after ``since`` that this process has not
    announced in that version. Returns where the next look starts (``LOOKBACK`` before now, or
    earlier when more than ``BATCH`` rows changed). Runs in a worker thread."""
    try:
        now = timezone.now()
        # Proposals never in an inbox (auto-approved or refused at submission) have no pages to tell.
        changed = Proposal.objects.filter(updated_at__gt=since, inbox__isnull=False)
        rows = list(changed.order_by("updated_at").values_list("pk", "updated_at")[:BATCH])
        fresh = [pk for pk, at in rows if not events.announced_here(pk, at)]
        if fresh:
            _announce(fresh)
        for look in _looks:
            try:
                look(since)
            except Exception:  # one app's failed look must not stop the others
                log.exception("change watcher: %s failed", getattr(look, "__qualname__", look))
        nxt = now - LOOKBACK
        if len(rows) == BATCH:
            nxt = min(nxt, rows[-1][1] - timedelta(microseconds=1))
        return nxt
    finally:
        close_old_connections()


def _announce(pks: list) -> None:
    proposals = list(Proposal.objects.filter(pk__in=pks).select_related("agent", "inbox", "decided_by"))
    # An escalated proposal's old inboxes must hear it left (their pages drop the row).
    left = defaultdict(set)
    pending = [p.pk for p in proposals if p.is_pending]
    if pending:
        moves = Proposal.objects.filter(pk__in=pending, escalations__isnull=False)
        for pk, inbox_id in moves.values_list("pk", "escalations__from_inbox_id"):
            left[pk].add(inbox_id)
    for p in proposals:
        if p.is_pending:
            events.announce(p, "proposal.updated", inbox_ids=[p.inbox_id, *sorted(left[p.pk] - {p.inbox_id, None})],
                            counted=True)
        else:
            events.announce(p, "proposal.decided", counted=True)

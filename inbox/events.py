"""Live events, sent through the Channels layer after the database commit (never before).

Groups:
- ``inbox-<id>``: every open reviewer page of that inbox. Message type ``inbox.event`` with
  ``event`` = ``proposal.created`` | ``proposal.decided`` | ``proposal.updated`` | ``proposal.moved``
  | ``proposal.conflict`` and a small ``proposal`` dict (the JSON the page renders), plus how the
  inbox's pending count changed: ``pending_delta`` (+1 created, -1 decided, 0 updated) on the hot
  paths, which costs no query; the absolute ``pending_count`` (one COUNT) only where the change is not
  known from the event (``inbox.watcher``'s re-announcements, moves, conflict marks).
- ``proposal-<uuid>``: long-poll waiters of one proposal. Message type ``proposal.decided``.

Payloads are encoded once per event, not once per socket (fan-out is CPU-bound in the worker).

Publishing from sync code (every service runs in a sync request or task): with Redis
(``channels_redis.pubsub.RedisPubSubChannelLayer``) the message is PUBLISHed by one process-wide,
pooled sync Redis client on the very channel and in the very encoding the layer's subscribers read
(``orchestra_site.publish``); ``async_to_sync(group_send)`` would start an event loop and a new Redis connection
per call. Other layers (the in-memory one) go through ``async_to_sync(group_send)``.

Each process remembers which version (``updated_at``) of a proposal it announced last (the most
recent ``ANNOUNCED_KEPT`` proposals), so that ``inbox.watcher``, which carries changes made by other
processes to this one's listeners on the in-memory layer, does not announce them twice.
"""
import json
import logging
import threading
from collections import OrderedDict

from django.core.serializers.json import DjangoJSONEncoder

from orchestra_site.publish import group_send

from .models import Proposal
from .selectors import pending_count

log = logging.getLogger("orchestra.events")
ANNOUNCED_KEPT = 4096


class Announced:
    """The versions this process announced lately: ``key`` -> the latest version (any ordered value,
    e.g. ``updated_at``), the most recent ``kept`` keys. Thread-safe. What ``inbox.watcher`` (and the
    apps' looks registered with it) ask so as not to announce a change twice."""

    def __init__(self, kept: int):
        self.kept, self._versions, self._lock = kept, OrderedDict(), threading.Lock()

    def seen(self, key, version) -> bool:
        """Was this version of ``key`` (or a later one) announced here?"""
        with self._lock:
            at = self._versions.get(key)
        return at is not None and version is not None and at >= version

    def remember(self, key, version) -> None:
        with self._lock:
            if (self._versions.get(key) or version) <= version:
                self._versions[key] = version
            self._versions.move_to_end(key)
            while len(self._versions) > self.kept:
                self._versions.popitem(last=False)


_announced = Announced(ANNOUNCED_KEPT)  # proposal id -> updated_at of the version last announced here


def inbox_group(inbox_id) -> str:
    return f"inbox-{inbox_id}"


def proposal_group(proposal_id) -> str:
    return f"proposal-{proposal_id}"


def proposal_card(p: Proposal) -> dict:
    """The fields an inbox row shows."""
    return {
        "id": str(p.id),
        "inbox_id": p.inbox_id,
        "action": p.action,
        "resource": p.resource,
        "summary": p.summary,
        "risk": p.risk,
        "confidence": p.confidence,
        "cost_usd": str(p.cost_usd),
        "agent": p.agent.name,
        "status": p.status,
        "created_at": p.created_at.isoformat(),
        "expires_at": p.expires_at.isoformat() if p.expires_at else None,
        "deadline": _deadline(p),
        "decided_by": p.decided_by.get_username() if p.decided_by_id else None,
        "batch": p.batch,
        "allowed_verdicts": p.allowed_verdicts,
        "is_frozen": p.is_frozen,  # frozen by the kill switch: no Approve in its row
    }


def _deadline(p: Proposal) -> str | None:
    """The inbox list's deadline: the earlier of the SLA and the expiry (``selectors.deadline_expr``)."""
    due = min(filter(None, (p.sla_due_at, p.expires_at)), default=None)
    return due.isoformat() if due else None


def _send(group: str, message: dict) -> None:
    try:
        group_send(group, message)
    except Exception:  # a lost live update must never undo or fail a committed decision
        log.exception("group_send to %s failed", group)


def announced_here(proposal_id, updated_at) -> bool:
    """Has this process announced this version of the proposal (or a later one)?"""
    return _announced.seen(proposal_id, updated_at)


def _remember(p: Proposal) -> None:
    if p.updated_at is not None:
        _announced.remember(p.pk, p.updated_at)


PENDING_DELTA = {"proposal.created": 1, "proposal.decided": -1, "proposal.updated": 0}


def announce(p: Proposal, event: str, *, inbox_ids=None, counted: bool = False) -> None:
    """Tell every open page of the proposal's inbox (and of ``inbox_ids``) about ``event``.

    ``proposal.created`` / ``proposal.decided`` / ``proposal.updated`` carry ``pending_delta``
    (+1 / -1 / 0) and cost no query; other events, and any with ``counted=True`` (the watcher, which
    cannot tell a new proposal from a changed one), carry the inbox's ``pending_count`` (one COUNT)."""
    _remember(p)
    if event != "proposal.created" and not p.is_pending:  # first: an agent may be waiting on it
        _send(proposal_group(p.id), {"type": "proposal.decided", "status": str(p.status)})
    data = json.dumps({"event": event, "proposal": proposal_card(p)}, cls=DjangoJSONEncoder)
    delta = None if counted else PENDING_DELTA.get(event)
    for inbox_id in inbox_ids or [p.inbox_id]:
        if inbox_id is None:
            continue
        count = {"pending_delta": delta} if delta is not None else {"pending_count": pending_count(inbox_id)}
        _send(inbox_group(inbox_id), {"type": "inbox.event", "data": data, **count})


def announce_conflict(p: Proposal, approved: Proposal) -> None:
    """Tell the pages of pending ``p``'s inbox that a rival on its resource, ``approved``, was approved
    and ``p`` was left pending for them: event ``proposal.conflict`` with ``p``'s card and an
    ``approved`` dict (id, action, resource, status, decided_by) for the mark and its link."""
    if p.inbox_id is None:
        return
    data = json.dumps({"event": "proposal.conflict", "proposal": proposal_card(p), "approved": {
        "id": str(approved.id), "action": approved.action, "resource": approved.resource,
        "status": approved.status, "decided_by": approved.decided_by.get_username() if approved.decided_by_id else None,
    }}, cls=DjangoJSONEncoder)
    _send(inbox_group(p.inbox_id), {"type": "inbox.event", "data": data, "pending_count": pending_count(p.inbox_id)})

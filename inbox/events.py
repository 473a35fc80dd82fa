"""Live events, sent through the Channels layer after the database commit (never before).

Groups:
- ``inbox-<id>``: every open reviewer page of that inbox. Message type ``inbox.event`` with
  ``event`` = ``proposal.created`` | ``proposal.decided`` | ``proposal.moved`` and a small ``proposal``
  dict (the JSON the page renders), plus the inbox's new ``pending_count``.
- ``proposal-<uuid>``: long-poll waiters of one proposal. Message type ``proposal.decided``.

Payloads are encoded once per event, not once per socket (fan-out is CPU-bound in the worker).
"""
import json
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder

from .models import Proposal
from .selectors import pending_count

log = logging.getLogger("orchestra.events")


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
        "decided_by": p.decided_by.get_username() if p.decided_by_id else None,
    }


def _send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # a lost live update must never undo or fail a committed decision
        log.exception("group_send to %s failed", group)


def announce(p: Proposal, event: str, *, inbox_ids=None) -> None:
    """Tell every open page of the proposal's inbox (and of ``inbox_ids``) about ``event``."""
    data = json.dumps({"event": event, "proposal": proposal_card(p)}, cls=DjangoJSONEncoder)
    for inbox_id in inbox_ids or [p.inbox_id]:
        if inbox_id is None:
            continue
        _send(inbox_group(inbox_id), {"type": "inbox.event", "data": data, "pending_count": pending_count(inbox_id)})
    if event != "proposal.created" and not p.is_pending:
        _send(proposal_group(p.id), {"type": "proposal.decided", "status": str(p.status)})


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

"""Live events of incidents, sent through the Channels layer after the database commit.

Groups:
- ``incidents-domain-<domain id>``: open boards of people who see that domain's incidents;
- ``incident-<uuid>``: open war rooms of one incident.

Message type ``incidents.event`` with ``data``, a JSON text encoded once per event (not per socket):
``{"event": "incident.changed", "incident": <card>}`` to both groups, and
``{"event": "timeline.added", "incident_id", "entry": <entry>}`` to the war rooms.
"""
import json
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from . import selectors
from .models import Incident, TimelineEntry

log = logging.getLogger("orchestra.events")


def board_group(domain_id) -> str:
    return f"incidents-domain-{domain_id}"


def incident_group(incident_id) -> str:
    return f"incident-{incident_id}"


def card(i: Incident, now=None) -> dict:
    """What a board row shows (``i`` annotated by ``selectors.board``)."""
    now = now or timezone.now()
    return {
        "id": str(i.pk), "reference": i.reference, "title": i.title, "severity": i.severity, "status": i.status,
        "status_label": i.get_status_display(), "domain": i.domain.name, "domain_id": i.domain_id,
        "commander": i.commander.get_username() if i.commander_id else None,
        "reported_by": i.reported_by.name if i.reported_by_id else None,
        "target_due_at": i.target_due_at.isoformat(), "overdue": i.is_open and now > i.target_due_at,
        "escalation_level": i.escalation_level, "pending_remediations": getattr(i, "pending_remediations", 0),
        "last_entry": (getattr(i, "last_entry", "") or "")[:200],
        "last_entry_at": i.last_entry_at.isoformat() if getattr(i, "last_entry_at", None) else None,
        "is_open": i.is_open, "is_candidate": i.is_candidate,
    }


def entry_dict(e: TimelineEntry) -> dict:
    return {
        "id": e.pk, "kind": e.kind, "kind_label": e.get_kind_display(), "at": e.at.isoformat(), "actor": e.actor,
        "by_agent": bool(e.agent_id), "summary": e.summary, "evidence": e.evidence, "confidence": e.confidence,
        "question": e.question, "answer": e.answer, "data": e.data,
    }


def _send(group: str, data: str) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "incidents.event", "data": data})
    except Exception:  # a lost live update must never fail a committed change
        log.exception("group_send to %s failed", group)


def incident_changed(incident_id, entry_id=None) -> None:
    """After commit: the incident's card to its boards and war rooms, and the new timeline entry."""
    incident = selectors.board_card(incident_id)
    if incident is None:
        return
    data = json.dumps({"event": "incident.changed", "incident": card(incident)}, cls=DjangoJSONEncoder)
    _send(board_group(incident.domain_id), data)
    _send(incident_group(incident_id), data)
    if entry_id is not None:
        item = selectors.entry(entry_id)
        if item is not None:
            _send(incident_group(incident_id), json.dumps(
                {"event": "timeline.added", "incident_id": str(incident_id), "entry": entry_dict(item)},
                cls=DjangoJSONEncoder))

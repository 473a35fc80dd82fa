"""Live events of incidents, sent through the Channels layer after the database commit.

Groups:
- ``incidents-domain-<domain id>``: open boards of people who see that domain's incidents;
- ``incident-<uuid>``: open war rooms of one incident.

Message type ``incidents.event`` with ``data``, a JSON text encoded once per event (not per socket):
``{"event": "incident.changed", "incident": <card>}`` to the boards; to the war rooms the same, or,
when the change added a timeline entry, ``{"event": "timeline.added", "incident_id", "entry": <entry>,
"incident": <card>}`` (one message per change).
"""
import json
import logging

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from inbox.events import Announced
from orchestra_site.publish import group_send

from . import selectors
from .models import OPEN, Status, TimelineEntry

log = logging.getLogger("orchestra.events")
KEPT = 2048  # the most recent incident versions and timeline entries this process announced
_announced = Announced(KEPT)  # ("incident", id) -> updated_at, ("entry", id) -> True


def board_group(domain_id) -> str:
    return f"incidents-domain-{domain_id}"


def incident_group(incident_id) -> str:
    return f"incident-{incident_id}"


def card(row: dict, now=None) -> dict:
    """What a board row shows, from a ``selectors.board_rows`` / ``board_row`` dict."""
    now = now or timezone.now()
    is_open = row["status"] in OPEN
    return {
        "id": str(row["id"]), "reference": f"INC-{str(row['id'])[:6].upper()}", "title": row["title"],
        "severity": row["severity"], "status": row["status"], "status_label": Status(row["status"]).label,
        "domain": row["domain__name"], "domain_id": row["domain_id"], "commander": row["commander__username"],
        "reported_by": row["reported_by__name"], "target_due_at": row["target_due_at"].isoformat(),
        "overdue": is_open and now > row["target_due_at"], "escalation_level": row["escalation_level"],
        "pending_remediations": row["pending_remediations"], "last_entry": (row["last_entry"] or "")[:200],
        "is_open": is_open, "is_candidate": row["status"] == Status.TRIAGE,
    }


def entry_dict(e: TimelineEntry) -> dict:
    return {
        "id": e.pk, "kind": e.kind, "kind_label": e.get_kind_display(), "at": e.at.isoformat(), "actor": e.actor,
        "by_agent": bool(e.agent_id), "summary": e.summary, "evidence": e.evidence, "confidence": e.confidence,
        "question": e.question, "answer": e.answer, "data": e.data,
    }


def _send(group: str, data: str) -> None:
    try:  # one pooled PUBLISH on Redis, no event loop per call (orchestra_site.publish)
        group_send(group, {"type": "incidents.event", "data": data})
    except Exception:  # a lost live update must never fail a committed change
        log.exception("group_send to %s failed", group)


def announced_here(incident_id, updated_at) -> bool:
    """Has this process announced this version of the incident (or a later one)? (``incidents.watcher``)"""
    return _announced.seen(("incident", incident_id), updated_at)


def entry_announced_here(entry_id) -> bool:
    return _announced.seen(("entry", entry_id), True)


def incident_changed(incident_id, entry_id=None) -> None:
    """After commit: the incident's card to its boards; to its war rooms, one message with the card
    and the new timeline entry (one message per socket per change: fan-out is CPU-bound)."""
    row = selectors.board_row(incident_id)
    if row is None:
        return
    _announced.remember(("incident", row["id"]), row["updated_at"])
    if entry_id is not None:
        _announced.remember(("entry", entry_id), True)
    incident_card = card(row)
    _send(board_group(row["domain_id"]), json.dumps({"event": "incident.changed", "incident": incident_card},
                                                   cls=DjangoJSONEncoder))
    item = selectors.entry(entry_id) if entry_id is not None else None
    if item is None:
        message = {"event": "incident.changed", "incident": incident_card}
    else:
        message = {"event": "timeline.added", "incident_id": str(incident_id), "entry": entry_dict(item),
                   "incident": incident_card}
    _send(incident_group(incident_id), json.dumps(message, cls=DjangoJSONEncoder))

"""What every incident service does besides its change: a timeline entry, an audit event, the live
events after commit. Called inside the service's ``transaction.atomic()``."""
from django.db import transaction
from django.utils import timezone

from governance.audit.models import AuditAction
from governance.audit.record import audit_record
from governance.models import Agent

from . import events
from .models import AgentParticipant, Incident, TimelineEntry


def audit(incident: Incident, summary: str, *, actor=None, status: str = "", **details) -> None:
    """One ``AuditAction.INCIDENT`` event about ``incident`` (``details``: context, decision, reasoning,
    outcome, options_considered)."""
    audit_record(
        AuditAction.INCIDENT, f"{incident.reference}: {summary}", actor=actor, status=status or incident.status,
        domain=incident.domain.slug, details=details, incident_id=str(incident.pk),
        workflow=incident.workflow or None,
    )


def entry(incident: Incident, kind: str, summary: str, *, actor=None, at=None, **fields) -> TimelineEntry:
    """Append a timeline entry by ``actor`` (an Agent, a user or None for the system) and announce
    it (and the incident's new card) after commit."""
    agent = actor if isinstance(actor, Agent) else None
    user = actor if actor is not None and agent is None else None
    item = TimelineEntry.objects.create(incident=incident, kind=kind, summary=summary, at=at or timezone.now(),
                                        agent=agent, user=user, **fields)
    announce(incident, item)
    return item


def announce(incident: Incident, item: TimelineEntry | None = None) -> None:
    """After commit: the board's card and, with ``item``, the war room's new timeline line."""
    transaction.on_commit(lambda: events.incident_changed(incident.pk, item.pk if item else None))


def agent_reported(incident: Incident, agent: Agent, what: str, at=None) -> None:
    """``agent`` takes part in ``incident``; remember what it reported last."""
    at = at or timezone.now()
    participant, created = AgentParticipant.objects.get_or_create(
        incident=incident, agent=agent, defaults={"last_report": what[:500], "last_reported_at": at})
    if not created:
        AgentParticipant.objects.filter(pk=participant.pk).update(last_report=what[:500], last_reported_at=at)

"""Notes from people and findings from agents (or people) on an incident's timeline.

A finding may name the ``question`` it answers (``root_cause``, ``customer_impact``, …) and its short
``answer``. Findings of different agents that answer the same question differently are shown side by
side as a contradiction (``selectors.contradictions``); nothing merges or hides either of them.
"""
from django.db import transaction
from django.utils import timezone

from governance.models import Agent
from orchestra_site.errors import Conflict, InvalidInput

from . import record
from .models import OPEN, EntryKind, Incident, Status, TimelineEntry

TAKES_FINDINGS = (*OPEN, Status.RESOLVED)


def note_add(*, incident: Incident, by, text: str) -> TimelineEntry:
    """A person's note on the timeline."""
    if not (text or "").strip():
        raise InvalidInput("A note needs some text.", field="text")
    with transaction.atomic():
        item = record.entry(incident, EntryKind.NOTE, text.strip(), actor=by)
        record.audit(incident, f"note by {by.get_username()}", actor=by, context=text[:500])
    return item


def finding_add(*, incident: Incident, by, summary: str, evidence: dict | None = None, confidence: float | None = None,
                question: str = "", answer: str = "") -> TimelineEntry:
    """A finding by ``by`` (an Agent, or a person), with its evidence (JSON object) and confidence
    (0–1). Refused (409, ``incident_closed``) once the incident is closed, declined or merged (a
    merged incident's findings belong to the one it was merged into: the answer names it)."""
    if confidence is not None and not 0 <= confidence <= 1:
        raise InvalidInput("confidence is between 0 and 1.", field="confidence")
    if incident.status not in TAKES_FINDINGS:
        extra = {"merged_into": str(incident.merged_into_id)} if incident.merged_into_id else {}
        raise Conflict(f"{incident.reference} is {incident.status}: it takes no more findings.",
                       code="incident_closed", **extra)
    now = timezone.now()
    with transaction.atomic():
        item = record.entry(incident, EntryKind.FINDING, summary.strip(), actor=by, at=now, evidence=evidence or {},
                            confidence=confidence, question=question.strip(), answer=answer.strip())
        if isinstance(by, Agent):
            record.agent_reported(incident, by, summary, now)
        record.audit(incident, f"finding by {_name(by)}: {summary[:200]}", actor=by, context=question or "",
                     outcome=answer or summary[:500],
                     reasoning=f"confidence {confidence}" if confidence is not None else "")
    return item


def _name(who) -> str:
    return who.name if isinstance(who, Agent) else who.get_username()

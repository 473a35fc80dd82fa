"""A breached resolution target escalates: to the domain orchestrator at the target, then to the
enterprise board when the incident is still unresolved after a second full target period.

``incidents_escalate_breached`` runs every minute (a django-q2 schedule, migration
``0002_defaults_and_schedules``). Each step is a conditional UPDATE on ``escalation_level`` (only the
sweep that moves it from the level it read escalates: two sweeps never escalate twice), then a
timeline entry, an audit event, the e-mails (after commit) and the board's live update.
"""
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from . import notify, record
from .models import OPEN, EntryKind, Incident, Severity

LEVELS = {1: "the domain orchestrator", 2: "the enterprise board"}
UNRESOLVED = list(OPEN)


def level_due(incident: Incident, target_seconds: int, now) -> int:
    """The escalation level ``incident`` should be at ``now``: 0 within target, 1 past it, 2 past
    twice the target."""
    if incident.status not in OPEN or now <= incident.target_due_at:
        return 0
    return 2 if now > incident.target_due_at + timedelta(seconds=target_seconds) else 1


def incidents_escalate_breached(now=None) -> int:
    """Escalate every open incident past its target one level as due; returns how many steps were taken."""
    now = now or timezone.now()
    targets = dict(Severity.objects.values_list("level", "target_seconds"))
    steps = 0
    for incident in (Incident.objects.filter(status__in=UNRESOLVED, target_due_at__lt=now, escalation_level__lt=2)
                     .select_related("domain")):
        level = level_due(incident, targets.get(incident.severity, 0), now)
        if level <= incident.escalation_level:
            continue
        with transaction.atomic():
            won = Incident.objects.filter(pk=incident.pk, escalation_level=incident.escalation_level,
                                          status__in=UNRESOLVED).update(escalation_level=level, escalated_at=now)
            if not won:
                continue
            late = now - incident.target_due_at
            text = f"resolution target breached by {_duration(late)}: escalated to {LEVELS[level]}"
            record.entry(incident, EntryKind.ESCALATION, text, actor=None, data={"level": level})
            record.audit(incident, text, actor=None, status="escalated",
                         context=f"target {incident.target_due_at.isoformat()}, still {incident.status}",
                         decision=f"escalated to {LEVELS[level]}", reasoning="resolution target breached")
            notify.escalated(incident, level)
            steps += 1
    return steps


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours < 48 else f"{hours // 24} d {hours % 24} h"

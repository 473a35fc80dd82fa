"""Retention: how long the audit trail keeps each class of event, and the purge.

Classes (``RetentionClass`` rows, editable in admin; defaults below): standard decisions 90 days,
significant events 1 year, compliance-relevant events 7 years. An event's class is fixed when it is
written (``record.retention_for``: the policy's class, else the classification and the kind of event).

``audit_purge`` (a django-q2 schedule, daily) removes sealed events older than their class's period,
in one transaction with an audit event of its own that names the cut-off per class and the counts. The
removed events' links stay in the chain, marked with that purge event's id, so the chain still verifies;
the leading run of links whose events are all gone is then pruned and replaced by an
``AuditCheckpoint`` holding the chain value where verification now starts.
"""
from datetime import datetime, timedelta

from django.db import models, transaction
from django.utils import timezone

from .models import AuditAction, AuditCheckpoint, AuditEvent, AuditHead, AuditSeal, Retention, RetentionClass
from .record import audit_record
from .seal import head

DEFAULT_DAYS = {Retention.STANDARD: 90, Retention.SIGNIFICANT: 365, Retention.COMPLIANCE: 7 * 365}
CHUNK = 5000


def retention_days() -> dict[str, int]:
    """Days kept per class: the admin's ``RetentionClass`` rows over ``DEFAULT_DAYS``."""
    return {**DEFAULT_DAYS, **dict(RetentionClass.objects.values_list("name", "days"))}


def retention_class_set(*, name: str, days: int, by) -> RetentionClass:
    """Change how long a class is kept (from now on, for every event of the class); audited."""
    with transaction.atomic():
        row, _ = RetentionClass.objects.select_for_update().get_or_create(name=name, defaults={"days": days})
        before = row.days if row.pk else DEFAULT_DAYS.get(name)
        row.days, row.updated_by = days, by
        row.save()
        audit_record(AuditAction.POLICY_CHANGE, f"retention of {name} events set to {days} days",
                     actor=by, status="changed", details={"decision": f"{before} → {days} days"})
    return row


def cutoffs(now: datetime) -> dict[str, datetime]:
    return {name: now - timedelta(days=days) for name, days in retention_days().items()}


def audit_purge(*, now: datetime | None = None) -> dict:
    """Remove the sealed events past their class's retention; returns {class: count removed, "checkpoint":
    position or None}. Unsealed events are left for the next run (they are sealed first, by the
    sealer). Records itself as a ``purge`` event (compliance class) in the same transaction."""
    now = now or timezone.now()
    limits = cutoffs(now)
    head()
    with transaction.atomic():
        AuditHead.objects.select_for_update().get(pk=1)  # the sealer waits; links do not move meanwhile
        due = {name: _due_ids(name, cutoff) for name, cutoff in limits.items()}
        counts = {name: len(ids) for name, ids in due.items()}
        event = audit_record(
            AuditAction.PURGE, f"retention purge removed {sum(counts.values())} events", status="purged",
            details={"context": {"cutoffs": {k: v.isoformat() for k, v in limits.items()}},
                     "outcome": counts},
        )
        for ids in due.values():
            for start in range(0, len(ids), CHUNK):
                part = ids[start:start + CHUNK]
                AuditSeal.objects.filter(event_id__in=part).update(purged_by=event.id)
                models.QuerySet.delete(AuditEvent.objects.filter(id__in=part))  # the only removal there is
        checkpoint = _prune(event.id)
    return {**counts, "checkpoint": checkpoint}


def _due_ids(name: str, cutoff: datetime) -> list:
    sealed = AuditSeal.objects.filter(retention=name, event_timestamp__lt=cutoff, position__isnull=False,
                                      purged_by__isnull=True)
    return list(sealed.values_list("event_id", flat=True))


def _prune(purge_event_id) -> int | None:
    """Replace the leading run of purged links by a checkpoint; returns its position (None: nothing)."""
    start = AuditCheckpoint.objects.order_by("-position").values_list("position", flat=True).first() or 0
    kept = AuditSeal.objects.filter(position__gt=start, purged_by__isnull=True).order_by("position")
    first_kept = kept.values_list("position", flat=True).first()
    if first_kept is None:
        first_kept = AuditSeal.objects.filter(position__isnull=False).aggregate(m=models.Max("position"))["m"]
        first_kept = (first_kept or start) + 1
    last_gone = first_kept - 1
    if last_gone <= start:
        return None
    chain = AuditSeal.objects.get(position=last_gone).chain
    AuditCheckpoint.objects.create(position=last_gone, chain=chain, purge_event_id=purge_event_id)
    AuditSeal.objects.filter(position__lte=last_gone).delete()
    return last_gone

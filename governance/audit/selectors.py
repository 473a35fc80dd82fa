"""Reading the audit trail: filters, the caller's scope, keyset (cursor) pages, newest first.

Free text (``q``) uses PostgreSQL full-text search over the summary and the reasoning (the expression of
the ``audit_fulltext`` GIN index, migration ``0004_audit_setup``, so the index serves it); on SQLite a
case-insensitive substring match over the same two texts.
"""
import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

from orchestra_site.errors import InvalidInput

from .models import AuditAlert, AuditEvent

FULLTEXT = ("to_tsvector('english'::regconfig, summary || ' ' || coalesce(details ->> 'reasoning', '')) "
            "@@ websearch_to_tsquery('english'::regconfig, %s)")
PAGE_MAX = 200


@dataclass(frozen=True)
class AuditFilters:
    """Every filter is optional. ``agent``: an agent's name (events it did); ``actor``: anyone's name
    (agent or user); ``since`` / ``until``: aware datetimes, ``until`` exclusive; ``q``: free text."""

    agent: str = ""
    actor: str = ""
    domain: str = ""
    action_type: str = ""
    status: str = ""
    classification: str = ""
    related_task: str = ""
    workflow: str = ""
    proposal: UUID | None = None
    incident: str = ""
    trace: str = ""
    since: datetime | None = None
    until: datetime | None = None
    q: str = ""


def audit_events(scope: set[str] | None, f: AuditFilters) -> QuerySet[AuditEvent]:
    """Events matching ``f`` within ``scope`` (domain slugs, None = all; see
    ``governance.permissions.audit_domains``), newest first."""
    qs = AuditEvent.objects.all()
    if scope is not None:
        qs = qs.filter(domain__in=scope)
    exact = {"domain": f.domain, "action_type": f.action_type, "status": f.status,
             "classification": f.classification, "workflow": f.workflow, "incident_id": f.incident,
             "trace_id": f.trace.lower()}
    qs = qs.filter(**{k: v for k, v in exact.items() if v})
    if f.agent:
        qs = qs.filter(actor_type="agent", actor_name=f.agent)
    if f.actor:
        qs = qs.filter(actor_name=f.actor)
    if f.proposal:
        qs = qs.filter(proposal_id=f.proposal)
    if f.since:
        qs = qs.filter(timestamp__gte=f.since)
    if f.until:
        qs = qs.filter(timestamp__lt=f.until)
    if f.related_task:
        qs = qs.filter(_related_task(f.related_task))
    if f.q.strip():
        qs = qs.filter(_text(f.q.strip()))
    return qs.order_by("-timestamp", "-id")


def _related_task(task: str):
    if connection.vendor == "postgresql":
        return Q(related_tasks__contains=[task])
    sql = "EXISTS (SELECT 1 FROM json_each(governance_auditevent.related_tasks) WHERE json_each.value = %s)"
    return RawSQL(sql, [task], output_field=BooleanField())  # noqa: S611 (constant SQL, task is a parameter)


def _text(q: str):
    if connection.vendor == "postgresql":
        return RawSQL(FULLTEXT, [q], output_field=BooleanField())  # noqa: S611 (constant SQL, q is a parameter)
    return Q(summary__icontains=q) | Q(details__reasoning__icontains=q)


def encode_cursor(event: AuditEvent) -> str:
    raw = f"{event.timestamp.isoformat()}|{event.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, event_id = raw.split("|")
        return datetime.fromisoformat(stamp), UUID(event_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput("cursor is not one this API gave out.", field="cursor") from exc


def after_cursor(qs: QuerySet[AuditEvent], cursor: str | None) -> QuerySet[AuditEvent]:
    """The events of ``qs`` older than ``cursor`` (newest-first order). Raises ``InvalidInput``
    (field ``cursor``) for a cursor this API did not give out."""
    if not cursor:
        return qs
    stamp, event_id = _decode_cursor(cursor)
    return qs.filter(Q(timestamp__lt=stamp) | Q(timestamp=stamp, id__lt=event_id))


def audit_page(qs: QuerySet[AuditEvent], *, cursor: str | None, limit: int,
               page_max: int = PAGE_MAX) -> tuple[list[AuditEvent], str | None]:
    """One page of ``qs`` after ``cursor``: (events, the next page's cursor or None)."""
    limit = max(1, min(limit, page_max))
    items = list(after_cursor(qs, cursor)[:limit + 1])
    more = len(items) > limit
    items = items[:limit]
    return items, (encode_cursor(items[-1]) if more and items else None)


def audit_chunks(qs: QuerySet[AuditEvent], *, size: int = 2000):
    """All of ``qs`` in pages of ``size`` (keyset, so memory stays constant however many there are)."""
    cursor = None
    while True:
        items, cursor = audit_page(qs, cursor=cursor, limit=size, page_max=size)
        if items:
            yield items
        if not cursor:
            return


def workflow_trace(scope: set[str] | None, *, workflow: str = "", proposal_ids=(),
                   limit: int = 2000) -> list[AuditEvent]:
    """A timeline, oldest first: the events of ``workflow`` and of the given proposals (within ``scope``)."""
    qs = AuditEvent.objects.all()
    if scope is not None:
        qs = qs.filter(domain__in=scope)
    match = Q()
    if workflow:
        match |= Q(workflow=workflow)
    if proposal_ids:
        match |= Q(proposal_id__in=list(proposal_ids))
    if not match:
        return []
    return list(qs.filter(match).order_by("timestamp", "id")[:limit])


def alerts_in_scope(scope: set[str] | None) -> QuerySet[AuditAlert]:
    """Alerts within ``scope`` (domain slugs, None = all), newest first."""
    return AuditAlert.objects.all() if scope is None else AuditAlert.objects.filter(domain__in=scope)


def open_alerts(scope: set[str] | None) -> QuerySet[AuditAlert]:
    """Unacknowledged alerts within ``scope``, newest first."""
    return alerts_in_scope(scope).filter(acknowledged_at__isnull=True)

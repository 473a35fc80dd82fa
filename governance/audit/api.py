"""Audit trail API (``/api/v1/audit``): search (cursor-paginated, newest first) and streamed export.
Auditors and the board see every event; domain orchestrators their domains'; others get 404."""
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from ninja import Field, Query, Router, Schema

from governance.auth import bearer
from governance.permissions import access_audit
from orchestra_site.errors import InvalidInput
from orchestra_site.schemas import ERROR_RESPONSES, choices

from .export import event_json, export_response
from .models import AuditAction, AuditClassification, Retention
from .selectors import AuditFilters, audit_events, audit_page

router = Router(auth=bearer, tags=["audit"])


class AuditQuery(Schema):
    agent: str = Field("", max_length=120, description="Events done by this agent (its name).")
    actor: str = Field("", max_length=150, description="Events done by this actor: a username or an agent's name.")
    domain: str = Field("", max_length=80, description="Domain slug.")
    action_type: choices(AuditAction) | None = Field(None, description="Kind of event.")
    status: str = Field("", max_length=30, description="Outcome in one word, e.g. approved, refused, succeeded.")
    classification: choices(AuditClassification) | None = None
    related_task: str = Field("", max_length=200, description="Events naming this task id.")
    workflow: str = Field("", max_length=120)
    proposal: UUID | None = Field(None, description="Events about this proposal.")
    incident: str = Field("", max_length=64, description="Events about this incident.")
    trace: str = Field("", max_length=32, description="Events of this W3C trace id (32 hex digits).")
    since: datetime | None = Field(None, description="From this time (ISO 8601, inclusive).")
    until: datetime | None = Field(None, description="Up to this time (ISO 8601, exclusive).")
    q: str = Field("", max_length=200, description="Free text over summary and reasoning (PostgreSQL: "
                                                    "full-text search, web-search syntax).")

    def filters(self) -> AuditFilters:
        given = {k: v for k, v in self.model_dump().items() if v is not None}
        for name in ("since", "until"):
            value = given.get(name)
            if value is not None and value.tzinfo is None:
                raise InvalidInput(f"{name} needs a time zone (e.g. 2026-11-25T10:00:00Z).", field=name)
            if value is not None:  # in UTC: the database takes no offset beyond ±15:59
                given[name] = value.astimezone(UTC)
        return AuditFilters(**given)


class ActorOut(Schema):
    type: Literal["agent", "user", "system"]
    id: str | None
    name: str


class AuditEventOut(Schema):
    id: UUID
    timestamp: str = Field(..., description="ISO 8601, UTC")
    actor: ActorOut
    action_type: choices(AuditAction)
    status: str
    domain: str
    summary: str
    details: dict[str, Any] = Field(..., description="context, options_considered, decision, reasoning, outcome")
    classification: choices(AuditClassification)
    related_tasks: list[str]
    proposal_id: UUID | None
    incident_id: str | None
    policy_id: int | None
    policy_version: int | None = Field(None, description="The policy's own version (1, 2, …) that applied")
    trace_id: str = Field(..., description="W3C trace id of the request that did it")
    workflow: str
    retention: choices(Retention)


class AuditPageOut(Schema):
    items: list[AuditEventOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next (older) page; null at the end.")


@router.get("/events", response={200: AuditPageOut, **ERROR_RESPONSES})
def search_events(request, filters: Query[AuditQuery], cursor: str | None = Query(None, max_length=200),
                  limit: int = Query(50, ge=1, le=200)):
    """Audit events you may see, newest first, filtered; ``cursor`` from the previous page's ``next_cursor``."""
    scope = access_audit(request.auth)
    items, next_cursor = audit_page(audit_events(scope, filters.filters()), cursor=cursor, limit=limit)
    return {"items": [event_json(e) for e in items], "next_cursor": next_cursor}


EXPORT_OPENAPI = {"responses": {200: {"description": "The events, newest first, streamed.", "content": {
    "application/x-ndjson": {"schema": {"type": "string"}}, "text/csv": {"schema": {"type": "string"}}}}}}


@router.get("/export", response={**ERROR_RESPONSES}, openapi_extra=EXPORT_OPENAPI)
def export_events(request, filters: Query[AuditQuery], format: Literal["jsonl", "csv"] = Query("jsonl")):  # noqa: A002
    """The whole search result, streamed as JSON Lines (one event per line, the search's shape) or CSV
    (``details`` as a JSON column), at constant memory however many events match."""
    scope = access_audit(request.auth)
    return export_response(request, audit_events(scope, filters.filters()), format)

"""Exporting a search result as JSON Lines or CSV, streamed in keyset chunks (``selectors.audit_chunks``),
so a million-event export holds one chunk in memory at a time. The response streams a synchronous
iterator under WSGI and an asynchronous one under ASGI: Django buffers a stream of the other kind whole.
"""
import csv
import io
import json

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse

from .selectors import audit_chunks

COLUMNS = ["id", "timestamp", "actor_type", "actor_id", "actor_name", "action_type", "status", "domain",
           "summary", "classification", "related_tasks", "proposal_id", "incident_id", "policy_id",
           "policy_version", "trace_id", "workflow", "retention", "details"]
CONTENT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


def event_json(e) -> dict:
    """The API's shape of an event (also each line of a JSON Lines export)."""
    return {
        "id": str(e.id), "timestamp": e.timestamp.isoformat().replace("+00:00", "Z"),
        "actor": {"type": e.actor_type, "id": e.actor_id or None, "name": e.actor_name},
        "action_type": e.action_type, "status": e.status, "domain": e.domain, "summary": e.summary,
        "details": e.details, "classification": e.classification, "related_tasks": e.related_tasks,
        "proposal_id": str(e.proposal_id) if e.proposal_id else None, "incident_id": e.incident_id or None,
        "policy_id": e.policy_id, "policy_version": e.policy_version, "trace_id": e.trace_id,
        "workflow": e.workflow, "retention": e.retention,
    }


def _jsonl(events) -> str:
    return "".join(json.dumps(event_json(e), ensure_ascii=False) + "\n" for e in events)


def _csv(events, header: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(COLUMNS)
    for e in events:
        row = event_json(e)
        flat = {**row, "actor_type": e.actor_type, "actor_id": e.actor_id, "actor_name": e.actor_name,
                "related_tasks": " ".join(e.related_tasks), "details": json.dumps(e.details, ensure_ascii=False)}
        writer.writerow(["" if flat.get(c) is None else flat[c] for c in COLUMNS])
    return out.getvalue()


def _render(fmt: str, chunk, first: bool) -> str:
    return _jsonl(chunk) if fmt == "jsonl" else _csv(chunk, header=first)


def _sync_stream(qs, fmt: str):
    first = True
    if fmt == "csv":
        yield _csv([], header=True)
        first = False
    for chunk in audit_chunks(qs):
        yield _render(fmt, chunk, first)


async def _async_stream(qs, fmt: str):
    chunks = audit_chunks(qs)
    if fmt == "csv":
        yield _csv([], header=True)
    sentinel = object()
    while True:
        chunk = await sync_to_async(next, thread_sensitive=True)(chunks, sentinel)
        if chunk is sentinel:
            return
        yield _render(fmt, chunk, False)


def export_response(request, qs, fmt: str) -> StreamingHttpResponse:
    """A streamed download of ``qs`` (already scoped and filtered) as ``fmt`` (jsonl | csv)."""
    stream = _async_stream(qs, fmt) if isinstance(request, ASGIRequest) else _sync_stream(qs, fmt)
    response = StreamingHttpResponse(stream, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="orchestra-audit.{fmt}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response

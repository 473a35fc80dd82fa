"""The trace and workflow a change belongs to, for the audit trail.

Set once per request (``orchestra_site.middleware.trace_context``, from the W3C ``traceparent`` and the
``X-Workflow-Id`` header) or per task, read by ``audit_record``. Context variables, so concurrent
requests on one event loop (ASGI) or thread pool do not see each other's.
"""
import re
import secrets
from contextlib import contextmanager
from contextvars import ContextVar

_trace_id: ContextVar[str] = ContextVar("orchestra_trace_id", default="")
_workflow: ContextVar[str] = ContextVar("orchestra_workflow", default="")

# version "00", 32 hex trace id (not all zero), 16 hex parent id, 2 hex flags: W3C Trace Context §3.2
TRACEPARENT = re.compile(r"^[0-9a-f]{2}-(?P<trace>[0-9a-f]{32})-(?P<parent>[0-9a-f]{16})-[0-9a-f]{2}$")
WORKFLOW_MAX = 120


def trace_id_from(traceparent: str | None) -> str | None:
    """The 32-hex trace id of a W3C ``traceparent`` header value, or None when absent or malformed
    (an invalid header is ignored, as the W3C spec asks of a receiver, and a new trace starts)."""
    match = TRACEPARENT.match((traceparent or "").strip().lower())
    if not match or match["trace"] == "0" * 32 or match["parent"] == "0" * 16:
        return None
    return match["trace"]


def new_trace_id() -> str:
    return secrets.token_hex(16)


def current_trace_id() -> str:
    """The trace id of what is running now ('' outside any request or task)."""
    return _trace_id.get()


def current_workflow() -> str:
    return _workflow.get()


@contextmanager
def traced(*, trace_id: str | None = None, workflow: str | None = None):
    """Run a block under a trace id (a new one when None) and workflow (unchanged when None)."""
    t1 = _trace_id.set(trace_id or new_trace_id())
    t2 = _workflow.set(workflow[:WORKFLOW_MAX]) if workflow is not None else None
    try:
        yield
    finally:
        _trace_id.reset(t1)
        if t2 is not None:
            _workflow.reset(t2)

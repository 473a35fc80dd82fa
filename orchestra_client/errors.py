"""Errors raised by :class:`orchestra_client.OrchestraClient`.

Every error the API answers has the body ``{"detail": …, "code": …}``; ``detail`` is a message, or
for schema errors (422 from django-ninja) a list of ``{"loc": [...], "msg": …, "type": …}``.
"""
from __future__ import annotations

from typing import Any


class OrchestraError(Exception):
    """An error answer from Orchestra, or a failure to reach it.

    ``status`` is the HTTP status (``None`` when no answer arrived), ``detail`` the server's
    ``detail`` (a string, or a list for schema errors), ``code`` its machine-readable ``code``
    (e.g. ``already_decided``, ``idempotency_conflict``), ``body`` the whole decoded error body.
    """

    def __init__(self, status: int | None, detail: Any, code: str | None = None, *, body: dict | None = None):
        self.status = status
        self.detail = detail
        self.code = code
        self.body = body or {}
        super().__init__(self._message())

    def _message(self) -> str:
        detail = self.detail
        if isinstance(detail, list):  # django-ninja's schema errors
            detail = "; ".join(_describe(item) for item in detail) or "invalid request"
        head = f"HTTP {self.status}" if self.status else "no answer"
        return f"{head}: {detail}" + (f" ({self.code})" if self.code else "")


def _describe(item: Any) -> str:
    if isinstance(item, dict):
        loc = ".".join(str(part) for part in item.get("loc", []) if part not in ("body", "payload"))
        return f"{loc}: {item.get('msg', item)}" if loc else str(item.get("msg", item))
    return str(item)


class Unauthorized(OrchestraError):
    """401: missing, unknown or revoked bearer token."""


class Forbidden(OrchestraError):
    """403: e.g. the agent or its domain is suspended, or an agent tried to decide."""


class NotFound(OrchestraError):
    """404: no such proposal, or not one the caller may see (the two look the same)."""


class Conflict(OrchestraError):
    """409: already decided (``body["decided_by"]``) or Idempotency-Key reused with another body."""


class ValidationFailed(OrchestraError):
    """422: the request body was invalid; ``detail`` lists the problems, ``body.get("field")`` names one."""


class RateLimited(OrchestraError):
    """429: too many requests; ``retry_after`` is the number of seconds to wait (float, may be None)."""

    def __init__(self, status, detail, code=None, *, body=None, retry_after: float | None = None):
        self.retry_after = retry_after
        super().__init__(status, detail, code, body=body)


class ServerError(OrchestraError):
    """5xx after the client's retries were used up."""


class ConnectionFailed(OrchestraError):
    """The server could not be reached (connection refused, timeout) after the client's retries."""


class DecisionTimeout(OrchestraError):
    """``wait`` gave up: no decision within its timeout. ``proposal`` is the last state seen."""

    def __init__(self, proposal_id: str, waited: float, proposal=None):
        self.proposal_id = proposal_id
        self.waited = waited
        self.proposal = proposal
        super().__init__(None, f"no decision on {proposal_id} after {waited:.0f} s", "decision_timeout")


ERRORS_BY_STATUS: dict[int, type[OrchestraError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: ValidationFailed,
    429: RateLimited,
}

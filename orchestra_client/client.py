"""A small synchronous client of the Orchestra agent API (``/api/v1``), built on httpx only.

    from orchestra_client import OrchestraClient

    with OrchestraClient("http://127.0.0.1:8000", token) as orchestra:
        p = orchestra.propose("deploy.rollback", "Roll back payments to 2026.11.3",
                              resource="service:payments", args={"to_version": "2026.11.3"}, risk="high")
        if p.approved:
            rollback(**p.args_to_run)

Units: timeouts and delays are seconds (floats), ``cost_usd`` is US dollars (a ``Decimal``, number or
decimal string), ``confidence`` is 0–1, datetimes must be timezone-aware.
"""
from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx

from .errors import (
    ERRORS_BY_STATUS,
    ConnectionFailed,
    DecisionTimeout,
    OrchestraError,
    RateLimited,
    ServerError,
)

API = "/api/v1"
POLL_SECONDS = 30.0  # one long-poll request; the server answers after at most this long
DECIDED_OK = ("approved", "edited_and_approved")
RETRY_STATUSES = (500, 502, 503, 504)


@dataclass(frozen=True)
class Proposal:
    """A proposal as the API returns it (``ProposalOut``).

    ``id`` is the UUID as a string; ``status`` is ``pending`` until decided, then approved,
    edited_and_approved, rejected, answered, expired (or another final state the server names,
    e.g. refused by a policy or superseded); ``decision`` is None while pending, else
    ``{"verdict", "decided_by", "decided_at", "comment", "final_args"}``; ``final_args`` are the
    arguments to run (a reviewer's edit, or the proposed ones), None while pending; ``raw`` is the
    whole JSON object.
    """

    id: str
    status: str
    action: str
    summary: str
    decision: dict | None
    final_args: dict | None
    raw: dict = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Proposal:
        decision = data.get("decision")
        return cls(
            id=str(data["id"]),
            status=data["status"],
            action=data.get("action", ""),
            summary=data.get("summary", ""),
            decision=dict(decision) if decision else None,
            final_args=(decision or {}).get("final_args"),
            raw=dict(data),
        )

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    @property
    def approved(self) -> bool:
        """True when a reviewer (or policy) approved it, with or without editing the args."""
        return self.status in DECIDED_OK

    @property
    def edited(self) -> bool:
        return self.status == "edited_and_approved"

    @property
    def kind(self) -> str:
        """``action`` (to approve) or ``question`` (to answer: the reply is ``decision["comment"]``)."""
        return self.raw.get("kind", "action")

    @property
    def args(self) -> dict:
        """The arguments the agent proposed."""
        return self.raw.get("args") or {}

    @property
    def args_to_run(self) -> dict:
        """The arguments to act with: the reviewer's edited args, else the proposed ones."""
        return self.final_args if self.final_args is not None else self.args

    @property
    def decided_by(self) -> str | None:
        """Username of the reviewer who decided, or None (pending, or decided by a policy)."""
        return (self.decision or {}).get("decided_by")

    @property
    def comment(self) -> str:
        return (self.decision or {}).get("comment") or ""

    @property
    def votes(self) -> list[dict]:
        """Every vote cast on it, oldest first: ``{"reviewer", "verdict", "comment", "args",
        "created_at"}`` (who edited the args and why, who approved); [] while pending."""
        return list((self.decision or {}).get("votes") or [])

    @property
    def batch(self) -> str | None:
        return self.raw.get("batch")

    @property
    def allowed_verdicts(self) -> list[str]:
        return list(self.raw.get("allowed_verdicts") or [])


def _json_default(value: Any):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _retry_after(response: httpx.Response, body: dict) -> float | None:
    for value in (response.headers.get("Retry-After"), body.get("retry_after")):
        try:
            return float(value)
        except (TypeError, ValueError):
            continue
    return None


def error_from_response(response: httpx.Response) -> OrchestraError:
    """The ``OrchestraError`` subclass matching an error answer (by status code)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {"detail": body}
    detail = body.get("detail", response.reason_phrase or response.text[:200])
    code = body.get("code")
    status = response.status_code
    if status == 429:
        return RateLimited(status, detail, code, body=body, retry_after=_retry_after(response, body))
    if status >= 500:
        return ServerError(status, detail, code, body=body)
    return ERRORS_BY_STATUS.get(status, OrchestraError)(status, detail, code, body=body)


class OrchestraClient:
    """Client of the agent API, authenticated with an agent's (or reviewer's) bearer token.

    ``timeout`` is seconds per request (long-polls add their own wait to it); ``transport`` is an
    optional ``httpx.BaseTransport`` (tests pass ``httpx.MockTransport`` or a WSGI transport).
    Connection errors and 5xx answers are retried ``retries`` times with exponential backoff
    starting at ``backoff`` seconds (with jitter) — for ``submit`` too, since it always sends an
    ``Idempotency-Key``. Safe to share between threads. Use as a context manager, or ``close()``.
    """

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None, retries: int = 3, backoff: float = 0.5,
                 user_agent: str = "orchestra-client/0.1"):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json", "User-Agent": user_agent},
        )

    # --- plumbing -----------------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OrchestraClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _sleep_before_retry(self, attempt: int) -> None:
        delay = self.backoff * 2 ** (attempt - 1)
        time.sleep(delay + random.uniform(0, delay / 2))

    def _request(self, method: str, path: str, *, json_body: Any = None, headers: dict | None = None,
                 params: dict | None = None, timeout: float | httpx.Timeout | None = None) -> dict:
        """One API call with retries on connection errors and 5xx; returns the decoded JSON body."""
        content = None
        if json_body is not None:
            content = json.dumps(json_body, default=_json_default).encode()
            headers = {**(headers or {}), "Content-Type": "application/json"}
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(method, path, content=content, headers=headers, params=params,
                                              timeout=timeout if timeout is not None else self.timeout)
            except httpx.TransportError as exc:
                if attempt > self.retries:
                    raise ConnectionFailed(None, f"{method} {path}: {type(exc).__name__}: {exc}",
                                           "connection_failed") from exc
                self._sleep_before_retry(attempt)
                continue
            if response.status_code in RETRY_STATUSES and attempt <= self.retries:
                self._sleep_before_retry(attempt)
                continue
            if response.is_success:
                return response.json()
            raise error_from_response(response)

    # --- API ----------------------------------------------------------------------------------------

    def submit(self, *, idempotency_key: str | None = None, **fields: Any) -> Proposal:
        """POST ``/api/v1/proposals``: submit a proposed action; returns it (usually ``pending``).

        ``fields`` are the ``ProposalIn`` fields: ``action`` and ``summary`` (required),
        ``resource``, ``args`` (dict), ``reasoning``, ``risk`` (low/medium/high/critical),
        ``confidence`` (0–1), ``cost_usd`` (USD), ``classification`` (public/internal/sensitive),
        ``related_tasks`` (list of ids), ``callback_url``, ``expires_at`` (aware datetime or ISO 8601),
        ``kind`` (``action``, or ``question`` for a free-text question answered with verdict answer),
        ``allowed_verdicts`` (subset of approve/reject/edit/answer the tool accepts), ``args_schema``
        (JSON Schema of the tool's args; edits must keep it), ``batch`` (your id for proposals raised
        together). ``action`` may be a dotted action type or the tool's own name (``delete_file``).
        An ``Idempotency-Key`` is always sent (a new uuid4 unless given), so a retry after a lost
        answer returns the same proposal instead of creating a second one. Raises
        ``ValidationFailed`` (422), ``Conflict`` (409, key reused with another body), ``Forbidden``
        (403, agent or domain suspended), ``RateLimited`` (429), ``Unauthorized`` (401).
        """
        body = {name: value for name, value in fields.items() if value is not None}
        key = idempotency_key or str(uuid.uuid4())
        data = self._request("POST", f"{API}/proposals", json_body=body, headers={"Idempotency-Key": key})
        return Proposal.from_json(data)

    def get(self, proposal_id: str | uuid.UUID) -> Proposal:
        """GET ``/api/v1/proposals/{id}``: the current state of one proposal."""
        return Proposal.from_json(self._request("GET", f"{API}/proposals/{proposal_id}"))

    def list(self, *, status: str | None = None, limit: int = 50, offset: int = 0) -> list[Proposal]:
        """GET ``/api/v1/proposals``: the calling agent's own proposals, newest first."""
        params = {"limit": limit, "offset": offset, **({"status": status} if status else {})}
        data = self._request("GET", f"{API}/proposals", params=params)
        return [Proposal.from_json(item) for item in data.get("items", [])]

    def wait(self, proposal_id: str | uuid.UUID, timeout: float | None = None) -> Proposal:
        """Block until the proposal is decided; returns it. ``timeout`` is the overall limit in
        seconds (None = wait forever); raises ``DecisionTimeout`` when it passes undecided.

        Long-polls ``GET /api/v1/proposals/{id}/wait?timeout=…`` (at most 30 s per request; the
        server answers the moment a decision is made), asking again until decided.
        """
        started = time.monotonic()
        last: Proposal | None = None
        while True:
            waited = time.monotonic() - started
            remaining = None if timeout is None else timeout - waited
            if remaining is not None and remaining <= 0:
                raise DecisionTimeout(str(proposal_id), waited, last)
            poll = POLL_SECONDS if remaining is None else min(POLL_SECONDS, remaining)
            data = self._request(
                "GET", f"{API}/proposals/{proposal_id}/wait", params={"timeout": round(poll, 3)},
                timeout=httpx.Timeout(self.timeout, read=poll + self.timeout),
            )
            last = Proposal.from_json(data)
            if not last.pending:
                return last

    def propose(self, action: str, summary: str, *, resource: str = "", args: dict | None = None,
                reasoning: str = "", risk: str = "medium", confidence: float = 0.0,
                cost_usd: Decimal | float | str = 0, classification: str = "internal",
                related_tasks: Iterable[str] | None = None, callback_url: str | None = None,
                expires_at: datetime | str | None = None, wait_timeout: float | None = None,
                idempotency_key: str | None = None, incident: str | None = None) -> Proposal:
        """Submit a proposed action and block until a human (or policy) decides it.

        Returns the decided ``Proposal``: act only ``if p.approved``, with ``p.args_to_run``.
        ``wait_timeout`` (seconds, None = forever) bounds the wait; ``DecisionTimeout`` then
        carries the proposal id, so the caller can ``wait`` again later. With ``incident`` (an
        incident's id) it is a remediation of that incident: its commander decides it.
        """
        proposal = self.submit(
            action=action, summary=summary, resource=resource, args=args or {}, reasoning=reasoning,
            risk=risk, confidence=confidence, cost_usd=cost_usd, classification=classification,
            related_tasks=list(related_tasks or []), callback_url=callback_url, expires_at=expires_at,
            idempotency_key=idempotency_key, incident=incident,
        )
        if not proposal.pending:
            return proposal
        return self.wait(proposal.id, timeout=wait_timeout)

    def decide(self, proposal_id: str | uuid.UUID, verdict: str, *, comment: str = "",
               args: dict | None = None) -> Proposal:
        """Reviewers (personal token): POST ``/api/v1/proposals/{id}/decision``. ``verdict`` is
        approve, reject (comment required), edit (``args`` required) or answer (comment required).
        Raises ``Conflict`` when someone decided first (``err.body["decided_by"]``)."""
        body: dict[str, Any] = {"verdict": verdict, "comment": comment}
        if args is not None:
            body["args"] = args
        return Proposal.from_json(self._request("POST", f"{API}/proposals/{proposal_id}/decision", json_body=body))

    def decide_many(self, decisions: Iterable[Mapping[str, Any]]) -> list[dict]:
        """Reviewers: POST ``/api/v1/decisions``, several decisions in one request. Each item is
        ``{"proposal_id", "verdict", "comment"?, "args"?, "supersede_conflicts"?}``; each proposal at
        most once. Returns one result per item, in order: ``{"proposal_id", "ok", "status_code",
        "proposal": Proposal | None, "error": dict | None}`` (a failed item does not stop the others)."""
        data = self._request("POST", f"{API}/decisions", json_body={"decisions": [dict(d) for d in decisions]})
        return [{**r, "proposal": Proposal.from_json(r["proposal"]) if r.get("proposal") else None}
                for r in data["results"]]

    def wait_all(self, proposal_ids: Iterable[str | uuid.UUID], timeout: float | None = None) -> list[Proposal]:
        """Block until every proposal is decided; returns them in the order given. ``timeout`` is the
        overall limit in seconds (None = forever); ``DecisionTimeout`` names the first one still pending."""
        started = time.monotonic()
        decided = []
        for proposal_id in proposal_ids:
            left = None if timeout is None else timeout - (time.monotonic() - started)
            if left is not None and left <= 0:  # out of time: still return what is already decided
                last = self.get(proposal_id)
                if last.pending:
                    raise DecisionTimeout(str(proposal_id), time.monotonic() - started, last)
                decided.append(last)
            else:
                decided.append(self.wait(proposal_id, timeout=left))
        return decided

    def inbox(self, *, status: str = "pending", limit: int = 50, offset: int = 0) -> list[Proposal]:
        """Reviewers: GET ``/api/v1/inbox/proposals``, proposals they may decide (default pending)."""
        data = self._request("GET", f"{API}/inbox/proposals",
                             params={"status": status, "limit": limit, "offset": offset})
        return [Proposal.from_json(item) for item in data.get("items", [])]

    # --- incidents --------------------------------------------------------------------------------

    def report_incident(self, title: str, severity: str, **fields: Any) -> dict:
        """POST ``/api/v1/incidents``: raise an incident (a candidate a person accepts or declines).
        ``fields``: ``domain`` (slug), ``resource``, ``symptom``, ``summary``, ``evidence`` (dict),
        ``workflow``. Returns the incident; ``grouped`` is True when it joined an open one."""
        return self._request("POST", f"{API}/incidents", json_body={"title": title, "severity": severity, **fields})

    def incidents(self, *, status: str | None = None, limit: int = 50, offset: int = 0) -> list[dict]:
        """GET ``/api/v1/incidents``: the open incidents you may see (or those in ``status``)."""
        params = {"limit": limit, "offset": offset, **({"status": status} if status else {})}
        return self._request("GET", f"{API}/incidents", params=params).get("items", [])

    def incident(self, incident_id: str) -> dict:
        """GET ``/api/v1/incidents/{id}``."""
        return self._request("GET", f"{API}/incidents/{incident_id}")

    def add_finding(self, incident_id: str, summary: str, *, evidence: dict | None = None,
                    confidence: float | None = None, question: str = "", answer: str = "") -> dict:
        """POST ``/api/v1/incidents/{id}/findings``: a finding on the incident's timeline. Give the
        ``question`` it answers and its short ``answer`` so contradicting findings are shown side by side."""
        body = {"summary": summary, "evidence": evidence or {}, "question": question, "answer": answer}
        if confidence is not None:
            body["confidence"] = confidence
        return self._request("POST", f"{API}/incidents/{incident_id}/findings", json_body=body)

    def draft_status_update(self, incident_id: str, conditions: str, *, actions: str = "", needs: str = "",
                            headline: str = "") -> dict:
        """POST ``/api/v1/incidents/{id}/updates``: a draft the commander or comms lead publishes."""
        body = {"conditions": conditions, "actions": actions, "needs": needs, "headline": headline}
        return self._request("POST", f"{API}/incidents/{incident_id}/updates", json_body=body)

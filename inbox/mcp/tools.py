"""The MCP tools: each parses its arguments as the REST API does, then calls one service, permission
check or selector, in a worker thread (the ORM is synchronous). Who calls is the agent of the request's
bearer token (HTTP) or of ``--token`` (stdio)."""
import asyncio
import json
from typing import Annotated, Any, Literal
from uuid import UUID

import pydantic
from asgiref.sync import sync_to_async
from django.conf import settings
from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult, MCPServer, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from governance.models import Agent
from governance.tokens import token_authenticate
from orchestra_site.errors import ApplicationError

from .. import permissions, selectors, services
from ..api import reread, until_expiry, wakeups
from ..api_governance import evaluation_out
from ..models import Proposal
from ..schemas import ProposalIn, proposal_out

AGENT_SCOPE_KEY = "orchestra.agent"  # where ``http.mcp_app`` puts the authenticated agent in the ASGI scope
QUESTION_ACTION = "mcp.ask_human"
Risk = Literal["low", "medium", "high", "critical"]
Classification = Literal["public", "internal", "confidential", "restricted"]
AskWho = Literal["auto", "reviewers"]
Seconds = Annotated[float, Field(ge=0, description="Seconds to wait at most (capped at the server's long-poll limit).")]

INSTRUCTIONS = (
    "Orchestra governs your actions: before doing anything consequential, call propose_action and act only "
    "when the decision says approved (run final_args: a reviewer may have edited them). check_policy tells you "
    "what would happen without proposing. ask_human puts a question to the reviewers."
)


def _fail(exc: Exception) -> ToolError:
    """The API's error body as the tool's error: ``{"detail", "code", …}``."""
    if isinstance(exc, ApplicationError):
        return ToolError(json.dumps(exc.as_dict(), default=str))
    if isinstance(exc, pydantic.ValidationError):
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"]) or "body"
        return ToolError(json.dumps({"detail": f"{field}: {err['msg']}", "code": "invalid", "field": field}))
    raise exc


async def _run(fn, *args, **kwargs):
    """``fn`` (synchronous, touching the database) in a worker thread; application errors as tool errors."""
    try:
        return await sync_to_async(fn)(*args, **kwargs)
    except (ApplicationError, pydantic.ValidationError) as exc:
        raise _fail(exc) from exc


def _proposal_data(**fields) -> dict:
    """The tool's arguments validated as the REST API's ``ProposalIn`` (the same rules, the same 422s)."""
    return ProposalIn.model_validate({k: v for k, v in fields.items() if v is not None}).to_model_fields()


def build_server(*, token: str | None = None) -> MCPServer:
    """The MCP server. Over HTTP each request's bearer token says which agent calls (``http.mcp_app``
    resolved it); for stdio, ``token`` does, resolved again at every call (so a revoked token or a
    suspended agent stops at once, as on the API)."""
    server = MCPServer("orchestra", instructions=INSTRUCTIONS)

    async def caller(ctx: Context) -> Agent:
        request = ctx.request_context.request
        if request is not None and hasattr(request, "scope"):
            found = request.scope.get(AGENT_SCOPE_KEY)
        else:
            found = await sync_to_async(token_authenticate)(token or "")
        if not isinstance(found, Agent):
            raise ToolError(json.dumps({"detail": "Missing, unknown or revoked agent token.",
                                        "code": "unauthenticated"}))
        return found

    @server.tool()
    async def propose_action(
        action: str, summary: str, ctx: Context, resource: str = "", args: dict[str, Any] | None = None,
        reasoning: str = "", risk: Risk = "medium", confidence: float = 0.0, cost_usd: str | float = "0",
        classification: Classification = "internal", related_tasks: list[str] | None = None,
        expires_at: str | None = None, idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Propose an action for a human (or a policy) to decide. Same fields and rules as POST
        /api/v1/proposals: `action` (e.g. `deploy.rollback`), `summary` (one line), `args` (JSON object),
        `risk`, `confidence` (0-1), `cost_usd` (USD, decimal string), `expires_at` (ISO 8601). Returns the
        proposal: its `id` and `status` (pending, or decided at once by a policy). An `idempotency_key`
        makes a retry return the same proposal."""
        me = await caller(ctx)

        def submit():
            data = _proposal_data(action=action, summary=summary, resource=resource, args=args, reasoning=reasoning,
                                  risk=risk, confidence=confidence, cost_usd=cost_usd, classification=classification,
                                  related_tasks=related_tasks, expires_at=expires_at)
            proposal, _ = services.proposal_submit(agent=me, data=data, idempotency_key=idempotency_key)
            return proposal_out(proposal)

        return await _run(submit)

    @server.tool()
    async def get_decision(proposal_id: UUID, ctx: Context) -> dict[str, Any]:
        """One of your proposals now: `status` and, once decided, `decision` (verdict, who, comment, final_args)."""
        me = await caller(ctx)
        return await _run(lambda: proposal_out(_fresh(permissions.access_proposal(me, proposal_id))))

    @server.tool()
    async def wait_for_decision(proposal_id: UUID, ctx: Context, timeout: Seconds = 30) -> dict[str, Any]:
        """Wait until your proposal is decided (or expires), at most `timeout` seconds; returns it as
        get_decision does. Still `pending` at the timeout: call again."""
        me = await caller(ctx)
        proposal = await _run(lambda: _fresh(permissions.access_proposal(me, proposal_id)))
        waited = await _wait(proposal, timeout)
        return await _run(proposal_out, waited)  # its votes are read from the database: not on the event loop

    @server.tool()
    async def list_my_proposals(
        ctx: Context, status: str | None = None, limit: Annotated[int, Field(ge=1, le=500)] = 50,
        offset: Annotated[int, Field(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Your proposals, newest first, optionally only those in one `status` (pending, approved,
        rejected, edited_and_approved, answered, expired, refused, superseded)."""
        me = await caller(ctx)
        if status is not None and status not in Proposal.Status.values:
            raise ToolError(json.dumps({"detail": f"status must be one of {', '.join(Proposal.Status.values)}.",
                                        "code": "invalid", "field": "status"}))

        def page():
            qs = selectors.proposals_for_agent(permissions.require_agent(me), status=status)
            return {"count": qs.count(), "items": [proposal_out(p) for p in qs[offset:offset + limit]]}

        return await _run(page)

    @server.tool()
    async def check_policy(
        action: str, summary: str, ctx: Context, resource: str = "", args: dict[str, Any] | None = None,
        risk: Risk = "medium", confidence: float = 0.0, cost_usd: str | float = "0",
        classification: Classification = "internal",
    ) -> dict[str, Any]:
        """Dry-run (POST /api/v1/governance/dry-run): which policy would match this would-be proposal and
        what would happen (`outcome`: auto_approve, review or forbid; `level`, `inbox`, `quorum`, `reasons`).
        Nothing is stored and no rate limit is counted."""
        me = await caller(ctx)

        def evaluate():
            data = _proposal_data(action=action, summary=summary, resource=resource, args=args, risk=risk,
                                  confidence=confidence, cost_usd=cost_usd, classification=classification)
            return evaluation_out(me, services.proposal_evaluate(agent=me, data=data))

        return await _run(evaluate)

    @server.tool()
    async def ask_human(
        question: str, ctx: Context, timeout: Seconds = 30, ask: AskWho = "auto",
        idempotency_key: str | None = None,
        from_client: Annotated[ElicitationResult[HumanAnswer], Resolve(_elicit_where_supported)] = None,
    ) -> dict[str, Any]:
        """Ask a human a question. `ask` "auto": where this MCP client supports elicitation, its user is
        asked; otherwise (or when they decline) the question goes to Orchestra's reviewers, who answer it
        in their inbox. "reviewers": always Orchestra's reviewers. Waits at most `timeout` seconds for the
        reviewers: returns `answer` (null while unanswered: call wait_for_decision with `proposal_id`),
        `status` and `answered_by` ("client" or "reviewers")."""
        if isinstance(from_client, AcceptedElicitation) and from_client.data is not None:
            return {"proposal_id": None, "status": "answered", "answer": from_client.data.answer,
                    "comment": None, "answered_by": "client"}
        me = await caller(ctx)

        def submit():
            data = _proposal_data(action=QUESTION_ACTION, summary=question[:500], reasoning=question)
            proposal, _ = services.proposal_submit(agent=me, data={**data, "kind": Proposal.Kind.QUESTION},
                                                   idempotency_key=idempotency_key)
            return proposal

        proposal = await _wait(await _run(submit), timeout)
        answer = proposal.decision_comment if proposal.status == Proposal.Status.ANSWERED else None
        return {"proposal_id": str(proposal.pk), "status": proposal.status, "answer": answer,
                "comment": None if proposal.is_pending else proposal.decision_comment, "answered_by": "reviewers"}

    return server


class HumanAnswer(pydantic.BaseModel):
    answer: str = Field(description="Your answer to the agent's question")


def _elicit_where_supported(question: str, ctx: Context, ask: AskWho = "auto"):
    """``ask_human``'s first try: the MCP client's user, by elicitation, when the client declared it.
    A question grants nothing (only proposals do), so answering it outside the inbox opens no side door."""
    capabilities = ctx.client_capabilities
    if ask == "auto" and capabilities is not None and capabilities.elicitation is not None:
        return Elicit(question, HumanAnswer)
    return None


def _fresh(p: Proposal) -> Proposal:
    return selectors.proposal_by_id(p.pk) if services.proposal_expire(proposal=p) else p


async def _wait(proposal: Proposal, timeout: float) -> Proposal:
    """The native long-poll's loop (``inbox.api.wait_for_decision``): woken by the proposal's events,
    re-reading it from the database, until it leaves pending or ``timeout`` (capped) passes."""
    if not proposal.is_pending or timeout <= 0:
        return proposal
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(timeout, settings.ORCHESTRA_LONG_POLL_MAX_SECONDS)
    async with wakeups(proposal.pk) as wake:
        while True:
            proposal = await sync_to_async(reread)(proposal)
            left = deadline - loop.time()
            if not proposal.is_pending or left <= 0:
                return proposal
            await wake(min(left, settings.ORCHESTRA_LONG_POLL_RECHECK_SECONDS, until_expiry(proposal)))

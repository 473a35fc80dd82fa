"""Governance operations on the work (``/api/v1/governance``): the policy dry-run and the kill switch.

They sit with the inbox app because both touch proposals (a dry-run counts today's budget; a
suspension freezes pending proposals); the policy routes under the same prefix are ``governance.api``.
"""
from ninja import Router

from governance.auth import bearer
from governance.models import Agent, Inbox
from governance.schemas import EvaluationOut, ReasonIn, SuspensionOut
from governance.services import level_inbox_lookup
from orchestra_site.errors import Forbidden, InvalidInput
from orchestra_site.schemas import ERROR_RESPONSES, StorableText

from . import permissions, services
from .schemas import DryRunIn

router = Router(auth=bearer, tags=["governance"])
ERRORS = ERROR_RESPONSES


@router.post("/dry-run", response={200: EvaluationOut, **ERRORS})
def dry_run(request, payload: DryRunIn):
    """Which policy would match this would-be proposal and what would happen, with the reasons.
    Nothing is stored (not even a missing inbox) and no rate limit is counted."""
    principal = request.auth
    if isinstance(principal, Agent):
        agent = principal
    elif permissions.may(principal, "view_governance"):
        if not payload.agent:
            raise InvalidInput("Name the agent to evaluate as.", field="agent")
        agent = Agent.objects.select_related("domain").filter(name=payload.agent).first()
        if agent is None:
            raise InvalidInput(f"No agent called {payload.agent!r}.", field="agent")
    else:
        raise Forbidden("Dry-runs are for agents, auditors, orchestrators, the board and admins.")
    return evaluation_out(agent, services.proposal_evaluate(agent=agent, data=payload.proposal.to_model_fields()))


def evaluation_out(agent: Agent, ev) -> dict:
    """A dry-run's answer (``EvaluationOut``): the policy evaluation ``ev`` and, for a review, the slug
    of the inbox it would land in (looked up, never created). The MCP ``check_policy`` tool shares it."""
    inbox = None
    if ev.outcome == "review":
        inbox_id = level_inbox_lookup(agent.domain, ev.level, ev.target_inbox_id)
        inbox = Inbox.objects.filter(pk=inbox_id).values_list("slug", flat=True).first() if inbox_id else None
    return {"outcome": ev.outcome, "level": ev.level, "inbox": inbox, "category": ev.category, "quorum": ev.quorum,
            "sla_seconds": ev.sla_seconds, "policy": ev.policy_name or None, "policy_version": ev.policy_version,
            "reasons": ev.reasons}


@router.post("/agents/{name}/suspend", response={200: SuspensionOut, **ERRORS})
def suspend_agent(request, name: StorableText, payload: ReasonIn):
    """Kill switch for one agent: new proposals 403, pending ones frozen, recorded with the reason.
    404 for an agent that does not exist or that you may not suspend (alike); 403 for agents' tokens."""
    agent = permissions.access_agent_to_suspend(request.auth, name)
    n = services.agent_suspend(agent=agent, by=request.auth, reason=payload.reason)
    return {"name": agent.name, "suspended": True, "frozen_or_thawed": n}


@router.post("/agents/{name}/resume", response={200: SuspensionOut, **ERRORS})
def resume_agent(request, name: StorableText, payload: ReasonIn):
    agent = permissions.access_agent_to_suspend(request.auth, name)
    n = services.agent_resume(agent=agent, by=request.auth, reason=payload.reason)
    return {"name": agent.name, "suspended": False, "frozen_or_thawed": n}


@router.post("/domains/{slug}/suspend", response={200: SuspensionOut, **ERRORS})
def suspend_domain(request, slug: StorableText, payload: ReasonIn):
    """Kill switch for a whole domain: its agents' new proposals 403, pending ones frozen."""
    domain = permissions.access_domain_to_suspend(request.auth, slug)
    n = services.domain_suspend(domain=domain, by=request.auth, reason=payload.reason)
    return {"name": domain.name, "suspended": True, "frozen_or_thawed": n}


@router.post("/domains/{slug}/resume", response={200: SuspensionOut, **ERRORS})
def resume_domain(request, slug: StorableText, payload: ReasonIn):
    domain = permissions.access_domain_to_suspend(request.auth, slug)
    n = services.domain_resume(domain=domain, by=request.auth, reason=payload.reason)
    return {"name": domain.name, "suspended": False, "frozen_or_thawed": n}

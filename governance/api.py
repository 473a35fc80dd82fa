"""Governance API (``/api/v1/governance``): dry-runs, the kill switch and policy switches."""
from django.shortcuts import get_object_or_404
from ninja import Router

from inbox import permissions as inbox_permissions
from inbox.auth import bearer
from inbox.models import Agent
from orchestra_site.errors import Forbidden, InvalidInput, NotFound
from orchestra_site.schemas import ERROR_RESPONSES, StorableText

from . import permissions, services
from .models import Domain, Policy
from .schemas import DryRunIn, EvaluationOut, PolicyOut, PolicyPatch, ReasonIn, SuspensionOut

router = Router(auth=bearer, tags=["governance"])
ERRORS = ERROR_RESPONSES


@router.post("/dry-run", response={200: EvaluationOut, **ERRORS})
def dry_run(request, payload: DryRunIn):
    """Which policy would match this would-be proposal and what would happen, with the reasons.
    Nothing is stored and no rate limit is counted."""
    from inbox.models import Inbox
    from inbox.services import proposal_evaluate

    from .services import level_inbox_id

    principal = request.auth
    if isinstance(principal, Agent):
        agent = principal
    elif permissions.can_view_governance(principal):
        if not payload.agent:
            raise InvalidInput("Name the agent to evaluate as.", field="agent")
        agent = Agent.objects.select_related("domain").filter(name=payload.agent).first()
        if agent is None:
            raise InvalidInput(f"No agent called {payload.agent!r}.", field="agent")
    else:
        raise Forbidden("Dry-runs are for agents, auditors, orchestrators, the board and admins.")
    ev = proposal_evaluate(agent=agent, data=payload.proposal.to_model_fields())
    inbox = None
    if ev.outcome == "review":
        inbox = Inbox.objects.filter(pk=level_inbox_id(agent.domain, ev.level, ev.target_inbox_id)).values_list(
            "slug", flat=True).first()
    return {"outcome": ev.outcome, "level": ev.level, "inbox": inbox, "category": ev.category, "quorum": ev.quorum,
            "sla_seconds": ev.sla_seconds, "policy": ev.policy_name or None, "policy_version": ev.policy_version,
            "reasons": ev.reasons}


def _agent_for(principal, name: str) -> Agent:
    inbox_permissions.require_reviewer(principal)  # agents' tokens: 403, whatever the name
    agent = Agent.objects.select_related("domain").filter(name=name).first()
    if agent is None:
        raise NotFound("No such agent.")
    if not permissions.can_suspend_agent(principal, agent):
        raise Forbidden("You may not suspend or resume this agent.", code="suspend_forbidden")
    return agent


def _domain_for(principal, slug: str) -> Domain:
    inbox_permissions.require_reviewer(principal)
    domain = Domain.objects.filter(slug=slug).first()
    if domain is None:
        raise NotFound("No such domain.")
    if not permissions.can_suspend_domain(principal, domain):
        raise Forbidden("You may not suspend or resume this domain.", code="suspend_forbidden")
    return domain


@router.post("/agents/{name}/suspend", response={200: SuspensionOut, **ERRORS})
def suspend_agent(request, name: StorableText, payload: ReasonIn):
    """Kill switch for one agent: new proposals 403, pending ones frozen, recorded with the reason."""
    agent = _agent_for(request.auth, name)
    n = services.agent_suspend(agent=agent, by=request.auth, reason=payload.reason)
    return {"name": agent.name, "suspended": True, "frozen_or_thawed": n}


@router.post("/agents/{name}/resume", response={200: SuspensionOut, **ERRORS})
def resume_agent(request, name: StorableText, payload: ReasonIn):
    agent = _agent_for(request.auth, name)
    n = services.agent_resume(agent=agent, by=request.auth, reason=payload.reason)
    return {"name": agent.name, "suspended": False, "frozen_or_thawed": n}


@router.post("/domains/{slug}/suspend", response={200: SuspensionOut, **ERRORS})
def suspend_domain(request, slug: StorableText, payload: ReasonIn):
    """Kill switch for a whole domain: its agents' new proposals 403, pending ones frozen."""
    domain = _domain_for(request.auth, slug)
    n = services.domain_suspend(domain=domain, by=request.auth, reason=payload.reason)
    return {"name": domain.name, "suspended": True, "frozen_or_thawed": n}


@router.post("/domains/{slug}/resume", response={200: SuspensionOut, **ERRORS})
def resume_domain(request, slug: StorableText, payload: ReasonIn):
    domain = _domain_for(request.auth, slug)
    n = services.domain_resume(domain=domain, by=request.auth, reason=payload.reason)
    return {"name": domain.name, "suspended": False, "frozen_or_thawed": n}


@router.get("/policies", response={200: list[PolicyOut], **ERRORS})
def list_policies(request):
    """Active and inactive policies in evaluation order (auditors, orchestrators, board, admins)."""
    if not permissions.can_view_governance(request.auth):
        raise Forbidden("Policies are visible to auditors, orchestrators, the board and admins.")
    return list(Policy.objects.order_by("priority", "id"))


@router.patch("/policies/{policy_id}", response={200: PolicyOut, **ERRORS})
def patch_policy(request, policy_id: int, payload: PolicyPatch):
    """Admins: switch a policy on or off, or change its priority or quorum (versioned)."""
    if not permissions.can_edit_policy(request.auth):
        raise Forbidden("Only admins edit policies.", code="edit_policy_forbidden")
    policy = get_object_or_404(Policy, pk=policy_id)
    return services.policy_update(policy=policy, by=request.auth,
                                  **payload.model_dump(exclude_none=True))

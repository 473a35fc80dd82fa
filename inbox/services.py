"""Inbox services: the one entry point for every change to proposals, and the kill switch.

The proposal lifecycle is written in three modules along its seams and exported from here:
``submission`` (submit, dry-run), ``decisions`` (votes, quorum, decide, supersede) and ``timers``
(escalation, SLA, expiry). The kill switch lives here: it flips the flag on the agent or domain
(``governance.services``) and freezes or thaws their pending proposals, in one transaction, with
history rows naming who and why. Views, API routes, consumers, admin, commands and tasks call these.
"""
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from governance import services as governance_services
from governance.models import Agent, Domain
from orchestra_site.formats import change_reason

from . import audit, events
from .decisions import VERDICTS, proposal_decide  # noqa: F401
from .models import Proposal
from .submission import body_digest, proposal_evaluate, proposal_replay, proposal_submit  # noqa: F401
from .timers import proposal_escalate, proposal_expire, proposals_escalate_overdue, proposals_expire_due  # noqa: F401


def proposals_freeze(*, agent_ids=None, domain=None, frozen: bool, reason: str, by=None) -> int:
    """Freeze (or thaw) the pending proposals of some agents or a whole domain, with history rows
    naming ``by`` (the user who suspended or resumed, None for the system) and ``reason``.
    Returns how many proposals changed. A frozen proposal cannot be decided or escalated."""
    reason = change_reason(reason)
    qs = Proposal.objects.filter(status=Proposal.Status.PENDING, is_frozen=not frozen)
    qs = qs.filter(agent_id__in=agent_ids) if agent_ids is not None else qs.filter(agent__domain=domain)
    if not frozen:  # thaw only where neither the agent nor its domain is still suspended
        qs = qs.filter(agent__status=Agent.Status.ACTIVE, agent__domain__is_suspended=False)
    items = list(qs.select_related("agent__domain", "inbox", "decided_by"))
    now = timezone.now()
    for p in items:
        p.is_frozen, p.updated_at = frozen, now  # updated_at: other processes' watchers see the change
        p._change_reason = reason
    if items:
        bulk_update_with_history(items, Proposal, ["is_frozen", "updated_at"], default_user=by,
                                 default_change_reason=reason)
        audit.frozen(items, frozen, reason, by)
        transaction.on_commit(lambda: [events.announce(p, "proposal.updated") for p in items])
    return len(items)


@transaction.atomic
def agent_suspend(*, agent: Agent, by=None, reason: str) -> int:
    """Suspend ``agent`` at once: new proposals are refused (403), pending ones frozen. Returns how
    many were frozen. Recorded in the agent's and each proposal's history."""
    governance_services.agent_set_suspended(agent=agent, suspended=True, reason=reason, by=by)
    return proposals_freeze(agent_ids=[agent.pk], frozen=True, by=by, reason=f"agent {agent.name} suspended: {reason}")


@transaction.atomic
def agent_resume(*, agent: Agent, by=None, reason: str = "") -> int:
    """Lift ``agent``'s suspension and thaw its pending proposals (unless its domain is suspended)."""
    governance_services.agent_set_suspended(agent=agent, suspended=False, reason=reason, by=by)
    return proposals_freeze(agent_ids=[agent.pk], frozen=False, by=by, reason=f"agent {agent.name} resumed")


@transaction.atomic
def domain_suspend(*, domain: Domain, by=None, reason: str) -> int:
    """Suspend a whole domain: its agents' new proposals are refused (403) and pending ones frozen."""
    governance_services.domain_set_suspended(domain=domain, suspended=True, reason=reason, by=by)
    return proposals_freeze(domain=domain, frozen=True, by=by, reason=f"domain {domain.name} suspended: {reason}")


@transaction.atomic
def domain_resume(*, domain: Domain, by=None, reason: str = "") -> int:
    """Lift a domain's suspension and thaw its agents' pending proposals (those not suspended themselves)."""
    governance_services.domain_set_suspended(domain=domain, suspended=False, reason=reason, by=by)
    return proposals_freeze(domain=domain, frozen=False, by=by, reason=f"domain {domain.name} resumed")

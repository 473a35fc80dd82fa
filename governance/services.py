"""Governance services: domains and their level inboxes, and the kill switch.

Every state change is recorded: simple-history rows carry who (the request's user, or ``by``) and a
change reason; freezing a domain's or agent's pending proposals writes history for each of them.
"""
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.text import slugify

from orchestra_site.formats import change_reason

from .models import Domain, Level

ENTERPRISE_GROUP = "Enterprise governance"


@transaction.atomic
def domain_get_or_create(*, name: str) -> Domain:
    """Return the domain called ``name`` (case-insensitive), creating it with its two inboxes:
    “<name> reviewers” (first-line review, default inbox) and “<name> orchestrators” (domain level),
    each reviewed by the group of the same name."""
    from inbox.services import inbox_create

    domain = Domain.objects.filter(name__iexact=name).first()
    if domain is None:
        domain = Domain.objects.create(name=name, slug=slugify(name))
    changed = []
    if domain.default_inbox_id is None:
        group, _ = Group.objects.get_or_create(name=f"{name} reviewers")
        domain.default_inbox = inbox_create(
            slug=f"{domain.slug}-reviewers", name=f"{name} reviewers", domain=domain, reviewers=group,
            description=f"Default inbox of the {name} domain: everything no policy routes elsewhere.",
        )
        changed.append("default_inbox")
    if domain.orchestrator_inbox_id is None:
        group, _ = Group.objects.get_or_create(name=f"{name} orchestrators")
        domain.orchestrator_inbox = inbox_create(
            slug=f"{domain.slug}-orchestrators", name=f"{name} orchestrators", domain=domain, reviewers=group,
            level=Level.DOMAIN, description=f"The {name} domain orchestrator: escalations and what reviewers "
                                            "may not decide alone.",
        )
        changed.append("orchestrator_inbox")
    if changed:
        domain.save(update_fields=changed)
    return domain


def enterprise_inbox():
    """The enterprise governance board's inbox (created on first use)."""
    from inbox.models import Inbox
    from inbox.services import inbox_create

    inbox = Inbox.objects.filter(level=Level.ENTERPRISE).order_by("id").first()
    if inbox is None:
        group, _ = Group.objects.get_or_create(name=ENTERPRISE_GROUP)
        inbox = inbox_create(slug="enterprise-governance", name="Enterprise governance board", domain=None,
                             reviewers=group, level=Level.ENTERPRISE,
                             description="Resource allocation, priority conflicts, policy enforcement; "
                                         "strategic changes, compliance issues and major incidents go to named humans.")
    return inbox


def level_inbox_id(domain: Domain, level: str, preferred_inbox_id: int | None = None) -> int:
    """The id of the inbox that decides at ``level`` for ``domain``: the policy's inbox (or the
    domain's default) at the agent level, the orchestrator inbox at the domain level, the board at
    the enterprise level. Missing inboxes are created."""
    if level == Level.AGENT:
        if preferred_inbox_id:
            return preferred_inbox_id
        return domain.default_inbox_id or domain_get_or_create(name=domain.name).default_inbox_id
    if level == Level.DOMAIN:
        return domain.orchestrator_inbox_id or domain_get_or_create(name=domain.name).orchestrator_inbox_id
    from .snapshot import current

    return current().enterprise_inbox_id or enterprise_inbox().pk


# --- kill switch ------------------------------------------------------------------------------------

@transaction.atomic
def agent_suspend(*, agent, by=None, reason: str) -> int:
    """Suspend ``agent`` at once: new proposals are refused (403), pending ones frozen. Returns how
    many were frozen. Recorded in the agent's and each proposal's history."""
    from inbox.lifecycle import proposals_freeze

    agent.status, agent.suspended_reason = "suspended", reason
    agent._change_reason = change_reason(f"suspended: {reason}")
    if by is not None:
        agent._history_user = by
    agent.save()
    return proposals_freeze(agent_ids=[agent.pk], frozen=True, by=by, reason=f"agent {agent.name} suspended: {reason}")


@transaction.atomic
def agent_resume(*, agent, by=None, reason: str = "") -> int:
    from inbox.lifecycle import proposals_freeze

    agent.status, agent.suspended_reason = "active", ""
    agent._change_reason = change_reason(f"resumed: {reason}" if reason else "resumed")
    if by is not None:
        agent._history_user = by
    agent.save()
    return proposals_freeze(agent_ids=[agent.pk], frozen=False, by=by, reason=f"agent {agent.name} resumed")


@transaction.atomic
def domain_suspend(*, domain: Domain, by=None, reason: str) -> int:
    """Suspend a whole domain: its agents' new proposals are refused (403) and pending ones frozen."""
    from inbox.lifecycle import proposals_freeze

    domain.is_suspended, domain.suspended_reason = True, reason
    domain._change_reason = change_reason(f"suspended: {reason}")
    if by is not None:
        domain._history_user = by
    domain.save()
    return proposals_freeze(domain=domain, frozen=True, by=by, reason=f"domain {domain.name} suspended: {reason}")


@transaction.atomic
def domain_resume(*, domain: Domain, by=None, reason: str = "") -> int:
    from inbox.lifecycle import proposals_freeze

    domain.is_suspended, domain.suspended_reason = False, ""
    domain._change_reason = change_reason(f"resumed: {reason}" if reason else "resumed")
    if by is not None:
        domain._history_user = by
    domain.save()
    return proposals_freeze(domain=domain, frozen=False, by=by, reason=f"domain {domain.name} resumed")


@transaction.atomic
def policy_update(*, policy, by, **changes):
    """Change a policy's switches (is_active, priority, quorum); versioned with who changed it."""
    for field, value in changes.items():
        setattr(policy, field, value)
    policy.updated_by = by
    policy._history_user = by
    policy._change_reason = "updated over the API: " + ", ".join(f"{k}={v}" for k, v in changes.items())
    policy.save()
    return policy

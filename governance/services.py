"""Governance services: every change to the authority structure goes through here.

Domains and their level inboxes, inboxes and who reviews them, agents and their webhook secret, the
suspension flags of agents and domains; policies, the matrix, action types and agent groups
(``governance.rulebook``); roles (``governance.roles``). Each writes inside ``transaction.atomic``;
simple-history rows carry who (``by``) and why. Django admin, the API, commands and seeding call these,
never ``Model.save`` or ``assign_perm`` themselves. Freezing the proposals of a suspended agent is the
work's business: the kill switch itself (flag + freeze) is ``inbox.services.agent_suspend`` and friends.
"""
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from guardian.shortcuts import assign_perm, remove_perm

from orchestra_site.errors import InvalidInput
from orchestra_site.formats import change_reason

from . import snapshot
from .audit import changes
from .models import Agent, Domain, Inbox, Level
from .roles import (  # noqa: F401
    GLOBAL_ROLES,
    OBJECT_PERMISSIONS,
    domain_orchestrator_grant,
    domain_orchestrator_revoke,
    global_role_grant,
    global_role_revoke,
    object_permissions_set,
)
from .rulebook import (  # noqa: F401
    action_category_save,
    action_type_save,
    agent_group_save,
    authority_matrix_update,
    authority_rule_create,
    authority_rule_update,
    policy_create,
    policy_update,
)
from .tokens import agent_token_create

ENTERPRISE_GROUP = "Enterprise governance"
VIEW_INBOX = "governance.view_inbox"
DECIDE_INBOX = "governance.decide_inbox"


# --- domains and the inboxes of each level ----------------------------------------------------------

@transaction.atomic
def domain_get_or_create(*, name: str) -> Domain:
    """Return the domain called ``name`` (case-insensitive), creating it with its two inboxes:
    “<name> reviewers” (first-line review, default inbox) and “<name> orchestrators” (domain level),
    each reviewed by the group of the same name."""
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


def enterprise_inbox() -> Inbox:
    """The enterprise governance board's inbox (created on first use)."""
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
    the enterprise level. Missing inboxes are created (see ``level_inbox_lookup`` for a read-only answer)."""
    found = level_inbox_lookup(domain, level, preferred_inbox_id)
    if found:
        return found
    if level == Level.ENTERPRISE:
        return enterprise_inbox().pk
    domain = domain_get_or_create(name=domain.name)
    return domain.orchestrator_inbox_id if level == Level.DOMAIN else domain.default_inbox_id


def level_inbox_lookup(domain: Domain, level: str, preferred_inbox_id: int | None = None) -> int | None:
    """Like ``level_inbox_id`` but never writes: None when that inbox does not exist yet."""
    if level == Level.AGENT:
        return preferred_inbox_id or domain.default_inbox_id
    if level == Level.DOMAIN:
        return domain.orchestrator_inbox_id
    return snapshot.current().enterprise_inbox_id


DOMAIN_FIELDS = {"name", "slug", "description", "default_inbox", "orchestrator_inbox", "rate_limit_per_minute",
                 "daily_budget_usd"}


def _only(model, fields: dict, allowed: set[str], hint: str) -> None:
    for name in fields:
        if name not in allowed:
            raise InvalidInput(f"{name} of a {model._meta.verbose_name} is not changed here: {hint}", field=name)


@transaction.atomic
def domain_create(*, name: str, by=None, **fields) -> Domain:
    """Create a domain (``DOMAIN_FIELDS``) with its two level inboxes (see ``domain_get_or_create``)."""
    _only(Domain, fields, DOMAIN_FIELDS, "the kill switch is inbox.services.domain_suspend.")
    domain = Domain(name=name, **{"slug": slugify(name), **fields})
    domain._history_user, domain._change_reason = by, "created"
    domain.save()
    changes.configuration_change(f"domain {domain.slug} created", by=by, domain=domain.slug, status="created")
    return domain_get_or_create(name=domain.name)


@transaction.atomic
def domain_update(*, domain: Domain, by, reason: str = "", **fields) -> Domain:
    """Change a domain's name, description, inboxes or limits (not its kill switch: that is
    ``inbox.services.domain_suspend``, which also freezes proposals). Raises ``InvalidInput``."""
    _only(Domain, fields, DOMAIN_FIELDS, "the kill switch is inbox.services.domain_suspend.")
    changes.configuration_change(f"domain {domain.slug} changed: {', '.join(fields)}", by=by, domain=domain.slug,
                                 reason=reason, context={"fields": sorted(fields)})
    return _save(domain, by=by, reason=reason or "changed: " + ", ".join(fields), fields=fields)


def _save(obj, *, by, reason: str, fields: dict):
    for field, value in fields.items():
        setattr(obj, field, value)
    obj._history_user, obj._change_reason = by, change_reason(reason)
    obj.save()
    return obj


# --- inboxes and their reviewers --------------------------------------------------------------------

@transaction.atomic
def inbox_create(*, slug: str, name: str, domain: Domain | None, reviewers: Group | None = None,
                 description: str = "", level: str = Level.AGENT, by=None) -> Inbox:
    """Create an inbox at authority ``level``; its ``reviewers`` group may view it and decide in it."""
    inbox = Inbox(slug=slug, name=name, domain=domain, reviewers=reviewers, description=description, level=level)
    inbox._history_user = by
    inbox.save()
    changes.configuration_change(f"inbox {slug} created at the {level} level", by=by,
                                 domain=domain.slug if domain else "", status="created")
    if reviewers is not None:
        inbox_grant(inbox=inbox, group=reviewers, by=by)
    return inbox


@transaction.atomic
def inbox_grant(*, inbox: Inbox, group: Group | None = None, user=None, decide: bool = True, by=None) -> None:
    """Let ``group`` or ``user`` view ``inbox`` and, with ``decide``, decide its proposals (audited;
    alerted to the domain's orchestrators: it widens authority)."""
    target = group or user
    assign_perm(VIEW_INBOX, target, inbox)
    if decide:
        assign_perm(DECIDE_INBOX, target, inbox)
    what = "view and decide" if decide else "view"
    changes.permission_change(f"{what} on inbox {inbox.slug} granted to {changes.grantee(user, group)}", by=by,
                              domain=_slug(inbox.domain_id), widened=True)


@transaction.atomic
def inbox_revoke(*, inbox: Inbox, group: Group | None = None, user=None, by=None) -> None:
    """Take back from ``group`` or ``user`` both view and decide on ``inbox`` (audited)."""
    target = group or user
    remove_perm(VIEW_INBOX, target, inbox)
    remove_perm(DECIDE_INBOX, target, inbox)
    changes.permission_change(f"view and decide on inbox {inbox.slug} revoked from {changes.grantee(user, group)}",
                              by=by, domain=_slug(inbox.domain_id))


def _slug(domain_id) -> str:
    if not domain_id:
        return ""
    return Domain.objects.filter(pk=domain_id).values_list("slug", flat=True).first() or ""


@transaction.atomic
def inbox_update(*, inbox: Inbox, by=None, reviewers: Group | None = ..., **fields) -> Inbox:
    """Change an inbox's fields and, with ``reviewers``, the group that reviews it: the old group loses
    view and decide there, the new one gains them, in one transaction (Django admin calls this too)."""
    old_reviewers_id = Inbox.objects.filter(pk=inbox.pk).values_list("reviewers_id", flat=True).first()
    for field, value in fields.items():
        setattr(inbox, field, value)
    if reviewers is not ...:
        inbox.reviewers = reviewers
    if by is not None:
        inbox._history_user = by
    inbox.save()
    if reviewers is not ... and old_reviewers_id != inbox.reviewers_id:
        if old_reviewers_id:
            inbox_revoke(inbox=inbox, group=Group.objects.get(pk=old_reviewers_id), by=by)
        if inbox.reviewers_id:
            inbox_grant(inbox=inbox, group=inbox.reviewers, by=by)
    if fields:
        changes.configuration_change(f"inbox {inbox.slug} changed: {', '.join(fields)}", by=by,
                                     domain=_slug(inbox.domain_id), context={"fields": sorted(fields)})
    return inbox


# --- agents -----------------------------------------------------------------------------------------

def new_webhook_secret() -> str:
    return secrets.token_hex(32)


@transaction.atomic
def agent_create(*, name: str, domain: Domain, team: str = "", owner=None, by=None, **limits) -> tuple[Agent, str]:
    """Create an active agent with a first token; returns (agent, plain token shown once).
    ``limits``: ``rate_limit_per_minute``, ``daily_budget_usd`` (USD), ``approved_tools``."""
    agent = Agent(name=name, domain=domain, team=team, owner=owner, webhook_secret=new_webhook_secret(), **limits)
    if by is not None:
        agent._history_user = by
    agent.save()
    changes.configuration_change(f"agent {agent.name} created", by=by, domain=domain.slug, status="created",
                                 widened=bool(agent.approved_tools),
                                 context={"approved_tools": agent.approved_tools, "owner": str(owner or "")})
    _, raw = agent_token_create(agent=agent, name="initial")
    return agent, raw


AGENT_FIELDS = {"name", "team", "domain", "owner", "rate_limit_per_minute", "daily_budget_usd", "approved_tools"}


@transaction.atomic
def agent_update(*, agent: Agent, by, reason: str = "", **fields) -> Agent:
    """Change an agent's name, team, domain, owner or limits (``AGENT_FIELDS``). Its status is the kill
    switch's (``inbox.services.agent_suspend``), its secret ``agent_webhook_secret_rotate``'s, its tokens
    ``governance.tokens``'; naming them raises ``InvalidInput``."""
    _only(Agent, fields, AGENT_FIELDS, "use the kill switch, the token services or the secret rotation.")
    new_tools = sorted(set(fields.get("approved_tools") or []) - set(agent.approved_tools or []))
    before = {name: getattr(agent, name) for name in fields}
    _save(agent, by=by, reason=reason or "changed: " + ", ".join(fields), fields=fields)
    changes.configuration_change(
        f"agent {agent.name} changed: {', '.join(fields)}" + (f" (new approved tools: {', '.join(new_tools)})"
                                                            if new_tools else ""),
        by=by, domain=agent.domain.slug, widened=bool(new_tools), reason=reason,
        context={name: {"from": str(before[name]), "to": str(fields[name])} for name in fields})
    return agent


@transaction.atomic
def agent_webhook_secret_rotate(*, agent: Agent, by, grace_seconds: float | None = None) -> Agent:
    """Give ``agent`` a new webhook secret (the HMAC key of its decision callbacks). The old one keeps
    signing, beside the new one, for ``grace_seconds`` (default ``ORCHESTRA_WEBHOOK_SECRET_GRACE_SECONDS``;
    0 = not at all), so the agent's receiver can move to the new secret meanwhile
    (``governance.webhook_secrets``). The history row and the audit trail say who rotated it, never the
    secrets. Raises ``InvalidInput`` for a negative grace period."""
    grace = settings.ORCHESTRA_WEBHOOK_SECRET_GRACE_SECONDS if grace_seconds is None else grace_seconds
    if grace < 0:
        raise InvalidInput("The grace period cannot be negative.", field="grace_seconds")
    until = timezone.now() + timedelta(seconds=grace) if grace else None
    changes.configuration_change(
        f"agent {agent.name}'s webhook secret rotated", by=by, domain=agent.domain.slug,
        reason=f"previous secret still signs until {until.isoformat(timespec='seconds')}" if until
        else "previous secret no longer signs")
    return _save(agent, by=by, reason="webhook secret rotated",
                 fields={"webhook_secret": new_webhook_secret(), "webhook_secret_previous": agent.webhook_secret,
                         "webhook_secret_previous_until": until})


@transaction.atomic
def agent_set_suspended(*, agent: Agent, suspended: bool, reason: str = "", by=None) -> Agent:
    """Flip the agent's kill-switch flag, recorded in its history with who and why. Freezing its
    pending proposals is the caller's (``inbox.services.agent_suspend``)."""
    agent.status = Agent.Status.SUSPENDED if suspended else Agent.Status.ACTIVE
    agent.suspended_reason = reason if suspended else ""
    verb = "suspended" if suspended else "resumed"
    agent._change_reason = change_reason(f"{verb}: {reason}" if reason else verb)
    if by is not None:
        agent._history_user = by
    agent.save()
    changes.kill_switch(f"agent {agent.name} {verb}", by=by, domain=agent.domain.slug, suspended=suspended,
                        reason=reason)
    return agent


@transaction.atomic
def domain_set_suspended(*, domain: Domain, suspended: bool, reason: str = "", by=None) -> Domain:
    """Flip the domain's kill-switch flag, recorded in its history with who and why."""
    domain.is_suspended, domain.suspended_reason = suspended, (reason if suspended else "")
    verb = "suspended" if suspended else "resumed"
    domain._change_reason = change_reason(f"{verb}: {reason}" if reason else verb)
    if by is not None:
        domain._history_user = by
    domain.save()
    changes.kill_switch(f"domain {domain.slug} {verb}", by=by, domain=domain.slug, suspended=suspended,
                        reason=reason)
    return domain

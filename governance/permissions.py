"""Who may govern: the one place that answers "may this user do this to this governance object".

Operations on proposals and inboxes (view, decide, escalate) are answered by ``inbox.permissions``;
this module answers the rest (suspend, edit policy, view governance, dry-run) and ``may`` answers
every operation for any principal, so callers and the authorization test need one door.
"""
from django.db.models import QuerySet
from guardian.shortcuts import get_objects_for_user

from inbox import permissions as inbox_permissions
from inbox.models import Agent, Inbox, Proposal

from .models import Domain

ENTERPRISE = "governance.enterprise_governance"
AUDIT = "governance.audit"


def _user(principal):
    return principal if inbox_permissions.is_reviewer(principal) else None


SUSPEND_DOMAIN = "governance.suspend_domain"
SUSPEND_AGENT = "inbox.suspend_agent"


def can_suspend_domain(principal, domain: Domain) -> bool:
    """Domain orchestrators (their own domain), the enterprise board, holders of ``suspend_domain``."""
    user = _user(principal)
    return bool(user) and (user.has_perm(ENTERPRISE) or user.has_perm(SUSPEND_DOMAIN)
                           or inbox_permissions.object_checker(user).has_perm(SUSPEND_DOMAIN, domain)
                           or inbox_permissions.orchestrates(user, domain.pk))


def can_suspend_agent(principal, agent: Agent) -> bool:
    user = _user(principal)
    return bool(user) and (user.has_perm(SUSPEND_AGENT) or can_suspend_domain(user, agent.domain))


def domains_to_switch(principal) -> QuerySet[Domain]:
    """The queryset form of the two rules above: domains whose kill switch ``principal`` may pull, or
    some of whose agents ``principal`` may suspend (with a global ``suspend_agent``: all of them)."""
    user = _user(principal)
    if not user:
        return Domain.objects.none()
    if user.is_superuser or any(user.has_perm(p) for p in (ENTERPRISE, SUSPEND_DOMAIN, SUSPEND_AGENT)):
        return Domain.objects.all()
    mine = get_objects_for_user(user, [inbox_permissions.ORCHESTRATE, SUSPEND_DOMAIN], klass=Domain, any_perm=True,
                                accept_global_perms=True)
    return Domain.objects.filter(pk__in=mine.values("pk"))


def can_edit_policy(principal) -> bool:
    """Admins only: superusers or staff holding ``governance.change_policy``."""
    user = _user(principal)
    return bool(user) and user.is_staff and user.has_perm("governance.change_policy")


def can_view_governance(principal) -> bool:
    """Policies and dry-runs: auditors, the board, domain orchestrators and admins."""
    user = _user(principal)
    if not user:
        return False
    return (user.has_perm(AUDIT) or user.has_perm(ENTERPRISE) or user.has_perm("governance.view_policy")
            or inbox_permissions.inboxes_for(user).filter(level__in=["domain", "enterprise"]).exists())


def may(principal, operation: str, obj=None) -> bool:
    """Answer ``operation`` (view, decide, escalate, suspend, edit_policy, view_governance) on ``obj``."""
    if operation == "edit_policy":
        return can_edit_policy(principal)
    if operation == "view_governance":
        return can_view_governance(principal)
    if operation == "suspend":
        if isinstance(obj, Domain):
            return can_suspend_domain(principal, obj)
        return isinstance(obj, Agent) and can_suspend_agent(principal, obj)
    inbox = obj.inbox if isinstance(obj, Proposal) else obj
    if isinstance(obj, Proposal) and isinstance(principal, Agent):
        return operation == "view" and obj.agent_id == principal.pk
    if not isinstance(inbox, Inbox):
        return False
    checks = {"view": inbox_permissions.can_view, "decide": inbox_permissions.can_decide,
              "escalate": inbox_permissions.can_escalate}
    return operation in checks and inbox_permissions.is_reviewer(principal) and checks[operation](principal, inbox)

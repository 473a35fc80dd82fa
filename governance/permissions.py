"""Who may do what: the one place of Orchestra that asks django-guardian.

Principals are Django users (reviewers, with a session or a personal token) and ``Agent`` objects
(with an agent token). Every view, API route, consumer, admin page and task goes through these
functions (``inbox.permissions`` adds the proposal-level answers on top). Lookups raise ``NotFound``
(404) for missing and forbidden objects alike, so ids and names cannot be probed.

Roles and the permissions that carry them (django-guardian object permissions, or global ones):
- reviewer of an inbox: ``governance.view_inbox`` + ``governance.decide_inbox`` on that Inbox (via its group);
- orchestrator of a domain: ``governance.orchestrate_domain`` on the Domain: view, decide and
  escalate in every inbox of the domain, pull the domain's kill switch;
- enterprise governance: global ``governance.enterprise_governance``: view everything, suspend
  anything; decides in the board's inbox through that inbox's group;
- auditor: global ``governance.view_inbox`` (+ ``governance.audit``): read-only everywhere;
- admin: superuser, or staff with the model permissions Django admin checks.
"""
from django.contrib.auth.models import AbstractBaseUser, Permission
from django.db.models import Exists, Q, QuerySet
from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import get_objects_for_user

from orchestra_site.errors import Forbidden, NotFound

from .audit.selectors import alerts_in_scope
from .models import Agent, Domain, Inbox, Level

VIEW = "governance.view_inbox"
DECIDE = "governance.decide_inbox"
ORCHESTRATE = "governance.orchestrate_domain"
ENTERPRISE = "governance.enterprise_governance"
AUDIT = "governance.audit"
SUSPEND_DOMAIN = "governance.suspend_domain"
SUSPEND_AGENT = "governance.suspend_agent"


def is_reviewer(principal) -> bool:
    return isinstance(principal, AbstractBaseUser) and principal.is_authenticated and principal.is_active


def _user(principal):
    return principal if is_reviewer(principal) else None


def require_agent(principal) -> Agent:
    """The calling agent, or ``Forbidden`` for reviewers' tokens and suspended agents."""
    if not isinstance(principal, Agent):
        raise Forbidden("This route takes an agent token.", code="agent_required")
    if not principal.is_active:
        raise Forbidden(f"Agent {principal.name} is suspended.", code="agent_suspended")
    return principal


def require_reviewer(principal):
    """The calling reviewer, or ``Forbidden`` for agents' tokens."""
    if not is_reviewer(principal):
        raise Forbidden("This route takes a reviewer's personal token.", code="reviewer_required")
    return principal


# --- inboxes ----------------------------------------------------------------------------------------

def _holds_globally(user, perm: str) -> Exists:
    """SQL: ``user`` holds the global (model-level) permission ``perm``, directly or through a group.

    An uncorrelated EXISTS, so "may see every inbox" costs no query of its own before the real one
    (``user.has_perm`` would load the user's and the groups' permissions first: two queries)."""
    app_label, codename = perm.split(".", 1)
    held = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    return Exists(held.filter(Q(user=user) | Q(group__user=user)))


def inboxes_for(user, *, for_decision: bool = False) -> QuerySet[Inbox]:
    """Inboxes ``user`` may view (or decide in): a lazy queryset, usable as a subquery.

    Evaluating it (or a queryset filtered on it) is one SQL statement whatever the number of inboxes
    and grants: object permissions (guardian, user and group), orchestrated domains and global
    permissions are all subqueries. Superusers see and decide everywhere."""
    if not is_reviewer(user):
        return Inbox.objects.none()
    if user.is_superuser:
        return Inbox.objects.all()
    perm = DECIDE if for_decision else VIEW
    everywhere = Q(_holds_globally(user, perm)) | Q(_holds_globally(user, ORCHESTRATE))
    if not for_decision:
        everywhere |= Q(_holds_globally(user, ENTERPRISE))
    granted = get_objects_for_user(user, perm, klass=Inbox, accept_global_perms=False)
    orchestrated = get_objects_for_user(user, ORCHESTRATE, klass=Domain, accept_global_perms=False)
    return Inbox.objects.filter(everywhere | Q(pk__in=granted.values("pk")) | Q(domain__in=orchestrated.values("pk")))


def object_checker(user) -> ObjectPermissionChecker:
    """One guardian checker per user object (one request): it loads a user's object permissions on
    an object once (user and group rows), so "view, then decide" on an inbox costs two queries, not four.
    Every object-permission check of Orchestra goes through it."""
    checker = getattr(user, "_orchestra_checker", None)
    if checker is None:
        checker = user._orchestra_checker = ObjectPermissionChecker(user)
    return checker


def orchestrates(user, domain_id) -> bool:
    if not is_reviewer(user) or domain_id is None:
        return False
    return user.has_perm(ORCHESTRATE) or object_checker(user).has_perm(ORCHESTRATE, Domain(pk=domain_id))


def _has(user, perm: str, inbox: Inbox) -> bool:
    # A global permission (auditors, admins) counts for every inbox, as in ``inboxes_for``.
    return is_reviewer(user) and (user.has_perm(perm) or object_checker(user).has_perm(perm, inbox)
                                  or orchestrates(user, inbox.domain_id))


def can_decide(user, inbox: Inbox) -> bool:
    return _has(user, DECIDE, inbox)


def can_view(user, inbox: Inbox) -> bool:
    return _has(user, VIEW, inbox) or (is_reviewer(user) and user.has_perm(ENTERPRISE))


def can_escalate(user, inbox: Inbox) -> bool:
    """Escalating by hand is for those who may decide in the proposal's current inbox."""
    return can_decide(user, inbox)


def access_inbox(user, inbox_id: int | None = None, *, slug: str | None = None, for_decision: bool = False) -> Inbox:
    """The inbox with ``inbox_id`` (or ``slug``) if ``user`` may view it (or decide in it); else ``NotFound``."""
    lookup = {"pk": inbox_id} if slug is None else {"slug": slug}
    inbox = Inbox.objects.filter(**lookup).first()
    if inbox is None or not can_view(user, inbox) or (for_decision and not can_decide(user, inbox)):
        raise NotFound("No such inbox.")
    return inbox


# --- the kill switch --------------------------------------------------------------------------------

def can_suspend_domain(principal, domain: Domain) -> bool:
    """Domain orchestrators (their own domain), the enterprise board, holders of ``suspend_domain``."""
    user = _user(principal)
    return bool(user) and (user.has_perm(ENTERPRISE) or user.has_perm(SUSPEND_DOMAIN)
                           or object_checker(user).has_perm(SUSPEND_DOMAIN, domain)
                           or orchestrates(user, domain.pk))


def can_suspend_agent(principal, agent: Agent) -> bool:
    user = _user(principal)
    return bool(user) and (user.has_perm(SUSPEND_AGENT) or can_suspend_domain(user, agent.domain))


def access_agent_to_suspend(principal, name: str) -> Agent:
    """The agent called ``name`` if ``principal`` may suspend or resume it; ``NotFound`` when it does
    not exist or ``principal`` may not touch it (alike, so names cannot be probed); agents' tokens
    get ``Forbidden`` whatever the name."""
    require_reviewer(principal)
    agent = Agent.objects.select_related("domain").filter(name=name).first()
    if agent is None or not can_suspend_agent(principal, agent):
        raise NotFound("No such agent.")
    return agent


def access_domain_to_suspend(principal, slug: str) -> Domain:
    """The domain ``slug`` if ``principal`` may pull its kill switch; else ``NotFound`` (see above)."""
    require_reviewer(principal)
    domain = Domain.objects.filter(slug=slug).first()
    if domain is None or not can_suspend_domain(principal, domain):
        raise NotFound("No such domain.")
    return domain


def domains_to_switch(principal) -> QuerySet[Domain]:
    """The queryset form of the two rules above: domains whose kill switch ``principal`` may pull, or
    some of whose agents ``principal`` may suspend (with a global ``suspend_agent``: all of them)."""
    user = _user(principal)
    if not user:
        return Domain.objects.none()
    if user.is_superuser or any(user.has_perm(p) for p in (ENTERPRISE, SUSPEND_DOMAIN, SUSPEND_AGENT)):
        return Domain.objects.all()
    mine = get_objects_for_user(user, [ORCHESTRATE, SUSPEND_DOMAIN], klass=Domain, any_perm=True,
                                accept_global_perms=True)
    return Domain.objects.filter(pk__in=mine.values("pk"))


def can_suspend_some_agent(principal) -> bool:
    """May ``principal`` suspend at least one agent (offer the action; each agent is then asked
    ``can_suspend_agent``)?"""
    return domains_to_switch(principal).exists()


def can_suspend_some_domain(principal) -> bool:
    """May ``principal`` pull at least one domain's kill switch (each is then asked ``can_suspend_domain``)?"""
    user = _user(principal)
    if not user:
        return False
    if user.is_superuser or user.has_perm(ENTERPRISE) or user.has_perm(SUSPEND_DOMAIN):
        return True
    return get_objects_for_user(user, [ORCHESTRATE, SUSPEND_DOMAIN], klass=Domain, any_perm=True,
                                accept_global_perms=False).exists()


# --- policies ---------------------------------------------------------------------------------------

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
            or inboxes_for(user).filter(level__in=[Level.DOMAIN, Level.ENTERPRISE]).exists())


def may(principal, operation: str, obj=None) -> bool:
    """Answer a governance ``operation`` (suspend, edit_policy, view_governance, and view / decide /
    escalate on an Inbox) on ``obj``. ``inbox.permissions.may`` adds proposals on top."""
    if operation == "edit_policy":
        return can_edit_policy(principal)
    if operation == "view_governance":
        return can_view_governance(principal)
    if operation == "view_audit":
        scope = audit_domains(principal)
        return scope is None or bool(scope)
    if operation == "suspend":
        if isinstance(obj, Domain):
            return can_suspend_domain(principal, obj)
        return isinstance(obj, Agent) and can_suspend_agent(principal, obj)
    if not isinstance(obj, Inbox) or not is_reviewer(principal):
        return False
    checks = {"view": can_view, "decide": can_decide, "escalate": can_escalate}
    return operation in checks and checks[operation](principal, obj)


# --- the audit trail ----------------------------------------------------------------------------------

def audit_domains(principal) -> set[str] | None:
    """Domains (slugs) whose audit events ``principal`` may read: None means all of them (auditors,
    the enterprise board, superusers, global orchestrators), an empty set none (agents, reviewers who
    orchestrate no domain). Domain orchestrators read their domains' events."""
    user = _user(principal)
    if not user:
        return set()
    if user.is_superuser or user.has_perm(AUDIT) or user.has_perm(ENTERPRISE) or user.has_perm(ORCHESTRATE):
        return None
    return set(get_objects_for_user(user, ORCHESTRATE, klass=Domain, accept_global_perms=False)
               .values_list("slug", flat=True))


def access_audit(principal) -> set[str] | None:
    """``audit_domains``, or ``NotFound`` when ``principal`` may read no audit event at all."""
    scope = audit_domains(principal)
    if scope is not None and not scope:
        raise NotFound("No such page.")
    return scope


def access_alert(principal, alert_id: int):
    """The alert if ``principal`` may see it (its domain is in their audit scope); else ``NotFound``."""
    alert = alerts_in_scope(access_audit(principal)).filter(pk=alert_id).first()
    if alert is None:
        raise NotFound("No such alert.")
    return alert

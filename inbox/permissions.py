"""Who may see and decide what: the only module of the inbox app that asks django-guardian.

Principals are Django users (reviewers, with a session or a personal token) and ``Agent`` objects
(with an agent token). Every view, API route and WebSocket consumer goes through these functions.
Missing and forbidden objects both raise ``NotFound`` (404), so ids cannot be probed.

Roles and the permissions that carry them (django-guardian object permissions, or global ones):
- reviewer of an inbox: ``inbox.view_inbox`` + ``inbox.decide_inbox`` on that Inbox (via its group);
- orchestrator of a domain: ``governance.orchestrate_domain`` on the Domain: view, decide and
  escalate in every inbox of the domain;
- enterprise governance: global ``governance.enterprise_governance``: view everything; decides in the
  board's inbox through that inbox's group;
- auditor: global ``inbox.view_inbox`` (+ ``governance.audit``): read-only everywhere;
- admin: superuser, or staff with the model permissions Django admin checks.
"""
from django.contrib.auth.models import AbstractBaseUser, Permission
from django.db.models import Exists, Q, QuerySet
from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import get_objects_for_user

from governance.models import Domain
from orchestra_site.errors import Forbidden, NotFound

from .models import Agent, Inbox, Proposal

VIEW = "inbox.view_inbox"
DECIDE = "inbox.decide_inbox"
ORCHESTRATE = "governance.orchestrate_domain"
ENTERPRISE = "governance.enterprise_governance"


def is_reviewer(principal) -> bool:
    return isinstance(principal, AbstractBaseUser) and principal.is_authenticated and principal.is_active


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
    Every object-permission check of Orchestra goes through it (``governance.permissions`` too)."""
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


def access_inbox(user, inbox_id: int, *, for_decision: bool = False) -> Inbox:
    """The inbox ``inbox_id`` if ``user`` may view it (or decide in it); else ``NotFound``."""
    inbox = Inbox.objects.filter(pk=inbox_id).first()
    if inbox is None or not can_view(user, inbox) or (for_decision and not can_decide(user, inbox)):
        raise NotFound("No such inbox.")
    return inbox


def access_proposal(principal, proposal_id, *, for_decision: bool = False) -> Proposal:
    """The proposal if ``principal`` may see it (or decide it); else ``NotFound``.

    Agents see only their own proposals and never decide (``Forbidden``). Reviewers see proposals
    of inboxes they may view; deciding needs ``decide_inbox`` on the proposal's inbox.
    """
    proposal = (
        Proposal.objects.select_related("agent", "inbox", "decided_by", "policy").filter(pk=proposal_id).first()
    )
    if proposal is None:
        raise NotFound("No such proposal.")
    if isinstance(principal, Agent):
        if proposal.agent_id != principal.pk:
            raise NotFound("No such proposal.")
        if for_decision:
            raise Forbidden("Agents cannot decide proposals; use a reviewer's token.", code="reviewer_required")
        return proposal
    if not is_reviewer(principal) or proposal.inbox is None or not can_view(principal, proposal.inbox):
        raise NotFound("No such proposal.")
    if for_decision and not can_decide(principal, proposal.inbox):
        raise Forbidden("You may view this inbox but not decide in it.", code="decide_forbidden")
    return proposal


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

"""Read side of governance for the web pages: which domains and agents a user may switch off."""
from django.db.models import Count, Prefetch, Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from inbox import permissions as inbox_permissions
from inbox.models import Agent, Proposal

from .models import Domain


def domains_for_kill_switch(user) -> QuerySet[Domain]:
    """Domains whose kill switch ``user`` may pull (or some of whose agents ``user`` may suspend),
    each with its agents prefetched and annotated with ``frozen_count`` (pending proposals frozen).

    The rule is ``governance.permissions.can_suspend_domain`` / ``can_suspend_agent``: domain
    orchestrators see their own domains; the board, holders of the global ``suspend_domain`` or
    ``inbox.suspend_agent`` and superusers see all."""
    if not inbox_permissions.is_reviewer(user):
        return Domain.objects.none()
    agents = Prefetch("agents", queryset=Agent.objects.annotate(
        frozen_count=Count("proposals", filter=Q(proposals__is_frozen=True, proposals__status=Proposal.Status.PENDING))
    ).order_by("name"))
    domains = Domain.objects.prefetch_related(agents).order_by("name")
    if user.is_superuser or any(user.has_perm(p) for p in (
            "governance.enterprise_governance", "governance.suspend_domain", "inbox.suspend_agent")):
        return domains
    mine = get_objects_for_user(user, ["governance.orchestrate_domain", "governance.suspend_domain"],
                                klass=Domain, any_perm=True, accept_global_perms=True)
    return domains.filter(pk__in=mine.values("pk"))

"""Read side of governance for the web pages: which domains and agents a user may switch off."""
from django.db.models import Count, Prefetch, Q, QuerySet

from inbox.models import Agent, Proposal

from .models import Domain
from .permissions import domains_to_switch


def domains_for_kill_switch(user) -> QuerySet[Domain]:
    """Domains whose kill switch ``user`` may pull (or some of whose agents ``user`` may suspend),
    each with its agents prefetched and annotated with ``frozen_count`` (pending proposals frozen).

    Which domains is ``governance.permissions.domains_to_switch``' business."""
    agents = Prefetch("agents", queryset=Agent.objects.annotate(
        frozen_count=Count("proposals", filter=Q(proposals__is_frozen=True, proposals__status=Proposal.Status.PENDING))
    ).order_by("name"))
    return domains_to_switch(user).prefetch_related(agents).order_by("name")

"""Read side of the inbox app: querysets, each one SQL query however many inboxes are involved."""
from django.db.models import Count, Prefetch, Q, QuerySet, prefetch_related_objects

from governance.models import Agent, Domain, Inbox

from .models import Proposal, Vote
from .permissions import inboxes_for

PROPOSAL_RELATED = ("agent", "inbox", "decided_by", "policy")


def proposals_for_reviewer(user, *, for_decision: bool = False, status: str | None = None) -> QuerySet[Proposal]:
    """Proposals in the inboxes ``user`` may view (or decide in), newest first. One query: the
    permitted inboxes are a subquery, not a list fetched first."""
    qs = Proposal.objects.filter(inbox__in=inboxes_for(user, for_decision=for_decision))
    if status:
        qs = qs.filter(status=status)
    return qs.select_related(*PROPOSAL_RELATED).order_by("-created_at")


def with_votes(qs: QuerySet[Proposal]) -> QuerySet[Proposal]:
    """``qs`` with each proposal's votes and their reviewers prefetched (one more query per page, not
    one per proposal): the API shows every vote in a decision."""
    return qs.prefetch_related(Prefetch("votes", queryset=Vote.objects.select_related("reviewer")))


def load_votes(p: Proposal) -> None:
    """Fetch ``p``'s votes and their reviewers now (one query), e.g. before rendering it in async code."""
    prefetch_related_objects([p], Prefetch("votes", queryset=Vote.objects.select_related("reviewer")))


def votes_of(p: Proposal) -> list:
    """``p``'s votes, oldest first, with their reviewers: prefetched ones (``with_votes``), else one query."""
    if "votes" in getattr(p, "_prefetched_objects_cache", {}):
        return list(p.votes.all())
    return list(p.votes.select_related("reviewer").order_by("created_at", "id"))


def proposals_in_batch(p: Proposal) -> QuerySet[Proposal]:
    """The other proposals of ``p``'s batch (same agent, same ``batch``), oldest first; none without one."""
    if not p.batch:
        return Proposal.objects.none()
    return (Proposal.objects.filter(agent_id=p.agent_id, batch=p.batch).exclude(pk=p.pk)
            .select_related(*PROPOSAL_RELATED).order_by("created_at"))


def batch_for(p: Proposal, user) -> tuple[list[Proposal], int]:
    """The other proposals of ``p``'s batch that ``user`` may view (oldest first), and how many more
    there are in inboxes they may not see. One query each."""
    others = proposals_in_batch(p)
    visible = list(others.filter(inbox__in=inboxes_for(user)))
    return visible, (others.count() - len(visible)) if p.batch else 0


def batches_together(proposals) -> list[Proposal]:
    """``proposals`` (evaluated) in their order, except that the members of a batch (same agent and
    ``batch``) follow the first of them, so that a batch is shown together."""
    groups: dict = {}
    for p in proposals:
        groups.setdefault((p.agent_id, p.batch) if p.batch else p.pk, []).append(p)
    return [p for group in groups.values() for p in group]


def proposals_for_agent(agent, *, status: str | None = None) -> QuerySet[Proposal]:
    qs = Proposal.objects.filter(agent=agent)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related(*PROPOSAL_RELATED).order_by("-created_at")


def inbox_pending(inbox: Inbox, *, order: str = "newest") -> QuerySet[Proposal]:
    """Pending proposals of one inbox: ``order`` is ``newest`` or ``urgent`` (risk, then expiry)."""
    from django.db.models import Case, IntegerField, Value, When

    qs = Proposal.objects.filter(inbox=inbox, status=Proposal.Status.PENDING).select_related(*PROPOSAL_RELATED)
    qs = qs.annotate(approved_conflict=_has_approved_conflict())
    if order == "urgent":
        rank = Case(
            When(risk="critical", then=Value(0)), When(risk="high", then=Value(1)),
            When(risk="medium", then=Value(2)), default=Value(3), output_field=IntegerField(),
        )
        return qs.annotate(risk_rank=rank).order_by("risk_rank", "expires_at", "-created_at")
    return qs.order_by("-created_at")


def inboxes_with_pending_counts(user) -> QuerySet[Inbox]:
    """The inboxes ``user`` may view, each annotated with ``pending_count``."""
    return inboxes_for(user).annotate(
        pending_count=Count("proposals", filter=Q(proposals__status=Proposal.Status.PENDING))
    ).order_by("name")


def pending_count(inbox_id: int) -> int:
    return Proposal.objects.filter(inbox_id=inbox_id, status=Proposal.Status.PENDING).count()


def user_tokens(user) -> QuerySet:
    """``user``'s personal API tokens, newest first (the profile page; revoking looks up here)."""
    from governance.models import ApiToken

    return ApiToken.objects.filter(user=user).order_by("-created_at")


def conflicts_for(proposal: Proposal, user) -> tuple[list[Proposal], int]:
    """The proposals marked as conflicting with ``proposal`` (same resource, other agents), split
    into those ``user`` may view (newest first, ready to show side by side) and how many others sit
    in inboxes ``user`` may not see (counted, never shown)."""
    related = proposal.conflicts_with.all()
    visible = list(related.filter(inbox__in=inboxes_for(user)).select_related(*PROPOSAL_RELATED)
                   .order_by("-created_at"))
    return visible, related.count() - len(visible)


APPROVED = (Proposal.Status.APPROVED, Proposal.Status.EDITED)


def _has_approved_conflict():
    """SQL: the row is linked as conflicting with an approved proposal (a correlated EXISTS on the
    link table's index, so the inbox page stays one query)."""
    from django.db.models import Exists, OuterRef

    links = Proposal.conflicts_with.through.objects
    return Exists(links.filter(from_proposal=OuterRef("pk"), to_proposal__status__in=APPROVED))


def approved_conflicts(proposal: Proposal, user) -> list[Proposal]:
    """The proposals linked as conflicting with ``proposal`` that were approved (most recent first),
    each with ``visible``: whether ``user`` may view it (the page links only those; for the others it
    says an approved rival sits in an inbox ``user`` may not see). One query."""
    from django.db.models import Exists, OuterRef

    may_view = Exists(inboxes_for(user).filter(pk=OuterRef("inbox_id")))
    return list(proposal.conflicts_with.filter(status__in=APPROVED).select_related("decided_by")
                .annotate(visible=may_view).order_by("-decided_at"))


def pending_rivals(p: Proposal) -> QuerySet[Proposal]:
    """Pending proposals of other agents on ``p``'s resource: by definition, those in conflict with it."""
    return Proposal.objects.filter(resource=p.resource, status=Proposal.Status.PENDING).exclude(
        agent_id=p.agent_id).exclude(pk=p.pk)


def domains_for_kill_switch(user) -> QuerySet[Domain]:
    """Domains whose kill switch ``user`` may pull (or some of whose agents ``user`` may suspend),
    each with its agents prefetched and annotated with ``frozen_count`` (pending proposals frozen).

    Which domains is ``governance.permissions.domains_to_switch``' business."""
    from governance.permissions import domains_to_switch

    agents = Prefetch("agents", queryset=Agent.objects.annotate(
        frozen_count=Count("proposals", filter=Q(proposals__is_frozen=True, proposals__status=Proposal.Status.PENDING))
    ).order_by("name"))
    return domains_to_switch(user).prefetch_related(agents).order_by("name")


def proposal_by_id(proposal_id) -> Proposal:
    """One proposal with what the API shows of it (agent, inbox, decider, policy): one query by
    primary key. Raises ``Proposal.DoesNotExist``. No access check: callers have made it."""
    return Proposal.objects.select_related(*PROPOSAL_RELATED).get(pk=proposal_id)

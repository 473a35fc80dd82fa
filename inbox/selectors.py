"""Read side of the inbox app: querysets, each one SQL query however many inboxes are involved."""
from django.db.models import Count, Prefetch, Q, QuerySet, prefetch_related_objects

from governance.models import Agent, Domain, Inbox

from .models import Proposal, Vote
from .permissions import inboxes_for

PROPOSAL_RELATED = ("agent", "inbox", "decided_by", "policy")


def _inboxes_of(user, *, for_decision: bool = False) -> QuerySet[Inbox]:
    """``permissions.inboxes_for``, built once per user object (a request's ``request.user``): a page
    such as My work or the home uses it in several selectors, and building it costs Python time. The
    queryset stays lazy (a subquery evaluated by each query that uses it), so it answers for the
    permissions held when each query runs."""
    cache = getattr(user, "_orchestra_inboxes", None)
    if cache is None:
        cache = {}
        if user is not None and hasattr(user, "__dict__"):
            user._orchestra_inboxes = cache
    if for_decision not in cache:
        cache[for_decision] = inboxes_for(user, for_decision=for_decision)
    return cache[for_decision]


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
    """The inboxes ``user`` may view, each annotated with ``pending_count``. One query; each count is a
    correlated subquery on the partial index of pending proposals (an index-only scan of that inbox's
    pending rows), not a join and GROUP BY over every proposal of every inbox."""
    from django.db.models import Func, IntegerField, OuterRef, Subquery

    pending = (Proposal.objects.filter(inbox=OuterRef("pk"), status=Proposal.Status.PENDING).order_by()
               .annotate(n=Func("pk", function="COUNT")).values("n"))
    return _inboxes_of(user).select_related("domain").annotate(
        pending_count=Subquery(pending, output_field=IntegerField())
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


# --- inbox lists: pending and decided, filtered, searched, paginated ---------------------------------

DECIDED_STATUSES = tuple(s for s in Proposal.Status.values if s != Proposal.Status.PENDING)
LIST_STATUSES = ("pending", "decided", "all", *DECIDED_STATUSES)  # tabs, then one outcome of the decided
DEADLINES = ("overdue", "1h", "today", "none")


def deadline_expr():
    """SQL: a proposal's deadline, the earlier of its SLA (``sla_due_at``: decide by then, or it is
    escalated) and its hard expiry (``expires_at``); NULL when it has neither. Portable: LEAST of two
    COALESCEs, so a NULL on one side never hides the other (SQLite's MIN would return NULL)."""
    from django.db.models import DateTimeField
    from django.db.models.functions import Coalesce, Least

    return Least(Coalesce("sla_due_at", "expires_at"), Coalesce("expires_at", "sla_due_at"),
                 output_field=DateTimeField())


def _risk_rank():
    from django.db.models import Case, IntegerField, Value, When

    return Case(When(risk="critical", then=Value(0)), When(risk="high", then=Value(1)),
                When(risk="medium", then=Value(2)), default=Value(3), output_field=IntegerField())


def inbox_list(inbox: Inbox, *, status: str = "pending", risk: str = "", agent=None, action: str = "",
               deadline: str = "", q: str = "", order: str = "newest", now=None) -> QuerySet[Proposal]:
    """Proposals of one inbox for its list page, lazily (slice it: ``[offset:offset + n]``).

    - ``status``: ``pending``, ``decided`` (any other status), ``all``, or one decided status
      (``approved``, ``rejected``, …); ``risk``: one risk or ""; ``agent``: an ``Agent`` or None;
      ``action``: the action or a prefix of it (``deploy.`` matches every ``deploy.*``);
    - ``deadline`` (see ``deadline_expr``), relative to ``now`` (default: the current time):
      ``overdue`` (passed), ``1h`` (within the next hour), ``today`` (before the end of today, UTC,
      not passed), ``none`` (neither SLA nor expiry);
    - ``q``: words searched (case-insensitive, each word must match) in the summary or the resource;
    - ``order``: ``newest`` (pending and all: newest submitted first; decided: newest decision first)
      or ``urgent`` (risk, then the nearest deadline, then newest).

    Rows carry ``deadline``; ``page_of`` reads one page of them with what a list row shows. ``user``
    is the reader (``you_voted`` on each row of the page). The partial indexes on the inbox's pending
    and decided rows bound it to the inbox."""
    from datetime import timedelta

    from django.db.models import F
    from django.utils import timezone

    now = now or timezone.now()
    qs = Proposal.objects.filter(inbox=inbox)
    if status == "pending":
        qs = qs.filter(status=Proposal.Status.PENDING)
    elif status == "decided":
        qs = qs.exclude(status=Proposal.Status.PENDING)
    elif status in DECIDED_STATUSES:
        qs = qs.filter(status=status)
    if risk:
        qs = qs.filter(risk=risk)
    if agent is not None:
        qs = qs.filter(agent=agent)
    if action:
        qs = qs.filter(action__startswith=action)
    for word in q.split():
        qs = qs.filter(Q(summary__icontains=word) | Q(resource__icontains=word))
    qs = qs.annotate(deadline=deadline_expr())
    if deadline == "overdue":
        qs = qs.filter(deadline__lte=now)
    elif deadline == "1h":
        qs = qs.filter(deadline__gt=now, deadline__lte=now + timedelta(hours=1))
    elif deadline == "today":
        end = now.astimezone(timezone.get_current_timezone()).replace(hour=0, minute=0, second=0, microsecond=0)
        qs = qs.filter(deadline__gt=now, deadline__lt=end + timedelta(days=1))
    elif deadline == "none":
        qs = qs.filter(sla_due_at__isnull=True, expires_at__isnull=True)
    decided_view = status != "pending" and status != "all"
    if order == "urgent":
        return qs.annotate(risk_rank=_risk_rank()).order_by(
            "risk_rank", F("deadline").asc(nulls_last=True), "-created_at")
    if decided_view:
        return qs.order_by("-decided_at", "-created_at")  # the partial index (inbox, -decided_at)
    return qs.order_by("-created_at")


def list_rows(qs: QuerySet[Proposal], user=None) -> QuerySet[Proposal]:
    """``qs`` with what a list row shows: agent, inbox, decider and policy, ``approved_conflict``,
    ``has_approval`` (an approval or edit vote is in: waiting for another approver) and, with
    ``user``, ``you_voted``."""
    from django.db.models import Exists, OuterRef

    votes = Vote.objects.filter(proposal=OuterRef("pk"))
    qs = qs.select_related(*PROPOSAL_RELATED).annotate(
        approved_conflict=_has_approved_conflict(),
        has_approval=Exists(votes.filter(verdict__in=("approve", "edit"))),
    )
    if user is not None:
        qs = qs.annotate(you_voted=Exists(votes.filter(reviewer=user)))
    return qs


def page_of(qs: QuerySet[Proposal], offset: int, limit: int, *, user=None) -> list[Proposal]:
    """Rows ``offset`` to ``offset + limit`` of ordered ``qs``, decorated by ``list_rows``. Two
    queries: the page's ids in order (the sort reads the proposal table alone, however many rows
    match), then those rows with their joins and per-row checks (only ``limit`` of them)."""
    ids = list(qs.values_list("pk", flat=True)[offset:offset + limit])
    rows = {p.pk: p for p in list_rows(qs.filter(pk__in=ids), user).order_by()} if ids else {}
    return [rows[pk] for pk in ids if pk in rows]


def count_upto(qs: QuerySet, cap: int) -> int:
    """How many rows ``qs`` has, counting no further than ``cap + 1`` (``COUNT`` over a ``LIMIT``ed
    subquery), so that a huge list costs a bounded count. A result above ``cap`` means "more than cap"."""
    return qs.order_by().values("pk")[:cap + 1].count()


def agent_by_name(name: str):
    """The ``Agent`` called ``name``, or None (one query on a unique index)."""
    return Agent.objects.filter(name=name).first()


# --- My work: what waits on a reviewer, and what they did ---------------------------------------------

WORK_LIMIT = 25  # rows per section of My work and of the home's "needs you first"


def _deadline_order():
    from django.db.models import F

    return F("deadline").asc(nulls_last=True)


def waiting_on(user) -> QuerySet[Proposal]:
    """Pending, unfrozen proposals ``user`` may decide and has not voted on, nearest deadline
    (``deadline``) first, then newest. Read a page with ``page_of`` (rows then say ``has_approval``:
    waiting for a second approval)."""
    from django.db.models import Exists, OuterRef

    mine = Vote.objects.filter(proposal=OuterRef("pk"), reviewer=user)
    return (Proposal.objects.filter(inbox__in=_inboxes_of(user, for_decision=True), status=Proposal.Status.PENDING,
                                    is_frozen=False)
            .filter(~Exists(mine)).annotate(deadline=deadline_expr())
            .order_by(_deadline_order(), "-created_at"))


def second_approval_for(user) -> QuerySet[Proposal]:
    """The part of ``waiting_on(user)`` that another reviewer has already approved (or edited): it
    waits for ``user``'s second approval. Nearest deadline first; read a page with ``page_of``."""
    from django.db.models import Exists, OuterRef

    approved = Vote.objects.filter(proposal=OuterRef("pk"), verdict__in=("approve", "edit"))
    return waiting_on(user).filter(Exists(approved))


def decided_by(user) -> QuerySet[Proposal]:
    """Proposals whose decision ``user`` took (the deciding vote), newest decision first. One query."""
    return (Proposal.objects.filter(decided_by=user).exclude(status=Proposal.Status.PENDING)
            .select_related(*PROPOSAL_RELATED).order_by("-decided_at", "-created_at"))


def escalated_by(user) -> QuerySet:
    """``user``'s escalations, newest first, each with its proposal (and the proposal's agent, current
    inbox and decider), the inbox it left and the inbox it went to: where it went, and where it is now.
    One query."""
    from .models import Escalation

    return (Escalation.objects.filter(by=user)
            .select_related("proposal__agent", "proposal__inbox", "proposal__decided_by", "from_inbox", "to_inbox")
            .order_by("-created_at", "-id"))


def awaiting_quorum(user) -> QuerySet[Proposal]:
    """Pending proposals ``user`` approved (or edited) that still wait for more approvals, newest vote
    first, each with ``my_verdict``. One query."""
    from django.db.models import OuterRef, Subquery

    mine = Vote.objects.filter(proposal=OuterRef("pk"), reviewer=user)
    return (Proposal.objects.filter(status=Proposal.Status.PENDING, votes__reviewer=user,
                                    votes__verdict__in=("approve", "edit"))
            .annotate(my_verdict=Subquery(mine.values("verdict")[:1]), voted_at=Subquery(mine.values("created_at")[:1]),
                      deadline=deadline_expr())
            .select_related(*PROPOSAL_RELATED).order_by("-voted_at"))


def escalations_of(proposal: Proposal) -> QuerySet:
    """``proposal``'s escalations, oldest first, with who escalated and the inboxes it left and reached."""
    from .models import Escalation

    return (Escalation.objects.filter(proposal=proposal).select_related("by", "from_inbox", "to_inbox")
            .order_by("created_at", "id"))


# --- the home of broad roles ----------------------------------------------------------------------------

def escalated_to(user) -> QuerySet[Proposal]:
    """Pending proposals that reached an inbox ``user`` decides in by escalation (by a reviewer or the
    SLA timer), most recently escalated first, with ``escalated_at`` and ``deadline``. One query."""
    from django.db.models import Exists, OuterRef, Subquery

    from .models import Escalation

    arrivals = Escalation.objects.filter(proposal=OuterRef("pk"), to_inbox=OuterRef("inbox_id")).exclude(
        from_inbox=OuterRef("inbox_id"))  # an enterprise-level SLA miss stays in place: not an arrival
    return (Proposal.objects.filter(inbox__in=_inboxes_of(user, for_decision=True), status=Proposal.Status.PENDING)
            .filter(Exists(arrivals))
            .annotate(escalated_at=Subquery(arrivals.order_by("-created_at").values("created_at")[:1]),
                      deadline=deadline_expr())
            .select_related(*PROPOSAL_RELATED).order_by("-escalated_at"))


def overdue_for(user, *, now=None) -> QuerySet[Proposal]:
    """Pending proposals in inboxes ``user`` may view whose deadline (SLA or expiry) has passed, most
    overdue first. One query."""
    from django.utils import timezone

    now = now or timezone.now()
    return (Proposal.objects.filter(inbox__in=_inboxes_of(user), status=Proposal.Status.PENDING)
            .filter(Q(sla_due_at__lte=now) | Q(expires_at__lte=now))
            .annotate(deadline=deadline_expr()).select_related(*PROPOSAL_RELATED).order_by(_deadline_order()))


def frozen_for(user) -> QuerySet[Proposal]:
    """Pending proposals frozen by the kill switch in inboxes ``user`` may view, newest first. One query."""
    return (Proposal.objects.filter(inbox__in=_inboxes_of(user), status=Proposal.Status.PENDING, is_frozen=True)
            .annotate(deadline=deadline_expr()).select_related(*PROPOSAL_RELATED).order_by("-created_at"))

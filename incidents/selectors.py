"""Reads of the incidents app: the board, the war room's parts, the public status page.

Each returns a queryset (or a small structure built from a constant number of queries), so the board
costs the same few queries with 5 or 500 incidents open.
"""
from collections import OrderedDict
from datetime import timedelta

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import permissions
from .models import OPEN, Incident, Remediation, Role, Status, StatusUpdate, TimelineEntry, UpdateState

TIMELINE_PAGE = 200


CARD_FIELDS = ("id", "title", "severity", "status", "domain_id", "domain__name", "commander__username",
               "reported_by__name", "target_due_at", "escalation_level", "pending_remediations", "last_entry",
               "updated_at")


def _with_board_facts(qs: QuerySet[Incident]) -> QuerySet[Incident]:
    """Annotated with ``pending_remediations`` and ``last_entry`` (the newest timeline line's summary):
    correlated subqueries on indexed columns, one probe each per incident, and no GROUP BY."""
    newest = TimelineEntry.objects.filter(incident=OuterRef("pk")).order_by("-at", "-id")
    pending = (Remediation.objects.filter(incident=OuterRef("pk"), outcome="pending").order_by()
               .values("incident").annotate(n=Count("pk")).values("n"))
    return qs.annotate(pending_remediations=Coalesce(Subquery(pending), 0),
                       last_entry=Subquery(newest.values("summary")[:1]))


def board(principal, *, status: str | None = None) -> QuerySet[Incident]:
    """Incidents ``principal`` may see: the open ones (default) or those in ``status``, by severity
    (SEV-1 first), then time left to target (least first), with the board's facts (``_with_board_facts``)."""
    qs = permissions.incidents_for(principal)
    qs = qs.filter(status=status) if status else qs.filter(status__in=OPEN)
    return (_with_board_facts(qs.select_related("domain", "commander", "reported_by"))
            .order_by("severity", "target_due_at", "reported_at"))


def board_rows(principal) -> list[dict]:
    """The board's rows as plain dicts (``CARD_FIELDS``): one query, no model instances (the board
    of 500 incidents renders in a few milliseconds of Python). ``events.card`` shapes each."""
    return list(board(principal).values(*CARD_FIELDS))


def board_row(incident_id) -> dict | None:
    """One incident's board row (for a live event), visibility not checked."""
    return _with_board_facts(Incident.objects.filter(pk=incident_id)).values(*CARD_FIELDS).first()


def relatable(principal, incident: Incident, *, limit: int = 50) -> list[dict]:
    """Incidents ``principal`` may see that ``incident`` could be related to or merged into: the newest
    ``limit`` of the open ones and those closed in the last 30 days, not itself, not already related.
    Dicts with ``id``, ``title``, ``severity``, ``status``."""
    recent = timezone.now() - timedelta(days=30)
    qs = (permissions.incidents_for(principal).exclude(pk=incident.pk).exclude(related=incident)
          .filter(Q(status__in=OPEN) | Q(reported_at__gte=recent)).order_by("-reported_at"))
    return [{**row, "reference": f"INC-{str(row['id'])[:6].upper()}"}
            for row in qs.values("id", "title", "severity", "status")[:limit]]


def timeline(incident: Incident, *, limit: int = TIMELINE_PAGE) -> list[TimelineEntry]:
    """The newest ``limit`` timeline entries, newest first."""
    return list(incident.timeline.select_related("agent", "user").order_by("-at", "-id")[:limit])


def entry(entry_id) -> TimelineEntry | None:
    return TimelineEntry.objects.select_related("agent", "user").filter(pk=entry_id).first()


def remediations(incident: Incident) -> list[Remediation]:
    return list(incident.remediations.select_related("proposal__agent", "proposal__decided_by", "proposal__inbox"))


def team(incident: Incident) -> list[Role]:
    return list(Role.objects.filter(incident=incident).select_related("user").order_by("kind", "assigned_at"))


def updates(incident: Incident) -> QuerySet[StatusUpdate]:
    return incident.updates.exclude(state=UpdateState.DISCARDED).select_related(
        "drafted_by_agent", "drafted_by_user", "published_by")


def contradictions(incident: Incident) -> "OrderedDict[str, list[TimelineEntry]]":
    """Findings that answer the same question differently, by question: the latest finding of each
    actor (agent or person) per question, kept only where at least two actors disagree."""
    findings = (incident.timeline.filter(kind="finding").exclude(question="").select_related("agent", "user")
                .order_by("question", "-at"))
    latest: OrderedDict = OrderedDict()
    for f in findings:
        who = ("agent", f.agent_id) if f.agent_id else ("user", f.user_id)
        latest.setdefault(f.question, {}).setdefault(who, f)
    clashes = OrderedDict()
    for question, by_actor in latest.items():
        answers = {(f.answer or f.summary).strip().casefold() for f in by_actor.values()}
        if len(by_actor) > 1 and len(answers) > 1:
            clashes[question] = sorted(by_actor.values(), key=lambda f: f.at)
    return clashes


def public_updates(*, limit: int = 50) -> list[StatusUpdate]:
    """What the public status page shows: published updates only (their own headline and text, the
    status recorded at publication), newest first."""
    return list(StatusUpdate.objects.filter(state=UpdateState.PUBLISHED).order_by("-published_at")[:limit])


def public_open_incident_ids() -> set:
    """Incidents with a published update whose latest published status is not resolved/closed."""
    latest = {}
    for incident_id, status in (StatusUpdate.objects.filter(state=UpdateState.PUBLISHED)
                                .order_by("incident_id", "-published_at").values_list("incident_id", "public_status")):
        latest.setdefault(incident_id, status)
    return {pk for pk, status in latest.items() if status not in (Status.RESOLVED, Status.CLOSED)}

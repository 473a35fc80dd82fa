"""The incident's lifecycle: reported (grouped, no storms) or declared, accepted or declined, moved
through its statuses, its severity changed, merged and split.

Statuses: ``triage`` → ``investigating`` → ``identified`` → ``mitigated`` → ``resolved`` → ``closed``,
plus ``declined`` (not an incident) and ``merged`` (into another). ``TRANSITIONS`` lists the moves
allowed; a move not listed is a 409 (``invalid_transition``). Each move stamps its timestamp the
first time the state is reached (``resolved_at`` again after a reopen) and writes a timeline entry
naming who, an audit event, and the live events after commit. Every service locks the incident row
(``select_for_update``) so two commanders clicking at once are serialised, and the loser of a
conflicting move gets 409.

Grouping: an agent's report for the same ``resource`` and ``symptom`` as an open incident whose last
report is within the grouping window (``IncidentSettings``, default one hour) joins that incident.
An open incident accepting reports carries ``group_key`` (unique among incidents), so two reports of
one new storm arriving at once still make one incident: the second INSERT fails on the constraint
and joins the first.
"""
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.models import Agent, Domain
from orchestra_site.errors import Conflict, InvalidInput

from . import notify, record
from .models import OPEN, EntryKind, Incident, IncidentSettings, Severity, Status
from .team import take_command

TRANSITIONS = {
    Status.TRIAGE: {Status.INVESTIGATING, Status.DECLINED, Status.MERGED},
    Status.INVESTIGATING: {Status.IDENTIFIED, Status.MITIGATED, Status.RESOLVED, Status.MERGED},
    Status.IDENTIFIED: {Status.INVESTIGATING, Status.MITIGATED, Status.RESOLVED, Status.MERGED},
    Status.MITIGATED: {Status.INVESTIGATING, Status.RESOLVED},
    Status.RESOLVED: {Status.CLOSED, Status.INVESTIGATING},
    Status.CLOSED: set(),
    Status.DECLINED: set(),
    Status.MERGED: set(),
}
STAMPS = {Status.IDENTIFIED: "identified_at", Status.MITIGATED: "mitigated_at", Status.RESOLVED: "resolved_at",
          Status.CLOSED: "closed_at", Status.DECLINED: "declined_at", Status.INVESTIGATING: "accepted_at"}


# The defaults of migration 0002 (which creates the rows); a row deleted by hand comes back with them.
DEFAULT_SEVERITIES = {
    "SEV-1": {"target_seconds": 3600, "response": "page_all", "update_every_seconds": 30 * 60},
    "SEV-2": {"target_seconds": 4 * 3600, "response": "page_commander", "update_every_seconds": 3600},
    "SEV-3": {"target_seconds": 24 * 3600, "response": "page_commander", "update_every_seconds": None},
    "SEV-4": {"target_seconds": 7 * 24 * 3600, "response": "queue", "update_every_seconds": None},
}


def severity_of(level: str) -> Severity:
    """The ``Severity`` row of ``level`` (SEV-1 … SEV-4); ``InvalidInput`` (422) for anything else."""
    if level not in DEFAULT_SEVERITIES:
        raise InvalidInput(f"Unknown severity {level}.", field="severity")
    return Severity.objects.get_or_create(level=level, defaults=DEFAULT_SEVERITIES[level])[0]


def grouping_window() -> timedelta:
    row = IncidentSettings.objects.filter(pk=1).first()
    return timedelta(seconds=row.grouping_window_seconds if row else 3600)


def group_key(resource: str, symptom: str) -> str | None:
    return f"{resource}\x1f{symptom}" if resource and symptom else None


def _new(*, title, severity, domain, resource, symptom, summary, now, workflow="", status=Status.TRIAGE,
         **people) -> Incident:
    target = severity_of(severity).target_seconds
    return Incident(title=title, severity=severity, domain=domain, resource=resource, symptom=symptom,
                    summary=summary, affected_resources=[resource] if resource else [], workflow=workflow,
                    status=status, reported_at=now, last_reported_at=now, impact_started_at=now,
                    target_due_at=now + timedelta(seconds=target), group_key=group_key(resource, symptom),
                    **people)


def incident_report(*, reporter, title: str, severity: str, domain: Domain, resource: str = "", symptom: str = "",
                    summary: str = "", evidence: dict | None = None, workflow: str = "") -> tuple[Incident, bool]:
    """A report from an agent (a candidate in ``triage``) or a person (declared: ``investigating``,
    the person commands it). Returns (incident, grouped): grouped is True when the report joined an
    open incident of the same resource and symptom within the grouping window (no storms)."""
    severity_of(severity)
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _report_once(reporter, title, severity, domain, resource, symptom, summary,
                                    evidence or {}, workflow)
        except IntegrityError:  # another report of the same storm created it first: join it
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _report_once(reporter, title, severity, domain, resource, symptom, summary, evidence, workflow):
    now = timezone.now()
    key = group_key(resource, symptom)
    is_agent = isinstance(reporter, Agent)
    what = f"{title} ({severity})" + (f": {summary}" if summary else "")
    if key:
        open_one = (Incident.objects.select_for_update(of=("self",)).filter(group_key=key)
                    .select_related("domain").first())
        if open_one is not None:
            if open_one.status in OPEN and open_one.last_reported_at >= now - grouping_window():
                open_one.last_reported_at = now
                open_one.save(update_fields=["last_reported_at", "updated_at"])
                record.entry(open_one, EntryKind.REPORT, what, actor=reporter, evidence=evidence,
                             data={"grouped": True, "severity": severity, "resource": resource, "symptom": symptom})
                if is_agent:
                    record.agent_reported(open_one, reporter, what, now)
                record.audit(open_one, f"report grouped: {title}", actor=reporter,
                             context=f"{resource} / {symptom}", decision="grouped into the open incident",
                             reasoning="same resource and symptom within the grouping window")
                return open_one, True
            Incident.objects.filter(pk=open_one.pk).update(group_key=None)  # outside the window: a new one
    people = {"reported_by": reporter} if is_agent else {"declared_by": reporter, "accepted_at": now}
    incident = _new(title=title, severity=severity, domain=domain, resource=resource, symptom=symptom,
                    summary=summary, now=now, workflow=workflow,
                    status=Status.TRIAGE if is_agent else Status.INVESTIGATING, **people)
    incident.save(force_insert=True)
    record.entry(incident, EntryKind.REPORT, what, actor=reporter, evidence=evidence,
                 data={"grouped": False, "severity": severity, "resource": resource, "symptom": symptom})
    if is_agent:
        record.agent_reported(incident, reporter, what, now)
        record.audit(incident, f"candidate raised by {reporter.name}: {title}", actor=reporter,
                     context=summary, decision="candidate in triage", reasoning="agents raise alarms; people declare")
    else:
        take_command(incident, reporter, by=reporter, reason="declared the incident")
        record.audit(incident, f"declared by {reporter.get_username()}: {title}", actor=reporter, context=summary,
                     decision=f"declared {severity}")
        notify.declared(incident)
    return incident, False


def incident_set_status(*, incident: Incident, status: str, by, reason: str = "") -> Incident:
    """Move ``incident`` to ``status``. Accepting a candidate is moving it to ``investigating`` (the
    acceptor takes command if nobody has it); declining is ``declined`` (a reason is required).
    Raises ``Conflict`` (409, ``invalid_transition``) for a move ``TRANSITIONS`` does not allow
    (e.g. someone else moved it first), ``InvalidInput`` (422) for an unknown status or a decline
    without a reason. The caller has checked the permission (``permissions``)."""
    if status not in Status.values:
        raise InvalidInput(f"Unknown status {status}.", field="status")
    if status == Status.MERGED:
        raise InvalidInput("Merge an incident into another with the merge action.", field="status")
    if status == Status.DECLINED and not (reason or "").strip():
        raise InvalidInput("Say why it is not an incident.", field="reason")
    with transaction.atomic():
        locked = Incident.objects.select_for_update(of=("self",)).select_related("domain").get(pk=incident.pk)
        _move(locked, status, by, reason)
    return locked


def _move(locked: Incident, status: str, by, reason: str) -> None:
    old = locked.status
    if status not in TRANSITIONS[old]:
        raise Conflict(f"{locked.reference} is {old}: it cannot move to {status}.", code="invalid_transition",
                       status=old)
    now = timezone.now()
    accepting = old == Status.TRIAGE and status == Status.INVESTIGATING
    locked.status = status
    stamp = STAMPS.get(status)
    if stamp and (getattr(locked, stamp) is None or status == Status.RESOLVED):
        setattr(locked, stamp, now)
    if status == Status.RESOLVED and locked.mitigated_at is None:
        locked.mitigated_at = now  # resolved implies mitigated
    if old in (Status.MITIGATED, Status.RESOLVED) and status == Status.INVESTIGATING:
        locked.resolved_at = None  # reopened
    if status == Status.DECLINED:
        locked.declined_reason = reason
    if status not in OPEN:
        locked.group_key = None  # no more reports grouped into it
    locked.save()
    verb = "accepted" if accepting else f"{old} → {status}"
    record.entry(locked, EntryKind.STATUS, f"{verb}" + (f": {reason}" if reason else ""), actor=by,
                 data={"from": old, "to": status, "reason": reason})
    record.audit(locked, f"{verb} by {by.get_username()}", actor=by, context=f"was {old}", decision=status,
                 reasoning=reason)
    if accepting:
        if locked.commander_id is None:
            take_command(locked, by, by=by, reason="accepted the candidate")
        notify.declared(locked)


def incident_set_severity(*, incident: Incident, severity: str, by, reason: str = "") -> Incident:
    """Change the severity; the resolution target moves with it (impact start + the new target)."""
    with transaction.atomic():
        locked = Incident.objects.select_for_update(of=("self",)).select_related("domain").get(pk=incident.pk)
        old = locked.severity
        if old == severity:
            return locked
        locked.severity = severity
        locked.target_due_at = locked.impact_started_at + timedelta(seconds=severity_of(severity).target_seconds)
        locked.save()
        record.entry(locked, EntryKind.SEVERITY, f"{old} → {severity}" + (f": {reason}" if reason else ""),
                     actor=by, data={"from": old, "to": severity})
        record.audit(locked, f"severity {old} → {severity}", actor=by, decision=severity, reasoning=reason)
    return locked


def incident_set_impact_start(*, incident: Incident, at, by) -> Incident:
    """Correct when the impact started (for time to mitigate and resolve); the target moves with it."""
    if at > timezone.now():
        raise InvalidInput("The impact cannot start in the future.", field="impact_started_at")
    with transaction.atomic():
        locked = Incident.objects.select_for_update(of=("self",)).select_related("domain").get(pk=incident.pk)
        old = locked.impact_started_at
        locked.impact_started_at = at
        locked.target_due_at = at + timedelta(seconds=severity_of(locked.severity).target_seconds)
        locked.save()
        record.entry(locked, EntryKind.EDIT, f"impact start set to {at:%Y-%m-%d %H:%M} UTC", actor=by,
                     data={"from": old.isoformat(), "to": at.isoformat()})
        record.audit(locked, "impact start corrected", actor=by, context=old.isoformat(), decision=at.isoformat())
    return locked


def incident_merge(*, incident: Incident, into: Incident, by, reason: str = "") -> Incident:
    """Merge ``incident`` into ``into`` (both open, same domain): it becomes ``merged`` and stops
    taking reports; its agents join ``into``; both timelines say so."""
    if incident.pk == into.pk:
        raise InvalidInput("An incident cannot be merged into itself.", field="into")
    with transaction.atomic():
        first, second = sorted([incident.pk, into.pk])  # one lock order: no deadlock between two merges
        rows = {i.pk: i for i in Incident.objects.select_for_update(of=("self",)).select_related("domain")
                .filter(pk__in=[first, second])}
        src, dst = rows[incident.pk], rows[into.pk]
        if dst.status not in OPEN:
            raise Conflict(f"{dst.reference} is {dst.status}: merge into an open incident.", code="invalid_transition")
        if src.status not in TRANSITIONS or Status.MERGED not in TRANSITIONS[src.status]:
            raise Conflict(f"{src.reference} is {src.status}: it cannot be merged.", code="invalid_transition")
        src.status, src.merged_into, src.group_key = Status.MERGED, dst, None
        src.save()
        dst.related.add(src)
        for participant in src.agents.select_related("agent"):
            record.agent_reported(dst, participant.agent, participant.last_report, participant.last_reported_at)
        record.entry(src, EntryKind.MERGE, f"merged into {dst.reference}" + (f": {reason}" if reason else ""),
                     actor=by, data={"into": str(dst.pk)})
        record.entry(dst, EntryKind.MERGE, f"{src.reference} ({src.title}) merged into this incident", actor=by,
                     data={"from": str(src.pk)})
        record.audit(src, f"merged into {dst.reference} by {by.get_username()}", actor=by, reasoning=reason,
                     decision="merged")
    return dst


def incident_relate(*, incident: Incident, other: Incident, by, reason: str = "", related: bool = True) -> Incident:
    """Mark ``incident`` and ``other`` as related (``related=False``: no longer related). The link is
    symmetric: both war rooms list it and both timelines get a line; one audit event. Relating what is
    already related (or unrelating what is not) changes nothing and writes nothing. Raises
    ``InvalidInput`` (field ``other``) for the incident itself."""
    if incident.pk == other.pk:
        raise InvalidInput("An incident is not related to itself.", field="other")
    with transaction.atomic():
        if incident.related.filter(pk=other.pk).exists() == related:
            return incident
        (incident.related.add if related else incident.related.remove)(other)
        verb = "related to" if related else "no longer related to"
        for one, two in ((incident, other), (other, incident)):
            text = f"{verb} {two.reference} ({two.title})" + (f": {reason}" if reason else "")
            record.entry(one, EntryKind.LINK, text, actor=by, data={"incident": str(two.pk), "related": related})
        record.audit(incident, f"{verb} {other.reference} by {by.get_username()}", actor=by, reasoning=reason,
                     decision="related" if related else "unrelated")
    return incident


def incident_split(*, incident: Incident, title: str, resource: str, symptom: str, severity: str, by,
                   reason: str = "") -> Incident:
    """Split off a new incident (``investigating``, commanded by ``by``) for what turned out to be a
    separate problem in ``incident``; the two are related, both timelines say so, and later reports of
    ``resource``/``symptom`` group into the new one."""
    if not title.strip():
        raise InvalidInput("A split-off incident needs a title.", field="title")
    with transaction.atomic():
        src = Incident.objects.select_for_update(of=("self",)).select_related("domain").get(pk=incident.pk)
        key = group_key(resource, symptom)
        if key and src.group_key == key:
            raise InvalidInput("That is this incident's own resource and symptom.", field="symptom")
        if key:
            Incident.objects.filter(group_key=key).update(group_key=None)
        now = timezone.now()
        new = _new(title=title, severity=severity, domain=src.domain, resource=resource, symptom=symptom,
                   summary=f"Split from {src.reference}. {reason}".strip(), now=now, workflow=src.workflow,
                   status=Status.INVESTIGATING, declared_by=by, accepted_at=now)
        new.impact_started_at = src.impact_started_at
        new.target_due_at = src.impact_started_at + timedelta(seconds=severity_of(severity).target_seconds)
        new.save(force_insert=True)
        new.related.add(src)
        take_command(new, by, by=by, reason=f"split from {src.reference}")
        record.entry(src, EntryKind.MERGE, f"split off {new.reference}: {title}", actor=by, data={"to": str(new.pk)})
        record.entry(new, EntryKind.MERGE, f"split from {src.reference}" + (f": {reason}" if reason else ""),
                     actor=by, data={"from": str(src.pk)})
        record.audit(new, f"split from {src.reference} by {by.get_username()}", actor=by, reasoning=reason)
    return new

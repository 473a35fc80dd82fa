"""Status updates: drafted by a comms agent or a person in the conditions / actions / needs shape,
approved and published by the communications lead or the commander, then e-mailed to the domain's
subscribers and shown on the public status page (``/status/``), which shows published updates only.

A reminder is sent when an update is due: the severity's ``update_every_seconds`` after the last
published update (or after acceptance), once per period (``updates_remind_due``, a q2 schedule).
"""
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from governance.models import Agent
from orchestra_site.errors import Conflict, InvalidInput

from . import notify, record
from .models import EntryKind, Incident, Severity, Status, StatusUpdate, UpdateState

UPDATE_STATUSES = (Status.INVESTIGATING, Status.IDENTIFIED, Status.MITIGATED)


def update_draft(*, incident: Incident, by, conditions: str, actions: str = "", needs: str = "",
                 headline: str = "") -> StatusUpdate:
    """A draft update by ``by`` (an Agent or a person)."""
    if not (conditions or "").strip():
        raise InvalidInput("Say what is happening (conditions).", field="conditions")
    with transaction.atomic():
        update = StatusUpdate.objects.create(
            incident=incident, headline=(headline or incident.title)[:200], conditions=conditions.strip(),
            actions=(actions or "").strip(), needs=(needs or "").strip(),
            drafted_by_agent=by if isinstance(by, Agent) else None,
            drafted_by_user=None if isinstance(by, Agent) else by)
        record.entry(incident, EntryKind.UPDATE, f"status update drafted: {update.headline}", actor=by,
                     data={"update": update.pk, "state": "draft"})
        if isinstance(by, Agent):
            record.agent_reported(incident, by, f"drafted a status update: {update.headline}")
        record.audit(incident, "status update drafted", actor=by, context=update.conditions[:500])
    return update


def update_publish(*, update: StatusUpdate, by, headline: str | None = None, conditions: str | None = None,
                   actions: str | None = None, needs: str | None = None) -> StatusUpdate:
    """Publish a draft (with the publisher's edits, if any): subscribers are e-mailed after commit.
    Raises ``Conflict`` (409, ``already_published``) when it is no longer a draft."""
    with transaction.atomic():
        locked = _locked(update)
        if locked.state != UpdateState.DRAFT:
            raise Conflict(f"This update is already {locked.state}.", code="already_published")
        for name, value in (("headline", headline), ("conditions", conditions), ("actions", actions),
                            ("needs", needs)):
            if value is not None:
                setattr(locked, name, value.strip())
        if not locked.conditions:
            raise InvalidInput("Say what is happening (conditions).", field="conditions")
        now = timezone.now()
        incident = locked.incident
        locked.state, locked.published_by, locked.published_at = UpdateState.PUBLISHED, by, now
        locked.public_status = incident.status
        locked.save()
        Incident.objects.filter(pk=incident.pk).update(last_update_at=now, update_reminded_at=None)
        record.entry(incident, EntryKind.UPDATE, f"status update published: {locked.headline}", actor=by,
                     data={"update": locked.pk, "state": "published"})
        record.audit(incident, f"status update published by {by.get_username()}", actor=by,
                     decision="published", outcome=locked.conditions[:500])
        notify.published(locked)
    return locked


def update_discard(*, update: StatusUpdate, by) -> StatusUpdate:
    with transaction.atomic():
        locked = _locked(update)
        if locked.state != UpdateState.DRAFT:
            raise Conflict(f"This update is already {locked.state}.", code="already_published")
        locked.state = UpdateState.DISCARDED
        locked.save(update_fields=["state"])
        record.entry(locked.incident, EntryKind.UPDATE, f"status update discarded: {locked.headline}", actor=by,
                     data={"update": locked.pk, "state": "discarded"})
        record.audit(locked.incident, "status update discarded", actor=by, decision="discarded")
    return locked


def update_due_at(incident: Incident, every_seconds: int | None):
    """When the next update is due (None: never for this severity, or the incident is not under way)."""
    if not every_seconds or incident.status not in UPDATE_STATUSES:
        return None
    since = incident.last_update_at or incident.accepted_at or incident.reported_at
    return since + timedelta(seconds=every_seconds)


def updates_remind_due(now=None) -> int:
    """Remind the commander and comms lead of every incident whose update is due, once per period
    (``update_reminded_at``, a conditional UPDATE: two sweeps never remind twice). Returns how many."""
    now = now or timezone.now()
    every = dict(Severity.objects.exclude(update_every_seconds=None).values_list("level", "update_every_seconds"))
    sent = 0
    for incident in Incident.objects.filter(status__in=UPDATE_STATUSES, severity__in=list(every)).select_related(
            "domain"):
        due = update_due_at(incident, every[incident.severity])
        if due is None or due > now:
            continue
        if incident.update_reminded_at and incident.update_reminded_at >= due:
            continue
        with transaction.atomic():
            won = Incident.objects.filter(pk=incident.pk, update_reminded_at=incident.update_reminded_at).update(
                update_reminded_at=now)
            if not won:
                continue
            record.entry(incident, EntryKind.UPDATE, "a status update is due", actor=None,
                         data={"reminder": True, "due": due.isoformat()})
            record.audit(incident, "status update reminder", actor=None, context=f"due {due.isoformat()}")
            notify.update_due(incident)
            sent += 1
    return sent


def _locked(update: StatusUpdate) -> StatusUpdate:
    return StatusUpdate.objects.select_for_update(of=("self",)).select_related("incident__domain").get(pk=update.pk)

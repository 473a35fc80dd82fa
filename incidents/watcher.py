"""Incidents' share of ``inbox.watcher``: without Redis, a change made in another process (the task
cluster's target-breach escalation and update reminders, a second web worker, a command) reaches this
process's open boards and war rooms within about ``inbox.watcher.WATCH_SECONDS``.

``look_once(since)`` is registered with ``inbox.watcher.register_look`` and runs only while this
process has open sockets and the channel layer is the in-memory one. It reads what a reload would
show: timeline entries written after ``since`` (the war rooms' lines; each also refreshes the
incident's card on the boards) and incidents whose row changed (``updated_at``: severity, status,
commander, escalation). What this process announced itself is skipped (``events.announced_here``), so
a change made here is not sent twice. Both reads use an index on their timestamp.
"""
from . import events
from .models import Incident, TimelineEntry

BATCH = 200


def look_once(since) -> None:
    entries = list(TimelineEntry.objects.filter(at__gt=since).order_by("at").values_list("pk", "incident_id")[:BATCH])
    told = set()
    for pk, incident_id in entries:
        if not events.entry_announced_here(pk):
            events.incident_changed(incident_id, pk)
            told.add(incident_id)
    changed = Incident.objects.filter(updated_at__gt=since).order_by("updated_at").values_list("pk", "updated_at")
    for pk, updated_at in changed[:BATCH]:
        if pk not in told and not events.announced_here(pk, updated_at):
            events.incident_changed(pk)

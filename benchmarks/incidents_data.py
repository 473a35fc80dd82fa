"""Benchmark data for incidents, inside Django (``Bench.django_module``):

    python -m benchmarks.incidents_data --incidents 500 --entries 50000 --viewers 100

Creates, in bulk, the Operations domain with its responder group; ``--incidents`` open incidents
(all severities, a third of them candidates, some overdue) and ``--entries`` timeline entries spread
over them; a commander (who commands every incident, so each board row is a full one) and
``--viewers`` responders, each with a login session; and an agent of Operations with a token. Prints
one JSON line: ``{"commander_session", "viewer_sessions", "agent_token", "war_room"}`` (``war_room``:
the incident the viewers open).
"""
from __future__ import annotations

import argparse
import random
from datetime import timedelta

from benchmarks.harness.inproc import django_setup, emit


def _session(user) -> str:
    from django.contrib.sessions.backends.db import SessionStore

    s = SessionStore()
    s["_auth_user_id"] = str(user.pk)
    s["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    s["_auth_user_hash"] = user.get_session_auth_hash()
    s.create()
    return s.session_key


def _analyze() -> None:
    """Planner statistics as a live database has them (autovacuum would otherwise ANALYZE the
    bulk-loaded tables in the middle of the timed requests, and the plan would change under them)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def seed(*, incidents: int, entries: int, viewers: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone
    from guardian.shortcuts import assign_perm

    from governance.services import agent_create, domain_get_or_create
    from incidents import services
    from incidents.lifecycle import group_key, severity_of
    from incidents.models import Incident, Role, TimelineEntry

    rng = random.Random(7)
    ops = domain_get_or_create(name="Operations")
    group = Group.objects.create(name="Operations responders")
    services.domain_response_set(domain=ops, by=None, responders=group)
    User = get_user_model()
    commander = User.objects.create_user(username="bench-commander", password=None)
    commander.groups.add(group)
    people = [User.objects.create_user(username=f"bench-viewer-{i}", password=None) for i in range(viewers)]
    for person in people:
        person.groups.add(group)
    agent, token = agent_create(name="bench-incident-agent", domain=ops)
    now = timezone.now()
    rows = []
    for i in range(incidents):
        sev = f"SEV-{1 + i % 4}"
        started = now - timedelta(minutes=rng.randint(1, 600))
        candidate = i % 3 == 0
        rows.append(Incident(
            title=f"Bench incident {i}: service-{i % 40} degraded", severity=sev, domain=ops,
            status="triage" if candidate else rng.choice(["investigating", "identified", "mitigated"]),
            resource=f"service:bench-{i}", symptom="degraded", group_key=group_key(f"service:bench-{i}", "degraded"),
            reported_by=agent if candidate else None, commander=None if candidate else commander,
            reported_at=started, last_reported_at=started, impact_started_at=started,
            accepted_at=None if candidate else started + timedelta(minutes=2),
            target_due_at=started + timedelta(seconds=severity_of(sev).target_seconds)))
    Incident.objects.bulk_create(rows, batch_size=500)
    for incident in rows:
        if incident.commander_id:
            assign_perm("incidents.command_incident", commander, incident)
    Role.objects.bulk_create([Role(incident=i, user=commander, kind="commander") for i in rows if i.commander_id])
    kinds = ["finding", "note", "report", "status"]
    batch = []
    for n in range(entries):
        incident = rows[n % len(rows)]
        batch.append(TimelineEntry(incident=incident, kind=kinds[n % 4], at=incident.reported_at + timedelta(
            seconds=n // len(rows) * 30), agent=agent if n % 2 else None, user=None if n % 2 else commander,
            summary=f"Entry {n}: p99 {rng.randint(200, 4000)} ms, error rate {rng.random():.3f}",
            evidence={"n": n}, confidence=0.7 if n % 4 == 0 else None))
        if len(batch) == 5000:
            TimelineEntry.objects.bulk_create(batch)
            batch = []
    TimelineEntry.objects.bulk_create(batch)
    _analyze()
    war_room = next(i for i in rows if i.commander_id)
    return {"commander_session": _session(commander), "viewer_sessions": [_session(p) for p in people],
            "agent_token": token, "war_room": str(war_room.pk)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.incidents_data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=500)
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--viewers", type=int, default=100)
    args = parser.parse_args(argv)
    django_setup()
    emit(seed(incidents=args.incidents, entries=args.entries, viewers=args.viewers))


if __name__ == "__main__":
    main()

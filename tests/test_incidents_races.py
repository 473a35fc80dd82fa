"""Incidents under concurrency, with real threads and connections: a storm of identical reports makes
one incident; two responders accepting one candidate make one acceptance and one commander; hand-offs
at the same moment leave exactly one holder of the commander's permission, who alone may decide.

Runs on PostgreSQL (row locks, the partial unique index on ``group_key``) — the permission tests the
issue asks for — and on SQLite too (BEGIN IMMEDIATE serialises writers).
"""
import threading

import pytest
from django.db import connection
from guardian.shortcuts import get_users_with_perms

from incidents import services
from incidents.models import EntryKind, Incident
from incidents.permissions import can_decide_remediation, is_commander
from orchestra_site.errors import Conflict
from tests.factories import UserFactory
from tests.incident_fixtures import candidate

BACKENDS = [pytest.param("postgres", marks=pytest.mark.postgres), "any"]
pytestmark = pytest.mark.django_db(transaction=True)


def race(n, work):
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the outcome of each contender is the point
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_storm_of_identical_reports_makes_one_incident(ops, backend):
    from governance.services import agent_create

    agents = [agent_create(name=f"probe-{i}", domain=ops)[0] for i in range(12)]
    results = race(len(agents), lambda i: services.incident_report(
        reporter=agents[i], title="Payments down", severity="SEV-1", domain=ops, resource="service:payments",
        symptom="down"))
    assert all(isinstance(r, tuple) for r in results), results
    assert Incident.objects.count() == 1
    incident = Incident.objects.get()
    assert sorted(grouped for _, grouped in results) == [False] + [True] * 11
    assert incident.timeline.filter(kind=EntryKind.REPORT).count() == 12
    assert incident.agents.count() == 12


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_responders_accepting_at_once_make_one_commander(monitor, ops, backend):
    incident = candidate(monitor)
    responders = [UserFactory(username=f"responder{i}") for i in range(8)]
    for user in responders:
        user.groups.add(ops.incident_response.responders)
    results = race(len(responders), lambda i: services.incident_set_status(
        incident=incident, status="investigating", by=responders[i]))
    winners = [r for r in results if isinstance(r, Incident)]
    assert len(winners) == 1, results
    assert all(isinstance(r, Conflict) and r.code == "invalid_transition" for r in results if r not in winners)
    incident.refresh_from_db()
    commanders = list(get_users_with_perms(incident, only_with_perms_in=["command_incident"]))
    assert commanders == [incident.commander]
    assert incident.timeline.filter(kind=EntryKind.STATUS).count() == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_simultaneous_hand_offs_leave_exactly_one_commander(monitor, ines, backend):
    incident = services.incident_set_status(incident=candidate(monitor), status="investigating", by=ines)
    targets = [UserFactory(username=f"ic{i}") for i in range(6)]
    results = race(len(targets), lambda i: services.command_handoff(
        incident=incident, to=targets[i], by=ines, reason="race"))
    assert all(isinstance(r, Incident) for r in results), results
    incident.refresh_from_db()
    holders = list(get_users_with_perms(incident, only_with_perms_in=["command_incident"]))
    assert holders == [incident.commander]
    deciders = [u for u in [ines, *targets] if can_decide_remediation(type(u).objects.get(pk=u.pk), incident)]
    assert deciders == [incident.commander]
    assert not is_commander(type(ines).objects.get(pk=ines.pk), incident)
    assert incident.roles.filter(kind="commander").count() == 1


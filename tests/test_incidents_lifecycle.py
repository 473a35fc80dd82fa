"""The incident lifecycle: candidates, acceptance, transitions with who and when, grouping (no storms),
merge and split, metrics on a frozen clock, and the audit trail of each change."""
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from governance.audit.models import AuditEvent
from incidents import services
from incidents.metrics import metrics_of
from incidents.models import EntryKind, Incident, IncidentSettings, Status
from incidents.permissions import is_commander
from orchestra_site.errors import Conflict, InvalidInput
from tests.incident_fixtures import accepted, candidate

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_an_agent_raises_a_candidate_in_triage(monitor):
    incident = candidate(monitor)
    assert incident.status == Status.TRIAGE and incident.is_candidate
    assert incident.reported_by == monitor and incident.commander is None
    assert incident.impact_started_at == incident.reported_at
    report = incident.timeline.get()
    assert report.kind == EntryKind.REPORT and report.agent == monitor
    assert incident.agents.get().agent == monitor


def test_accepting_makes_the_acceptor_commander_and_stamps_who_and_when(monitor, ines):
    incident = accepted(monitor, ines)
    assert incident.status == Status.INVESTIGATING and incident.accepted_at is not None
    assert incident.commander == ines and is_commander(ines, incident)
    status = incident.timeline.get(kind=EntryKind.STATUS)
    assert status.user == ines and status.data == {"from": "triage", "to": "investigating", "reason": ""}
    assert incident.timeline.filter(kind=EntryKind.COMMAND, user=ines).exists()


def test_the_whole_lifecycle_stamps_each_transition(monitor, ines):
    incident = accepted(monitor, ines)
    for status in ("identified", "mitigated", "resolved", "closed"):
        incident = services.incident_set_status(incident=incident, status=status, by=ines)
    incident.refresh_from_db()
    assert incident.status == Status.CLOSED
    assert incident.identified_at <= incident.mitigated_at <= incident.resolved_at <= incident.closed_at
    moves = [e.data["to"] for e in incident.timeline.filter(kind=EntryKind.STATUS).order_by("at", "id")]
    assert moves == ["investigating", "identified", "mitigated", "resolved", "closed"]
    assert incident.group_key is None  # a closed incident takes no more grouped reports


def test_a_move_the_lifecycle_does_not_allow_is_a_conflict(monitor, ines):
    incident = candidate(monitor)
    with pytest.raises(Conflict) as err:
        services.incident_set_status(incident=incident, status="resolved", by=ines)
    assert err.value.code == "invalid_transition"
    closed = accepted(monitor, ines, resource="service:auth")
    for status in ("resolved", "closed"):
        closed = services.incident_set_status(incident=closed, status=status, by=ines)
    with pytest.raises(Conflict):
        services.incident_set_status(incident=closed, status="investigating", by=ines)


def test_declining_needs_a_reason_and_is_final(monitor, ines):
    incident = candidate(monitor)
    with pytest.raises(InvalidInput) as err:
        services.incident_set_status(incident=incident, status="declined", by=ines)
    assert err.value.field == "reason"
    incident = services.incident_set_status(incident=incident, status="declined", by=ines,
                                            reason="Synthetic check misconfigured")
    assert incident.status == Status.DECLINED and incident.declined_reason == "Synthetic check misconfigured"
    assert incident.declined_at is not None and incident.commander is None


def test_a_person_declares_an_incident_directly_and_commands_it(ops, ines):
    incident, grouped = services.incident_report(reporter=ines, title="Checkout down", severity="SEV-1", domain=ops,
                                                 resource="service:checkout", symptom="down")
    assert not grouped and incident.status == Status.INVESTIGATING
    assert incident.declared_by == ines and incident.commander == ines and incident.accepted_at is not None


def test_reports_of_the_same_resource_and_symptom_within_the_window_are_grouped(monitor, rca):
    first = candidate(monitor)
    again, grouped = services.incident_report(reporter=rca, title="Payments 5xx", severity="SEV-3",
                                              domain=monitor.domain, resource="service:payments",
                                              symptom="error_rate_high", evidence={"p99_ms": 2400})
    assert grouped and again.pk == first.pk
    assert Incident.objects.count() == 1
    reports = list(first.timeline.filter(kind=EntryKind.REPORT).order_by("at", "id"))
    assert [r.agent for r in reports] == [monitor, rca]  # who reported what
    assert reports[1].evidence == {"p99_ms": 2400} and reports[1].data["grouped"] is True
    assert {p.agent for p in first.agents.all()} == {monitor, rca}


def test_a_different_symptom_is_another_incident(monitor):
    first = candidate(monitor)
    other = candidate(monitor, symptom="latency_high")
    assert other.pk != first.pk


def test_a_report_outside_the_rolling_window_opens_a_new_incident(monitor, rca):
    with time_machine.travel(T0, tick=False):
        first = candidate(monitor)
    with time_machine.travel(T0 + timedelta(minutes=50), tick=False):
        assert candidate(rca).pk == first.pk  # within an hour of the last report: extends the window
    with time_machine.travel(T0 + timedelta(minutes=50 + 61), tick=False):
        later = candidate(rca)
    assert later.pk != first.pk
    first.refresh_from_db()
    assert first.group_key is None and later.group_key is not None
    with time_machine.travel(T0 + timedelta(minutes=50 + 62), tick=False):
        assert candidate(monitor).pk == later.pk


def test_the_grouping_window_is_a_setting(monitor):
    services.settings_update(by=None, grouping_window_seconds=60)
    assert IncidentSettings.objects.get().grouping_window_seconds == 60
    with time_machine.travel(T0, tick=False):
        first = candidate(monitor)
    with time_machine.travel(T0 + timedelta(seconds=90), tick=False):
        assert candidate(monitor).pk != first.pk


def test_no_grouping_into_a_resolved_incident(monitor, ines):
    first = accepted(monitor, ines)
    services.incident_set_status(incident=first, status="resolved", by=ines)
    assert candidate(monitor).pk != first.pk


def test_metrics_on_a_frozen_clock(monitor, ines):
    with time_machine.travel(T0, tick=False):
        incident = candidate(monitor, severity="SEV-2")  # target 4 h
    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):
        incident = services.incident_set_status(incident=incident, status="investigating", by=ines)
    with time_machine.travel(T0 + timedelta(minutes=40), tick=False):
        incident = services.incident_set_status(incident=incident, status="mitigated", by=ines)
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        incident = services.incident_set_status(incident=incident, status="resolved", by=ines)
        m = metrics_of(incident, 4 * 3600)
    assert m.time_to_acknowledge == 180
    assert m.time_to_mitigate == 40 * 60
    assert m.time_to_resolve == 2 * 3600
    assert m.target_met is True


def test_impact_start_moves_the_metrics_and_the_target(monitor, ines):
    with time_machine.travel(T0, tick=False):
        incident = accepted(monitor, ines, severity="SEV-1")  # target 1 h
    with time_machine.travel(T0 + timedelta(minutes=50), tick=False):
        incident = services.incident_set_impact_start(incident=incident, at=T0 - timedelta(minutes=30), by=ines)
        incident = services.incident_set_status(incident=incident, status="resolved", by=ines)
        m = metrics_of(incident, 3600)
    assert incident.target_due_at == T0 + timedelta(minutes=30)
    assert m.time_to_resolve == 80 * 60 and m.target_met is False
    assert m.time_to_acknowledge == 0  # reported → accepted is unchanged by the impact start


def test_an_unresolved_incident_past_its_target_has_missed_it(monitor, ines):
    with time_machine.travel(T0, tick=False):
        incident = accepted(monitor, ines, severity="SEV-1")
    assert metrics_of(incident, 3600, now=T0 + timedelta(minutes=59)).target_met is None
    assert metrics_of(incident, 3600, now=T0 + timedelta(minutes=61)).target_met is False


def test_severity_change_moves_the_target(monitor, ines):
    incident = accepted(monitor, ines, severity="SEV-3")
    incident = services.incident_set_severity(incident=incident, severity="SEV-1", by=ines, reason="Spreading")
    assert incident.target_due_at == incident.impact_started_at + timedelta(hours=1)
    assert incident.timeline.filter(kind=EntryKind.SEVERITY, data__to="SEV-1").exists()


def test_merge_and_split_by_hand(monitor, rca, ines):
    a = accepted(monitor, ines)
    b = candidate(rca, resource="service:checkout", symptom="timeouts")
    merged_into = services.incident_merge(incident=b, into=a, by=ines, reason="Same root cause")
    b.refresh_from_db()
    assert merged_into.pk == a.pk and b.status == Status.MERGED and b.merged_into_id == a.pk
    assert rca in {p.agent for p in a.agents.all()}
    assert b in a.related.all()
    with pytest.raises(Conflict):
        services.incident_merge(incident=b, into=a, by=ines)
    split = services.incident_split(incident=a, title="Checkout timeouts are separate", resource="service:checkout",
                                    symptom="timeouts", severity="SEV-3", by=ines, reason="Different cause")
    assert split.status == Status.INVESTIGATING and split.commander == ines and a in split.related.all()
    assert split.impact_started_at == a.impact_started_at
    assert candidate(rca, resource="service:checkout", symptom="timeouts").pk == split.pk


def test_every_change_is_in_the_audit_trail(monitor, ines):
    incident = accepted(monitor, ines)
    services.incident_set_status(incident=incident, status="identified", by=ines, reason="Bad deploy")
    events = AuditEvent.objects.filter(incident_id=str(incident.pk), action_type="incident")
    summaries = " | ".join(events.values_list("summary", flat=True))
    assert "candidate raised by monitor-bot" in summaries
    assert "accepted by ines" in summaries and "investigating → identified by ines" in summaries
    assert events.filter(actor_type="user", actor_name="ines").count() >= 3

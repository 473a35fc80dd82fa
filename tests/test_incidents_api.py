"""The incidents API: the pinned routes and fields, grouping answers, findings, people's tokens acting as
the board does, agents refused where only people may act, and what each caller may see."""
import pytest

from incidents.models import EntryKind, Incident
from tests.incident_fixtures import accepted, candidate, person_client

REPORT = {"title": "Payments error rate at 4 %", "severity": "SEV-2", "domain": "operations",
          "resource": "service:payments", "symptom": "error_rate_high", "summary": "5xx on /charge",
          "evidence": {"error_rate": 0.04, "dashboard": "https://grafana.example/d/pay"}}


def test_an_agent_reports_an_incident_and_a_second_report_is_grouped(monitor_client, rca_client):
    r = monitor_client.post_json("/api/v1/incidents", REPORT)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "triage" and body["grouped"] is False and body["reported_by"] == "monitor-bot"
    again = rca_client.post_json("/api/v1/incidents", {**REPORT, "title": "Charge API failing"})
    assert again.status_code == 200
    assert again.json()["id"] == body["id"] and again.json()["grouped"] is True
    assert {a["agent"] for a in again.json()["agents"]} == {"monitor-bot", "rca-bot"}


def test_domain_defaults_to_the_agents_own(monitor_client):
    body = {k: v for k, v in REPORT.items() if k != "domain"}
    r = monitor_client.post_json("/api/v1/incidents", body)
    assert r.status_code == 201 and r.json()["domain"] == "operations"


@pytest.mark.parametrize("change, field", [
    ({"severity": "SEV-5"}, "severity"), ({"title": ""}, "title"), ({"surprise": 1}, "surprise"),
    ({"evidence": ["not", "an", "object"]}, "evidence"),
])
def test_bad_reports_are_422_naming_the_field(monitor_client, change, field):
    r = monitor_client.post_json("/api/v1/incidents", {**REPORT, **change})
    assert r.status_code == 422 and r.json()["field"] == field


def test_an_unknown_domain_is_404(monitor_client):
    assert monitor_client.post_json("/api/v1/incidents", {**REPORT, "domain": "nope"}).status_code == 404


def test_findings_go_on_the_timeline(monitor, monitor_client, rca_client):
    incident = candidate(monitor)
    r = rca_client.post_json(f"/api/v1/incidents/{incident.pk}/findings", {
        "summary": "Deploy 2026.11.4 raised the error rate", "evidence": {"deploy": "2026.11.4"}, "confidence": 0.8,
        "question": "root_cause", "answer": "deploy 2026.11.4"})
    assert r.status_code == 201, r.content
    assert r.json()["by"] == "rca-bot" and r.json()["confidence"] == 0.8
    finding = incident.timeline.get(kind=EntryKind.FINDING)
    assert finding.agent.name == "rca-bot" and finding.evidence == {"deploy": "2026.11.4"}
    assert rca_client.post_json(f"/api/v1/incidents/{incident.pk}/findings",
                                {"summary": "x", "confidence": 1.5}).status_code == 422


def test_get_and_list_only_what_the_caller_may_see(monitor, monitor_client, stranger_client, ines, mallory):
    incident = candidate(monitor)
    assert monitor_client.get(f"/api/v1/incidents/{incident.pk}").json()["id"] == str(incident.pk)
    assert stranger_client.get(f"/api/v1/incidents/{incident.pk}").status_code == 404
    assert person_client(mallory).get(f"/api/v1/incidents/{incident.pk}").status_code == 404
    assert person_client(ines).get(f"/api/v1/incidents/{incident.pk}").status_code == 200
    assert [i["id"] for i in monitor_client.get("/api/v1/incidents").json()["items"]] == [str(incident.pk)]
    assert stranger_client.get("/api/v1/incidents").json()["items"] == []
    assert monitor_client.get("/api/v1/incidents?status=declined").json()["items"] == []
    assert monitor_client.get("/api/v1/incidents?status=bogus").status_code == 422
    assert monitor_client.get("/api/v1/incidents/not-a-uuid").status_code == 422


def test_a_persons_token_accepts_and_declines_as_the_board_does(monitor, ines):
    client = person_client(ines)
    incident = candidate(monitor)
    r = client.post_json(f"/api/v1/incidents/{incident.pk}/status", {"status": "investigating", "reason": "Real"})
    assert r.status_code == 200 and r.json()["status"] == "investigating" and r.json()["commander"] == "ines"
    assert r.json()["metrics"]["time_to_acknowledge"] is not None
    other = candidate(monitor, symptom="latency_high")
    r = client.post_json(f"/api/v1/incidents/{other.pk}/status", {"status": "declined", "reason": "Known noise"})
    assert r.status_code == 200 and r.json()["declined_reason"] == "Known noise"
    again = client.post_json(f"/api/v1/incidents/{other.pk}/status", {"status": "investigating"})
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_agents_get_403_on_status_and_commander(monitor, monitor_client, ines):
    incident = candidate(monitor)
    r = monitor_client.post_json(f"/api/v1/incidents/{incident.pk}/status", {"status": "investigating"})
    assert r.status_code == 403
    assert Incident.objects.get(pk=incident.pk).status == "triage"  # an agent cannot accept its own candidate
    r = monitor_client.post_json(f"/api/v1/incidents/{incident.pk}/commander", {"username": "ines", "reason": "x"})
    assert r.status_code == 403


def test_handing_off_command_over_the_api(monitor, ines, raj, mallory):
    incident = accepted(monitor, ines)
    assert person_client(raj).post_json(f"/api/v1/incidents/{incident.pk}/commander",
                                        {"username": "raj", "reason": "I'll take it"}).status_code == 403
    r = person_client(ines).post_json(f"/api/v1/incidents/{incident.pk}/commander",
                                      {"username": "raj", "reason": "End of my shift"})
    assert r.status_code == 200 and r.json()["commander"] == "raj"
    bad = person_client(raj).post_json(f"/api/v1/incidents/{incident.pk}/commander",
                                       {"username": "nobody", "reason": "x"})
    assert bad.status_code == 422 and bad.json()["field"] == "username"


def test_moving_on_needs_the_commander(monitor, ines, raj):
    incident = accepted(monitor, ines)
    r = person_client(raj).post_json(f"/api/v1/incidents/{incident.pk}/status", {"status": "resolved"})
    assert r.status_code == 403
    r = person_client(ines).post_json(f"/api/v1/incidents/{incident.pk}/status", {"status": "resolved"})
    assert r.status_code == 200 and r.json()["metrics"]["time_to_resolve"] is not None


def test_a_merged_incident_takes_no_findings_and_names_where_they_go(monitor, rca, ines, rca_client):
    from incidents import services

    a = accepted(monitor, ines)
    b = candidate(rca, symptom="latency_high")
    services.incident_merge(incident=b, into=a, by=ines)
    r = rca_client.post_json(f"/api/v1/incidents/{b.pk}/findings", {"summary": "late"})
    assert r.status_code == 409 and r.json()["merged_into"] == str(a.pk)


def test_a_comms_agent_drafts_a_status_update(monitor, monitor_client):
    incident = candidate(monitor)
    r = monitor_client.post_json(f"/api/v1/incidents/{incident.pk}/updates", {
        "conditions": "Some card payments fail", "actions": "Rolling back", "needs": "Retry in 15 minutes"})
    assert r.status_code == 201 and r.json()["state"] == "draft"
    assert r.json()["headline"] == incident.title


def test_the_openapi_schema_documents_the_routes(monitor_client):
    schema = monitor_client.get("/api/openapi.json").json()
    paths = schema["paths"]
    for path in ("/api/v1/incidents", "/api/v1/incidents/{incident_id}", "/api/v1/incidents/{incident_id}/findings",
                 "/api/v1/incidents/{incident_id}/status", "/api/v1/incidents/{incident_id}/commander"):
        assert path in paths
    severity = schema["components"]["schemas"]["IncidentIn"]["properties"]["severity"]
    assert severity["enum"] == ["SEV-1", "SEV-2", "SEV-3", "SEV-4"]
    assert "incident" in schema["components"]["schemas"]["ProposalIn"]["properties"]

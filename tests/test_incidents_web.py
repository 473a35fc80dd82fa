"""The board, the war room and the review pages: who sees what, the forms, and a board whose cost does
not grow with the number of incidents."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents import services
from incidents.models import EntryKind, Incident, Remediation
from tests.incident_fixtures import accepted, candidate
from tests.test_incidents_remediation import ROLLBACK

PASSWORD = "pw-for-tests-1"


def signed_in(client, user):
    client.force_login(user)
    return client


def test_the_board_lists_open_incidents_with_triage_in_place(client, monitor, ines):
    incident = candidate(monitor)
    page = signed_in(client, ines).get("/incidents/")
    text = page.content.decode()
    assert page.status_code == 200 and "Accept" in text and "Decline" in text
    cards = page.context["cards"]  # drawn into rows by incidents.js (the Playwright test sees them)
    assert [c["reference"] for c in cards] == [incident.reference] and cards[0]["is_candidate"]
    assert f'data-triage-domains="{incident.domain_id}"' in text
    r = client.post(f"/incidents/{incident.pk}/status/", {"status": "investigating", "next": "board"})
    assert r.status_code == 302 and r.url == "/incidents/"
    incident.refresh_from_db()
    assert incident.status == "investigating" and incident.commander == ines


def test_an_auditor_sees_the_board_but_cannot_triage(client, monitor, audrey):
    incident = candidate(monitor)
    page = signed_in(client, audrey).get("/incidents/")
    assert [c["id"] for c in page.context["cards"]] == [str(incident.pk)]
    assert 'data-triage-domains=""' in page.content.decode()  # the script shows no accept / decline
    assert client.post(f"/incidents/{incident.pk}/status/", {"status": "investigating"}).status_code == 403


def test_who_may_not_see_gets_404(client, monitor, mallory):
    incident = candidate(monitor)
    signed_in(client, mallory)
    assert client.get("/incidents/").context["cards"] == []
    assert client.get(f"/incidents/{incident.pk}/").status_code == 404
    assert client.post(f"/incidents/{incident.pk}/notes/", {"text": "hi"}).status_code == 404


def test_the_board_needs_a_login(client):
    assert client.get("/incidents/").status_code == 302


def test_the_commander_approves_a_remediation_in_the_war_room(client, monitor, ines, raj, rca_client):
    incident = accepted(monitor, ines)
    proposal_id = rca_client.post_json("/api/v1/proposals", {**ROLLBACK, "incident": str(incident.pk)}).json()["id"]
    responder = signed_in(type(client)(), raj)
    assert "Approve" not in responder.get(f"/incidents/{incident.pk}/").content.decode().split("Contradicting")[0]
    r = responder.post(f"/incidents/{incident.pk}/remediations/{proposal_id}/decide/", {"verdict": "approve"})
    assert r.status_code == 403
    page = signed_in(client, ines).get(f"/incidents/{incident.pk}/").content.decode()
    assert "Roll back payments to 2026.11.3" in page and 'value="approve"' in page
    r = client.post(f"/incidents/{incident.pk}/remediations/{proposal_id}/decide/", {"verdict": "approve"})
    assert r.status_code == 302
    assert Remediation.objects.get(proposal_id=proposal_id).outcome == "approved"


def test_notes_roles_severity_and_updates_from_the_war_room(client, monitor, ines, raj):
    incident = accepted(monitor, ines)
    signed_in(client, ines)
    client.post(f"/incidents/{incident.pk}/notes/", {"text": "Paging the payments team"})
    client.post(f"/incidents/{incident.pk}/roles/", {"username": "raj", "kind": "comms"})
    client.post(f"/incidents/{incident.pk}/severity/", {"severity": "SEV-1", "reason": "Spreading"})
    client.post(f"/incidents/{incident.pk}/updates/", {"conditions": "Payments degraded", "headline": "Payments"})
    incident.refresh_from_db()
    assert incident.severity == "SEV-1"
    assert incident.timeline.filter(kind=EntryKind.NOTE, user=ines).exists()
    update = incident.updates.get()
    comms = signed_in(type(client)(), raj)  # the communications lead publishes
    r = comms.post(f"/incidents/{incident.pk}/updates/{update.pk}/publish/", {"conditions": "Payments degraded"})
    assert r.status_code == 302
    update.refresh_from_db()
    assert update.state == "published" and update.published_by == raj


def test_a_form_error_is_a_message_not_a_500(client, monitor, ines):
    incident = accepted(monitor, ines)
    r = signed_in(client, ines).post(f"/incidents/{incident.pk}/status/", {"status": "bogus"}, follow=True)
    assert r.status_code == 200 and "status:" in r.content.decode()
    r = client.post(f"/incidents/{incident.pk}/notes/", {"text": "nul \x00 byte"}, follow=True)
    assert r.status_code == 200 and not incident.timeline.filter(kind=EntryKind.NOTE).exists()


def test_declaring_from_the_board(client, ops, ines, mallory):
    r = signed_in(client, ines).post("/incidents/declare/", {"title": "Checkout down", "severity": "SEV-1",
                                                             "domain": "operations"})
    incident = Incident.objects.get()
    assert r.url == f"/incidents/{incident.pk}/" and incident.commander == ines
    r = signed_in(type(client)(), mallory).post("/incidents/declare/", {"title": "x", "severity": "SEV-1",
                                                                        "domain": "operations"})
    assert Incident.objects.count() == 1


def test_the_review_page_and_its_markdown_export(client, monitor, ines):
    incident = accepted(monitor, ines)
    signed_in(client, ines).post(f"/incidents/{incident.pk}/review/")
    r = client.get(f"/incidents/{incident.pk}/review.md")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/markdown")
    assert r.content.decode().startswith(f"# Post-incident review: {incident.reference}")


@pytest.mark.parametrize("n", [3])
def test_the_board_costs_the_same_queries_whatever_the_number_of_incidents(client, monitor, ines, rca, n):
    signed_in(client, ines)
    accepted(monitor, ines)
    client.get("/incidents/")
    with CaptureQueriesContext(connection) as few:
        client.get("/incidents/")
    for i in range(n * 5):
        services.finding_add(incident=accepted(monitor, ines, symptom=f"symptom-{i}"), by=rca, summary="seen")
    with CaptureQueriesContext(connection) as many:
        client.get("/incidents/")
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_the_commander_relates_two_incidents_by_hand_and_undoes_it(client, monitor, ines, raj):
    incident = accepted(monitor, ines, resource="service:payments", symptom="errors")
    other = accepted(monitor, raj, title="Checkout latency", resource="service:checkout", symptom="latency")
    page = signed_in(client, ines).get(f"/incidents/{incident.pk}/")
    assert [r["id"] for r in page.context["relatable"]] == [other.pk]  # offered by name, not by typing an id
    r = client.post(f"/incidents/{incident.pk}/related/", {"other": str(other.pk), "reason": "Same deploy"})
    assert r.status_code == 302
    assert list(other.related.all()) == [incident]  # both ways
    assert other.timeline.filter(kind=EntryKind.LINK, summary__contains=incident.reference).exists()
    assert incident.timeline.get(kind=EntryKind.LINK).summary.endswith(": Same deploy")
    client.post(f"/incidents/{incident.pk}/related/", {"other": str(other.pk)})  # again: nothing new
    assert incident.timeline.filter(kind=EntryKind.LINK).count() == 1
    assert signed_in(client, ines).get(f"/incidents/{incident.pk}/").context["relatable"] == []
    client.post(f"/incidents/{incident.pk}/related/", {"other": str(other.pk), "remove": "on"})
    assert not incident.related.exists() and incident.timeline.filter(kind=EntryKind.LINK).count() == 2


def test_only_the_commander_relates_and_only_to_what_they_may_see(client, monitor, ines, raj, stranger_client):
    incident = accepted(monitor, ines)
    hidden_id = stranger_client.post_json("/api/v1/incidents", {  # a Platform incident: Operations cannot see it
        "title": "Platform disk full", "severity": "SEV-3", "resource": "host:db-1", "symptom": "disk"}).json()["id"]
    assert signed_in(client, raj).post(f"/incidents/{incident.pk}/related/",
                                       {"other": str(incident.pk)}).status_code == 403
    r = signed_in(client, ines).post(f"/incidents/{incident.pk}/related/", {"other": str(incident.pk)})
    assert r.status_code == 302 and not incident.related.exists()  # itself: a message, not a link
    said = []
    for other in (hidden_id, "00000000-0000-0000-0000-000000000000"):  # hidden and missing look alike
        r = client.post(f"/incidents/{incident.pk}/related/", {"other": str(other)}, follow=True)
        said.append([str(m) for m in r.context["messages"]][-1:])
    assert said[0] == said[1] and "No such incident" in said[0][0]
    assert not incident.related.exists()

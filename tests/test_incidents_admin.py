"""Admin of incidents: severities, the grouping window and domain responses are edited in admin through
the services (audited, history kept, never reverted or deleted); incidents are read-only there."""
import pytest
from django.contrib.auth.models import Group

from governance.audit.models import AuditEvent
from incidents.models import DomainResponse, IncidentSettings, Severity
from tests.factories import UserFactory
from tests.incident_fixtures import candidate

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_a_severity_is_edited_through_the_service(admin_client):
    sev1 = Severity.objects.get(level="SEV-1")
    r = admin_client.post(f"/admin/incidents/severity/{sev1.pk}/change/", {
        "target_seconds": 1800, "response": "page_all", "update_every_seconds": 900})
    assert r.status_code == 302, r.content[:2000]
    sev1.refresh_from_db()
    assert (sev1.target_seconds, sev1.update_every_seconds) == (1800, 900)
    event = AuditEvent.objects.get(action_type="configuration", summary="severity SEV-1 changed")
    assert event.actor_name == "root" and event.details["outcome"]["target_seconds"] == 1800
    assert admin_client.post(f"/admin/incidents/severity/{sev1.pk}/delete/", {"post": "yes"}).status_code == 403
    history = sev1.history.first()
    r = admin_client.post(f"/admin/incidents/severity/{sev1.pk}/history/{history.history_id}/", {})
    assert r.status_code == 403  # history is read, never reverted


def test_the_grouping_window_is_edited_in_admin(admin_client):
    r = admin_client.post("/admin/incidents/incidentsettings/1/change/", {"grouping_window_seconds": 600})
    assert r.status_code == 302
    assert IncidentSettings.objects.get().grouping_window_seconds == 600
    assert AuditEvent.objects.filter(summary="incident grouping window changed").exists()


def test_a_domain_response_is_set_in_admin(admin_client, ops):
    group = Group.objects.create(name="Night shift")
    response = DomainResponse.objects.get(domain=ops)
    r = admin_client.post(f"/admin/incidents/domainresponse/{response.pk}/change/", {
        "responders": group.pk, "subscribers": "press@example.com"})
    assert r.status_code == 302
    response.refresh_from_db()
    assert response.responders == group and response.subscriber_list() == ["press@example.com"]


def test_incidents_are_read_only_in_admin(admin_client, monitor):
    incident = candidate(monitor)
    assert admin_client.get("/admin/incidents/incident/").status_code == 200
    r = admin_client.post(f"/admin/incidents/incident/{incident.pk}/change/", {"title": "x"})
    assert r.status_code in (403, 200) and incident.__class__.objects.get(pk=incident.pk).title != "x"

"""Escalation on a breached target, status updates (drafts, publication, subscribers, reminders), the
public status page, the post-incident review, and the admin-edited configuration."""
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule

from governance.audit.models import AuditEvent
from incidents import services, tasks
from incidents.models import EntryKind, Incident, Severity, StatusUpdate
from orchestra_site.errors import Conflict
from tests.incident_fixtures import accepted, candidate

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def tasks_run_inline(monkeypatch):
    """django-q2's own synchronous mode: ``async_task`` runs the task at once (no cluster in tests)."""
    monkeypatch.setattr(Conf, "SYNC", True)


def test_the_sweep_is_scheduled_every_minute(db):
    schedule = Schedule.objects.get(name="incidents-sweep")
    assert schedule.func == "incidents.tasks.sweep" and schedule.minutes == 1


def test_a_breached_target_escalates_to_the_orchestrator_then_the_board(
        monitor, ines, olivia, erin, tasks_run_inline, django_capture_on_commit_callbacks):
    with time_machine.travel(T0, tick=False):
        incident = accepted(monitor, ines, severity="SEV-1")  # target 1 h
    with time_machine.travel(T0 + timedelta(minutes=59), tick=False):
        assert services.incidents_escalate_breached() == 0
    with time_machine.travel(T0 + timedelta(minutes=61), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep()["escalated"] == 1
        assert services.incidents_escalate_breached() == 0  # once per level
    incident.refresh_from_db()
    assert incident.escalation_level == 1
    entry = incident.timeline.get(kind=EntryKind.ESCALATION)
    assert "escalated to the domain orchestrator" in entry.summary and entry.user is None
    assert [m.to for m in mail.outbox if "breached" in m.subject] == [["olivia@example.com"]]
    with time_machine.travel(T0 + timedelta(minutes=121), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert services.incidents_escalate_breached() == 1
    incident.refresh_from_db()
    assert incident.escalation_level == 2
    assert ["erin@example.com"] in [m.to for m in mail.outbox]
    assert AuditEvent.objects.filter(incident_id=str(incident.pk), status="escalated").count() == 2


def test_a_resolved_incident_never_escalates(monitor, ines):
    with time_machine.travel(T0, tick=False):
        incident = accepted(monitor, ines, severity="SEV-1")
        services.incident_set_status(incident=incident, status="resolved", by=ines)
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        assert services.incidents_escalate_breached() == 0


def test_declaring_a_sev1_notifies_the_whole_responder_group(ops, ines, raj, tasks_run_inline,
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_report(reporter=ines, title="Everything is down", severity="SEV-1", domain=ops)
    assert sorted(m.to[0] for m in mail.outbox) == ["ines@example.com", "raj@example.com"]


def test_a_sev4_goes_to_the_normal_queue(ops, ines, raj, tasks_run_inline, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_report(reporter=ines, title="Typo on the status page", severity="SEV-4", domain=ops)
    assert mail.outbox == []


def test_a_status_update_is_drafted_published_and_mailed_to_subscribers(
        monitor, ines, raj, tasks_run_inline, django_capture_on_commit_callbacks):
    incident = accepted(monitor, ines)
    draft = services.update_draft(incident=incident, by=monitor, conditions="Card payments fail for some users",
                                  actions="Rolling back the last deploy", needs="")
    assert draft.state == "draft" and draft.drafted_by_agent == monitor
    with django_capture_on_commit_callbacks(execute=True):
        published = services.update_publish(update=draft, by=ines, headline="Card payments degraded")
    assert published.state == "published" and published.public_status == "investigating"
    assert sorted(m.to[0] for m in mail.outbox) == ["cto@example.com", "status@example.com"]
    assert mail.outbox[0].subject == "Status update: Card payments degraded"
    with pytest.raises(Conflict):
        services.update_publish(update=draft, by=ines)


def test_the_public_status_page_shows_only_what_was_published(monitor, ines, db):
    incident = accepted(monitor, ines, title="Secret internal codename Falcon broke")
    services.update_draft(incident=incident, by=monitor, conditions="DRAFT: database credentials leaked?")
    anonymous = Client()
    page = anonymous.get("/status/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "All systems operational" in text
    assert "Falcon" not in text and "DRAFT" not in text
    published = services.update_draft(incident=incident, by=ines, headline="Payments degraded",
                                      conditions="Some card payments fail.", actions="We are rolling back.")
    services.update_publish(update=published, by=ines)
    text = anonymous.get("/status/").content.decode()
    assert "Payments degraded" in text and "Some card payments fail." in text and "We are rolling back." in text
    assert "Falcon" not in text and "DRAFT" not in text and "credentials" not in text
    assert "Ongoing incidents" in text


def test_a_status_update_reminder_when_one_is_due(monitor, ines, tasks_run_inline, django_capture_on_commit_callbacks):
    with time_machine.travel(T0, tick=False):
        incident = accepted(monitor, ines, severity="SEV-1")  # an update every 30 minutes
    with time_machine.travel(T0 + timedelta(minutes=29), tick=False):
        assert services.updates_remind_due() == 0
    with time_machine.travel(T0 + timedelta(minutes=31), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert services.updates_remind_due() == 1
        assert services.updates_remind_due() == 0  # once per period
    assert [m.to for m in mail.outbox] == [["ines@example.com"]]
    with time_machine.travel(T0 + timedelta(minutes=40), tick=False):
        update = services.update_draft(incident=incident, by=ines, conditions="Still degraded")
        services.update_publish(update=update, by=ines)
    with time_machine.travel(T0 + timedelta(minutes=65), tick=False):
        assert services.updates_remind_due() == 0  # due 30 minutes after the last published update
    with time_machine.travel(T0 + timedelta(minutes=71), tick=False):
        assert services.updates_remind_due() == 1
    assert incident.timeline.filter(kind=EntryKind.UPDATE, data__reminder=True).count() == 2


def test_severities_are_edited_through_the_service(ines):
    sev2 = Severity.objects.get(level="SEV-2")
    assert (sev2.target_seconds, sev2.update_every_seconds) == (4 * 3600, 3600)
    services.severity_update(severity=sev2, by=ines, target_seconds=2 * 3600, update_every_seconds=1800)
    sev2.refresh_from_db()
    assert sev2.target_seconds == 7200 and sev2.history.first().history_user == ines
    assert AuditEvent.objects.filter(action_type="configuration", summary="severity SEV-2 changed").exists()


def test_the_review_is_generated_from_the_record(monitor, ines, second_agent):
    with time_machine.travel(T0, tick=False):
        incident = accepted(monitor, ines, severity="SEV-2")
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        services.finding_add(incident=incident, by=monitor, summary="Deploy 2026.11.4 broke charges",
                             question="root_cause", answer="deploy 2026.11.4", confidence=0.8)
        services.finding_add(incident=incident, by=second_agent, summary="Database failover at 08:58",
                             question="root_cause", answer="db failover", confidence=0.6)
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        incident = services.incident_set_status(incident=incident, status="mitigated", by=ines, reason="Rolled back")
    with time_machine.travel(T0 + timedelta(minutes=90), tick=False):
        incident = services.incident_set_status(incident=incident, status="resolved", by=ines)
        review = services.review_generate(incident=incident, by=ines)
    body = review.body
    assert body.startswith(f"# Post-incident review: {incident.reference}")
    assert "| time to mitigate (impact started → mitigated) | 30 min |" in body
    assert "| time to resolve (impact started → resolved) | 1 h 30 min |" in body
    assert "| target met | yes |" in body
    assert "## Contradicting findings" in body and "deploy 2026.11.4" in body and "db failover" in body
    assert "mitigated: Rolled back" in body  # the decision, with who and why
    review = services.review_update(review=review, by=ines, body=body, action_items="Add a canary\nAlert on 5xx")
    exported = services.review_markdown(review)
    assert exported.endswith("## Action items\n\n- [ ] Add a canary\n- [ ] Alert on 5xx\n")
    again = services.review_generate(incident=incident, by=ines)
    assert again.pk == review.pk and again.action_items == "Add a canary\nAlert on 5xx"


@pytest.fixture
def second_agent(ops):
    from governance.services import agent_create

    return agent_create(name="second-opinion-bot", domain=ops)[0]


def test_incidents_are_kept_in_the_database_after_the_tests(monitor):
    candidate(monitor)
    assert Incident.objects.count() == 1 and StatusUpdate.objects.count() == 0


def test_an_incident_notice_lost_with_the_cluster_is_sent_by_the_sweep(ops, ines, raj, monkeypatch,
                                                                       django_capture_on_commit_callbacks):
    """Incident e-mails are owed in the declaring transaction (one notification-outbox row each): when
    the queued tasks die with the cluster, the notification sweep sends them later, once each."""
    from django_q.models import OrmQ

    from inbox.notifications import outbox
    from inbox.notifications import tasks as notification_tasks
    from inbox.notifications.models import OwedNotification

    monkeypatch.setattr(Conf, "SYNC", False)
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_report(reporter=ines, title="Everything is down", severity="SEV-1", domain=ops)
    owed = OwedNotification.objects.filter(event=None, state="owed")
    assert sorted(owed.values_list("to_email", flat=True)) == ["ines@example.com", "raj@example.com"]
    assert mail.outbox == []
    OrmQ.objects.all().delete()  # the broker's copies are gone with the killed cluster
    OwedNotification.objects.update(queued_at=timezone.now() - timedelta(seconds=outbox.lease_seconds() + 1))
    monkeypatch.setattr(Conf, "SYNC", True)
    assert notification_tasks.sweep()["deliveries"] == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["ines@example.com", "raj@example.com"]
    assert all(m.subject.startswith("[SEV-1]") for m in mail.outbox)
    assert notification_tasks.sweep()["deliveries"] == 0 and not owed.exists()

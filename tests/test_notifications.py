"""Reviewers told outside the browser (inbox.notifications): preferences, the fan-out to the right
reviewers only (those who opted in and may decide in the inbox), e-mail through Django's locmem backend
(one at a time and as a digest), Slack to a local HTTP receiver, retries with backoff and failures in
admin, and nothing lost when the worker dies between the promise and the delivery."""
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.conf import Conf

from governance import services as governance_services
from inbox import services, timers
from inbox.models import InboxSlack, NotificationEvent, OwedNotification, Proposal
from inbox.notifications import fanout, outbox, preferences, tasks
from inbox.schemas import ProposalIn
from orchestra_site.errors import InvalidInput
from tests.conftest import PROPOSAL
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
State = OwedNotification.State
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture(autouse=True)
def locmem_mail_and_fresh_listening(settings):
    settings.EMAIL_BACKEND = EMAIL_BACKEND
    settings.ORCHESTRA_BASE_URL = "https://orchestra.example"
    preferences.forget_listening()  # the cache outlives each test's database
    yield
    preferences.forget_listening()


@pytest.fixture
def q2_sync(monkeypatch):
    """django-q2 runs ``async_task`` inline (``Conf.SYNC``; ``Q_CLUSTER`` is read once at import)."""
    monkeypatch.setattr(Conf, "SYNC", True)


class SlackReceiver:
    """A local Slack incoming webhook: answers ``statuses`` in turn (the last repeats), keeps the JSON."""

    def __init__(self):
        self.statuses, self.messages = [200], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                receiver.messages.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"invalid_token")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/secretpart"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def slack():
    receiver = SlackReceiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def opt_in(user, email="immediate", slack=False, **flags):
    return preferences.notification_preference_set(
        user=user, email=email, slack=slack, on_new=flags.get("on_new", True),
        on_escalation=flags.get("on_escalation", True), on_sla=flags.get("on_sla", True))


def submit(agent, **fields):
    data = ProposalIn(**{**PROPOSAL, **fields}).to_model_fields()
    return services.proposal_submit(agent=agent, data=data)[0]


def run_all(django_capture_on_commit_callbacks, action):
    """Run ``action`` and every task it queues (after its commit), inline."""
    with django_capture_on_commit_callbacks(execute=True):
        return action()


@pytest.fixture
def carol(platform_inbox):
    """carol may view the Platform inbox, not decide in it."""
    user = UserFactory(username="carol")
    governance_services.inbox_grant(inbox=platform_inbox, user=user, decide=False)
    return user


# --- preferences --------------------------------------------------------------------------------------

def test_by_default_a_reviewer_is_told_in_the_browser_only(alice):
    pref = preferences.preference_of(alice)
    assert pref.pk is None or not pref.listens
    assert (pref.email, pref.slack) == ("off", False)
    assert not preferences.anyone_listening()


def test_a_reviewer_chooses_email_and_events_and_it_is_audited(alice):
    from governance.audit.models import AuditEvent

    opt_in(alice, email="digest", on_sla=False)
    pref = preferences.preference_of(alice)
    assert (pref.email, pref.on_new, pref.on_escalation, pref.on_sla) == ("digest", True, True, False)
    assert preferences.anyone_listening()
    assert AuditEvent.objects.filter(summary__startswith="notification preferences of alice").exists()


def test_email_needs_an_address_and_a_known_choice(alice):
    with pytest.raises(InvalidInput) as e:
        opt_in(alice, email="hourly")
    assert e.value.field == "email"
    alice.email = ""
    alice.save()
    with pytest.raises(InvalidInput, match="no e-mail address"):
        opt_in(alice, email="immediate")
    opt_in(alice, email="off", slack=True)  # Slack needs no address


def test_the_profile_page_shows_and_saves_the_preferences(client, alice, platform_inbox):
    preferences.inbox_slack_set(inbox=platform_inbox, webhook_url="https://hooks.slack.com/services/T1/B2/abcdefSECRET")
    client.force_login(alice)
    page = client.get("/profile/").content.decode()
    assert "Notifications" in page and 'value="digest"' in page
    assert "a Slack channel is set up" in page and "abcdefSECRET" not in page and "hooks.slack.com" not in page
    r = client.post("/profile/notifications/", {"email": "digest", "slack": "on", "on_new": "on"})
    assert r.status_code == 302
    pref = preferences.preference_of(alice)
    chosen = (pref.email, pref.slack, pref.on_new, pref.on_escalation, pref.on_sla)
    assert chosen == ("digest", True, True, False, False)
    r = client.post("/profile/notifications/", {"email": "weekly"})
    assert r.status_code == 422 and "weekly" in r.content.decode()


def test_notification_preferences_need_a_signed_in_reviewer(client):
    r = client.post("/profile/notifications/", {"email": "digest"})
    assert r.status_code in (302, 403) and not NotificationEvent.objects.exists()


def test_a_broken_cache_is_answered_by_the_database(alice, monkeypatch):
    from django.core.cache import cache

    def down(*args, **kwargs):
        raise ConnectionError("redis is down")

    opt_in(alice)
    monkeypatch.setattr(cache, "get", down)
    monkeypatch.setattr(cache, "set", down)
    assert preferences.anyone_listening()


# --- the proposal path --------------------------------------------------------------------------------

def test_nobody_opted_in_costs_the_submission_no_query_and_no_row(agent, alice):
    preferences.anyone_listening()  # cached, as it is after the first proposal
    with CaptureQueriesContext(connection) as queries:
        submit(agent)
    assert not [q for q in queries.captured_queries if "notification" in q["sql"].lower()]
    assert not NotificationEvent.objects.exists()


def test_a_new_proposal_is_mailed_to_its_inboxs_deciders_who_opted_in_only(
        agent, alice, bob, carol, django_capture_on_commit_callbacks, q2_sync):
    opt_in(alice)
    opt_in(bob)  # another inbox: not told
    opt_in(carol)  # may view, not decide: not told
    dave = UserFactory(username="dave")
    dave.groups.add(agent.domain.default_inbox.reviewers)  # may decide, did not opt in: not told
    p = run_all(django_capture_on_commit_callbacks, lambda: submit(agent))
    assert [m.to for m in mail.outbox] == [[alice.email]]
    message = mail.outbox[0]
    assert message.subject == "[Orchestra] New proposal in Platform reviewers: deploy.rollback on service:payments"
    assert f"https://orchestra.example/proposals/{p.pk}/" in message.body
    assert "Roll back payments" in message.body and "deploy-bot" in message.body
    assert OwedNotification.objects.get().state == State.DELIVERED


def test_a_reviewer_who_lost_access_is_no_longer_told(agent, alice, django_capture_on_commit_callbacks, q2_sync):
    opt_in(alice)
    alice.groups.clear()
    run_all(django_capture_on_commit_callbacks, lambda: submit(agent))
    assert mail.outbox == [] and not OwedNotification.objects.exists()
    assert NotificationEvent.objects.get().fanned_out_at is not None


def test_only_the_chosen_events_are_told(agent, alice, django_capture_on_commit_callbacks, q2_sync):
    opt_in(alice, on_new=False)
    run_all(django_capture_on_commit_callbacks, lambda: submit(agent))
    assert mail.outbox == []


def test_an_escalation_is_told_to_the_new_inbox_not_to_who_escalated(
        agent, alice, platform, django_capture_on_commit_callbacks, q2_sync):
    olga = UserFactory(username="olga")
    olga.groups.add(platform.orchestrator_inbox.reviewers)
    alice.groups.add(platform.orchestrator_inbox.reviewers)  # alice escalates, and decides there too
    p = submit(agent)
    opt_in(olga)
    opt_in(alice)
    run_all(django_capture_on_commit_callbacks,
            lambda: timers.proposal_escalate(proposal=p, reason="Needs the orchestrator.", by=alice))
    assert [m.to for m in mail.outbox] == [[olga.email]]
    assert mail.outbox[0].subject.startswith("[Orchestra] Escalated to ")


def test_a_proposal_about_to_breach_its_sla_is_warned_about_once(agent, alice, django_capture_on_commit_callbacks,
                                                                  q2_sync):
    p = submit(agent, risk="high")  # SLA one hour
    opt_in(alice, on_new=False)
    now = timezone.now()
    Proposal.objects.filter(pk=p.pk).update(sla_due_at=now + timedelta(minutes=20))  # 67 % elapsed: not yet
    assert fanout.sla_warnings_owe(now) == 0
    Proposal.objects.filter(pk=p.pk).update(sla_due_at=now + timedelta(minutes=11))  # 82 % elapsed
    run_all(django_capture_on_commit_callbacks, lambda: fanout.sla_warnings_owe(now))
    assert fanout.sla_warnings_owe(now) == 0  # once per deadline
    assert [m.subject for m in mail.outbox] == [
        "[Orchestra] About to breach its SLA in Platform reviewers: deploy.rollback on service:payments"]


def test_a_digest_gathers_a_reviewers_notifications_in_one_email(agent, alice, django_capture_on_commit_callbacks,
                                                                  q2_sync):
    opt_in(alice, email="digest")
    first = run_all(django_capture_on_commit_callbacks, lambda: submit(agent, resource="service:a"))
    second = run_all(django_capture_on_commit_callbacks, lambda: submit(agent, resource="service:b"))
    assert mail.outbox == []  # nothing before the digest's time
    rows = OwedNotification.objects.filter(channel="digest")
    assert rows.count() == 2 and all(r.next_attempt_at > timezone.now() for r in rows)
    assert tasks.sweep()["digests"] == 0
    rows.update(next_attempt_at=timezone.now() - timedelta(seconds=1))  # the digest's time came
    assert tasks.sweep()["digests"] == 1
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert mail.outbox[0].subject == "[Orchestra] Digest: 2 notifications"
    assert f"/proposals/{first.pk}/" in body and f"/proposals/{second.pk}/" in body
    assert set(rows.values_list("state", flat=True)) == {State.DELIVERED}


def test_the_digest_time_is_the_next_period_boundary(settings):
    settings.ORCHESTRA_NOTIFY_DIGEST_MINUTES = 60
    at = timezone.now().replace(hour=9, minute=12, second=5)
    assert fanout.next_digest_at(at) == at.replace(hour=10, minute=0, second=0, microsecond=0)


# --- Slack ----------------------------------------------------------------------------------------------

def test_slack_gets_one_message_per_inbox_with_a_link_that_opens_the_proposal(
        agent, alice, platform_inbox, slack, django_capture_on_commit_callbacks, q2_sync):
    preferences.inbox_slack_set(inbox=platform_inbox, webhook_url=slack.url)
    dave = UserFactory(username="dave")
    dave.groups.add(platform_inbox.reviewers)
    opt_in(alice, email="off", slack=True)
    opt_in(dave, email="off", slack=True)
    p = run_all(django_capture_on_commit_callbacks, lambda: submit(agent))
    assert len(slack.messages) == 1
    text = slack.messages[0]["text"]
    assert f"<https://orchestra.example/proposals/{p.pk}/|Open the proposal>" in text
    assert "New proposal in Platform reviewers" in text and "deploy-bot" in text
    assert OwedNotification.objects.get(channel="slack").state == State.DELIVERED


def test_no_slack_message_for_an_inbox_without_a_channel(agent, alice, slack, django_capture_on_commit_callbacks,
                                                         q2_sync):
    opt_in(alice, email="off", slack=True)
    run_all(django_capture_on_commit_callbacks, lambda: submit(agent))
    assert slack.messages == [] and not OwedNotification.objects.exists()


def test_the_slack_url_is_checked_and_never_shown_in_full(platform_inbox, admin_client, slack):
    with pytest.raises(InvalidInput):
        preferences.inbox_slack_set(inbox=platform_inbox, webhook_url="http://hooks.example.com/x")
    s = preferences.inbox_slack_set(inbox=platform_inbox, webhook_url=slack.url)
    assert "secretpart" not in s.masked_url and s.masked_url.endswith("…part")
    listing = admin_client.get("/admin/inbox/inboxslack/").content.decode()
    change = admin_client.get(f"/admin/inbox/inboxslack/{platform_inbox.pk}/change/").content.decode()
    assert "secretpart" not in listing and "secretpart" not in change and "…part" in listing
    r = admin_client.post(f"/admin/inbox/inboxslack/{platform_inbox.pk}/change/", {"webhook_url": ""})
    assert r.status_code == 302 and InboxSlack.objects.get().webhook_url == slack.url  # empty keeps it


def test_a_reviewer_without_change_inbox_cannot_see_slack_settings(client, alice):
    alice.is_staff = True
    alice.save()
    client.force_login(alice)
    assert client.get("/admin/inbox/inboxslack/").status_code == 403


# --- retries, failures in admin, crashes --------------------------------------------------------------

def test_a_failed_slack_post_is_retried_with_backoff_then_given_up_and_shown_in_admin(
        agent, alice, platform_inbox, slack, admin_client, settings, django_capture_on_commit_callbacks, q2_sync):
    settings.ORCHESTRA_NOTIFY_MAX_ATTEMPTS = 2
    slack.statuses = [500, 404]
    preferences.inbox_slack_set(inbox=platform_inbox, webhook_url=slack.url)
    opt_in(alice, email="off", slack=True)
    run_all(django_capture_on_commit_callbacks, lambda: submit(agent))
    row = OwedNotification.objects.get()
    assert (row.state, row.attempts) == (State.OWED, 1) and row.last_error.startswith("500")
    assert row.next_attempt_at > timezone.now() + timedelta(seconds=5)  # the backoff: 10 s
    assert tasks.sweep()["deliveries"] == 0  # not due yet
    OwedNotification.objects.update(next_attempt_at=timezone.now())
    assert tasks.sweep()["deliveries"] == 1
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == (State.FAILED, 2, "404 invalid_token")
    page = admin_client.get("/admin/inbox/owednotification/?state=failed").content.decode()
    assert "404 invalid_token" in page and "secretpart" not in page
    r = admin_client.post("/admin/inbox/owednotification/", {"action": "retry", "_selected_action": [row.pk]})
    assert r.status_code == 302
    from governance.audit.models import AuditEvent

    assert AuditEvent.objects.filter(summary="1 given-up notification deliveries to be tried again").exists()
    slack.statuses = [200]
    tasks.sweep()
    row.refresh_from_db()
    assert (row.state, len(slack.messages)) == (State.DELIVERED, 3)


def test_a_broken_mail_server_is_retried(agent, alice, settings, django_capture_on_commit_callbacks, q2_sync):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    opt_in(alice)
    run_all(django_capture_on_commit_callbacks, lambda: submit(agent))
    row = OwedNotification.objects.get()
    assert row.state == State.OWED and row.attempts == 1 and "ConnectionRefused" in row.last_error
    settings.EMAIL_BACKEND = EMAIL_BACKEND
    OwedNotification.objects.update(next_attempt_at=timezone.now())
    tasks.sweep()
    assert OwedNotification.objects.get().state == State.DELIVERED and len(mail.outbox) == 1


def test_nothing_is_lost_when_the_worker_dies_before_the_fan_out(agent, alice, django_capture_on_commit_callbacks):
    """The event is written with the proposal; its queued fan-out is lost with the cluster (no
    ``Conf.SYNC``: the task sits on a broker that is then dropped). The sweep queues it again."""
    opt_in(alice)
    run_all(django_capture_on_commit_callbacks, lambda: submit(agent))
    event = NotificationEvent.objects.get()
    assert event.fanned_out_at is None and mail.outbox == []
    from django_q.models import OrmQ

    OrmQ.objects.all().delete()  # the broker's copy is gone with the killed cluster
    assert tasks.sweep()["fanouts"] == 0  # queued a moment ago: not yet presumed lost
    NotificationEvent.objects.update(queued_at=timezone.now() - timedelta(seconds=outbox.lease_seconds() + 1))
    Conf.SYNC = True
    try:
        assert tasks.sweep()["fanouts"] == 1
    finally:
        Conf.SYNC = False
    assert [m.to for m in mail.outbox] == [[alice.email]]
    assert tasks.sweep() == {"sla_warnings": 0, "fanouts": 0, "deliveries": 0, "digests": 0}


def test_a_delivery_cut_mid_send_is_sent_again_after_its_lease(agent, alice, django_capture_on_commit_callbacks,
                                                                q2_sync, monkeypatch):
    opt_in(alice)
    monkeypatch.setattr(Conf, "SYNC", False)
    run_all(django_capture_on_commit_callbacks, lambda: submit(agent))
    event = NotificationEvent.objects.get()
    rows = fanout.event_fan_out(event.pk)
    assert outbox.delivery_claim(rows[0].pk) is not None  # a worker took it, then died mid-send
    assert outbox.delivery_claim(rows[0].pk) is None  # leased: nobody else sends it meanwhile
    monkeypatch.setattr(Conf, "SYNC", True)
    assert tasks.sweep()["deliveries"] == 0
    OwedNotification.objects.update(leased_until=timezone.now() - timedelta(seconds=1),
                                    queued_at=timezone.now() - timedelta(hours=1))
    assert tasks.sweep()["deliveries"] == 1
    row = OwedNotification.objects.get()
    assert (row.state, row.attempts) == (State.DELIVERED, 2) and len(mail.outbox) == 1
    assert fanout.event_fan_out(event.pk) == []  # fanned out once



def test_the_profile_page_shows_the_preferences_once_with_a_plain_title(alice, client):
    client.force_login(alice)
    html = client.get("/profile/").content.decode()
    assert html.count('id="notifications"') == 1
    title = html.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<" not in title and "Profile" in title

"""Closing the loop (``POST /api/v1/proposals/{id}/outcome``), the audit search and export APIs, who
may read what, and the alerts raised when authority widens or an execution is refused."""
import csv
import datetime as dt
import io
import json
from unittest import mock

import pytest
from django.utils import timezone

from governance import services as governance_services
from governance import tokens
from governance.audit.models import AuditAlert, AuditEvent
from inbox import services
from inbox.models import Execution
from tests.conftest import PROPOSAL, TokenClient
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
OUTCOME = "/api/v1/proposals/{}/outcome"


@pytest.fixture
def approved(agent, alice):
    p = services.proposal_submit(agent=agent, data={**PROPOSAL, "risk": "low"})[0]
    return services.proposal_decide(proposal=p, reviewer=alice, verdict="approve")


def report(client, p, **body):
    return client.post_json(OUTCOME.format(p.pk), {"status": "succeeded", "message": "rolled back",
                                                   "data": {"took_s": 42}, "args": PROPOSAL["args"], **body})


# --- the outcome report ----------------------------------------------------------------------------------

def test_an_approved_action_reports_its_outcome_once(agent_client, approved):
    r = report(agent_client, approved)
    assert r.status_code == 201, r.content
    assert r.json()["status"] == "succeeded"
    execution = Execution.objects.get(proposal=approved)
    assert execution.data == {"took_s": 42}
    kinds = list(AuditEvent.objects.filter(proposal_id=approved.pk).order_by("timestamp")
                 .values_list("action_type", flat=True))
    assert kinds == ["submission", "decision", "execution"]
    again = report(agent_client, approved)
    assert again.status_code == 409
    assert again.json()["code"] == "not_approved_as_executed" and again.json()["reason"] == "already_executed"
    assert Execution.objects.count() == 1


def test_args_other_than_the_approved_ones_are_refused_recorded_and_alerted(agent_client, approved):
    r = report(agent_client, approved, args={**PROPOSAL["args"], "to_version": "2020.1.1"})
    assert r.status_code == 409
    assert r.json()["code"] == "not_approved_as_executed" and r.json()["reason"] == "args_differ"
    assert not Execution.objects.exists()
    refused = AuditEvent.objects.get(action_type="execution_refused")
    assert refused.proposal_id == approved.pk and refused.status == "args_differ"
    assert refused.details["context"]["args"]["to_version"] == "2020.1.1"
    alert = AuditAlert.objects.get(kind="execution_refused")
    assert alert.domain == "platform" and alert.event_id == refused.id
    assert report(agent_client, approved).status_code == 201  # the right args still may, once


def test_an_edited_approval_is_bound_to_the_edited_args(agent, agent_client, alice):
    p = services.proposal_submit(agent=agent, data={**PROPOSAL, "risk": "low"})[0]
    carol = UserFactory(username="carol")
    carol.groups.add(p.inbox.reviewers)
    edited = {**PROPOSAL["args"], "to_version": "2026.11.2"}
    services.proposal_decide(proposal=p, reviewer=alice, verdict="edit", args=edited, comment="one further back")
    p = services.proposal_decide(proposal=p, reviewer=carol, verdict="approve")  # four-eyes after an edit
    assert p.status == "edited_and_approved"
    assert report(agent_client, p).json()["reason"] == "args_differ"  # the original args were not approved
    assert report(agent_client, p, args=edited).status_code == 201


def test_a_proposal_that_was_not_approved_cannot_report_an_execution(agent, agent_client, alice):
    p = services.proposal_submit(agent=agent, data={**PROPOSAL, "risk": "low"})[0]
    assert report(agent_client, p).json()["reason"] == "not_approved"  # still pending
    services.proposal_decide(proposal=p, reviewer=alice, verdict="reject", comment="no")
    r = report(agent_client, p)
    assert (r.status_code, r.json()["reason"]) == (409, "not_approved")


def test_an_expired_approval_cannot_be_executed(agent_client, approved):
    later = timezone.now() + dt.timedelta(hours=24, seconds=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        r = report(agent_client, approved)
    assert (r.status_code, r.json()["reason"]) == (409, "approval_expired")


def test_the_policy_sets_how_long_an_approval_lasts(agent, agent_client):
    governance_services.policy_create(by=None, name="quick", action_pattern="deploy.*", outcome="auto_approve",
                                      min_confidence=0.5, approval_ttl_seconds=60, priority=1)
    p = services.proposal_submit(agent=agent, data={**PROPOSAL, "risk": "low", "confidence": 0.9})[0]
    assert p.status == "approved"
    assert p.approval_expires_at - p.decided_at == dt.timedelta(seconds=60)
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + dt.timedelta(seconds=61)):
        assert report(agent_client, p).json()["reason"] == "approval_expired"


def test_only_the_proposals_own_agent_reports(approved, other_agent_client, alice_client):
    assert report(other_agent_client, approved).status_code == 404
    assert report(alice_client, approved).status_code == 403


def test_a_bad_report_is_a_clear_422(agent_client, approved):
    r = report(agent_client, approved, status="done")
    assert r.status_code == 422 and r.json()["field"] == "status"
    r = agent_client.post_json(OUTCOME.format(approved.pk), {"status": "succeeded"})
    assert r.status_code == 422 and r.json()["field"] == "args"


# --- search and export -----------------------------------------------------------------------------------

@pytest.fixture
def history(agent, alice):
    """Three proposals: one approved (workflow wf-1), one rejected, one pending."""
    a = services.proposal_submit(agent=agent, data={**PROPOSAL, "risk": "low", "workflow": "wf-1"})[0]
    services.proposal_decide(proposal=a, reviewer=alice, verdict="approve", comment="the canary is healthy")
    b = services.proposal_submit(agent=agent, data={**PROPOSAL, "risk": "low", "resource": "service:ledger",
                                                    "related_tasks": ["JIRA-7"]})[0]
    services.proposal_decide(proposal=b, reviewer=alice, verdict="reject", comment="ledger freeze this week")
    services.proposal_submit(agent=agent, data={**PROPOSAL, "risk": "low", "resource": "service:search",
                                                "classification": "sensitive"})
    return a, b


def search(client, **params):
    r = client.get("/api/v1/audit/events", params)
    assert r.status_code == 200, r.content
    return r.json()


def test_search_filters(auditor_client, history):
    a, b = history
    assert {e["action_type"] for e in search(auditor_client, agent="deploy-bot")["items"]} == {"submission"}
    decisions = search(auditor_client, action_type="decision", actor="alice")["items"]
    assert [e["status"] for e in decisions] == ["rejected", "approved"]  # newest first
    assert [e["proposal_id"] for e in search(auditor_client, workflow="wf-1")["items"]] == [str(a.pk)] * 2
    assert {e["proposal_id"] for e in search(auditor_client, related_task="JIRA-7")["items"]} == {str(b.pk)}
    assert search(auditor_client, q="ledger freeze")["items"][0]["details"]["reasoning"] == "ledger freeze this week"
    assert {e["classification"] for e in search(auditor_client, classification="sensitive")["items"]} == {"sensitive"}
    assert search(auditor_client, since="2999-01-01T00:00:00Z")["items"] == []
    event = search(auditor_client, action_type="decision")["items"][0]
    assert event["actor"] == {"type": "user", "id": str(b.votes.get().reviewer_id), "name": "alice"}
    assert event["timestamp"].endswith("Z") and event["trace_id"] == ""  # decided by a direct service call


def test_the_trace_and_workflow_of_a_request_are_on_its_events(agent_client, auditor_client):
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    r = agent_client.post_json("/api/v1/proposals", {**PROPOSAL, "risk": "low"},
                               traceparent=f"00-{trace}-00f067aa0ba902b7-01", **{"X-Workflow-Id": "incident-42"})
    assert r.status_code == 201
    (event,) = search(auditor_client, proposal=r.json()["id"])["items"]
    assert (event["trace_id"], event["workflow"]) == (trace, "incident-42")
    assert [e["id"] for e in search(auditor_client, trace=trace)["items"]] == [event["id"]]
    r = agent_client.post_json("/api/v1/proposals", {**PROPOSAL, "risk": "low", "resource": "x"},
                               traceparent="garbage")
    (event,) = search(auditor_client, proposal=r.json()["id"])["items"]
    assert len(event["trace_id"]) == 32 and event["trace_id"] != trace  # an invalid header starts a new trace


def test_search_pages_with_a_cursor(auditor_client, history):
    seen, cursor = [], None
    while True:
        page = search(auditor_client, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == AuditEvent.objects.count()
    stamps = [AuditEvent.objects.get(pk=i).timestamp for i in seen]
    assert stamps == sorted(stamps, reverse=True)


def test_bad_search_input_is_a_clear_error(auditor_client):
    r = auditor_client.get("/api/v1/audit/events", {"cursor": "not-a-cursor"})
    assert r.status_code == 422 and r.json()["field"] == "cursor"
    r = auditor_client.get("/api/v1/audit/events", {"action_type": "coffee"})
    assert r.status_code == 422 and r.json()["field"] == "action_type"
    r = auditor_client.get("/api/v1/audit/events", {"since": "2026-01-01T00:00:00"})
    assert r.status_code == 422 and r.json()["field"] == "since"
    assert search(auditor_client, since="2026-01-01T00:00:00-17:30")["items"] is not None  # any offset Python takes


def test_who_may_read_the_audit_trail(history, agent_client, alice_client, auditor_client, platform, legal_inbox):
    assert agent_client.get("/api/v1/audit/events").status_code == 404
    assert alice_client.get("/api/v1/audit/events").status_code == 404  # a first-line reviewer
    olivia = UserFactory(username="olivia")
    governance_services.domain_orchestrator_grant(user=olivia, domain=legal_inbox.domain)
    product_only = TokenClient(tokens.user_token_create(user=olivia)[1])
    assert {e["domain"] for e in search(product_only)["items"]} == {"product"}
    governance_services.domain_orchestrator_grant(user=olivia, domain=platform)
    assert "platform" in {e["domain"] for e in search(product_only, limit=200)["items"]}
    assert len(search(auditor_client, limit=200)["items"]) == AuditEvent.objects.count()


def test_the_auditor_changes_nothing(auditor_client, history):
    a, _ = history
    decide = auditor_client.post_json(f"/api/v1/proposals/{a.pk}/decision", {"verdict": "approve"})
    assert decide.status_code == 403 and decide.json()["code"] == "decide_forbidden"
    assert auditor_client.post_json(OUTCOME.format(a.pk), {"status": "succeeded", "args": {}}).status_code == 403


def test_export_jsonl_and_csv(auditor_client, history):
    r = auditor_client.get("/api/v1/audit/export", {"format": "jsonl", "action_type": "decision"})
    assert r.status_code == 200 and r["Content-Type"] == "application/x-ndjson" and r.streaming
    lines = [json.loads(line) for line in b"".join(r.streaming_content).decode().splitlines()]
    assert [e["status"] for e in lines] == ["rejected", "approved"]
    r = auditor_client.get("/api/v1/audit/export", {"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert len(rows) == AuditEvent.objects.count()
    assert {"id", "timestamp", "actor_name", "summary", "details"} <= set(rows[0])
    assert auditor_client.get("/api/v1/audit/export", {"format": "xml"}).status_code == 422


def test_export_is_scoped_like_search(history, alice_client):
    assert alice_client.get("/api/v1/audit/export").status_code == 404


# --- alerts when authority widens --------------------------------------------------------------------------

def test_widening_authority_alerts_the_domains_orchestrators(platform, platform_inbox, agent):
    root = UserFactory(username="root", is_superuser=True)
    carol = UserFactory(username="carol")
    governance_services.inbox_grant(inbox=platform_inbox, user=carol, by=root)
    governance_services.agent_update(agent=agent, by=root, approved_tools=["kubectl"])
    governance_services.policy_create(by=root, name="trusting", domain=platform, action_pattern="cache.*",
                                      outcome="auto_approve")
    kinds = list(AuditAlert.objects.filter(domain="platform").order_by("created_at").values_list("summary", flat=True))
    assert any("carol" in s for s in kinds)
    assert any("kubectl" in s for s in kinds)
    assert any("trusting" in s for s in kinds)
    governance_services.inbox_revoke(inbox=platform_inbox, user=carol, by=root)
    governance_services.agent_update(agent=agent, by=root, team="SRE-2")
    assert AuditAlert.objects.filter(domain="platform").count() == len(kinds)  # narrowing alerts nobody


def test_alerts_page_and_acknowledge(client, platform, platform_inbox):
    olivia = UserFactory(username="olivia")
    governance_services.domain_orchestrator_grant(user=olivia, domain=platform)
    carol = UserFactory(username="carol")
    governance_services.inbox_grant(inbox=platform_inbox, user=carol)
    client.force_login(olivia)
    page = client.get("/audit/alerts/")
    assert page.status_code == 200 and b"carol" in page.content
    alert = AuditAlert.objects.get(summary__contains="carol")
    assert client.post(f"/audit/alerts/{alert.pk}/acknowledge/").status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == olivia
    stranger = UserFactory(username="stranger")
    client.force_login(stranger)
    assert client.get("/audit/alerts/").status_code == 404
    assert client.post(f"/audit/alerts/{alert.pk}/acknowledge/").status_code == 404


def test_audit_pages(client, history, auditor):
    a, _ = history
    client.force_login(auditor)
    page = client.get("/audit/", {"q": "canary"})
    assert page.status_code == 200 and b"the canary is healthy" in page.content
    trace = client.get(f"/proposals/{a.pk}/trace/")
    assert trace.status_code == 200
    for step in (b"Submission", b"Decision", b"the canary is healthy"):
        assert step in trace.content
    assert client.get("/audit/workflows/wf-1/").status_code == 200

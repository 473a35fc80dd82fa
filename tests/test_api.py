"""The agent and reviewer API: every status it promises."""
import uuid
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from governance.models import Agent
from governance.tokens import token_revoke
from inbox.models import Proposal
from tests.conftest import TokenClient

pytestmark = pytest.mark.django_db
P = "/api/v1/proposals"


def test_it_creates_a_proposal(agent_client, proposal_body, agent):
    r = agent_client.post_json(P, proposal_body)
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "pending" and body["decision"] is None
    assert body["agent"] == agent.name
    assert body["cost_usd"] == "0.40"
    assert Proposal.objects.get(pk=body["id"]).args == proposal_body["args"]


def test_only_action_and_summary_are_required(agent_client):
    r = agent_client.post_json(P, {"action": "report.generate", "summary": "Weekly report"})
    assert r.status_code == 201
    body = r.json()
    assert (body["risk"], body["confidence"], body["classification"], body["args"]) == ("medium", 0.0, "internal", {})


def test_it_rejects_a_missing_token(client, proposal_body):
    r = client.post(P, proposal_body, content_type="application/json")
    assert r.status_code == 401
    assert r.json()["code"] == "unauthenticated"


def test_it_rejects_a_bad_token(proposal_body):
    assert TokenClient("orc_a_nope").post_json(P, proposal_body).status_code == 401


def test_it_rejects_a_revoked_token(agent_and_token, proposal_body):
    agent, raw = agent_and_token
    token_revoke(token=agent.tokens.get())
    assert TokenClient(raw).post_json(P, proposal_body).status_code == 401


def test_a_suspended_agent_gets_403(agent, agent_client, proposal_body):
    Agent.objects.filter(pk=agent.pk).update(status=Agent.Status.SUSPENDED)
    r = agent_client.post_json(P, proposal_body)
    assert r.status_code == 403
    assert r.json()["code"] == "agent_suspended"


@pytest.mark.parametrize(
    ("field", "value"),
    [("action", None), ("confidence", "very"), ("confidence", 1.5), ("risk", "extreme"), ("cost_usd", "-1"),
     ("classification", "secret"), ("args", [1, 2]), ("callback_url", "not a url"), ("action", "Not Dotted"),
     ("summary", "")],
)
def test_schema_errors_are_422_naming_the_field(agent_client, proposal_body, field, value):
    body = dict(proposal_body)
    if value is None:
        body.pop(field)
    else:
        body[field] = value
    r = agent_client.post_json(P, body)
    assert r.status_code == 422
    assert r.json()["field"] == field
    assert Proposal.objects.count() == 0


def test_expiry_must_be_in_the_future(agent_client, proposal_body):
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    r = agent_client.post_json(P, dict(proposal_body, expires_at=past))
    assert r.status_code == 422 and "expires_at" in str(r.json())


def test_malformed_json_is_a_client_error(agent_client):
    r = agent_client.post(P, data=b"{not json", content_type="application/json")
    assert r.status_code == 400 and r.json()["code"] == "malformed_body"


@override_settings(ORCHESTRA_MAX_BODY_BYTES=10_000)
def test_an_oversized_body_is_413(agent_client, proposal_body):
    r = agent_client.post_json(P, dict(proposal_body, args={"blob": "x" * 20_000}))
    assert r.status_code == 413
    assert r.json()["code"] == "too_large"
    assert Proposal.objects.count() == 0


def test_an_idempotent_replay_returns_the_same_proposal(agent_client, proposal_body):
    key = str(uuid.uuid4())
    first = agent_client.post_json(P, proposal_body, **{"Idempotency-Key": key})
    again = agent_client.post_json(P, proposal_body, **{"Idempotency-Key": key})
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert Proposal.objects.count() == 1


def test_the_same_key_with_another_body_is_409(agent_client, proposal_body):
    key = str(uuid.uuid4())
    agent_client.post_json(P, proposal_body, **{"Idempotency-Key": key})
    r = agent_client.post_json(P, dict(proposal_body, summary="different"), **{"Idempotency-Key": key})
    assert r.status_code == 409 and r.json()["code"] == "idempotency_conflict"


def test_keys_are_per_agent(agent_client, other_agent_client, proposal_body):
    key = str(uuid.uuid4())
    a = agent_client.post_json(P, proposal_body, **{"Idempotency-Key": key}).json()["id"]
    b = other_agent_client.post_json(P, proposal_body, **{"Idempotency-Key": key}).json()["id"]
    assert a != b


def test_an_agent_reads_its_own_proposal_but_not_another_agents(agent_client, other_agent_client, proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    assert agent_client.get(f"{P}/{pid}").status_code == 200
    assert other_agent_client.get(f"{P}/{pid}").status_code == 404
    assert other_agent_client.get(f"{P}/{uuid.uuid4()}").status_code == 404


def test_an_agent_lists_only_its_own_proposals_paginated(agent_client, other_agent_client, proposal_body):
    for i in range(3):
        agent_client.post_json(P, dict(proposal_body, summary=f"mine {i}"))
    other_agent_client.post_json(P, dict(proposal_body, summary="theirs"))
    body = agent_client.get(f"{P}?status=pending&limit=2").json()
    assert body["count"] == 3 and len(body["items"]) == 2
    assert all(item["summary"].startswith("mine") for item in body["items"])
    assert agent_client.get(f"{P}?status=approved").json()["count"] == 0


def test_a_reviewer_lists_what_they_may_decide(agent_client, alice_client, bob_client, proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    assert pid in str(alice_client.get("/api/v1/inbox/proposals").json())
    assert bob_client.get("/api/v1/inbox/proposals").json()["count"] == 0


def test_an_agent_cannot_use_reviewer_routes(agent_client, proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    assert agent_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"}).status_code == 403
    assert agent_client.get("/api/v1/inbox/proposals").status_code == 403


def test_a_reviewer_cannot_post_proposals(alice_client, proposal_body):
    r = alice_client.post_json(P, proposal_body)
    assert r.status_code == 403 and r.json()["code"] == "agent_required"


@pytest.mark.parametrize(
    ("decision", "status"),
    [({"verdict": "approve"}, "approved"),
     ({"verdict": "reject", "comment": "Not during the freeze"}, "rejected"),
     ({"verdict": "answer", "comment": "Check the canary first"}, "answered")],
)
def test_each_verdict(agent_client, alice_client, alice, proposal_body, decision, status):
    proposal_body["risk"] = "medium"  # one approver decides it (high risk needs two by default)
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    r = alice_client.post_json(f"{P}/{pid}/decision", decision)
    assert r.status_code == 200, r.content
    body = agent_client.get(f"{P}/{pid}").json()
    assert body["status"] == status
    assert body["decision"]["decided_by"] == "alice"
    assert body["decision"]["comment"] == decision.get("comment", "")
    assert body["decision"]["final_args"] == (proposal_body["args"] if status == "approved" else None)


@pytest.mark.parametrize(
    ("decision", "field"),
    [({"verdict": "reject"}, "comment"), ({"verdict": "answer", "comment": "  "}, "comment"),
     ({"verdict": "edit"}, "args"), ({"verdict": "maybe"}, "verdict")],
)
def test_bad_decisions_are_422_naming_the_field(agent_client, alice_client, proposal_body, decision, field):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    r = alice_client.post_json(f"{P}/{pid}/decision", decision)
    assert r.status_code == 422 and r.json()["field"] == field
    assert Proposal.objects.get(pk=pid).status == "pending"


def test_a_second_decision_is_409_naming_who_decided_first(agent_client, alice_client, platform_inbox,
                                                             proposal_body):
    from governance.tokens import user_token_create
    from tests.factories import UserFactory

    bob2 = UserFactory(username="bob2")
    bob2.groups.add(platform_inbox.reviewers)
    pid = agent_client.post_json(P, dict(proposal_body, risk="medium")).json()["id"]
    assert alice_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"}).status_code == 200
    r = TokenClient(user_token_create(user=bob2)[1]).post_json(f"{P}/{pid}/decision",
                                                                 {"verdict": "reject", "comment": "no"})
    assert r.status_code == 409
    assert r.json()["decided_by"] == "alice" and "alice" in r.json()["detail"]
    assert Proposal.objects.get(pk=pid).status == "approved"


def test_a_reviewer_of_another_inbox_gets_404(agent_client, bob_client, proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    assert bob_client.get(f"{P}/{pid}").status_code == 404
    assert bob_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"}).status_code == 404


def test_an_auditor_sees_but_cannot_decide(agent_client, auditor_client, proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    assert auditor_client.get(f"{P}/{pid}").status_code == 200
    assert auditor_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"}).status_code == 403
    assert auditor_client.get("/api/v1/inbox/proposals").json()["count"] == 0


def test_wait_returns_at_once_when_decided(agent_client, alice_client, proposal_body):
    pid = agent_client.post_json(P, dict(proposal_body, risk="medium")).json()["id"]
    alice_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"})
    r = agent_client.get(f"{P}/{pid}/wait?timeout=5")
    assert r.status_code == 200 and r.json()["status"] == "approved"


def test_wait_times_out_with_the_pending_status(agent_client, proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    r = agent_client.get(f"{P}/{pid}/wait?timeout=0.2")
    assert r.status_code == 200 and r.json()["status"] == "pending"


def test_wait_rejects_a_timeout_over_60_seconds(agent_client, proposal_body):
    pid = agent_client.post_json(P, proposal_body).json()["id"]
    r = agent_client.get(f"{P}/{pid}/wait?timeout=600")
    assert r.status_code == 422 and "timeout" in str(r.json())


def test_the_openapi_schema_is_served(client):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200 and "/api/v1/proposals" in r.json()["paths"]


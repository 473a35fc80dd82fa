"""orchestra_client: against the real API (Django's WSGI app through httpx) and, for retries and
error mapping, against scripted transports."""
import json
import subprocess
import sys
from decimal import Decimal

import httpx
import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

from governance import tokens
from orchestra_client import (
    Conflict,
    ConnectionFailed,
    DecisionTimeout,
    Forbidden,
    NotFound,
    OrchestraClient,
    OrchestraError,
    Proposal,
    RateLimited,
    ServerError,
    Unauthorized,
    ValidationFailed,
    parse_webhook,
    verify_signature,
)
from orchestra_client.signing import InvalidSignature

BASE = "http://testserver"


@pytest.fixture
def wsgi():
    """Django's WSGI app as an httpx transport, in this thread and test transaction. Like Django's
    test client, it keeps the connection open across requests (no close_old_connections)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield httpx.WSGITransport(app=get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def proposal_body(proposal_body):
    """Low risk (one approval decides) and confidence 0 (never auto-approved by a policy)."""
    return {**proposal_body, "risk": "low", "confidence": 0}


@pytest.fixture
def client(agent_and_token, wsgi):
    with OrchestraClient(BASE, agent_and_token[1], transport=wsgi, backoff=0) as c:
        yield c


@pytest.fixture
def alice_api(alice, wsgi):
    with OrchestraClient(BASE, tokens.user_token_create(user=alice)[1], transport=wsgi, backoff=0) as c:
        yield c


# --- against the real API -------------------------------------------------------------------------

def test_it_imports_without_django():
    code = "import sys, orchestra_client; assert not [m for m in sys.modules if m.startswith('django')]"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_submit_returns_a_pending_proposal(client, proposal_body):
    p = client.submit(**proposal_body)
    assert isinstance(p, Proposal)
    assert p.pending and not p.approved
    assert p.action == "deploy.rollback"
    assert p.decision is None and p.final_args is None
    assert Decimal(str(p.raw["cost_usd"])) == Decimal("0.40")


def test_submit_serialises_decimal_cost(client):
    p = client.submit(action="ticket.file_bug", summary="x", args={"title": "Crash on start"}, cost_usd=Decimal("1.25"))
    assert Decimal(str(p.raw["cost_usd"])) == Decimal("1.25")


def test_submit_with_the_same_idempotency_key_returns_the_same_proposal(client, proposal_body):
    first = client.submit(**proposal_body, idempotency_key="k-1")
    again = client.submit(**proposal_body, idempotency_key="k-1")
    assert again.id == first.id


def test_submit_with_a_reused_key_and_another_body_is_a_conflict(client, proposal_body):
    client.submit(**proposal_body, idempotency_key="k-2")
    with pytest.raises(Conflict) as err:
        client.submit(**{**proposal_body, "summary": "something else"}, idempotency_key="k-2")
    assert err.value.status == 409 and err.value.code == "idempotency_conflict"


def test_invalid_body_raises_validation_failed_naming_the_field(client):
    with pytest.raises(ValidationFailed) as err:
        client.submit(action="Not An Action", summary="x")
    assert err.value.status == 422 and err.value.code == "invalid"
    assert err.value.body["field"] == "action" and err.value.detail.startswith("action: ")


def test_an_args_contract_error_names_the_json_path(client):
    with pytest.raises(ValidationFailed) as err:
        client.submit(action="deploy.rollback", summary="x", args={"to_version": "1"})
    assert err.value.body["field"] == "args.service"


def test_bad_token_raises_unauthorized(wsgi, db):
    with OrchestraClient(BASE, "orc_a_nope", transport=wsgi) as c, pytest.raises(Unauthorized) as err:
        c.get("00000000-0000-0000-0000-000000000000")
    assert err.value.code == "unauthenticated"


def test_unknown_proposal_raises_not_found(client):
    with pytest.raises(NotFound):
        client.get("00000000-0000-0000-0000-000000000000")


def test_suspended_agent_gets_forbidden(client, agent, proposal_body):
    agent.status = agent.Status.SUSPENDED
    agent.save()
    with pytest.raises(Forbidden) as err:
        client.submit(**proposal_body)
    assert err.value.code == "agent_suspended"


def test_wait_returns_the_decision(client, alice_api, proposal_body):
    p = client.submit(**proposal_body)
    alice_api.decide(p.id, "approve", comment="go ahead")
    decided = client.wait(p.id, timeout=5)
    assert decided.status == "approved"
    assert decided.approved and not decided.edited
    assert decided.args_to_run == proposal_body["args"]
    assert decided.decided_by == "alice" and decided.comment == "go ahead"


def test_rejected_is_not_approved_and_args_to_run_stay_the_proposed_ones(client, alice_api, proposal_body):
    p = client.submit(**proposal_body)
    alice_api.decide(p.id, "reject", comment="not now")
    decided = client.get(p.id)
    assert decided.status == "rejected" and not decided.approved
    assert decided.args_to_run == proposal_body["args"]


def test_wait_times_out_with_the_last_state(client, proposal_body):
    p = client.submit(**proposal_body)
    with pytest.raises(DecisionTimeout) as err:
        client.wait(p.id, timeout=0.3)
    assert err.value.proposal_id == p.id
    assert err.value.proposal is not None and err.value.proposal.pending


def test_deciding_twice_is_a_conflict_naming_the_winner(client, alice_api, proposal_body):
    p = client.submit(**proposal_body)
    alice_api.decide(p.id, "reject", comment="no")
    with pytest.raises(Conflict) as err:
        alice_api.decide(p.id, "approve")
    assert err.value.body["decided_by"] == "alice"


def test_reviewer_lists_the_inbox(client, alice_api, proposal_body):
    p = client.submit(**proposal_body)
    assert p.id in [item.id for item in alice_api.inbox()]
    assert [item.id for item in client.list()] == [p.id]


# --- retries and error mapping (scripted transports) ----------------------------------------------

PROPOSAL_JSON = {"id": "4b7c4d4e-0000-4000-8000-000000000001", "status": "pending", "action": "deploy.rollback",
                 "summary": "Roll back", "args": {"v": 1}, "decision": None}


def scripted(*answers):
    """A MockTransport answering with ``answers`` in turn (an Exception is raised, a tuple is
    (status, json, headers)); records the requests it saw."""
    seen = []
    queue = list(answers)

    def handler(request):
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, body, *headers = answer
        return httpx.Response(status, json=body, headers=headers[0] if headers else None)

    return httpx.MockTransport(handler), seen


def test_submit_retries_connection_errors_and_5xx_with_one_idempotency_key():
    transport, seen = scripted(httpx.ConnectError("refused"), (503, {"detail": "busy"}), (201, PROPOSAL_JSON))
    with OrchestraClient(BASE, "t", transport=transport, backoff=0) as c:
        p = c.submit(action="deploy.rollback", summary="Roll back")
    assert p.id == PROPOSAL_JSON["id"]
    keys = {r.headers["Idempotency-Key"] for r in seen}
    assert len(seen) == 3 and len(keys) == 1
    assert seen[0].headers["Authorization"] == "Bearer t"
    assert json.loads(seen[0].content) == {"action": "deploy.rollback", "summary": "Roll back"}


def test_submit_gives_up_after_its_retries():
    transport, seen = scripted(*[httpx.ConnectError("refused")] * 3)
    with OrchestraClient(BASE, "t", transport=transport, backoff=0, retries=2) as c, \
            pytest.raises(ConnectionFailed):
        c.submit(action="deploy.rollback", summary="x")
    assert len(seen) == 3


def test_persistent_5xx_raises_server_error():
    transport, _ = scripted(*[(500, {"detail": "boom"})] * 2)
    with OrchestraClient(BASE, "t", transport=transport, backoff=0, retries=1) as c, pytest.raises(ServerError) as e:
        c.get(PROPOSAL_JSON["id"])
    assert e.value.status == 500


def test_rate_limited_carries_retry_after():
    transport, _ = scripted((429, {"detail": "slow down", "code": "rate_limited", "retry_after": 7},
                             {"Retry-After": "7"}))
    with OrchestraClient(BASE, "t", transport=transport) as c, pytest.raises(RateLimited) as err:
        c.submit(action="deploy.rollback", summary="x")
    assert err.value.retry_after == 7 and err.value.status == 429 and err.value.code == "rate_limited"
    assert isinstance(err.value, OrchestraError)


def test_wait_asks_again_until_decided():
    decided = {**PROPOSAL_JSON, "status": "approved",
               "decision": {"verdict": "approve", "decided_by": "alice", "final_args": {"v": 1}, "comment": ""}}
    transport, seen = scripted((200, PROPOSAL_JSON), (200, PROPOSAL_JSON), (200, decided))
    with OrchestraClient(BASE, "t", transport=transport) as c:
        p = c.wait(PROPOSAL_JSON["id"])
    assert p.approved and p.args_to_run == {"v": 1} and p.decided_by == "alice"
    assert len(seen) == 3
    assert all(r.url.path.endswith("/wait") and r.url.params["timeout"] == "30.0" for r in seen)


def test_edited_args_are_the_args_to_run():
    edited = {**PROPOSAL_JSON, "status": "edited_and_approved",
              "decision": {"verdict": "edit", "decided_by": "bob", "final_args": {"v": 2}, "comment": "v2"}}
    transport, _ = scripted((200, edited))
    with OrchestraClient(BASE, "t", transport=transport) as c:
        p = c.get(PROPOSAL_JSON["id"])
    assert p.approved and p.edited and p.args == {"v": 1} and p.args_to_run == {"v": 2}


def test_propose_submits_then_waits():
    decided = {**PROPOSAL_JSON, "status": "rejected", "decision": {"verdict": "reject", "final_args": {"v": 1}}}
    transport, seen = scripted((201, PROPOSAL_JSON), (200, decided))
    with OrchestraClient(BASE, "t", transport=transport) as c:
        p = c.propose("deploy.rollback", "Roll back", args={"v": 1}, risk="high", wait_timeout=60)
    assert p.status == "rejected" and not p.approved
    body = json.loads(seen[0].content)
    assert body["risk"] == "high" and body["args"] == {"v": 1} and "callback_url" not in body
    assert float(seen[1].url.params["timeout"]) <= 30


# --- webhook signatures ---------------------------------------------------------------------------

def test_verify_signature_matches_the_server_signer():
    from inbox.tasks import sign

    body = b'{"event": "proposal.decided"}'
    assert verify_signature("s3cret", body, sign("s3cret", body))
    assert not verify_signature("other", body, sign("s3cret", body))
    assert not verify_signature("s3cret", body + b" ", sign("s3cret", body))
    assert not verify_signature("s3cret", body, None)
    assert not verify_signature("s3cret", body, "sha256=zz")


def test_parse_webhook_returns_the_proposal_or_refuses():
    from inbox.tasks import sign

    body = json.dumps({"event": "proposal.decided", "proposal": {**PROPOSAL_JSON, "status": "approved"}}).encode()
    assert parse_webhook("k", body, sign("k", body)).approved
    with pytest.raises(InvalidSignature):
        parse_webhook("k", body, sign("nope", body))

"""One error contract: every error answer of the API is JSON with a string ``detail`` and ``code``; a 422
also names ``field`` (the first offending JSON path) and lists them all under ``errors``. And the API
says what it did: unknown fields, args on a verdict other than edit, unknown filters and text with a
NUL character are refused; money and timestamps come back in one format."""
import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from governance.tokens import user_token_create
from inbox.models import Proposal
from orchestra_site.errors import InvalidInput
from tests.conftest import TokenClient
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
P = "/api/v1/proposals"
G = "/api/v1/governance"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def contract(r, status, field=None):
    """``r`` is the error ``status`` in the contract (and names ``field``); returns its body."""
    assert r.status_code == status, r.content
    assert r["Content-Type"].startswith("application/json"), r["Content-Type"]
    body = r.json()
    assert isinstance(body["detail"], str) and isinstance(body["code"], str), body
    if field is not None:
        assert body["field"] == field, body
        assert body["errors"][0]["field"] == field, body
    return body


@pytest.fixture
def pid(agent_client, proposal_body):
    """A pending proposal one reviewer decides (medium risk: high and critical need two approvers)."""
    return agent_client.post_json(P, dict(proposal_body, risk="medium")).json()["id"]


# --- every error has the shape ------------------------------------------------------------------------

def test_an_unparseable_body_is_400_malformed_body(agent_client):
    body = contract(agent_client.post(P, data=b'{"action": "x", ', content_type="application/json"), 400)
    assert body["code"] == "malformed_body" and body["field"] == "body"
    assert "line 1" in body["detail"]


def test_a_schema_error_names_the_field_with_a_string_detail(agent_client, proposal_body):
    body = contract(agent_client.post_json(P, dict(proposal_body, confidence="very")), 422, "confidence")
    assert body["code"] == "invalid" and body["detail"].startswith("confidence: ")


def test_a_missing_field_is_named(agent_client, proposal_body):
    proposal_body.pop("action")
    body = contract(agent_client.post_json(P, proposal_body), 422, "action")
    assert body["errors"][0]["code"] == "missing"


def test_every_offending_field_is_listed_the_first_one_first(agent_client, proposal_body):
    body = contract(agent_client.post_json(P, dict(proposal_body, risk="extreme", confidence=7)), 422, "risk")
    assert [e["field"] for e in body["errors"]] == ["risk", "confidence"]


def test_a_service_422_has_the_same_shape(agent_client, alice_client, pid):
    body = contract(alice_client.post_json(f"{P}/{pid}/decision", {"verdict": "reject"}), 422, "comment")
    assert body["errors"] == [{"field": "comment", "detail": body["detail"], "code": "invalid"}]


def test_an_unknown_id_is_404_in_the_contract(agent_client):
    assert contract(agent_client.get(f"{P}/{uuid.uuid4()}"), 404)["code"] == "not_found"


def test_a_malformed_id_is_422_naming_it(agent_client):
    contract(agent_client.get(f"{P}/not-a-uuid"), 422, "proposal_id")


@pytest.mark.parametrize("path", ["/api/v1/no-such-route", "/api/nothing", f"{P}/"])
def test_an_unknown_api_route_is_a_json_404(agent_client, path):
    assert contract(agent_client.get(path), 404)["code"] == "not_found"


def test_a_wrong_method_is_a_json_405_naming_the_allowed_ones(agent_client):
    r = agent_client.delete(P)
    assert contract(r, 405)["code"] == "method_not_allowed"
    assert set(r["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_a_bad_token_is_401_in_the_contract(proposal_body):
    body = contract(TokenClient("not-a-token").post_json(P, proposal_body), 401)
    assert body["code"] == "unauthenticated"


def test_a_server_error_is_json_too(agent, agent_and_token, monkeypatch):
    from inbox import selectors

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "proposals_for_agent", broken)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {agent_and_token[1]}", raise_request_exception=False)
    body = contract(client.get(P), 500)
    assert body["code"] == "server_error" and "boom" not in body["detail"]


# --- the API says what it did -------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["agent_client", "alice_client"])
def test_unknown_fields_are_refused_naming_them(request, who, proposal_body, pid):
    client = request.getfixturevalue(who)
    if who == "agent_client":
        r = client.post_json(P, dict(proposal_body, priority="urgent"))
        field = "priority"
    else:
        r = client.post_json(f"{P}/{pid}/decision", {"verdict": "approve", "coment": "typo"})
        field = "coment"
    assert contract(r, 422, field)["errors"][0]["code"] == "extra_forbidden"
    assert Proposal.objects.count() == 1 and Proposal.objects.get().status == "pending"


def test_approve_with_args_is_refused_not_ignored(alice_client, pid):
    r = alice_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve", "args": {"to_version": "x"}})
    assert "edit" in contract(r, 422, "args")["detail"]
    assert Proposal.objects.get(pk=pid).status == "pending"


def test_the_decision_service_refuses_args_without_edit_too(alice, pid):
    from inbox.services import proposal_decide

    with pytest.raises(InvalidInput) as err:
        proposal_decide(proposal=Proposal.objects.get(pk=pid), reviewer=alice, verdict="reject", comment="no",
                        args={"a": 1})
    assert err.value.field == "args"


@pytest.mark.parametrize("path", [P, "/api/v1/inbox/proposals"])
def test_an_unknown_status_filter_is_422_not_an_empty_list(agent_client, alice_client, path):
    client = agent_client if path == P else alice_client
    contract(client.get(f"{path}?status=pendin"), 422, "status")


@pytest.mark.parametrize(("query", "field"), [
    ("limit=16276005993491206144", "limit"), ("limit=0", "limit"), ("limit=501", "limit"),
    ("offset=321414471629498579804280078729216", "offset"), ("offset=3e32", "offset"), ("offset=-1", "offset"),
])
def test_limit_and_offset_out_of_bounds_are_422(alice_client, query, field):
    contract(alice_client.get(f"/api/v1/inbox/proposals?{query}"), 422, field)


def test_limit_and_offset_within_bounds_page(agent_client, proposal_body):
    for i in range(3):
        agent_client.post_json(P, dict(proposal_body, summary=f"n{i}"))
    body = agent_client.get(f"{P}?limit=500&offset=2").json()
    assert body["count"] == 3 and len(body["items"]) == 1
    assert agent_client.get(f"{P}?offset={2**31 - 1}").json()["items"] == []


# --- NUL: refused with 422 naming the field (never stripped) ------------------------------------------

@pytest.mark.parametrize(("change", "field"), [
    ({"summary": "nul \x00 here"}, "summary"),
    ({"reasoning": "\x00"}, "reasoning"),
    ({"args": {"service": "payments", "to_version": "2026\x00"}}, "args.to_version"),
    ({"args": {"bad\x00key": 1}}, "args.bad\x00key"),
    ({"related_tasks": ["INC-1", "INC-\x00"]}, "related_tasks.1"),
])
def test_nul_in_a_proposal_is_422_naming_the_field(agent_client, proposal_body, change, field):
    contract(agent_client.post_json(P, dict(proposal_body, **change)), 422, field)
    assert Proposal.objects.count() == 0


def test_nan_inside_args_is_422(agent_client):
    r = agent_client.post(P, data=b'{"action": "a.b", "summary": "s", "args": {"x": NaN}}',
                          content_type="application/json")
    contract(r, 422, "args.x")


@pytest.mark.parametrize(("decision", "field"), [
    ({"verdict": "answer", "comment": "a \x00 b"}, "comment"),
    ({"verdict": "edit", "args": {"to_version": "\x00"}}, "args.to_version"),
])
def test_nul_in_a_decision_is_422_naming_the_field(alice_client, pid, decision, field):
    contract(alice_client.post_json(f"{P}/{pid}/decision", decision), 422, field)
    assert Proposal.objects.get(pk=pid).status == "pending"


def test_nul_in_an_escalation_reason_is_422(alice_client, pid):
    contract(alice_client.post_json(f"{P}/{pid}/escalate", {"reason": "up\x00"}), 422, "reason")


def test_nul_in_a_kill_switch_path_or_reason_is_422(alice_client, agent):
    contract(alice_client.post_json(f"{G}/agents/%00/suspend", {"reason": "x"}), 422, "name")
    contract(alice_client.post_json(f"{G}/agents/{agent.name}/suspend", {"reason": "\x00"}), 422, "reason")


def test_nul_in_a_dry_run_is_422_naming_the_nested_field(agent_client, proposal_body):
    r = agent_client.post_json(f"{G}/dry-run", {"proposal": dict(proposal_body, summary="\x00")})
    contract(r, 422, "proposal.summary")


def test_the_review_page_refuses_nul_in_edited_args(alice, pid):
    client = Client()
    client.force_login(alice)
    r = client.post(f"/proposals/{pid}/", {"verdict": "edit", "args": '{"to_version": "\\u0000"}'})
    assert r.status_code == 422 and "NUL" in r.content.decode()
    assert Proposal.objects.get(pk=pid).status == "pending"


def test_an_expiry_beyond_what_a_datetime_holds_is_422(agent_client, proposal_body):
    contract(agent_client.post_json(P, dict(proposal_body, expires_at="9999-12-31T23:59:59-05:00")), 422,
             "expires_at")


def test_a_callback_url_longer_than_500_once_normalised_is_422(agent_client, proposal_body):
    url = "http://example.com/" + "é" * 200  # each é becomes %C3%A9
    contract(agent_client.post_json(P, dict(proposal_body, callback_url=url)), 422, "callback_url")


# --- one format for money and timestamps --------------------------------------------------------------

@pytest.mark.parametrize(("sent", "shown"), [("0.40", "0.40"), ("0.4", "0.40"), (12, "12.00"),
                                             ("1.2345", "1.2345"), ("1.2300", "1.23"), ("0", "0.00")])
def test_money_reads_the_same_at_creation_and_later(agent_client, proposal_body, sent, shown):
    created = agent_client.post_json(P, dict(proposal_body, cost_usd=sent)).json()
    later = agent_client.get(f"{P}/{created['id']}").json()
    assert created["cost_usd"] == later["cost_usd"] == shown


def test_timestamps_read_the_same_at_creation_and_later(agent_client, proposal_body):
    expires = (timezone.now() + timedelta(days=1)).astimezone(timezone.get_fixed_timezone(120))
    created = agent_client.post_json(P, dict(proposal_body, expires_at=expires.isoformat())).json()
    later = agent_client.get(f"{P}/{created['id']}").json()
    for name in ("created_at", "expires_at", "sla_due_at"):
        assert TIMESTAMP.match(created[name]), (name, created[name])
        assert created[name] == later[name], name


def test_a_decision_and_a_409_carry_timestamps_in_the_same_format(alice_client, pid):
    decided = alice_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"}).json()
    again = alice_client.post_json(f"{P}/{pid}/decision", {"verdict": "approve"}).json()
    assert TIMESTAMP.match(decided["decision"]["decided_at"])
    assert again["decided_at"] == decided["decision"]["decided_at"]


def test_a_long_reason_escalates_and_suspends_keeping_it_whole(alice_client, agent, pid):
    from inbox.models import Escalation

    reason = "r" * 2000  # the history's change reason holds 100 characters: it is cut there, not refused
    assert alice_client.post_json(f"{P}/{pid}/escalate", {"reason": reason}).status_code == 200
    assert Escalation.objects.get(proposal_id=pid).reason == reason
    admin = TokenClient(user_token_create(user=UserFactory(username="root", is_superuser=True))[1])
    assert admin.post_json(f"{G}/agents/{agent.name}/suspend", {"reason": reason}).status_code == 200
    agent.refresh_from_db()
    assert agent.suspended_reason == reason

"""The HumanLayer-compatible API's rules, and questions in the reviewer's inbox (Django test client).
The unmodified SDK against a live server is ``test_humanlayer_live``."""
import pytest
from django.test import Client
from django.urls import reverse

from governance.models import ActionType, Policy
from inbox.models import Proposal
from tests.factories import PolicyFactory

HL = "/humanlayer/v1"


def call(call_id="call-1", fn="send_money", **kwargs):
    """A function call as the SDK's ``FunctionCall.model_dump()`` sends it."""
    return {"run_id": "agent-abc", "call_id": call_id, "status": None,
            "spec": {"fn": fn, "kwargs": kwargs or {"to": "bob", "amount": 100}, "channel": None,
                     "reject_options": [{"name": "too_much", "title": "Too much", "description": None,
                                         "prompt_fill": "That is too much money.", "interactive": False}],
                     "state": {"step": 3}}}


def contact(call_id="call-2", msg="Which region first?"):
    return {"run_id": "agent-abc", "call_id": call_id, "status": None,
            "spec": {"msg": msg, "subject": None, "channel": {"slack": {"channel_or_user_id": "C1"}},
                     "response_options": [{"name": "eu", "title": "Europe", "description": "eu-west-1",
                                           "prompt_fill": None, "interactive": False}], "state": None}}


def test_a_function_call_is_a_pending_proposal_and_comes_back_field_for_field(agent_client, agent):
    r = agent_client.post_json(f"{HL}/function_calls", call())
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["spec"] == {**call()["spec"], "reject_options": call()["spec"]["reject_options"]}
    assert (body["run_id"], body["call_id"]) == ("agent-abc", "call-1")
    assert body["status"]["approved"] is None and body["status"]["requested_at"].endswith("Z")
    p = Proposal.objects.get()
    assert (p.kind, p.action, p.args, p.workflow, p.agent) == (
        "action", "humanlayer.send_money", {"to": "bob", "amount": 100}, "agent-abc", agent)
    assert p.summary == 'send_money(to="bob", amount=100)'
    assert agent_client.get(f"{HL}/function_calls/call-1").json() == body


def test_the_same_call_id_replays_and_another_body_conflicts(agent_client):
    first = agent_client.post_json(f"{HL}/function_calls", call())
    again = agent_client.post_json(f"{HL}/function_calls", call())
    assert (again.status_code, again.json()) == (200, first.json())
    other = agent_client.post_json(f"{HL}/function_calls", call(amount=5))
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_conflict")
    assert Proposal.objects.count() == 1


def test_bad_bodies_get_the_error_contract(agent_client):
    r = agent_client.post_json(f"{HL}/function_calls", {**call(), "surprise": 1})
    assert (r.status_code, r.json()["field"]) == (422, "surprise")
    r = agent_client.post_json(f"{HL}/function_calls", call(fn="rm -rf"))
    assert (r.status_code, r.json()["field"]) == (422, "spec.fn")
    assert agent_client.get(f"{HL}/function_calls/nope").json() == {"detail": "No such function call.",
                                                                     "code": "not_found"}


def test_other_agents_calls_are_not_found(agent_client, other_agent_client):
    agent_client.post_json(f"{HL}/function_calls", call())
    assert other_agent_client.get(f"{HL}/function_calls/call-1").status_code == 404


def test_a_policy_refusal_is_a_denial_with_the_reason(agent_client):
    PolicyFactory(name="No money", action_pattern="humanlayer.send_*", outcome=Policy.Outcome.FORBID)
    status = agent_client.post_json(f"{HL}/function_calls", call()).json()["status"]
    assert status["approved"] is False and "No money" in status["comment"]


def test_a_question_is_never_auto_approved(agent_client):
    """Even where a policy and the authority matrix would auto-approve its action, a question waits for a human."""
    category = ActionType.objects.get(name="deploy.rollback").category  # one the agent level may decide
    for name in ("humanlayer.send_money", "humanlayer.contact_human"):
        ActionType.objects.create(name=name, category=category)
    PolicyFactory(name="Anything goes", outcome=Policy.Outcome.AUTO_APPROVE, min_confidence=0)
    assert agent_client.post_json(f"{HL}/function_calls", call()).json()["status"]["approved"] is True
    body = agent_client.post_json(f"{HL}/contact_requests", contact()).json()
    assert body["status"]["response"] is None
    q = Proposal.objects.get(kind="question")
    assert q.is_pending and q.inbox is not None and "sent for review instead" in q.routing_reason


def test_a_question_takes_answer_or_reject_only(agent_client, alice_client):
    agent_client.post_json(f"{HL}/contact_requests", contact())
    q = Proposal.objects.get()
    listed = alice_client.get("/api/v1/inbox/proposals").json()["items"]
    assert [(i["kind"], i["response_options"][0]["name"]) for i in listed] == [("question", "eu")]
    for verdict in ("approve", "edit"):
        body = {"verdict": verdict, **({"args": {}} if verdict == "edit" else {})}
        r = alice_client.post_json(f"/api/v1/proposals/{q.pk}/decision", body)
        assert (r.status_code, r.json()["field"]) == (422, "verdict")
    r = alice_client.post_json(f"/api/v1/proposals/{q.pk}/decision", {"verdict": "reject", "comment": "ask legal"})
    assert r.status_code == 200
    status = agent_client.get(f"{HL}/contact_requests/call-2").json()["status"]
    assert status["response"] == "The reviewer declined to answer: ask legal"


def test_respond_needs_a_reviewer_who_may_decide(agent_client, alice_client, bob_client):
    agent_client.post_json(f"{HL}/function_calls", call())
    r = agent_client.post_json(f"{HL}/agent/function_calls/call-1/respond", {"approved": True})
    assert (r.status_code, r.json()["code"]) == (403, "reviewer_required")
    assert bob_client.post_json(f"{HL}/agent/function_calls/call-1/respond", {"approved": True}).status_code == 404
    r = alice_client.post_json(f"{HL}/agent/function_calls/call-1/respond",
                               {"approved": False, "reject_option_name": "too_much"})
    assert r.status_code == 200, r.content
    status = r.json()["status"]
    assert (status["approved"], status["comment"], status["reject_option_name"]) == (
        False, "That is too much money.", "too_much")
    again = alice_client.post_json(f"{HL}/agent/function_calls/call-1/respond", {"approved": True})
    assert (again.status_code, again.json()["code"]) == (409, "already_decided")


def test_the_question_page_offers_the_agents_answers(agent_client, alice):
    agent_client.post_json(f"{HL}/contact_requests", contact())
    q = Proposal.objects.get()
    browser = Client()
    browser.force_login(alice)
    url = reverse("inbox:proposal", args=[q.pk])
    page = browser.get(url).content.decode()
    assert 'id="question-tag"' in page and 'data-option="eu"' in page
    assert 'value="approve"' not in page and "Approve with edits" not in page
    browser.post(url, {"verdict": "answer", "comment": "Europe"})
    status = agent_client.get(f"{HL}/contact_requests/call-2").json()["status"]
    assert (status["response"], status["response_option_name"]) == ("Europe", "eu")


@pytest.mark.parametrize("path", ["/function_calls/x", "/contact_requests/x"])
def test_a_wrong_key_is_401_with_the_error_body(db, path):
    r = Client(HTTP_AUTHORIZATION="Bearer wrong").get(HL + path)
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"


def test_escalate_email_moves_the_question_up_a_level(agent_client, agent):
    agent_client.post_json(f"{HL}/contact_requests", contact())
    r = agent_client.post_json(f"{HL}/agent/human_contacts/call-2/escalate_email",
                               {"escalation_msg": "nobody answered", "additional_recipients": None, "channel": None})
    assert r.status_code == 200, r.content
    q = Proposal.objects.get()
    assert q.level == "domain" and q.escalations.get().reason == "escalated by agent deploy-bot: nobody answered"


def test_its_openapi_documents_the_sdks_routes(db):
    paths = Client().get(f"{HL}/openapi.json").json()["paths"]
    assert set(paths) == {f"{HL}/{p}" for p in (
        "function_calls", "function_calls/{call_id}", "agent/function_calls/{call_id}/respond",
        "agent/function_calls/{call_id}/escalate_email", "contact_requests", "contact_requests/{call_id}",
        "agent/human_contacts/{call_id}/respond", "agent/human_contacts/{call_id}/escalate_email")}

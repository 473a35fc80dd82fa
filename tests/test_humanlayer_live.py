"""The published ``humanlayer`` SDK (0.7.9), unmodified, drives Orchestra through ``/humanlayer/v1``.

A live uvicorn per test (two workers, ``tests.test_waiting_live.fresh_server``) serves the test database. The agent
sets only ``HUMANLAYER_API_KEY`` (its Orchestra token) and ``HUMANLAYER_API_BASE``; the SDK polls every
3 s as it does against its cloud. Reviewers decide through Orchestra's own API and services.
"""
import asyncio
import threading
import time

import httpx
import pytest
from humanlayer import AsyncHumanLayer, Escalation, FunctionCallStatus, HumanContactStatus, HumanLayer

from governance import tokens
from inbox import services
from inbox.models import Proposal
from tests.factories import UserFactory
from tests.test_waiting_live import fresh_server  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)


@pytest.fixture
def server(fresh_server):  # noqa: F811
    return fresh_server


@pytest.fixture
def sdk_env(server, agent_and_token, monkeypatch):
    monkeypatch.setenv("HUMANLAYER_API_KEY", agent_and_token[1])
    monkeypatch.setenv("HUMANLAYER_API_BASE", f"http://{server}/humanlayer/v1")
    monkeypatch.delenv("HUMANLAYER_RUN_ID", raising=False)
    return server


def in_thread(fn):
    """Run ``fn`` (which blocks while the SDK polls) in a thread; returns (thread, box with its result)."""
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", fn()), daemon=True)
    thread.start()
    return thread, box


def pending(action: str, timeout: float = 20) -> Proposal:
    """The pending proposal the SDK created for ``action`` (waits for it to arrive)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = Proposal.objects.filter(action=action, status=Proposal.Status.PENDING).select_related("agent").first()
        if p is not None:
            return p
        time.sleep(0.1)
    raise AssertionError(f"no pending {action} arrived")


def finished(thread, box, timeout: float = 20):
    thread.join(timeout)
    assert not thread.is_alive(), "the SDK is still waiting"
    return box["result"]


def test_require_approval_runs_the_function_once_a_reviewer_approves(sdk_env, agent, alice):
    hl = HumanLayer()
    ran = []

    @hl.require_approval()
    def send_money(to: str, amount: int) -> str:
        ran.append((to, amount))
        return f"sent {amount} to {to}"

    thread, box = in_thread(lambda: send_money(to="bob", amount=100))
    p = pending("humanlayer.send_money")
    assert (p.kind, p.args, p.workflow, p.agent_id) == ("action", {"to": "bob", "amount": 100}, hl.run_id, agent.pk)
    assert p.idempotency_key.startswith("humanlayer:function_call:call-")
    assert p.inbox is not None and ran == []
    services.proposal_decide(proposal=p, reviewer=alice, verdict="approve", comment="fine")
    assert finished(thread, box) == "sent 100 to bob"
    assert ran == [("bob", 100)]


def test_a_rejection_with_a_comment_reaches_the_agent_as_the_sdk_words_it(sdk_env, alice):
    hl = HumanLayer()

    @hl.require_approval()
    def drop_table(name: str) -> str:
        raise AssertionError("must not run")

    thread, box = in_thread(lambda: drop_table(name="users"))
    services.proposal_decide(proposal=pending("humanlayer.drop_table"), reviewer=alice, verdict="reject",
                             comment="not in production")
    assert finished(thread, box) == "User denied drop_table with message: not in production"


def test_edited_args_are_never_run_the_agent_is_told_them(sdk_env, alice, platform_inbox):
    hl = HumanLayer()
    carol = UserFactory(username="carol")
    carol.groups.add(platform_inbox.reviewers)

    @hl.require_approval()
    def send_money(to: str, amount: int) -> str:
        raise AssertionError("the original args must not run after an edit")

    thread, box = in_thread(lambda: send_money(to="bob", amount=100))
    p = pending("humanlayer.send_money")
    services.proposal_decide(proposal=p, reviewer=alice, verdict="edit", args={"to": "bob", "amount": 10})
    services.proposal_decide(proposal=p, reviewer=carol, verdict="approve")  # four-eyes: not the editor
    result = finished(thread, box)
    assert result.startswith("User denied send_money with message: A reviewer approved it only with edited")
    assert '{"amount": 10, "to": "bob"}' in result


def test_human_as_tool_returns_the_answer_given_in_the_reviewers_inbox(sdk_env, alice):
    hl = HumanLayer()
    ask = hl.human_as_tool()
    thread, box = in_thread(lambda: ask("Which region should I deploy to first?"))
    p = pending("humanlayer.contact_human")
    alice_token = tokens.user_token_create(user=alice)[1]
    base, auth = f"http://{sdk_env}/api/v1", {"Authorization": f"Bearer {alice_token}"}
    inbox = httpx.get(f"{base}/inbox/proposals", headers=auth).json()["items"]
    assert [(q["id"], q["kind"], q["summary"]) for q in inbox] == [
        (str(p.pk), "question", "Which region should I deploy to first?")]
    refused = httpx.post(f"{base}/proposals/{p.pk}/decision", json={"verdict": "approve"}, headers=auth)
    assert refused.status_code == 422 and refused.json()["field"] == "verdict"
    r = httpx.post(f"{base}/proposals/{p.pk}/decision", json={"verdict": "answer", "comment": "eu-west-1"},
                   headers=auth)
    assert r.status_code == 200, r.text
    assert finished(thread, box) == "eu-west-1"


def test_the_async_sdk_gets_approve_reject_and_an_answer(sdk_env, alice):
    hl = AsyncHumanLayer()

    @hl.require_approval()
    async def restart(service: str) -> str:
        return f"restarted {service}"

    async def agent_run():
        return await asyncio.gather(restart(service="api"), restart(service="db"),
                                    hl.human_as_tool()("Is the freeze over?"))

    thread, box = in_thread(lambda: asyncio.run(agent_run()))
    deadline = time.monotonic() + 20
    while Proposal.objects.filter(status="pending").count() < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    calls = {p.args.get("service"): p for p in Proposal.objects.filter(action="humanlayer.restart")}
    services.proposal_decide(proposal=calls["api"], reviewer=alice, verdict="approve")
    services.proposal_decide(proposal=calls["db"], reviewer=alice, verdict="reject", comment="db is fine")
    services.proposal_decide(proposal=pending("humanlayer.contact_human"), reviewer=alice, verdict="answer",
                             comment="yes, since noon")
    assert finished(thread, box) == ["restarted api", "User denied restart with message: db is fine",
                                     "yes, since noon"]


def test_respond_takes_a_reviewers_token_and_refuses_the_agents(sdk_env, alice):
    agent_hl = HumanLayer()
    call = agent_hl.create_function_call(spec={"fn": "rotate_keys", "kwargs": {"kms": "prod"}})
    assert call.status.approved is None and call.status.requested_at is not None
    with pytest.raises(Exception, match="403"):
        agent_hl.respond_to_function_call(call.call_id, FunctionCallStatus(approved=True))
    escalated = agent_hl.escalate_email_function_call(call.call_id, Escalation(escalation_msg="urgent: audit"))
    assert escalated.status.approved is None
    p = Proposal.objects.get(action="humanlayer.rotate_keys")
    assert p.level == "domain" and p.escalations.get().reason == "escalated by agent deploy-bot: urgent: audit"

    contact = agent_hl.create_human_contact(spec={"msg": "Ready?", "response_options": [
        {"name": "go", "title": "Go ahead", "prompt_fill": "Yes, go ahead."}]})
    reviewer_hl = HumanLayer(api_key=tokens.user_token_create(user=alice)[1])
    answered = reviewer_hl.respond_to_human_contact(contact.call_id, HumanContactStatus(response_option_name="go"))
    assert (answered.status.response, answered.status.response_option_name) == ("Yes, go ahead.", "go")
    assert agent_hl.get_human_contact(contact.call_id).status.response == "Yes, go ahead."


def test_a_wrong_key_gets_401_in_the_error_body(sdk_env):
    r = httpx.get(f"http://{sdk_env}/humanlayer/v1/function_calls/call-x", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.json() == {"detail": "Missing, unknown or revoked bearer token.", "code": "unauthenticated"}
    hl = HumanLayer(api_key="orc_a_wrong")

    @hl.require_approval()
    def deploy() -> str:
        return "deployed"

    assert deploy().startswith("Error fetching approval for deploy: 401 Client Error")

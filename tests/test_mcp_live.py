"""The MCP server, driven by the official ``mcp`` client: over streamable HTTP at ``/mcp`` on a live
uvicorn with two workers per test (``tests.test_waiting_live.fresh_server``), and over stdio (``manage.py mcp_server``).
Reviewers decide through Orchestra's REST API while the agent waits in ``wait_for_decision``."""
import asyncio
import json
import os
import sys

import httpx
import httpx2
import pytest
from django.conf import settings
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_types import ElicitResult

from governance import tokens
from inbox.models import Proposal
from tests.factories import PolicyFactory
from tests.test_waiting_live import _database_url, fresh_server  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)


@pytest.fixture
def server(fresh_server):  # noqa: F811
    return fresh_server
TOOLS = {"propose_action", "get_decision", "wait_for_decision", "list_my_proposals", "check_policy", "ask_human"}
ROLLBACK = {"action": "deploy.rollback", "summary": "Roll back payments to 2026.11.3", "resource": "service:payments",
            "args": {"service": "payments", "to_version": "2026.11.3"}, "risk": "medium", "confidence": 0.8}


def http_client(base: str, token: str, **options) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=120))
    return Client(streamable_http_client(f"http://{base}/mcp", http_client=http), **options)


async def first_in_inbox(base: str, token: str) -> dict:
    """The first proposal to show up in the reviewer's inbox (REST), polled for up to 10 s."""
    async with httpx.AsyncClient() as rest:
        for _ in range(100):
            items = (await rest.get(f"http://{base}/api/v1/inbox/proposals",
                                    headers={"Authorization": f"Bearer {token}"})).json()["items"]
            if items:
                return items[0]
            await asyncio.sleep(0.1)
    raise AssertionError("nothing arrived in the inbox")


async def decide(base: str, token: str, proposal_id: str, after: float, **decision):
    """A reviewer decides over the REST API, ``after`` seconds from now."""
    await asyncio.sleep(after)
    async with httpx.AsyncClient() as rest:
        r = await rest.post(f"http://{base}/api/v1/proposals/{proposal_id}/decision", json=decision,
                            headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def error_body(result) -> dict:
    """The API's error body that a failed tool call carries (after the SDK's "Error executing tool …: ")."""
    assert result.is_error
    text = result.content[0].text
    assert text.startswith("Error executing tool ")
    return json.loads(text[text.index("{"):])


def test_an_agent_lists_the_tools_proposes_and_receives_the_decision_over_http(server, agent_and_token, alice):
    agent, token = agent_and_token
    alice_token = tokens.user_token_create(user=alice)[1]

    async def scenario():
        async with http_client(server, token) as mcp:
            names = {t.name for t in (await mcp.list_tools()).tools}
            proposed = (await mcp.call_tool("propose_action", ROLLBACK)).structured_content
            waited, _ = await asyncio.gather(
                mcp.call_tool("wait_for_decision", {"proposal_id": proposed["id"], "timeout": 30}),
                decide(server, alice_token, proposed["id"], after=1, verdict="approve", comment="go"))
            got = await mcp.call_tool("get_decision", {"proposal_id": proposed["id"]})
            mine = await mcp.call_tool("list_my_proposals", {"status": "approved"})
            return names, proposed, waited.structured_content, got.structured_content, mine.structured_content

    names, proposed, waited, got, mine = asyncio.run(scenario())
    assert names >= TOOLS
    assert proposed["status"] == "pending" and proposed["agent"] == "deploy-bot" and proposed["inbox"]
    p = Proposal.objects.get(pk=proposed["id"])
    assert (p.agent_id, p.action, p.args) == (agent.pk, "deploy.rollback", ROLLBACK["args"])
    assert waited["status"] == "approved"
    assert waited["decision"] == got["decision"]
    assert (waited["decision"]["decided_by"], waited["decision"]["comment"]) == ("alice", "go")
    assert waited["decision"]["final_args"] == ROLLBACK["args"]
    assert [item["id"] for item in mine["items"]] == [proposed["id"]] and mine["count"] == 1


def test_check_policy_is_the_dry_run_and_stores_nothing(server, agent_and_token, platform):
    PolicyFactory(name="Refuse prod deletes", action_pattern="db.drop_*", outcome="forbid", priority=1)

    async def scenario():
        async with http_client(server, agent_and_token[1]) as mcp:
            forbid = await mcp.call_tool("check_policy", {"action": "db.drop_table", "summary": "drop users"})
            review = await mcp.call_tool("check_policy", ROLLBACK)
            refused = await mcp.call_tool("propose_action", {"action": "db.drop_table", "summary": "drop users"})
            return forbid.structured_content, review.structured_content, refused

    forbid, review, refused = asyncio.run(scenario())
    assert (forbid["outcome"], forbid["policy"]) == ("forbid", "Refuse prod deletes")
    assert (review["outcome"], review["inbox"]) == ("review", platform.default_inbox.slug)
    assert error_body(refused)["code"] == "forbidden_by_policy"  # the same refusal as POST /api/v1/proposals
    assert list(Proposal.objects.values_list("action", "status")) == [("db.drop_table", "refused")]


def test_bad_input_and_others_proposals_get_the_apis_errors(server, agent_and_token, other_agent_client):
    other = other_agent_client.post_json("/api/v1/proposals", ROLLBACK).json()

    async def scenario():
        async with http_client(server, agent_and_token[1]) as mcp:
            bad = await mcp.call_tool("propose_action", dict(ROLLBACK, confidence=3))
            foreign = await mcp.call_tool("get_decision", {"proposal_id": other["id"]})
            return bad, foreign

    bad, foreign = asyncio.run(scenario())
    assert error_body(bad)["field"] == "confidence"
    assert error_body(foreign) == {"detail": "No such proposal.", "code": "not_found"}


def test_mcp_refuses_missing_unknown_and_reviewer_tokens(server, alice):
    init = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    accept = {"Accept": "application/json, text/event-stream"}
    r = httpx.post(f"http://{server}/mcp", json=init, headers=accept)
    assert (r.status_code, r.json()["code"], r.headers["www-authenticate"]) == (401, "unauthenticated", "Bearer")
    r = httpx.post(f"http://{server}/mcp", json=init, headers={**accept, "Authorization": "Bearer orc_a_nope"})
    assert r.status_code == 401
    reviewer = tokens.user_token_create(user=alice)[1]
    r = httpx.post(f"http://{server}/mcp", json=init, headers={**accept, "Authorization": f"Bearer {reviewer}"})
    assert (r.status_code, r.json()["code"]) == (403, "agent_required")


def test_ask_human_goes_to_the_reviewers_when_the_client_cannot_elicit(server, agent_and_token, alice):
    alice_token = tokens.user_token_create(user=alice)[1]

    async def scenario():
        async with http_client(server, agent_and_token[1]) as mcp:
            task = asyncio.create_task(mcp.call_tool("ask_human", {"question": "Which region first?", "timeout": 30}))
            question = await first_in_inbox(server, alice_token)
            await decide(server, alice_token, question["id"], after=0, verdict="answer", comment="eu-west-1")
            return question, (await task).structured_content

    question, answered = asyncio.run(scenario())
    assert (question["kind"], question["action"], question["summary"]) == ("question", "mcp.ask_human",
                                                                           "Which region first?")
    assert (answered["status"], answered["answer"], answered["answered_by"]) == ("answered", "eu-west-1", "reviewers")


def test_ask_human_elicits_the_answer_where_the_client_supports_it(server, agent_and_token, alice):
    asked = []

    async def operator(context, params):
        asked.append((params.message, sorted(params.requested_schema["properties"])))
        return ElicitResult(action="accept", content={"answer": "blue-green"})

    async def scenario():
        async with http_client(server, agent_and_token[1], elicitation_callback=operator) as mcp:
            return (await mcp.call_tool("ask_human", {"question": "Which rollout?"})).structured_content

    answered = asyncio.run(scenario())
    assert asked == [("Which rollout?", ["answer"])]
    assert (answered["answer"], answered["answered_by"], answered["proposal_id"]) == ("blue-green", "client", None)
    assert not Proposal.objects.exists()  # a question grants nothing: nothing for reviewers to decide


def test_a_declined_elicitation_falls_back_to_the_reviewers(server, agent_and_token, alice):
    alice_token = tokens.user_token_create(user=alice)[1]

    async def operator(context, params):
        return ElicitResult(action="decline")

    async def scenario():
        async with http_client(server, agent_and_token[1], elicitation_callback=operator) as mcp:
            task = asyncio.create_task(mcp.call_tool("ask_human", {"question": "Rollout?", "timeout": 30}))
            question = await first_in_inbox(server, alice_token)
            await decide(server, alice_token, question["id"], after=0, verdict="answer", comment="canary")
            return (await task).structured_content

    answered = asyncio.run(scenario())
    assert (answered["answer"], answered["answered_by"]) == ("canary", "reviewers")


def test_stdio_serves_the_same_tools_as_one_agent(server, agent_and_token, alice):
    agent, token = agent_and_token
    alice_token = tokens.user_token_create(user=alice)[1]
    env = {**os.environ, "DATABASE_URL": _database_url()}
    params = StdioServerParameters(command=sys.executable, args=["manage.py", "mcp_server", "--token", token],
                                   env=env, cwd=str(settings.BASE_DIR))

    async def operator(context, params):
        return ElicitResult(action="accept", content={"answer": f"stdio: {params.message}"})

    async def scenario():
        async with Client(params, elicitation_callback=operator) as mcp:
            names = {t.name for t in (await mcp.list_tools()).tools}
            proposed = (await mcp.call_tool("propose_action", ROLLBACK)).structured_content
            waited, _ = await asyncio.gather(
                mcp.call_tool("wait_for_decision", {"proposal_id": proposed["id"], "timeout": 30}),
                decide(server, alice_token, proposed["id"], after=1, verdict="reject", comment="not today"))
            asked = await mcp.call_tool("ask_human", {"question": "ok?"})
            return names, waited.structured_content, asked.structured_content

    names, waited, asked = asyncio.run(scenario())
    assert names >= TOOLS
    assert (asked["answer"], asked["answered_by"]) == ("stdio: ok?", "client")
    assert (waited["status"], waited["decision"]["comment"]) == ("rejected", "not today")
    assert Proposal.objects.get(pk=waited["id"]).agent_id == agent.pk

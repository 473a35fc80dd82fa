"""The framework adapters of ``orchestra_client`` drive real LangChain / LangGraph and OpenAI Agents
SDK runs, with scripted models (offline), against a live uvicorn serving the test database. The agent
runs in a thread; this test is the reviewer, deciding each batch with one ``POST /api/v1/decisions``."""
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings
from django.db import connection

from governance import tokens
from orchestra_client import OrchestraClient
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)


def _database_url() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def server(agent_and_token, alice, django_db_blocker):
    """uvicorn (one worker) on a free port, on the test database, started once the test's agent and
    reviewers exist (a server started before them did not see alice's inbox: state it loads at start)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with django_db_blocker.unblock():
        env = {**os.environ, "DATABASE_URL": _database_url(), "ORCHESTRA_LONG_POLL_RECHECK_SECONDS": "0.5"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "orchestra_site.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--timeout-graceful-shutdown", "2"],
        cwd=settings.BASE_DIR, env=env,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture
def agent_api(server, agent_and_token):
    with OrchestraClient(server, agent_and_token[1], backoff=0.1) as client:
        yield client


@pytest.fixture
def reviewer(server, alice):
    with OrchestraClient(server, tokens.user_token_create(user=alice)[1], backoff=0.1) as client:
        yield client


@pytest.fixture
def second_reviewer(server, platform_inbox):
    """Carol, of the same inbox: whoever edits the args cannot be the only approver (four eyes)."""
    carol = UserFactory(username="carol")
    carol.groups.add(platform_inbox.reviewers)
    with OrchestraClient(server, tokens.user_token_create(user=carol)[1], backoff=0.1) as client:
        yield client


class InThread:
    """Runs ``fn`` in a thread; ``result()`` joins it and returns (or re-raises)."""

    def __init__(self, fn):
        self.value, self.error = None, None
        self.thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.thread.start()

    def _run(self, fn):
        try:
            self.value = fn()
        except BaseException as exc:  # handed to the test thread
            self.error = exc

    def result(self, timeout=60):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the agent run did not finish"
        if self.error:
            raise self.error
        return self.value


def next_batch(reviewer, size, seen, run, timeout=30):
    """The next batch of ``size`` pending proposals (not in ``seen``), as {action: proposal}."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not run.thread.is_alive():
            run.result()  # the agent run stopped: its error, or the wrong number of batches
        fresh = [p for p in reviewer.inbox() if p.id not in seen]
        if len(fresh) >= size:
            batches = {p.batch for p in fresh}
            assert len(batches) == 1 and None not in batches, f"not one batch: {batches}"
            seen.update(p.id for p in fresh)
            return {p.action: p for p in fresh}
        time.sleep(0.1)
    raise AssertionError(f"no batch of {size} arrived")


def decide_all(reviewer, *decisions):
    results = reviewer.decide_many(decisions)
    assert [r["status_code"] for r in results] == [200] * len(decisions), results
    return results


# --- LangChain v1 agent with HumanInTheLoopMiddleware ----------------------------------------------

def scripted_langchain_agent(done, mode="batched"):
    from langchain.agents import create_agent
    from langchain.agents.middleware import HumanInTheLoopMiddleware
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool
    from langgraph.checkpoint.memory import InMemorySaver

    class ScriptedChat(GenericFakeChatModel):
        def bind_tools(self, tools, **kwargs):
            return self

    @tool
    def send_email(to: str, body: str) -> str:
        """Send an email."""
        done.append(("send_email", to, body))
        return f"sent to {to}"

    @tool("delete-file")
    def delete_file(path: str) -> str:
        """Delete a file."""
        done.append(("delete-file", path))
        return f"deleted {path}"

    def calls(*pairs):
        return AIMessage("", tool_calls=[{"name": n, "args": a, "id": i, "type": "tool_call"} for n, a, i in pairs])

    model = ScriptedChat(messages=iter([
        calls(("send_email", {"to": "ops@example.com", "body": "Report ready"}, "call-1"),
              ("delete-file", {"path": "/tmp/report.csv"}, "call-2")),
        calls(("send_email", {"to": "cfo@example.com", "body": "Numbers"}, "call-3"),
              ("delete-file", {"path": "/srv/data"}, "call-4")),
        AIMessage("All done."),
    ]))
    middleware = HumanInTheLoopMiddleware(interrupt_on={
        "send_email": {"allowed_decisions": ["approve", "reject"]},
        "delete-file": {"allowed_decisions": ["approve", "edit", "reject"]},
    }, interrupt_mode=mode)
    agent = create_agent(model, tools=[send_email, delete_file], middleware=[middleware], checkpointer=InMemorySaver())
    return agent, [send_email, delete_file]


class CountingGraph:
    """The compiled graph, counting how often it is resumed."""

    def __init__(self, graph):
        self.graph, self.resumes = graph, 0

    def invoke(self, graph_input, config, **kwargs):
        from langgraph.types import Command

        self.resumes += isinstance(graph_input, Command)
        return self.graph.invoke(graph_input, config, **kwargs)

    def get_state(self, config):
        return self.graph.get_state(config)

    async def ainvoke(self, graph_input, config, **kwargs):
        from langgraph.types import Command

        self.resumes += isinstance(graph_input, Command)
        return await self.graph.ainvoke(graph_input, config, **kwargs)

    async def aget_state(self, config):
        return await self.graph.aget_state(config)


def test_langchain_hitl_agent_gets_approve_edit_and_reject_on_parallel_tool_calls_one_batch_each(
        agent_api, reviewer, second_reviewer):
    from orchestra_client.langgraph import GraphReviewer

    done = []
    agent, tools = scripted_langchain_agent(done)
    graph = CountingGraph(agent)
    run = InThread(lambda: GraphReviewer(agent_api, tools=tools).invoke(
        graph, {"messages": [("user", "Mail the report, then clean up")]}, {"configurable": {"thread_id": "t-1"}}))
    seen = set()

    step1 = next_batch(reviewer, 2, seen, run)
    mail, delete = step1["send_email"], step1["delete-file"]
    assert mail.allowed_verdicts == ["approve", "reject"]
    assert delete.allowed_verdicts == ["approve", "reject", "edit"]
    assert delete.raw["args_schema"]["properties"]["path"]["type"] == "string"
    # the tool cannot run edited args, and the edit must keep the tool's schema: refused, per proposal
    refused = reviewer.decide_many([
        {"proposal_id": mail.id, "verdict": "edit", "args": {"to": "x@example.com", "body": "b"}},
        {"proposal_id": delete.id, "verdict": "edit", "args": {"path": 42}},
    ])
    assert [(r["status_code"], r["error"]["code"], r["error"]["field"]) for r in refused] == [
        (422, "verdict_not_allowed", "verdict"), (422, "invalid", "args.path")]
    assert done == [] and graph.resumes == 0
    decide_all(reviewer, {"proposal_id": mail.id, "verdict": "approve"},
               {"proposal_id": delete.id, "verdict": "edit", "args": {"path": "/tmp/report-old.csv"},
                "comment": "Only the old copy"})
    assert agent_api.get(delete.id).pending and done == []  # the editor is not the only approver
    decide_all(second_reviewer, {"proposal_id": delete.id, "verdict": "approve", "comment": "ok, the old one"})

    step2 = next_batch(reviewer, 2, seen, run)
    assert step2["send_email"].batch != mail.batch
    decide_all(reviewer, {"proposal_id": step2["send_email"].id, "verdict": "approve"},
               {"proposal_id": step2["delete-file"].id, "verdict": "reject", "comment": "Never delete /srv"})
    result = run.result()

    assert sorted(done) == [("delete-file", "/tmp/report-old.csv"), ("send_email", "cfo@example.com", "Numbers"),
                            ("send_email", "ops@example.com", "Report ready")]
    assert graph.resumes == 2  # once per batch
    tool_messages = [m.content for m in result["messages"] if m.type == "tool"]
    assert any("User rejected the tool call for `delete-file` with reason: Never delete /srv" in str(c)
               for c in tool_messages)
    assert result["messages"][-1].content == "All done."
    edited = agent_api.get(delete.id)
    assert edited.status == "edited_and_approved"
    assert [(v["reviewer"], v["verdict"], v["comment"]) for v in edited.votes] == [
        ("alice", "edit", "Only the old copy"), ("carol", "approve", "ok, the old one")]
    assert edited.votes[0]["args"] == {"path": "/tmp/report-old.csv"}


def test_per_call_mode_raises_one_interrupt_per_tool_call_all_in_one_batch(agent_api, reviewer, second_reviewer):
    from orchestra_client.langgraph import GraphReviewer

    done = []
    agent, tools = scripted_langchain_agent(done, mode="per_call")
    graph = CountingGraph(agent)
    run = InThread(lambda: GraphReviewer(agent_api, tools=tools).invoke(
        graph, {"messages": [("user", "Mail the report, then clean up")]}, {"configurable": {"thread_id": "pc"}}))
    seen = set()
    step1 = next_batch(reviewer, 2, seen, run)
    # the allowed decisions come from each interrupt's response_schema
    assert step1["send_email"].allowed_verdicts == ["approve", "reject"]
    assert step1["delete-file"].allowed_verdicts == ["approve", "reject", "edit"]
    decide_all(reviewer, {"proposal_id": step1["send_email"].id, "verdict": "reject", "comment": "Not yet"},
               {"proposal_id": step1["delete-file"].id, "verdict": "edit", "args": {"path": "/tmp/old.csv"}})
    decide_all(second_reviewer, {"proposal_id": step1["delete-file"].id, "verdict": "approve"})
    step2 = next_batch(reviewer, 2, seen, run)
    decide_all(reviewer, *({"proposal_id": p.id, "verdict": "reject", "comment": "Stop"} for p in step2.values()))
    result = run.result()
    assert done == [("delete-file", "/tmp/old.csv")]
    assert graph.resumes == 2
    assert result["messages"][-1].content == "All done."


# --- plain LangGraph graphs: Agent Inbox interrupts, per-call approvals, questions -----------------

def two_branch_graph(make_value, record):
    """A graph whose two parallel branches each ``interrupt()`` with ``make_value(branch)``."""
    from typing import Annotated, TypedDict

    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt

    class State(TypedDict):
        answers: Annotated[list, lambda a, b: a + b]

    def branch(name):
        def node(state):
            answer = interrupt(make_value(name))
            record.append((name, answer))
            return {"answers": [answer]}
        return node

    g = StateGraph(State)
    g.add_node("left", branch("left"))
    g.add_node("right", branch("right"))
    g.add_edge(START, "left")
    g.add_edge(START, "right")
    g.add_edge("left", END)
    g.add_edge("right", END)
    return g.compile(checkpointer=InMemorySaver())


def test_agent_inbox_interrupts_of_parallel_branches_are_one_batch_answered_with_human_responses(
        agent_api, reviewer, second_reviewer):
    from orchestra_client.langgraph import GraphReviewer

    def value(name):
        return [{"action_request": {"action": f"{name}_write", "args": {"file": f"{name}.txt"}},
                 "config": {"allow_accept": True, "allow_edit": True, "allow_respond": False, "allow_ignore": True},
                 "description": f"May {name} write?"}]
    record = []
    graph = CountingGraph(two_branch_graph(value, record))
    config = {"configurable": {"thread_id": "i"}}
    run = InThread(lambda: GraphReviewer(agent_api).invoke(graph, {"answers": []}, config))
    batch = next_batch(reviewer, 2, set(), run)
    assert batch["left_write"].allowed_verdicts == ["approve", "reject", "edit"]
    decide_all(reviewer, {"proposal_id": batch["left_write"].id, "verdict": "edit", "args": {"file": "l2.txt"}},
               {"proposal_id": batch["right_write"].id, "verdict": "reject", "comment": "No"})
    decide_all(second_reviewer, {"proposal_id": batch["left_write"].id, "verdict": "approve"})
    run.result()
    assert sorted(record) == [
        ("left", [{"type": "edit", "args": {"action": "left_write", "args": {"file": "l2.txt"}}}]),
        ("right", [{"type": "ignore", "args": None}])]
    assert graph.resumes == 1


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_per_call_approvals_and_free_text_questions(agent_api, reviewer, mode):
    """Sync ``invoke`` and async ``ainvoke`` alike; the free-text question is a ``kind: question``."""
    import asyncio

    from orchestra_client.langgraph import GraphReviewer

    def value(name):
        if name == "left":
            return {"type": "tool_approval", "tool_call_id": "c-9", "name": "rm", "args": {"path": "/x"},
                    "description": "rm /x"}
        return "Which region should I deploy to?"
    record = []
    graph = CountingGraph(two_branch_graph(value, record))
    config = {"configurable": {"thread_id": f"q-{mode}"}}
    if mode == "invoke":
        run = InThread(lambda: GraphReviewer(agent_api).invoke(graph, {"answers": []}, config))
    else:
        run = InThread(lambda: asyncio.run(GraphReviewer(agent_api).ainvoke(graph, {"answers": []}, config)))
    batch = next_batch(reviewer, 2, set(), run)
    question = batch["agent.question"]
    assert question.allowed_verdicts == ["answer"] and question.summary == "Which region should I deploy to?"
    assert (question.kind, batch["rm"].kind) == ("question", "action")
    decide_all(reviewer, {"proposal_id": batch["rm"].id, "verdict": "reject", "comment": "Not today"},
               {"proposal_id": question.id, "verdict": "answer", "comment": "eu-west-1"})
    run.result()
    assert sorted(record) == [("left", {"type": "reject", "message": "Not today"}), ("right", "eu-west-1")]
    assert graph.resumes == 1


# --- OpenAI Agents SDK ------------------------------------------------------------------------------

def scripted_openai_agent(done, call_id):
    from agents import Agent, function_tool, set_tracing_disabled
    from agents.testing import ScriptedModel, assistant_message, function_call

    set_tracing_disabled(True)

    @function_tool(needs_approval=True)
    def refund(order_id: str, amount_usd: float) -> str:
        """Refund an order."""
        done.append((order_id, amount_usd))
        return f"refunded {amount_usd} on {order_id}"

    model = ScriptedModel([
        [function_call("refund", {"order_id": "A-42", "amount_usd": 30.0}, call_id=call_id)],
        [assistant_message("Finished.")],
    ])
    return Agent(name="support", instructions="Refund when asked.", tools=[refund], model=model), model


@pytest.mark.parametrize("verdict", ["approve", "reject"])
def test_openai_agents_run_approved_or_rejected(agent_api, reviewer, verdict):
    from orchestra_client.openai_agents import RunReviewer

    done = []
    agent, model = scripted_openai_agent(done, call_id=f"call-{verdict}")
    run = InThread(lambda: RunReviewer(agent_api, defaults={"risk": "medium"}).run_sync(agent, "Refund order A-42"))
    p = next_batch(reviewer, 1, set(), run)["refund"]
    assert p.args == {"order_id": "A-42", "amount_usd": 30.0}
    assert p.allowed_verdicts == ["approve", "reject"]  # the SDK cannot run edited arguments
    assert p.raw["args_schema"]["required"] == ["order_id", "amount_usd"]
    comment = "" if verdict == "approve" else "Refunds over $20 need a ticket"
    decide_all(reviewer, {"proposal_id": p.id, "verdict": verdict, "comment": comment})
    result = run.result()
    assert result.final_output == "Finished."
    if verdict == "approve":
        assert done == [("A-42", 30.0)]
    else:
        assert done == []
        tool_output = [i for i in model.last_call.input if isinstance(i, dict) and i.get("type") ==
                       "function_call_output"]
        assert tool_output[-1]["output"] == "Rejected by alice: Refunds over $20 need a ticket"

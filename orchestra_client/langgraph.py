"""LangGraph and LangChain adapter (``pip install 'orchestra-client[langgraph]'``): run a graph and,
whenever it stops on ``interrupt()``, have Orchestra's reviewers decide, then resume it.

    from langgraph.checkpoint.memory import InMemorySaver
    from langchain.agents import create_agent
    from langchain.agents.middleware import HumanInTheLoopMiddleware
    from orchestra_client import OrchestraClient
    from orchestra_client.langgraph import GraphReviewer

    agent = create_agent(model, tools=[send_email, delete_file], checkpointer=InMemorySaver(),
                         middleware=[HumanInTheLoopMiddleware(interrupt_on={"send_email": True, "delete_file": True})])
    reviewer = GraphReviewer(OrchestraClient(URL, TOKEN), tools=[send_email, delete_file])
    result = reviewer.invoke(agent, {"messages": [("user", "…")]}, {"configurable": {"thread_id": "t-1"}})

Every interrupt pending when the graph stops (parallel tool calls, parallel branches, several
requests in one interrupt) is posted as one **batch** of proposals; the adapter waits until each is
decided and resumes the graph **once**, with ``Command(resume={interrupt_id: value, …})``, a value in
the shape each interrupt expects:

- LangChain v1 ``HumanInTheLoopMiddleware``, batched mode (the default): the interrupt's value is a
  ``HITLRequest`` (``action_requests`` + ``review_configs``); each action request is a proposal whose
  ``allowed_verdicts`` follow its ``allowed_decisions`` (approve, edit, reject; ``respond`` is
  Orchestra's ``answer``); the resume value is ``{"decisions": [...]}`` in the same order: ``{"type":
  "approve"}``, ``{"type": "edit", "edited_action": {"name", "args"}}``, ``{"type": "reject",
  "message": <comment>}``, ``{"type": "respond", "message": <answer>}``.
- Its ``per_call`` mode: one ``ToolApprovalRequest`` (``{"type": "tool_approval", …}``) per tool call,
  answered with one decision each (allowed decisions read from the interrupt's ``response_schema``).
- The older Agent Inbox convention: a list of ``HumanInterrupt`` (``action_request``, ``config`` with
  ``allow_accept``/``allow_edit``/``allow_respond``/``allow_ignore``, ``description``), answered with a
  list of ``HumanResponse``: ``accept`` (approve), ``edit`` (``args`` = ``{"action", "args"}``),
  ``response`` (answer: the comment), ``ignore`` (reject; the HumanResponse has no room for the
  comment, which stays in Orchestra).
- Anything else is a free-text question (allowed verdict: answer); the graph resumes with the answer.

Edited args: the middleware runs the reviewer's ``edited_action`` (its args replace the model's; the
model is told); Agent Inbox graphs get the edited ``args``. Pass ``tools`` so that each proposal
carries its tool's JSON Schema (``args_schema``): Orchestra then refuses an edit the tool would refuse.
A proposal that expired, was refused by a policy or superseded resumes as a rejection (or raises
``NotDecidable`` when the tool does not allow rejecting).
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langgraph.types import Command

from .review import BatchReview, Outcome, ToolCall, batch_id

# Orchestra's verdicts <-> the middleware's decision types.
VERDICT_OF_DECISION = {"approve": "approve", "edit": "edit", "reject": "reject", "respond": "answer"}
VERDICT_OF_INBOX_FLAG = {"allow_accept": "approve", "allow_edit": "edit", "allow_respond": "answer",
                         "allow_ignore": "reject"}


class NotDecidable(RuntimeError):
    """A proposal ended without an outcome the interrupt can take (e.g. it expired, and the tool does
    not allow rejecting): the graph stays interrupted; resume it yourself."""


class GraphReviewer:
    """Runs a compiled graph with Orchestra as its human in the loop (see the module docstring).

    ``client`` is an ``OrchestraClient`` with the agent's token. ``tools`` (LangChain tools or
    anything with ``name`` and ``tool_call_schema``/``args_schema``) give each proposal its
    ``args_schema``. The other keywords are ``BatchReview``'s: ``actions`` (tool name -> dotted action
    type), ``defaults`` and ``per_tool`` (``ProposalIn`` fields), ``wait_timeout`` (seconds per
    step), ``question_action``.
    """

    def __init__(self, client, *, tools: Iterable[Any] = (), **review_options):
        self.review = BatchReview(client, **review_options)
        self.schemas = {tool.name: schema for tool in tools if (schema := args_schema_of(tool)) is not None}

    def invoke(self, graph, graph_input: Any, config: Mapping[str, Any], **kwargs) -> Any:
        """``graph.invoke(graph_input, config)``, then review and resume until it finishes without
        pending interrupts; returns the last ``invoke``'s result. ``config`` needs a ``thread_id``."""
        result = graph.invoke(graph_input, config, **kwargs)
        while interrupts := graph.get_state(config).interrupts:
            result = graph.invoke(Command(resume=self.decide(interrupts, config)), config, **kwargs)
        return result

    async def ainvoke(self, graph, graph_input: Any, config: Mapping[str, Any], **kwargs) -> Any:
        """``invoke`` for async graphs (``ainvoke``); the waiting runs in a worker thread."""
        result = await graph.ainvoke(graph_input, config, **kwargs)
        while interrupts := (await graph.aget_state(config)).interrupts:
            resume = await asyncio.to_thread(self.decide, interrupts, config)
            result = await graph.ainvoke(Command(resume=resume), config, **kwargs)
        return result

    def decide(self, interrupts: Sequence[Any], config: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Post every pending interrupt's requests as one batch, wait, and return the resume map
        ``{interrupt.id: value}`` for ``Command(resume=…)``."""
        thread = str(((config or {}).get("configurable") or {}).get("thread_id", ""))
        plans = [(i, *self._calls_of(i)) for i in interrupts]
        calls = [call for _, _, calls in plans for call in calls]
        outcomes = iter(self.review.review(calls, batch=batch_id("lg", thread, *(i.id for i in interrupts))))
        return {i.id: answer([next(outcomes) for _ in calls]) for i, answer, calls in plans}

    # --- the shapes in use ------------------------------------------------------------------------

    def _calls_of(self, interrupt) -> tuple[Any, list[ToolCall]]:
        """``(answer, calls)``: the ToolCalls an interrupt asks about, and a function turning their
        outcomes into the interrupt's resume value."""
        value, key = interrupt.value, interrupt.id
        if isinstance(value, Mapping) and isinstance(value.get("action_requests"), list):
            return self._hitl_request(value, key)
        if isinstance(value, Mapping) and value.get("type") == "tool_approval":
            allowed = decisions_in(getattr(interrupt, "response_schema", None)) or list(VERDICT_OF_DECISION)
            call = self._tool_call(value["name"], value.get("args"), allowed, value.get("description", ""),
                                   f"{key}:{value.get('tool_call_id', '')}")
            return (lambda outs: hitl_decision(outs[0], value["name"], allowed)), [call]
        if _is_agent_inbox(value):
            return self._agent_inbox(value, key)
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        args = dict(value) if isinstance(value, Mapping) else {"question": text}
        return (lambda outs: outs[0].comment), [ToolCall(name="question", args=_jsonable(args), question=text,
                                                         key=key)]

    def _hitl_request(self, value: Mapping, key: str):
        requests, configs = value["action_requests"], value.get("review_configs") or []
        by_name = {c.get("action_name"): c for c in configs}
        calls, allowed_each = [], []
        for n, request in enumerate(requests):
            config = configs[n] if len(configs) == len(requests) else by_name.get(request["name"], {})
            allowed = list(config.get("allowed_decisions") or VERDICT_OF_DECISION)
            allowed_each.append(allowed)
            calls.append(self._tool_call(request["name"], request.get("args"), allowed,
                                         request.get("description", ""), f"{key}:{n}"))

        def answer(outs: list[Outcome]) -> dict:
            return {"decisions": [hitl_decision(o, r["name"], a) for o, r, a in zip(outs, requests, allowed_each,
                                                                                       strict=True)]}
        return answer, calls

    def _agent_inbox(self, value: list, key: str):
        calls = []
        for n, item in enumerate(value):
            request, flags = item["action_request"], item.get("config") or {}
            allowed = [verdict for flag, verdict in VERDICT_OF_INBOX_FLAG.items() if flags.get(flag)]
            name = request["action"]
            calls.append(ToolCall(name=name, args=_jsonable(request.get("args") or {}), allowed=tuple(allowed),
                                  args_schema=self.schemas.get(name), description=item.get("description") or "",
                                  key=f"{key}:{n}"))

        def answer(outs: list[Outcome]) -> list[dict]:
            return [human_response(o, item["action_request"]["action"]) for o, item in zip(outs, value, strict=True)]
        return answer, calls

    def _tool_call(self, name: str, args, decisions: Sequence[str], description: str, key: str) -> ToolCall:
        allowed = tuple(VERDICT_OF_DECISION[d] for d in decisions if d in VERDICT_OF_DECISION)
        return ToolCall(name=name, args=_jsonable(args or {}), allowed=allowed, args_schema=self.schemas.get(name),
                        description=description, key=key)


def hitl_decision(outcome: Outcome, name: str, allowed: Sequence[str]) -> dict:
    """The middleware's ``Decision`` for an outcome (raises ``NotDecidable`` if ``allowed`` lacks it)."""
    if outcome.verdict == "approve" and "approve" not in allowed and "edit" in allowed:
        outcome = Outcome("edit", outcome.args, outcome.comment, outcome.proposal, outcome.votes)
    decision = {
        "approve": lambda: {"type": "approve"},
        "edit": lambda: {"type": "edit", "edited_action": {"name": name, "args": outcome.args}},
        "reject": lambda: {"type": "reject", "message": outcome.comment} if outcome.comment else {"type": "reject"},
        "answer": lambda: {"type": "respond", "message": outcome.comment},
    }[outcome.verdict]()
    if decision["type"] not in allowed:
        raise NotDecidable(f"{name}: {outcome.comment or outcome.verdict} ({decision['type']} is not allowed)")
    return decision


def human_response(outcome: Outcome, action: str) -> dict:
    """The Agent Inbox ``HumanResponse`` for an outcome."""
    if outcome.verdict == "approve":
        return {"type": "accept", "args": None}
    if outcome.verdict == "edit":
        return {"type": "edit", "args": {"action": action, "args": outcome.args}}
    if outcome.verdict == "answer":
        return {"type": "response", "args": outcome.comment}
    return {"type": "ignore", "args": None}


def decisions_in(schema) -> list[str]:
    """The decision types a per-call interrupt's ``response_schema`` accepts (JSON Schema or a
    pydantic-compatible type): every ``type`` constant it names; [] when unknown."""
    if schema is not None and not isinstance(schema, Mapping):
        try:
            from pydantic import TypeAdapter

            schema = TypeAdapter(schema).json_schema()
        except Exception:  # noqa: BLE001  (any type pydantic cannot describe: fall back to all)
            return []
    found: list[str] = []

    def walk(node):
        if isinstance(node, Mapping):
            kind = (node.get("properties") or {}).get("type") if isinstance(node.get("properties"), Mapping) else None
            if isinstance(kind, Mapping):
                found.extend(v for v in [kind.get("const"), *(kind.get("enum") or [])] if isinstance(v, str))
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)
    walk(schema or {})
    return [d for d in dict.fromkeys(found) if d in VERDICT_OF_DECISION]


def args_schema_of(tool) -> dict | None:
    """A LangChain tool's args as JSON Schema (what the model sees, ``tool_call_schema``), or None."""
    schema = getattr(tool, "tool_call_schema", None) or getattr(tool, "args_schema", None)
    if isinstance(schema, Mapping):
        return dict(schema)
    if hasattr(schema, "model_json_schema"):
        return schema.model_json_schema()
    return None


def _is_agent_inbox(value) -> bool:
    return (isinstance(value, list) and bool(value)
            and all(isinstance(v, Mapping) and isinstance(v.get("action_request"), Mapping) for v in value))


def _jsonable(value) -> Any:
    return json.loads(json.dumps(value, default=str))

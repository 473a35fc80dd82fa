"""OpenAI Agents SDK adapter (``pip install 'orchestra-client[openai-agents]'``): tools marked
``needs_approval`` are decided by Orchestra's reviewers.

    from agents import Agent, function_tool
    from orchestra_client import OrchestraClient
    from orchestra_client.openai_agents import RunReviewer

    @function_tool(needs_approval=True)
    def refund(order_id: str, amount_usd: float) -> str: ...

    agent = Agent(name="support", instructions="…", tools=[refund])
    result = RunReviewer(OrchestraClient(URL, TOKEN)).run_sync(agent, "Refund order 42")

When a run stops with ``result.interruptions`` (the ``ToolApprovalItem`` of each call awaiting
approval), the adapter posts them as one **batch** of proposals (one batch per run step), waits until
each is decided, calls ``state.approve(item)`` or ``state.reject(item, rejection_message=<the
reviewer's comment>)`` on ``result.to_state()`` and resumes with ``Runner.run(agent, state)``, until
the run finishes without interruptions. Each proposal carries the tool's ``params_json_schema`` as
its ``args_schema``.

Edited arguments: the SDK cannot run them. ``RunState.approve`` takes only the approval item (and
``always_approve``), and the approval is bound to the call exactly as the model made it (its call id
and arguments); there is no way to approve *other* arguments. So the proposals allow only ``approve``
and ``reject`` (``allowed_verdicts``): reviewers are not offered an edit the agent could not honour.
To change arguments, reject with a comment saying what to do instead: the model reads the comment as
the tool's result and may call the tool again, which is a new proposal.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any

from agents import Runner

from .review import BatchReview, Outcome, ToolCall, batch_id

ALLOWED = ("approve", "reject")


class RunReviewer:
    """Runs an agent with Orchestra deciding its ``needs_approval`` tool calls (module docstring).

    ``client`` is an ``OrchestraClient`` with the agent's token; the other keywords are
    ``BatchReview``'s: ``actions`` (tool name -> dotted action type), ``defaults`` and ``per_tool``
    (``ProposalIn`` fields, e.g. ``risk``), ``wait_timeout`` (seconds per step).
    """

    def __init__(self, client, **review_options):
        self.review = BatchReview(client, **review_options)

    async def run(self, agent, run_input: Any, **run_kwargs) -> Any:
        """``Runner.run(agent, run_input, **run_kwargs)``, reviewing and resuming until the run ends
        without interruptions; returns the last ``RunResult``."""
        result = await Runner.run(agent, run_input, **run_kwargs)
        while result.interruptions:
            state = result.to_state()
            await asyncio.to_thread(self.decide, result.interruptions, state)
            result = await Runner.run(agent, state, **run_kwargs)
        return result

    def run_sync(self, agent, run_input: Any, **run_kwargs) -> Any:
        """``run`` from synchronous code (as ``Runner.run_sync``: not inside a running event loop)."""
        return asyncio.run(self.run(agent, run_input, **run_kwargs))

    def decide(self, interruptions: list, state) -> list[Outcome]:
        """Post ``interruptions`` as one batch, wait, and approve or reject each on ``state``."""
        calls = [self._call_of(item) for item in interruptions]
        outcomes = self.review.review(calls, batch=batch_id("oa", *(call.key for call in calls)))
        for item, outcome in zip(interruptions, outcomes, strict=True):
            if outcome.verdict == "approve":
                state.approve(item)
            else:
                state.reject(item, rejection_message=rejection_message(outcome))
        return outcomes

    def _call_of(self, item) -> ToolCall:
        name = item.name or "tool"
        return ToolCall(name=name, args=arguments_of(item), allowed=ALLOWED, args_schema=_schema_of(item, name),
                        description=f"{item.agent.name} asks to call {name}." if item.agent else "",
                        key=str(item.call_id or ""))


def rejection_message(outcome: Outcome) -> str:
    """What the model reads instead of the tool's result: who rejected it and why."""
    who = (outcome.proposal.decided_by if outcome.proposal else None) or "Orchestra"
    return f"Rejected by {who}: {outcome.comment}" if outcome.comment else f"Rejected by {who}."


def arguments_of(item) -> dict:
    """The call's arguments as a JSON object (``{"arguments": <raw>}`` when they are not one)."""
    raw = item.arguments
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {"arguments": raw}
    return value if isinstance(value, dict) else {"arguments": value}


def _schema_of(item, name: str) -> dict | None:
    for tool in getattr(item.agent, "tools", None) or []:
        if getattr(tool, "name", None) == name and isinstance(getattr(tool, "params_json_schema", None), dict):
            return tool.params_json_schema
    return None

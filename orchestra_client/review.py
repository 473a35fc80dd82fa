"""What the framework adapters share: post the tool calls of one agent step as one batch of
proposals, wait until each is decided, and say what was decided.

``BatchReview(client, …).review(calls, batch=…)`` submits one proposal per ``ToolCall`` (all with the
same ``batch`` id, each with an ``Idempotency-Key`` derived from the call, so a rerun after a crash
finds the same proposals instead of posting new ones: the framework's call and interrupt ids must
therefore be unique for the agent, as OpenAI's call ids and LangGraph's interrupt ids within a
thread are; ``key_prefix`` scopes them further, e.g. per deployment), long-polls until each is decided and returns
one ``Outcome`` per call, in order. Framework-neutral: the adapters (``orchestra_client.langgraph``,
``orchestra_client.openai_agents``) turn their SDK's shapes into ``ToolCall`` and ``Outcome`` back.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .client import OrchestraClient, Proposal
from .errors import Forbidden

SUMMARY_MAX = 500
QUESTION_ACTION = "agent.question"


@dataclass(frozen=True)
class ToolCall:
    """One thing a reviewer must decide: a tool call (``name``, ``args``) or, with ``question`` set,
    a free-text question (answered with the ``answer`` verdict).

    ``allowed`` are the Orchestra verdicts the framework can act on (approve, reject, edit, answer);
    ``args_schema`` the JSON Schema of the tool's args, if known; ``description`` what the framework
    says about it (the reviewer reads it as the reasoning); ``key`` a stable id of the call within
    the run (the framework's tool-call or interrupt id): the proposal's idempotency key derives from it.
    """

    name: str
    args: dict[str, Any]
    allowed: tuple[str, ...] = ("approve", "reject", "edit", "answer")
    args_schema: dict[str, Any] | None = None
    description: str = ""
    key: str = ""
    question: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What was decided on one ``ToolCall``.

    ``verdict`` is approve, edit, reject or answer. ``args`` are the args to run (the reviewer's edit,
    or the proposed ones); ``comment`` is the deciding reviewer's comment (the answer, for ``answer``;
    for a proposal that expired, was refused by a policy or superseded, a sentence saying so, and
    ``verdict`` is reject); ``proposal`` is the decided proposal (None when a policy refused it).
    """

    verdict: str
    args: dict[str, Any]
    comment: str
    proposal: Proposal | None = None
    votes: list[dict] = field(default_factory=list)


def batch_id(prefix: str, *parts: str) -> str:
    """A stable batch id for one agent step, from the ids of what it raised: ``lg-3f2a…``."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]
    return f"{prefix}-{digest}"


class BatchReview:
    """Posts tool calls as proposals and waits for them (see the module docstring).

    ``actions`` maps a tool name to the action to propose (e.g. ``{"send_email":
    "email.send_external"}``, so that an action type's contract and category and the policies on
    dotted names apply); other tools are proposed under their own name. ``defaults`` are
    ``ProposalIn`` fields sent with every proposal (``risk``, ``resource``, ``classification``,
    ``cost_usd`` …) and ``per_tool`` the same per tool name, on top. ``wait_timeout`` bounds the wait
    for each step, in seconds (None: as long as it takes; ``DecisionTimeout`` when it passes).
    ``question_action`` is the action of free-text questions.
    """

    def __init__(self, client: OrchestraClient, *, actions: Mapping[str, str] | None = None,
                 defaults: Mapping[str, Any] | None = None, per_tool: Mapping[str, Mapping[str, Any]] | None = None,
                 wait_timeout: float | None = None, question_action: str = QUESTION_ACTION, key_prefix: str = ""):
        self.client = client
        self.actions = dict(actions or {})
        self.defaults = dict(defaults or {})
        self.per_tool = {name: dict(fields) for name, fields in (per_tool or {}).items()}
        self.wait_timeout = wait_timeout
        self.question_action = question_action
        self.key_prefix = key_prefix

    def review(self, calls: Sequence[ToolCall], *, batch: str) -> list[Outcome]:
        """Submit ``calls`` as one batch, wait until each is decided, return their outcomes in order."""
        submitted = [self._submit(call, batch) for call in calls]
        pending = [p.id for p in submitted if isinstance(p, Proposal) and p.pending]
        decided = {p.id: p for p in self.client.wait_all(pending, timeout=self.wait_timeout)}
        return [outcome_of(call, decided.get(p.id, p) if isinstance(p, Proposal) else p)
                for call, p in zip(calls, submitted, strict=True)]

    def _submit(self, call: ToolCall, batch: str) -> Proposal | Outcome:
        fields = {**self.defaults, **self.per_tool.get(call.name, {})}
        if call.question is not None:
            fields.update(kind="question", action=self.question_action, summary=_cut(call.question),
                          args=call.args, allowed_verdicts=["answer"])
        else:
            fields.update(action=self.actions.get(call.name, call.name), summary=_cut(summary_of(call)),
                          args=call.args, allowed_verdicts=list(call.allowed))
            if call.args_schema is not None:
                fields["args_schema"] = call.args_schema
        if call.description:
            fields.setdefault("reasoning", call.description)
        key = f"{self.key_prefix}{batch}:{call.key}" if call.key else None
        try:
            return self.client.submit(idempotency_key=key[:255] if key else None, batch=batch, **fields)
        except Forbidden as refused:  # a policy forbids it, or the agent is suspended: the tool does not run
            return Outcome("reject", call.args, f"Refused by Orchestra: {refused.detail}")


def outcome_of(call: ToolCall, p: Proposal | Outcome) -> Outcome:
    if isinstance(p, Outcome):
        return p
    verdict = {"approved": "approve", "edited_and_approved": "edit", "rejected": "reject",
               "answered": "answer"}.get(p.status)
    if verdict is None:  # expired, refused, superseded: nobody approved it, so it does not run
        why = p.comment or p.status
        return Outcome("reject", call.args, f"Not approved ({p.status}): {why}", p, p.votes)
    if verdict == "edit" and p.final_args == call.args:
        verdict = "approve"
    return Outcome(verdict, p.args_to_run, p.comment, p, p.votes)


def summary_of(call: ToolCall) -> str:
    """``send_email {"to": "a@example.com"}``: the tool and its args, on one line."""
    return f"{call.name} {json.dumps(call.args, ensure_ascii=False, default=str, separators=(', ', ': '))}"


def _cut(text: str) -> str:
    text = " ".join(str(text).split()) or "(empty)"
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"

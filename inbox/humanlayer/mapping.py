"""HumanLayer function calls and human contacts as Orchestra proposals, and back (see the package
docstring for the mapping). Each function here calls one inbox service or permission check."""
import json

from governance.models import Agent
from orchestra_site.errors import Conflict, Forbidden, InvalidInput, NotFound

from .. import permissions, selectors, services
from ..models import Proposal
from .schemas import EscalationIn, FunctionCallIn, FunctionCallStatusIn, HumanContactIn, HumanContactStatusIn

Status, Kind = Proposal.Status, Proposal.Kind
ACTION_PREFIX = "humanlayer."
CONTACT_ACTION = "humanlayer.contact_human"
KEY_PREFIX = {Kind.ACTION: "humanlayer:function_call:", Kind.QUESTION: "humanlayer:human_contact:"}
SUMMARY_MAX = 500
APPROVED = (Status.APPROVED,)


def _options(options) -> list[dict]:
    return [o.model_dump() for o in options or []]


def _short(text: str, limit: int = SUMMARY_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _call_summary(fn: str, kwargs: dict) -> str:
    """``send_money(amount=100, to="bob")``: what the reviewer reads first."""
    args = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in kwargs.items())
    return _short(f"{fn}({args})")


def function_call_data(payload: FunctionCallIn) -> dict:
    """The proposal fields (``proposal_submit``'s ``data``) of a HumanLayer function call."""
    spec = payload.spec
    return {
        "kind": Kind.ACTION, "action": ACTION_PREFIX + spec.fn, "summary": _call_summary(spec.fn, spec.kwargs),
        "args": spec.kwargs, "workflow": payload.run_id, "response_options": _options(spec.reject_options),
        "channel_spec": {"channel": spec.channel, "state": spec.state},
        **_DEFAULTS,
    }


def human_contact_data(payload: HumanContactIn) -> dict:
    """The proposal fields of a HumanLayer human contact: a question for the reviewers."""
    spec = payload.spec
    return {
        "kind": Kind.QUESTION, "action": CONTACT_ACTION, "summary": _short(spec.subject or spec.msg),
        "reasoning": spec.msg, "workflow": payload.run_id, "response_options": _options(spec.response_options),
        "channel_spec": {"msg": spec.msg, "subject": spec.subject, "channel": spec.channel, "state": spec.state},
        **_DEFAULTS,
    }


_DEFAULTS = {"risk": "medium", "confidence": 0.0, "cost_usd": 0, "classification": "internal"}


def call_submit(*, agent: Agent, kind: str, call_id: str, data: dict) -> tuple[Proposal, bool]:
    """Submit through ``proposal_submit`` with the call id as idempotency key. A proposal refused by
    policy is returned as it is stored (decided: ``refused``), so the SDK reads the refusal as a denial
    with the policy's reason; every other refusal (suspended agent, rate limit, bad args) is raised."""
    try:
        return services.proposal_submit(agent=agent, data=data, idempotency_key=KEY_PREFIX[kind] + call_id)
    except Forbidden as exc:
        if exc.code != "forbidden_by_policy":
            raise
        return selectors.proposal_by_id(exc.extra["proposal_id"]), True


def access_call(principal, kind: str, call_id: str, *, for_decision: bool = False) -> Proposal:
    """The proposal behind HumanLayer call ``call_id`` (a function call or a human contact).

    An agent reaches its own calls (and may not decide: ``Forbidden``, 403). A reviewer reaches the
    call among the proposals they may view, then needs the right to decide in its inbox to decide it;
    when two agents used the same call id in the reviewer's inboxes, ``Conflict`` (409) says so.
    Anything else: ``NotFound`` (404)."""
    key = KEY_PREFIX[kind] + call_id
    if isinstance(principal, Agent):
        found = list(selectors.proposals_for_agent(principal).filter(idempotency_key=key).values_list("pk", flat=True))
    elif permissions.is_reviewer(principal):
        found = list(selectors.proposals_for_reviewer(principal).filter(idempotency_key=key)
                     .values_list("pk", flat=True)[:2])
    else:
        found = []
    if not found:
        raise NotFound(f"No such {'function call' if kind == Kind.ACTION else 'human contact'}.")
    if len(found) > 1:
        raise Conflict("Several agents used this call_id; decide it on the native API by proposal id.",
                       code="ambiguous_call_id")
    return permissions.access_proposal(principal, found[0], for_decision=for_decision)


def _option_text(options: list[dict], name: str | None, field: str) -> str:
    """The text an option ``name`` stands for (its prompt_fill, title or name); 422 for an unknown one."""
    for o in options:
        if o.get("name") == name:
            return o.get("prompt_fill") or o.get("title") or o["name"]
    raise InvalidInput(f"No option named {name!r} on this call.", field=field)


def function_call_respond(*, proposal: Proposal, reviewer, status: FunctionCallStatusIn) -> Proposal:
    """A reviewer's ``FunctionCallStatus``: approve (``approved`` true) or reject with a comment."""
    if status.approved is None:
        raise InvalidInput("Say approved true or false.", field="approved")
    comment = status.comment or ""
    if not status.approved and not comment.strip() and status.reject_option_name:
        comment = _option_text(proposal.response_options, status.reject_option_name, "reject_option_name")
    verdict = "approve" if status.approved else "reject"
    return services.proposal_decide(proposal=proposal, reviewer=reviewer, verdict=verdict, comment=comment)


def human_contact_respond(*, proposal: Proposal, reviewer, status: HumanContactStatusIn) -> Proposal:
    """A reviewer's ``HumanContactStatus``: the answer (``response``, or the chosen option's text)."""
    answer = status.response or ""
    if not answer.strip() and status.response_option_name:
        answer = _option_text(proposal.response_options, status.response_option_name, "response_option_name")
    return services.proposal_decide(proposal=proposal, reviewer=reviewer, verdict="answer", comment=answer)


def call_escalate(*, proposal: Proposal, agent: Agent, escalation: EscalationIn) -> Proposal:
    """The agent asks for its pending call to go up one authority level (``proposal_escalate``)."""
    reason = f"escalated by agent {agent.name}: {escalation.escalation_msg}"
    return services.proposal_escalate(proposal=proposal, reason=reason, by=None)


# --- back to the SDK's shapes ---------------------------------------------------------------------

def _chosen_option(p: Proposal, text: str) -> str | None:
    for o in p.response_options or []:
        if text and text in (o.get("name"), o.get("title"), o.get("prompt_fill")):
            return o["name"]
    return None


def _call_id(p: Proposal) -> str:
    return p.idempotency_key.removeprefix(KEY_PREFIX[p.kind])


def _ending(p: Proposal) -> str:
    """Why a call ended without approval, in words: the reviewer's or the system's comment."""
    if p.status == Status.EDITED:
        edited = json.dumps(p.final_args, ensure_ascii=False, sort_keys=True)
        said = f" Their comment: {p.decision_comment}" if p.decision_comment else ""
        return (f"A reviewer approved it only with edited arguments, which HumanLayer cannot pass to the "
                f"function: {edited}. Call it again with these to run it.{said}")
    return p.decision_comment or f"{p.get_status_display()}."


def function_call_out(p: Proposal) -> dict:
    """``FunctionCall`` as the SDK reads it: ``status.approved`` null while pending."""
    extra = p.channel_spec or {}
    decided = not p.is_pending
    approved = None if not decided else p.status in APPROVED
    comment = None if not decided else (p.decision_comment or None) if approved else _ending(p)
    return {
        "run_id": p.workflow, "call_id": _call_id(p),
        "spec": {"fn": p.action.removeprefix(ACTION_PREFIX), "kwargs": p.args, "channel": extra.get("channel"),
                 "reject_options": p.response_options or None, "state": extra.get("state")},
        "status": {"requested_at": p.created_at, "responded_at": p.decided_at if decided else None,
                   "approved": approved, "comment": comment,
                   "reject_option_name": _chosen_option(p, comment) if decided and not approved else None,
                   "slack_message_ts": None},
    }


def human_contact_out(p: Proposal) -> dict:
    """``HumanContact`` as the SDK reads it: ``status.response`` null until answered (or ended)."""
    extra = p.channel_spec or {}
    response = None
    if p.status == Status.ANSWERED:
        response = p.decision_comment
    elif p.status == Status.REJECTED:
        response = f"The reviewer declined to answer: {p.decision_comment}"
    elif not p.is_pending:
        response = f"No answer: {_ending(p)}"
    return {
        "run_id": p.workflow, "call_id": _call_id(p),
        "spec": {"msg": extra.get("msg", p.reasoning), "subject": extra.get("subject"),
                 "channel": extra.get("channel"), "response_options": p.response_options or None,
                 "state": extra.get("state")},
        "status": {"requested_at": p.created_at, "responded_at": None if p.is_pending else p.decided_at,
                   "response": response,
                   "response_option_name": _chosen_option(p, response) if p.status == Status.ANSWERED else None},
    }

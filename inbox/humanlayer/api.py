"""Routes of the HumanLayer-compatible API (mounted at ``/humanlayer/v1`` by ``orchestra_site.api``):
the paths, methods and bodies the ``humanlayer`` SDK 0.7.9's cloud backend uses. Parse, call one
mapping function (each calls one inbox service or permission check), shape the answer."""
from ninja import Router, Status

from governance.auth import bearer
from orchestra_site.schemas import ERROR_RESPONSES, ErrorOut

from .. import permissions, selectors, services
from ..models import Proposal
from . import mapping
from .schemas import (
    EscalationIn,
    FunctionCallIn,
    FunctionCallOut,
    FunctionCallStatusIn,
    HumanContactIn,
    HumanContactOut,
    HumanContactStatusIn,
)

router = Router(auth=bearer, tags=["humanlayer"])
ERRORS = {**ERROR_RESPONSES, 429: ErrorOut}
Kind = Proposal.Kind


def _fresh(p: Proposal) -> Proposal:
    """``p``, expired first when it is pending past its ``expires_at`` (as the native read does)."""
    return selectors.proposal_by_id(p.pk) if services.proposal_expire(proposal=p) else p


@router.post("/function_calls", response={200: FunctionCallOut, 201: FunctionCallOut, **ERRORS})
def create_function_call(request, payload: FunctionCallIn):
    """An agent asks approval for a function call: a proposal (action ``humanlayer.<fn>``) routed by
    policy. 201 with the call (``status.approved`` null while a human decides); 200 with the earlier one
    when this ``call_id`` was already sent with the same body, 409 with another body. A policy's refusal
    comes back as ``approved: false`` with its reason; 403 for a suspended agent, 429 over the rate."""
    agent = permissions.require_agent(request.auth)
    proposal, created = mapping.call_submit(agent=agent, kind=Kind.ACTION, call_id=payload.call_id,
                                            data=mapping.function_call_data(payload))
    return Status(201 if created else 200, mapping.function_call_out(proposal))


@router.get("/function_calls/{call_id}", response={200: FunctionCallOut, **ERRORS})
def get_function_call(request, call_id: str):
    """The call and its status (the SDK polls this): an agent's own, or one in a reviewer's inboxes."""
    return mapping.function_call_out(_fresh(mapping.access_call(request.auth, Kind.ACTION, call_id)))


@router.post("/agent/function_calls/{call_id}/respond", response={200: FunctionCallOut, **ERRORS})
def respond_to_function_call(request, call_id: str, payload: FunctionCallStatusIn):
    """Decide a call: ``approved`` true, or false with a ``comment`` (or a ``reject_option_name``).
    Needs a reviewer's token with the right to decide in the call's inbox (an agent's: 403). Exactly once:
    409 naming who decided first."""
    user = permissions.require_reviewer(request.auth)
    proposal = mapping.access_call(user, Kind.ACTION, call_id, for_decision=True)
    return mapping.function_call_out(mapping.function_call_respond(proposal=proposal, reviewer=user, status=payload))


@router.post("/agent/function_calls/{call_id}/escalate_email", response={200: FunctionCallOut, **ERRORS})
def escalate_function_call(request, call_id: str, payload: EscalationIn):
    """The agent moves its pending call up one authority level, ``escalation_msg`` as the reason (no
    e-mail is sent). 409 when decided, frozen or already at the top level."""
    agent = permissions.require_agent(request.auth)
    proposal = mapping.access_call(agent, Kind.ACTION, call_id)
    return mapping.function_call_out(mapping.call_escalate(proposal=proposal, agent=agent, escalation=payload))


@router.post("/contact_requests", response={200: HumanContactOut, 201: HumanContactOut, **ERRORS})
def create_human_contact(request, payload: HumanContactIn):
    """An agent asks a human a question: a question proposal in the reviewers' inbox, answered with the
    verdict ``answer``. 201 (``status.response`` null until answered); 200 for a replay of this call_id."""
    agent = permissions.require_agent(request.auth)
    proposal, created = mapping.call_submit(agent=agent, kind=Kind.QUESTION, call_id=payload.call_id,
                                            data=mapping.human_contact_data(payload))
    return Status(201 if created else 200, mapping.human_contact_out(proposal))


@router.get("/contact_requests/{call_id}", response={200: HumanContactOut, **ERRORS})
def get_human_contact(request, call_id: str):
    """The question and its answer (the SDK polls this)."""
    return mapping.human_contact_out(_fresh(mapping.access_call(request.auth, Kind.QUESTION, call_id)))


@router.post("/agent/human_contacts/{call_id}/respond", response={200: HumanContactOut, **ERRORS})
def respond_to_human_contact(request, call_id: str, payload: HumanContactStatusIn):
    """Answer a question (``response``, or a ``response_option_name``). A reviewer's token, as above."""
    user = permissions.require_reviewer(request.auth)
    proposal = mapping.access_call(user, Kind.QUESTION, call_id, for_decision=True)
    return mapping.human_contact_out(mapping.human_contact_respond(proposal=proposal, reviewer=user, status=payload))


@router.post("/agent/human_contacts/{call_id}/escalate_email", response={200: HumanContactOut, **ERRORS})
def escalate_human_contact(request, call_id: str, payload: EscalationIn):
    """The agent moves its pending question up one authority level, ``escalation_msg`` as the reason."""
    agent = permissions.require_agent(request.auth)
    proposal = mapping.access_call(agent, Kind.QUESTION, call_id)
    return mapping.human_contact_out(mapping.call_escalate(proposal=proposal, agent=agent, escalation=payload))


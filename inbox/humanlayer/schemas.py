"""Request and response bodies of the HumanLayer-compatible API, field for field the models of the
``humanlayer`` SDK 0.7.9 (``humanlayer.core.models``): what its ``model_dump()`` sends, and what its
``model_validate()`` reads back. Bodies are strict like every Orchestra body (unknown fields: 422).

Timestamps are UTC (``2026-11-03T10:15:30.123456Z``); ``channel`` and ``state`` are opaque JSON
objects, kept and returned as sent.
"""
from typing import Any

from ninja import Field, Schema

from orchestra_site.schemas import InputSchema, Timestamp

CALL_ID = Field(..., min_length=1, max_length=200, description="The caller's id for this call (unique per agent).")
RUN_ID = Field(..., min_length=1, max_length=120, description="The agent run; stored as the proposal's workflow.")
FN_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.:/-]*$"


class ResponseOptionIn(InputSchema):
    """A reply the agent offers the reviewer (a reject option, or an answer option)."""

    name: str = Field(..., min_length=1, max_length=100)
    title: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)
    prompt_fill: str | None = Field(None, max_length=2000, description="Text the reply starts from.")
    interactive: bool = False


class FunctionCallSpecIn(InputSchema):
    fn: str = Field(..., min_length=1, max_length=100, pattern=FN_PATTERN,
                    description="The function's name; the proposal's action is `humanlayer.<fn>`.")
    kwargs: dict[str, Any] = Field(..., description="Its arguments: the proposal's args.")
    channel: dict[str, Any] | None = Field(None, description="HumanLayer contact channel; kept, not used.")
    reject_options: list[ResponseOptionIn] | None = Field(None, max_length=20)
    state: dict[str, Any] | None = Field(None, description="Kept across the call's life and returned as sent.")


class FunctionCallStatusIn(InputSchema):
    """A reviewer's answer to a function call: ``approved`` true or false; false needs a ``comment``
    (or a ``reject_option_name`` whose text becomes the comment). Timestamps are the server's: ignored."""

    requested_at: Any = None
    responded_at: Any = None
    approved: bool | None = None
    comment: str | None = Field(None, max_length=20_000)
    reject_option_name: str | None = Field(None, max_length=100)
    slack_message_ts: str | None = Field(None, max_length=100)


class FunctionCallIn(InputSchema):
    """``POST /function_calls``: a function the agent wants to call, to be approved by a human.
    ``status`` is the server's; a client-sent one is ignored."""

    run_id: str = RUN_ID
    call_id: str = CALL_ID
    spec: FunctionCallSpecIn
    status: FunctionCallStatusIn | None = None


class HumanContactSpecIn(InputSchema):
    msg: str = Field(..., min_length=1, max_length=20_000, description="The question for a human.")
    subject: str | None = Field(None, max_length=500, description="Shown first to the reviewer when set.")
    channel: dict[str, Any] | None = Field(None, description="HumanLayer contact channel; kept, not used.")
    response_options: list[ResponseOptionIn] | None = Field(None, max_length=20)
    state: dict[str, Any] | None = Field(None, description="Kept across the contact's life and returned as sent.")


class HumanContactStatusIn(InputSchema):
    """A reviewer's answer to a human contact: ``response`` (or a ``response_option_name`` whose text
    becomes the answer). Timestamps are the server's: ignored."""

    requested_at: Any = None
    responded_at: Any = None
    response: str | None = Field(None, max_length=20_000)
    response_option_name: str | None = Field(None, max_length=100)


class HumanContactIn(InputSchema):
    """``POST /contact_requests``: a question for a human. ``status`` is the server's; a sent one is ignored."""

    run_id: str = RUN_ID
    call_id: str = CALL_ID
    spec: HumanContactSpecIn
    status: HumanContactStatusIn | None = None


class EscalationIn(InputSchema):
    """``POST /agent/…/escalate_email``: move the pending call up one authority level, with the message
    as the reason. Orchestra has no e-mail channel: recipients and channel are accepted and not used."""

    escalation_msg: str = Field(..., min_length=1, max_length=2000)
    additional_recipients: list[dict[str, Any]] | None = Field(None, max_length=50)
    channel: dict[str, Any] | None = None


class ResponseOptionOut(Schema):
    name: str
    title: str | None = None
    description: str | None = None
    prompt_fill: str | None = None
    interactive: bool = False


class FunctionCallSpecOut(Schema):
    fn: str
    kwargs: dict[str, Any]
    channel: dict[str, Any] | None = None
    reject_options: list[ResponseOptionOut] | None = None
    state: dict[str, Any] | None = None


class FunctionCallStatusOut(Schema):
    """``approved`` is null while a human has not decided; then true (run it) or false (``comment`` says why)."""

    requested_at: Timestamp | None = None
    responded_at: Timestamp | None = None
    approved: bool | None = None
    comment: str | None = None
    reject_option_name: str | None = None
    slack_message_ts: str | None = None


class FunctionCallOut(Schema):
    run_id: str
    call_id: str
    spec: FunctionCallSpecOut
    status: FunctionCallStatusOut | None = None


class HumanContactSpecOut(Schema):
    msg: str
    subject: str | None = None
    channel: dict[str, Any] | None = None
    response_options: list[ResponseOptionOut] | None = None
    state: dict[str, Any] | None = None


class HumanContactStatusOut(Schema):
    """``response`` is null until a human answered (or the question ended without an answer, said there)."""

    requested_at: Timestamp | None = None
    responded_at: Timestamp | None = None
    response: str | None = None
    response_option_name: str | None = None


class HumanContactOut(Schema):
    run_id: str
    call_id: str
    spec: HumanContactSpecOut
    status: HumanContactStatusOut | None = None

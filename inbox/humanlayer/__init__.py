"""HumanLayer-compatible API (``/humanlayer/v1``): the published ``humanlayer`` Python SDK (0.7.9,
``HumanLayer`` and ``AsyncHumanLayer``) drives Orchestra unmodified, with
``HUMANLAYER_API_KEY=<an Orchestra agent token>`` and ``HUMANLAYER_API_BASE=http://<host>/humanlayer/v1``.

It is a front door, not a side door: every call goes through the same services, policies, limits,
permissions and audit as a native proposal (``inbox.submission.proposal_submit``,
``inbox.decisions.proposal_decide``, ``inbox.timers.proposal_escalate``).

The mapping (``mapping``), field for field with the SDK's models (``humanlayer.core.models``):

- A function call (``POST /function_calls``) is an action proposal: ``spec.fn`` -> action
  ``humanlayer.<fn>`` (so policies match ``humanlayer.*`` or one tool), ``spec.kwargs`` -> ``args``,
  ``run_id`` -> ``workflow``, ``call_id`` -> the idempotency key (``humanlayer:function_call:<call_id>``,
  apart from native ``Idempotency-Key``s and from human contacts), ``spec.reject_options`` ->
  ``response_options`` (listed to the reviewer), ``spec.channel`` and ``spec.state`` are kept and
  returned as sent. Risk ``medium``, confidence 0 (a policy never auto-approves on confidence alone).
- A human contact (``POST /contact_requests``) is a **question** (``kind`` question, action
  ``humanlayer.contact_human``) in the reviewers' inbox, answered with the verdict ``answer``; its
  ``response_options`` are listed to the reviewer.
- Status, as the SDK reads it: approved -> ``approved: true`` (the SDK runs the function); rejected,
  answered, expired, superseded, refused -> ``approved: false`` with the reviewer's (or the system's)
  comment (the SDK returns "User denied <fn> with message: <comment>"). ``reject_option_name`` /
  ``response_option_name`` name the option whose name, title or prompt_fill the comment is.
- What the SDK cannot express: **edited args**. ``FunctionCallStatus`` has no field for them and
  ``require_approval`` calls the function with the original kwargs, so an ``edit`` (edited and approved)
  reaches the SDK as ``approved: false`` with a comment carrying the edited args as JSON: the agent
  never runs what the reviewer did not approve, and may call again with the edited args.
  A question declined (``reject``) or expired is answered with a response saying so, since a contact
  status has only ``response``.
- ``POST /agent/function_calls/{call_id}/respond`` and ``/agent/human_contacts/{call_id}/respond``
  decide, so they need a reviewer's token (an agent's gets 403, as on the native API); the reviewer
  must be allowed to decide in the proposal's inbox.
- ``POST /agent/.../escalate_email`` moves the pending proposal up one authority level (Orchestra has no
  e-mail channel), with ``escalation_msg`` as the reason.
- Errors keep the API's one body ``{"detail", "code", …}`` (the SDK raises ``HumanLayerException`` with
  it); a wrong key is 401 ``{"detail": …, "code": "unauthenticated"}``.
"""

"""MCP server (the official ``mcp`` SDK): any MCP-capable agent proposes actions and learns the decisions.

Tools, their names pinned: ``propose_action``, ``get_decision``, ``wait_for_decision`` (``proposal_id``,
``timeout`` seconds), ``list_my_proposals``, ``check_policy`` (the governance dry-run), and
``ask_human``: a question for a human. Where the MCP client supports elicitation, its user is asked
(the SDK's resolver ``Elicit``: a mid-call request on older protocol versions, an input-required round
on 2026-07-28, so it works over stateless HTTP too); otherwise, when they decline, or with
``ask="reviewers"``, it is a question proposal (``kind`` question) in the reviewers' inbox, answered
with the verdict ``answer``. A question grants nothing, so an answer from the client's user opens no
side door; every *action* still goes through ``propose_action``. Each tool calls the
same services, permission checks and selectors as the REST API (``inbox.services``, ``inbox.permissions``,
``inbox.selectors``): the same validation (``ProposalIn``), policies, rate limits, budgets and audit. An
error comes back as the tool's error result carrying the API's one body, ``{"detail", "code", …}``.

Transports (``tools.build_server``):
- streamable HTTP at ``/mcp`` (``http.mcp_app``, mounted in front of Django by ``orchestra_site.asgi``):
  every request carries ``Authorization: Bearer <agent token>``, resolved by
  ``governance.tokens.token_authenticate``; a missing or unknown token is 401, a reviewer's 403. It is
  stateless (no session held in a worker), so any number of web workers can serve it.
- stdio: ``python manage.py mcp_server --token <agent token>``, for clients that start the server.
"""

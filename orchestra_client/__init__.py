"""Python client of Orchestra's agent API. Needs only httpx (no Django).

Installable on its own (``pip install ./orchestra_client``; extras ``[langgraph]``, ``[openai-agents]``).

- ``OrchestraClient(base_url, token)``: ``submit``, ``get``, ``wait``, ``wait_all``, ``propose`` (submit
  and block until decided), ``list``; for reviewers ``inbox``, ``decide`` and ``decide_many``.
- ``Proposal``: frozen dataclass with ``.approved``, ``.args_to_run`` and ``.votes``.
- Adapters (import them explicitly; each needs its framework): ``orchestra_client.langgraph.GraphReviewer``
  (LangGraph / LangChain interrupts), ``orchestra_client.openai_agents.RunReviewer`` (OpenAI Agents SDK).
- Errors: ``OrchestraError(status, detail, code)`` and ``Unauthorized`` (401), ``Forbidden`` (403),
  ``NotFound`` (404), ``Conflict`` (409), ``ValidationFailed`` (422), ``RateLimited`` (429,
  ``.retry_after`` seconds), ``ServerError`` (5xx), ``ConnectionFailed``, ``DecisionTimeout``.
- ``verify_signature(secret, body, header)`` / ``parse_webhook`` for decision callbacks.
"""
from .client import OrchestraClient, Proposal
from .errors import (
    Conflict,
    ConnectionFailed,
    DecisionTimeout,
    Forbidden,
    NotFound,
    OrchestraError,
    RateLimited,
    ServerError,
    Unauthorized,
    ValidationFailed,
)
from .signing import DELIVERY_HEADER, SIGNATURE_HEADER, InvalidSignature, parse_webhook, signature, verify_signature

__all__ = [
    "OrchestraClient", "Proposal", "OrchestraError", "Unauthorized", "Forbidden", "NotFound", "Conflict",
    "ValidationFailed", "RateLimited", "ServerError", "ConnectionFailed", "DecisionTimeout", "InvalidSignature",
    "verify_signature", "parse_webhook", "signature", "SIGNATURE_HEADER", "DELIVERY_HEADER",
]

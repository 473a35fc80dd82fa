"""Verifying Orchestra's signed decision callbacks (webhooks) in the agent's receiver.

Orchestra POSTs ``{"event": "proposal.decided", "sent_at": <ISO 8601>, "proposal": <ProposalOut>}``
to the proposal's ``callback_url`` with ``X-Orchestra-Signature: sha256=<hex>``, the HMAC-SHA256 of
the raw request body keyed by the agent's webhook secret, and ``X-Orchestra-Delivery:
<proposal id>:<attempt>``. A delivery may be repeated (retries): handle each proposal id once.
"""
from __future__ import annotations

import hashlib
import hmac
import json

from .client import Proposal
from .errors import OrchestraError

SIGNATURE_HEADER = "X-Orchestra-Signature"
DELIVERY_HEADER = "X-Orchestra-Delivery"


def signature(secret: str | bytes, body: bytes) -> str:
    """``sha256=<hex>``: the value Orchestra puts in ``X-Orchestra-Signature`` for ``body``."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """True when ``header`` (the ``X-Orchestra-Signature`` value) signs the raw ``body`` with
    ``secret``. Compares in constant time; a missing or malformed header is simply False."""
    if not header or not secret or not isinstance(body, bytes | bytearray):
        return False
    return hmac.compare_digest(signature(secret, bytes(body)).encode(), header.strip().encode())


class InvalidSignature(OrchestraError):
    """The webhook's signature did not verify: answer 401/400 and ignore the body."""


def parse_webhook(secret: str | bytes, body: bytes, header: str | None) -> Proposal:
    """Verify and decode a decision callback; returns the decided ``Proposal``.
    Raises ``InvalidSignature`` when the signature does not match."""
    if not verify_signature(secret, body, header):
        raise InvalidSignature(None, "webhook signature does not verify", "invalid_signature")
    return Proposal.from_json(json.loads(body)["proposal"])

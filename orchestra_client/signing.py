"""Verifying Orchestra's signed decision callbacks (webhooks) in the agent's receiver.

Orchestra POSTs ``{"event": "proposal.decided", "sent_at": <ISO 8601>, "proposal": <ProposalOut>}``
to the proposal's ``callback_url`` with ``X-Orchestra-Signature: sha256=<hex>``, the HMAC-SHA256 of
the raw request body keyed by the agent's webhook secret, ``X-Orchestra-Delivery: <delivery id>``
(a UUID, the same on every attempt of one delivery) and ``X-Orchestra-Attempt: <1, 2, …>``. Delivery
is at least once: a delivery may be repeated (retries, a crashed worker), so handle each delivery id
once. After the agent's secret is rotated, the header carries a signature per valid secret for a
grace period, comma-separated (``sha256=<new>, sha256=<previous>``): any one of them verifying is enough.
"""
from __future__ import annotations

import hashlib
import hmac
import json

from .client import Proposal
from .errors import OrchestraError

SIGNATURE_HEADER = "X-Orchestra-Signature"
DELIVERY_HEADER = "X-Orchestra-Delivery"
ATTEMPT_HEADER = "X-Orchestra-Attempt"


def signature(secret: str | bytes, body: bytes) -> str:
    """``sha256=<hex>``: the value Orchestra puts in ``X-Orchestra-Signature`` for ``body``."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """True when ``header`` (the ``X-Orchestra-Signature`` value: one or more comma-separated
    ``sha256=<hex>``) holds a signature of the raw ``body`` with ``secret``. Compares in constant time;
    a missing or malformed header is simply False."""
    if not header or not secret or not isinstance(body, bytes | bytearray):
        return False
    expected = signature(secret, bytes(body)).encode()
    found = False
    for candidate in header.split(","):  # every one compared, so the time does not say which matched
        found |= hmac.compare_digest(expected, candidate.strip().encode())
    return found


class InvalidSignature(OrchestraError):
    """The webhook's signature did not verify: answer 401/400 and ignore the body."""


def parse_webhook(secret: str | bytes, body: bytes, header: str | None) -> Proposal:
    """Verify and decode a decision callback; returns the decided ``Proposal``.
    Raises ``InvalidSignature`` when the signature does not match."""
    if not verify_signature(secret, body, header):
        raise InvalidSignature(None, "webhook signature does not verify", "invalid_signature")
    return Proposal.from_json(json.loads(body)["proposal"])

"""Agents' webhook secrets: the keys of the HMAC-SHA256 signature on their decision callbacks, and
their rotation with a grace period.

After a rotation (``governance.services.agent_webhook_secret_rotate``) the previous secret keeps
signing until ``webhook_secret_previous_until``, so an agent's receiver can move to the new secret
at its own pace: meanwhile each callback carries both signatures in its one header,
``X-Orchestra-Signature: sha256=<hex, new secret>, sha256=<hex, previous secret>``, and a receiver
accepts the body when any of them verifies with the secret it has (``orchestra_client.verify_signature``).
"""
import hashlib
import hmac

from django.utils import timezone

from .models import Agent


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 of ``body`` keyed by ``secret``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signing_secrets(agent: Agent, now=None) -> list[str]:
    """The secrets that sign ``agent``'s callbacks at ``now`` (default: the current time): the current
    one first, then the previous one while its grace period lasts."""
    now = now or timezone.now()
    secrets = [agent.webhook_secret]
    until = agent.webhook_secret_previous_until
    if agent.webhook_secret_previous and until is not None and now < until:
        secrets.append(agent.webhook_secret_previous)
    return secrets


def signature_header(agent: Agent, body: bytes, now=None) -> str:
    """The ``X-Orchestra-Signature`` value for ``body``: one ``sha256=<hex>`` per signing secret,
    comma-separated (module docstring)."""
    return ", ".join(sign(secret, body) for secret in signing_secrets(agent, now))

"""API tokens of agents and reviewers: minted, revoked and resolved to their owner here.

Tokens are 256-bit random strings stored only as their SHA-256 digest; the plain token is returned
once, at creation. ``token_authenticate`` is what the API's bearer authentication calls.
"""
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from . import snapshot
from .models import Agent, ApiToken

AGENT_TOKEN_PREFIX = "orc_a_"
USER_TOKEN_PREFIX = "orc_u_"


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _token_create(*, prefix: str, **owner) -> tuple[ApiToken, str]:
    raw = prefix + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(prefix=raw[:12], digest=token_digest(raw), **owner)
    return token, raw


@transaction.atomic
def agent_token_create(*, agent: Agent, name: str = "") -> tuple[ApiToken, str]:
    """A new token for ``agent``: returns (record, plain token). The plain token is not stored."""
    return _token_create(prefix=AGENT_TOKEN_PREFIX, agent=agent, name=name)


@transaction.atomic
def user_token_create(*, user, name: str = "") -> tuple[ApiToken, str]:
    """A new personal token for reviewer ``user``: returns (record, plain token)."""
    return _token_create(prefix=USER_TOKEN_PREFIX, user=user, name=name)


@transaction.atomic
def token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke ``token``; every process stops accepting it at its next request."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        snapshot.bump_version()
    return token


def token_authenticate(raw: str):
    """The ``Agent`` or active user owning the unrevoked token ``raw``, else None.

    Agents' tokens are remembered per process while the governance version is unchanged: revoking a
    token or suspending an agent or domain bumps it (``governance.snapshot``), so the next request
    in every process looks the token up again. Reviewers' tokens are looked up each time (one query).
    """
    if not raw or len(raw) > 200:
        return None
    digest = token_digest(raw)
    version = snapshot.version()
    hit = _agent_tokens.get(digest)
    if hit is not None and hit[0] == version:
        return hit[1]
    token = (
        ApiToken.objects.select_related("agent__domain", "user")
        .filter(digest=digest, revoked_at__isnull=True)
        .first()
    )
    if token is None:
        return None
    if token.agent_id:
        if len(_agent_tokens) > 50_000:
            _agent_tokens.clear()
        _agent_tokens[digest] = (version, token.agent)
        return token.agent
    return token.user if token.user.is_active else None


_agent_tokens: dict[str, tuple] = {}

"""Inbox services: every state change of agents, tokens, inboxes and proposals goes through here.

Each service validates, writes inside ``transaction.atomic`` (history rows included), and queues its
side effects (live events, webhooks) with ``transaction.on_commit``, so a rolled-back change never
announces itself. Views, API routes, consumers, admin actions and commands all call these.
"""
import hashlib
import secrets

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from governance import snapshot
from governance.models import Domain

from .models import Agent, ApiToken, Inbox

AGENT_TOKEN_PREFIX = "orc_a_"
USER_TOKEN_PREFIX = "orc_u_"


# --- tokens -----------------------------------------------------------------------------------------

def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _token_create(*, prefix: str, **owner) -> tuple[ApiToken, str]:
    raw = prefix + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(prefix=raw[:12], digest=token_digest(raw), **owner)
    return token, raw


def agent_token_create(*, agent: Agent, name: str = "") -> tuple[ApiToken, str]:
    """A new token for ``agent``: returns (record, plain token). The plain token is not stored."""
    return _token_create(prefix=AGENT_TOKEN_PREFIX, agent=agent, name=name)


def user_token_create(*, user, name: str = "") -> tuple[ApiToken, str]:
    """A new personal token for reviewer ``user``: returns (record, plain token)."""
    return _token_create(prefix=USER_TOKEN_PREFIX, user=user, name=name)


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


# --- agents and inboxes -----------------------------------------------------------------------------

def new_webhook_secret() -> str:
    return secrets.token_hex(32)


@transaction.atomic
def agent_create(*, name: str, domain: Domain, team: str = "", owner=None) -> tuple[Agent, str]:
    """Create an active agent with a first token; returns (agent, plain token shown once)."""
    agent = Agent.objects.create(
        name=name, domain=domain, team=team, owner=owner, webhook_secret=new_webhook_secret()
    )
    _, raw = agent_token_create(agent=agent, name="initial")
    return agent, raw


@transaction.atomic
def inbox_create(*, slug: str, name: str, domain: Domain | None, reviewers: Group | None = None,
                 description: str = "", level: str = "agent") -> Inbox:
    """Create an inbox at authority ``level``; its ``reviewers`` group may view it and decide in it."""
    inbox = Inbox.objects.create(slug=slug, name=name, domain=domain, reviewers=reviewers,
                                 description=description, level=level)
    if reviewers is not None:
        inbox_grant(inbox=inbox, group=reviewers)
    return inbox


def inbox_grant(*, inbox: Inbox, group: Group | None = None, user=None, decide: bool = True) -> None:
    """Let ``group`` or ``user`` view ``inbox`` and, with ``decide``, decide its proposals."""
    target = group or user
    assign_perm("inbox.view_inbox", target, inbox)
    if decide:
        assign_perm("inbox.decide_inbox", target, inbox)


# --- proposals: the lifecycle lives in inbox.lifecycle; this module stays the one entry point -------

from .lifecycle import (  # noqa: E402,F401
    VERDICTS,
    body_digest,
    proposal_decide,
    proposal_escalate,
    proposal_evaluate,
    proposal_expire,
    proposal_replay,
    proposal_submit,
    proposals_escalate_overdue,
    proposals_expire_due,
    proposals_freeze,
)

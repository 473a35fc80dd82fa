"""What follows a decision, whoever took it (a reviewer, a policy, the expiry timer): the live event,
the agent's callback, and the 409 that names who decided first.

``after_decision`` / ``after_decisions`` / ``tell_agent`` are called *inside* the transaction that
decides: the callback the agent is owed is written there (``inbox.outbox``: an outbox row, so it
survives any crash), and the live event and the delivery task are queued for after the commit."""
from django.db import transaction

from orchestra_site.errors import ProposalAlreadyDecided
from orchestra_site.formats import timestamp

from . import events, hooks, metrics, outbox
from .models import Proposal


def already_decided(p: Proposal) -> ProposalAlreadyDecided:
    who = p.decided_by.get_username() if p.decided_by_id else "policy"
    when = timestamp(p.decided_at) if p.decided_at else None
    return ProposalAlreadyDecided(
        f"Already {p.get_status_display().lower()} by {who}.", decided_by=who, decided_at=when, status=p.status
    )


def after_decisions(proposals: list[Proposal]) -> None:
    """Inside the deciding transaction: owe each decided proposal's agent its callback, tell the apps
    that link proposals to their things (``hooks.proposals_decided``: an incident's timeline), and
    announce the decisions live after the commit."""
    if not proposals:
        return
    outbox.webhooks_owe(proposals)
    hooks.proposals_decided(proposals)
    decided = list(proposals)
    transaction.on_commit(lambda: [events.announce(p, "proposal.decided") for p in decided])
    transaction.on_commit(lambda: metrics.observe_decisions(decided))


def after_decision(p: Proposal) -> None:
    after_decisions([p])


def tell_agent(p: Proposal) -> None:
    """Inside the transaction that decided ``p`` without a reviewer (auto-approval): owe its callback."""
    outbox.webhooks_owe([p])  # counted as decided with its submission (metrics.observe_submission)

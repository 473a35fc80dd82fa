"""What follows a decision, whoever took it (a reviewer, a policy, the expiry timer): the live event,
the agent's callback, and the 409 that names who decided first."""
from orchestra_site.errors import ProposalAlreadyDecided
from orchestra_site.formats import timestamp

from . import events
from .models import Proposal


def already_decided(p: Proposal) -> ProposalAlreadyDecided:
    who = p.decided_by.get_username() if p.decided_by_id else "policy"
    when = timestamp(p.decided_at) if p.decided_at else None
    return ProposalAlreadyDecided(
        f"Already {p.get_status_display().lower()} by {who}.", decided_by=who, decided_at=when, status=p.status
    )


def after_decision(p: Proposal) -> None:
    events.announce(p, "proposal.decided")
    tell_agent(p)


def tell_agent(p: Proposal) -> None:
    if p.callback_url:
        from .tasks import enqueue_webhook

        enqueue_webhook(p.pk)

"""Decisions: reviewers' votes, quorum and four-eyes, the decision itself and what it supersedes.

Each decision locks the proposal row (``SELECT … FOR UPDATE``; SQLite serialises writers with BEGIN
IMMEDIATE), so it is taken exactly once; the loser learns who won (409). Live events and the agent's
callback are queued with ``transaction.on_commit``.
"""
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from governance.action_types import validate_args
from governance.models import Agent
from orchestra_site.errors import Conflict, InvalidInput, ProposalAlreadyDecided

from . import events, selectors
from .models import Proposal, Vote

Status = Proposal.Status
RELATED = selectors.PROPOSAL_RELATED


@dataclass(frozen=True)
class Verdict:
    status: str
    needs_comment: bool = False
    needs_args: bool = False
    approves: bool = False


VERDICTS = {
    "approve": Verdict(Status.APPROVED, approves=True),
    "reject": Verdict(Status.REJECTED, needs_comment=True),
    "edit": Verdict(Status.EDITED, needs_args=True, approves=True),
    "answer": Verdict(Status.ANSWERED, needs_comment=True),
}


def _check_verdict(verdict: str, comment: str, args) -> Verdict:
    if verdict not in VERDICTS:
        raise InvalidInput(f"verdict must be one of {', '.join(VERDICTS)}.", field="verdict")
    rule = VERDICTS[verdict]
    if rule.needs_comment and not (comment or "").strip():
        raise InvalidInput(f"A comment is required to {verdict}.", field="comment")
    if rule.needs_args and not isinstance(args, dict):
        raise InvalidInput("Edited args must be a JSON object.", field="args")
    return rule


def proposal_decide(*, proposal: Proposal, reviewer, verdict: str, comment: str = "", args=None,
                    supersede_conflicts: bool = True) -> Proposal:
    """Record ``reviewer``'s verdict on a pending proposal; decide it when the rules say so.

    The caller has checked ``permissions.access_proposal(reviewer, id, for_decision=True)``.
    - reject / answer: decided at once (a single rejection rejects).
    - approve / edit: a vote. The proposal is approved (``edited_and_approved`` after an edit) when
      the approvals given since the last edit reach its quorum *and* one of them comes from someone
      who neither owns the proposing agent nor edited the args (four-eyes). An edit's args must also
      keep the action type's contract.
    - approving can supersede pending conflicting proposals (their agents are told).
    Raises ``ProposalAlreadyDecided`` (409, names who decided first), ``Conflict`` (409: frozen, or
    this reviewer already voted), ``InvalidInput`` (422: bad verdict, missing comment or args).
    """
    rule = _check_verdict(verdict, comment, args)
    if rule.needs_args:
        validate_args(proposal.action, args)
    with transaction.atomic():
        locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
        if not locked.is_pending:
            raise already_decided(locked)
        if locked.is_frozen:
            raise Conflict("This proposal is frozen: its agent or domain is suspended.", code="frozen")
        if Vote.objects.filter(proposal=locked, reviewer=reviewer).exists():
            raise Conflict("You have already voted on this proposal.", code="already_voted")
        Vote.objects.create(proposal=locked, reviewer=reviewer, verdict=verdict, comment=comment or "",
                            args=args if rule.needs_args else None)
        if rule.needs_args:
            locked.final_args = args
        if not rule.approves or _quorum_reached(locked):
            _decide(locked, reviewer, rule, verdict, comment)
            if rule.approves and supersede_conflicts:
                _supersede_conflicts(locked)
        else:
            locked._change_reason = f"{verdict} by {reviewer.get_username()} (awaiting quorum)"
            locked.save()
            transaction.on_commit(lambda: events.announce(locked, "proposal.updated"))
    return Proposal.objects.select_related(*RELATED).get(pk=locked.pk)


def _quorum_reached(p: Proposal) -> bool:
    votes = list(p.votes.order_by("created_at", "id"))
    last_edit = max((i for i, v in enumerate(votes) if v.verdict == "edit"), default=0)
    approvals = [v for v in votes[last_edit:] if v.verdict in ("approve", "edit")]
    editors = {v.reviewer_id for v in votes if v.verdict == "edit"}
    owner = Agent.objects.filter(pk=p.agent_id).values_list("owner_id", flat=True).first()
    independent = [v for v in approvals if v.reviewer_id not in editors and v.reviewer_id != owner]
    return len(approvals) >= p.quorum and bool(independent)


def _decide(p: Proposal, reviewer, rule: Verdict, verdict: str, comment: str) -> None:
    edited = p.votes.filter(verdict="edit").exists()
    p.status = Status.EDITED if rule.approves and edited else rule.status
    p.decided_by, p.decided_at = reviewer, timezone.now()
    p.decision_comment = comment or ""
    if not edited:
        p.final_args = p.args if rule.approves else None
    p._change_reason = f"{verdict} by {reviewer.get_username()}"
    p.save()
    transaction.on_commit(lambda: after_decision(p))


HISTORY_REASON_MAX = 100  # simple-history's ``history_change_reason`` column


def history_reason(text: str) -> str:
    """``text`` cut to fit a history row's change reason (100 characters), ending in "…" when cut."""
    return text if len(text) <= HISTORY_REASON_MAX else text[:HISTORY_REASON_MAX - 1] + "…"


def _supersede_conflicts(p: Proposal) -> None:
    """Approving ``p`` supersedes every proposal still in conflict with it (pending, same resource,
    another agent), marked or not; their agents are told like any decision."""
    if not p.resource:
        return
    rivals = list(selectors.pending_rivals(p).select_for_update())
    if rivals:
        p.conflicts_with.add(*rivals)  # the record says what it superseded
    for other in rivals:
        other.status, other.decided_at = Status.SUPERSEDED, timezone.now()
        other.decision_comment = f"Superseded: proposal {p.pk} on {p.resource} was approved instead."
        other._change_reason = f"superseded by {p.pk}"
        other.save()
        transaction.on_commit(lambda o=other: after_decision(o))


def already_decided(p: Proposal) -> ProposalAlreadyDecided:
    who = p.decided_by.get_username() if p.decided_by_id else "policy"
    when = p.decided_at.isoformat() if p.decided_at else None
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

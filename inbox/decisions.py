"""Decisions: reviewers' votes, quorum and four-eyes, the decision itself and what it supersedes.

Each decision locks the proposal row (``SELECT … FOR NO KEY UPDATE``: exclusive among deciders, yet
not blocking rows that merely reference it; SQLite serialises writers with BEGIN IMMEDIATE), so it
is taken exactly once; the loser learns who won (409). The agent's callback is owed in the same
transaction (``inbox.outbox``); live events and the delivery are queued with ``transaction.on_commit``.

Conflicts: approving a proposal settles its pending rivals (same resource, other agents). Superseding
is the approving reviewer's explicit choice (``supersede_conflicts``, off by default) and reaches only
rivals in inboxes where that reviewer may decide (``permissions.can_decide``) that are not frozen;
every other rival stays pending for its own reviewers, linked to the approved proposal, marked live
in its inbox (``proposal.conflict``) and with a history row saying which rival was approved, by whom
and why it was left. The approved proposal's history says what it superseded and what it left.
"""
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from governance.models import Policy
from governance.snapshot import current as governance_snapshot
from orchestra_site.errors import Conflict, InvalidInput
from orchestra_site.formats import change_reason

from . import audit, events, history, permissions, selectors, tool_calls
from .models import Proposal, Vote
from .outcomes import after_decision, after_decisions, already_decided
from .timers import expiry_first, refuse_after_expiry

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
    if args is not None and not rule.needs_args:
        raise InvalidInput(f"Only `edit` changes args; {verdict} takes none (use verdict `edit` to change them).",
                           field="args")
    return rule


@expiry_first
def proposal_decide(*, proposal: Proposal, reviewer, verdict: str, comment: str = "", args=None,
                    supersede_conflicts: bool = False) -> Proposal:
    """Record ``reviewer``'s verdict on a pending proposal; decide it when the rules say so.

    The caller has checked ``permissions.access_proposal(reviewer, id, for_decision=True)``.
    - reject / answer: decided at once (a single rejection rejects).
    - approve / edit: a vote. The proposal is approved (``edited_and_approved`` after an edit) when
      the approvals given since the last edit reach its quorum *and* one of them comes from someone
      who neither owns the proposing agent nor edited the args (four-eyes). An edit's args must also
      keep the action type's contract.
    - approving settles the pending conflicting proposals (module docstring): with
      ``supersede_conflicts`` those in inboxes where ``reviewer`` may decide are superseded (their
      agents are told); all others stay pending, linked and marked as conflicting.
    - a question (``kind`` question) takes ``answer`` or ``reject`` only.
    Raises ``ProposalAlreadyDecided`` (409, names who decided first; code ``expired`` once past
    ``expires_at``), ``Conflict`` (409: frozen, or this reviewer already voted), ``InvalidInput``
    (422: bad verdict or one the proposal's tool does not allow, missing comment, args that break the
    tool's ``args_schema`` or the action type's contract; see ``inbox.tool_calls``).
    """
    rule = _check_verdict(verdict, comment, args)
    if proposal.kind == Proposal.Kind.QUESTION and verdict not in tool_calls.QUESTION_VERDICTS:
        raise InvalidInput("A question is answered (verdict `answer`) or declined (`reject`), with a comment.",
                           field="verdict")
    tool_calls.check_verdict(proposal, verdict)
    if rule.needs_args:
        tool_calls.validate_edit(proposal, args)
    with transaction.atomic():
        locked = (Proposal.objects.select_for_update(no_key=True, of=("self",)).select_related("agent__domain")
                  .get(pk=proposal.pk))
        refuse_after_expiry(locked)
        if not locked.is_pending:
            raise already_decided(locked)
        if locked.is_frozen:
            raise Conflict("This proposal is frozen: its agent or domain is suspended.", code="frozen")
        votes = list(locked.votes.select_related("reviewer").order_by("created_at", "id"))  # under the row lock
        if any(v.reviewer_id == reviewer.pk for v in votes):
            raise Conflict("You have already voted on this proposal.", code="already_voted")
        votes.append(Vote.objects.create(proposal=locked, reviewer=reviewer, verdict=verdict, comment=comment or "",
                                         args=args if rule.needs_args else None))  # the newest: last
        if rule.needs_args:
            locked.final_args = args
        if not rule.approves or _quorum_reached(locked, votes):
            if rule.approves:  # first, while the row is still pending: a decided proposal is immutable
                _settle_conflicts(locked, reviewer, supersede=supersede_conflicts)
            _decide(locked, reviewer, rule, verdict, comment, votes)
        else:
            locked._change_reason = change_reason(f"{verdict} by {reviewer.get_username()} (awaiting quorum)")
            locked.save()
            audit.voted(locked, reviewer, verdict, comment or "", args if rule.needs_args else None)
            transaction.on_commit(lambda: events.announce(locked, "proposal.updated"))
    return _as_stored(locked, votes)


def _as_stored(p: Proposal, votes: list[Vote]) -> Proposal:
    """``p`` as the committed transaction left it, with what the answer shows and no further query:
    every column is ``p``'s own (it was read under the lock and saved), its agent was read with it,
    the decider is the reviewer, the inbox and the policy's name come from the governance snapshot
    (else a lazy read), and its votes are ``votes`` (all of them, oldest first)."""
    snap = governance_snapshot()
    if p.inbox_id is not None and not Proposal._meta.get_field("inbox").is_cached(p):
        inbox = snap.inbox(p.inbox_id)
        if inbox is not None:
            p.inbox = inbox
    if p.policy_id is not None and not Proposal._meta.get_field("policy").is_cached(p):
        compiled = next((c for c in snap.policies if c.id == p.policy_id), None)
        if compiled is not None:  # the response names the policy, as a submission's does
            p.policy = Policy(pk=compiled.id, name=compiled.name)
    related = p.votes.all()
    related._result_cache, related._prefetch_done = list(votes), True  # what prefetch_related leaves
    p._prefetched_objects_cache = {**getattr(p, "_prefetched_objects_cache", {}), "votes": related}
    return p


def _quorum_reached(p: Proposal, votes: list[Vote]) -> bool:
    """``votes``: all of ``p``'s, oldest first; ``p.agent`` loaded (its owner may not be the independent one)."""
    last_edit = max((i for i, v in enumerate(votes) if v.verdict == "edit"), default=0)
    approvals = [v for v in votes[last_edit:] if v.verdict in ("approve", "edit")]
    editors = {v.reviewer_id for v in votes if v.verdict == "edit"}
    owner = p.agent.owner_id
    independent = [v for v in approvals if v.reviewer_id not in editors and v.reviewer_id != owner]
    return len(approvals) >= p.quorum and bool(independent)


def _decide(p: Proposal, reviewer, rule: Verdict, verdict: str, comment: str, votes: list[Vote]) -> None:
    edited = any(v.verdict == "edit" for v in votes)
    p.status = Status.EDITED if rule.approves and edited else rule.status
    p.decided_by, p.decided_at = reviewer, timezone.now()
    p.decision_comment = comment or ""
    if not edited:
        p.final_args = p.args if rule.approves else None
    if rule.approves:
        audit.bind_approval(p, p.decided_at)
    p._change_reason = change_reason(f"{verdict} by {reviewer.get_username()}")
    history.proposal_save(p)
    audit.decided(p, reviewer, verdict, comment, votes)
    after_decision(p)


def _settle_conflicts(p: Proposal, reviewer, *, supersede: bool) -> None:
    """``p`` was just approved by ``reviewer`` (in the transaction that locked it): lock its pending
    rivals and link them to it; supersede those ``reviewer`` may, if asked; leave the others pending, marked. History
    rows on both sides; events and webhooks after commit. A constant number of queries however many
    rivals wait (bulk updates, with their history rows).

    Rivals are locked with ``SKIP LOCKED``: one locked at this moment is being decided (or settled)
    by someone else, and waiting for it (or for its links) could deadlock with a reviewer approving it
    while waiting for ``p``. Such a rival is left as it is here (counted in ``p``'s history row); the
    link made when it was submitted, if any, still shows the two side by side."""
    if not p.resource:
        return
    ids = list(selectors.pending_rivals(p).values_list("pk", flat=True))
    if not ids:
        return
    rivals = list(Proposal.objects.filter(pk__in=ids, status=Status.PENDING).select_related("agent__domain", "inbox")
                  .select_for_update(no_key=True, skip_locked=True, of=("self",)).order_by("created_at"))
    if rivals:
        p.conflicts_with.add(*rivals)  # the record says what it superseded or left
    decides = permissions.decidable(reviewer, rivals)  # an incident's remediation: only its commander
    superseded, left, now = [], [], timezone.now()
    for other in rivals:
        why = _left_pending_because(other, reviewer, supersede, decides)
        other._why, other.updated_at, other._history_user = why, now, reviewer
        if why is None:
            _supersede(other, p, reviewer, now)
            superseded.append(other)
        else:
            other._change_reason = change_reason(  # the short id: it must fit; the page links the proposal
                f"approved rival {str(p.pk)[:8]} by {reviewer.get_username()}; left pending: {why}")
            left.append(other)
    if superseded:
        audit.superseded(superseded, p, reviewer)
        bulk_update_with_history(superseded, Proposal, ["status", "decided_at", "decided_by", "decision_comment",
                                                        "updated_at"])
        after_decisions(superseded)
    if left:
        bulk_update_with_history(left, Proposal, ["updated_at"])
        transaction.on_commit(lambda: [events.announce_conflict(o, p) for o in left])
    p._change_reason = change_reason(f"rivals on the resource: {_summary(superseded, left, len(ids) - len(rivals))}")
    p._history_user = reviewer
    p.save(update_fields=["updated_at"])


def _summary(superseded: list, left: list, busy: int) -> str:
    """E.g. "superseded 2; left 3 pending (outside alice's authority, supersede not chosen)"."""
    parts = [f"superseded {len(superseded)}"] if superseded else []
    if left:
        parts.append(f"left {len(left)} pending ({', '.join(dict.fromkeys(o._why for o in left))})")
    if busy:
        parts.append(f"{busy} being decided by someone else")
    return "; ".join(parts)


def _left_pending_because(other: Proposal, reviewer, supersede: bool, decides: dict) -> str | None:
    """Why approving may not supersede ``other``, or None when it does."""
    if not decides[other.pk]:
        return f"outside {reviewer.get_username()}'s authority"
    if other.is_frozen:
        return "frozen"
    if not supersede:
        return "supersede not chosen"
    return None


def _supersede(other: Proposal, approved: Proposal, reviewer, now) -> None:
    who = reviewer.get_username()
    other.status, other.decided_at, other.decided_by = Status.SUPERSEDED, now, reviewer
    other.decision_comment = (f"Superseded: proposal {approved.pk} on {approved.resource} was approved instead "
                              f"by {who}, who chose to supersede its rivals.")
    other._change_reason = change_reason(f"superseded by {approved.pk}, approved by {who}")

"""What a reviewer's decision would do, said before they act (the decision panel of the proposal page).

A read: nothing here writes. The counting rule is the decision's own (``decisions._quorum_reached``,
asked about the votes as they would be with this reviewer's vote added), so the panel and the
decision cannot disagree:
- approvals count from the last edit on (an edit restarts the count, and is itself an approval);
- the proposal is decided when they reach its quorum *and* one of them comes from someone who neither
  owns the proposing agent nor edited the arguments (four eyes);
- a rejection (or a question's answer) decides at once;
- nothing is decided while the proposal is frozen by the kill switch or once it has expired, and a
  reviewer votes once.
"""
from dataclasses import dataclass, field

from django.utils import timezone

from . import permissions, selectors, tool_calls
from .decisions import _quorum_reached
from .models import Proposal, Vote

ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}


@dataclass(frozen=True)
class Outlook:
    """The decision panel's sentences for one reviewer and one pending proposal.

    ``tally``: the quorum state ("1 of 2 approvals"). ``blocked``: why this reviewer cannot act now
    (frozen, expired, already voted, view only), or None. ``says``: verdict → what giving it would do,
    only for the verdicts this reviewer may give now (none while ``blocked``); the page shows a
    button only for those."""

    tally: str
    approvals: int
    quorum: int
    blocked: str | None = None
    blocked_code: str = ""  # frozen | expired | voted | view_only
    says: dict = field(default_factory=dict)

    @property
    def can_decide(self) -> bool:
        return self.blocked is None and bool(self.says)

    @property
    def can_approve(self) -> bool:
        return "approve" in self.says


def decision_outlook(proposal: Proposal, user, *, now=None) -> Outlook | None:
    """The outlook of ``user`` (a reviewer who may view ``proposal``) on it; None once it is decided.
    Two queries at most: its votes with their reviewers, and the decide permission."""
    if not proposal.is_pending:
        return None
    votes = selectors.votes_of(proposal)
    may_decide = permissions.may(user, "decide", proposal)
    return outlook_for(proposal, user, votes, may_decide=may_decide, now=now)


def outlook_for(p: Proposal, user, votes: list[Vote], *, may_decide: bool, now=None) -> Outlook:
    """``decision_outlook`` on given facts: ``votes`` (all of ``p``'s, oldest first, reviewers
    loaded), ``may_decide`` (the permission's answer). ``p.agent`` (and its domain) loaded."""
    now = now or timezone.now()
    counted, stale, editors = _count(votes)
    tally = _tally(len(counted), p.quorum, stale, editors)
    base = {"tally": tally, "approvals": len(counted), "quorum": p.quorum}
    if p.is_frozen:
        return Outlook(**base, blocked=frozen_sentence(p), blocked_code="frozen")
    if p.expires_at is not None and p.expires_at <= now:
        when = timezone.localtime(p.expires_at).strftime("%b %-d, %H:%M %Z")
        return Outlook(**base, blocked=f"Expired at {when}: no decision is accepted any more.", blocked_code="expired")
    if not may_decide:
        return Outlook(**base, blocked="You may view this inbox but not decide in it.", blocked_code="view_only")
    mine = next((v for v in votes if v.reviewer_id == user.pk), None)
    if mine is not None:
        return Outlook(**base, blocked=_voted(p, mine, counted, editors), blocked_code="voted")
    offered = tool_calls.offered_verdicts(p)
    says = {}
    if p.kind == Proposal.Kind.QUESTION:
        says["answer"] = "Answering decides it at once: your comment goes to the agent as the answer."
        says["reject"] = "Declining decides it at once; say why in the comment (required)."
        return Outlook(**base, says=says)
    if "approve" in offered:
        says["approve"] = _approve(p, user, votes, counted, editors)
    if "edit" in offered:
        says["edit"] = _edit(p, counted)
    if "reject" in offered:
        says["reject"] = "Rejecting decides it at once: the agent is told no, with your comment (required)."
    if "answer" in offered:
        says["answer"] = "Answering decides it at once: your comment goes to the agent as the reply."
    return Outlook(**base, says=says)


def frozen_sentence(p: Proposal) -> str:
    """"Frozen by the kill switch until deploy-bot is resumed: …" (naming the domain too when it is
    suspended), with the recorded reason."""
    agent = p.agent
    domain = agent.domain
    held = []
    if agent.status == agent.Status.SUSPENDED:
        held.append((f"agent {agent.name}", agent.suspended_reason))
    if domain.is_suspended:
        held.append((f"the {domain.name} domain", domain.suspended_reason))
    if not held:  # the flag is being thawed as we read
        held.append((f"agent {agent.name}", ""))
    who = " and ".join(name for name, _ in held)
    verb = "are" if len(held) > 1 else "is"
    why = "; ".join(reason.strip() for _, reason in held if reason.strip())
    sentence = f"Frozen by the kill switch until {who} {verb} resumed: no one can approve, reject or edit it now."
    return f"{sentence} Reason given: {why}" if why else sentence


def _count(votes: list[Vote]) -> tuple[list[Vote], int, set]:
    """The approvals that count (from the last edit on), how many earlier ones no longer count, and
    who edited."""
    last_edit = max((i for i, v in enumerate(votes) if v.verdict == "edit"), default=0)
    counted = [v for v in votes[last_edit:] if v.verdict in ("approve", "edit")]
    stale = sum(1 for v in votes[:last_edit] if v.verdict in ("approve", "edit"))
    editors = {v.reviewer_id for v in votes if v.verdict == "edit"}
    return counted, stale, editors


def _tally(n: int, quorum: int, stale: int, editors: set) -> str:
    text = f"{n} of {quorum} approval{'s' if quorum != 1 else ''}"
    if stale:
        text += f" (the {stale} given before the last edit no longer count{'s' if stale == 1 else ''})"
    return text


def _independent(p: Proposal, reviewer_id, editors: set) -> bool:
    return reviewer_id not in editors and reviewer_id != p.agent.owner_id


def _still_needed(p: Proposal, counted: list[Vote], editors: set) -> str:
    """What the proposal still waits for, e.g. "1 more approval, from someone who neither owns the agent
    nor edited it"."""
    more = max(p.quorum - len(counted), 0)
    independent = any(_independent(p, v.reviewer_id, editors) for v in counted)
    if not independent:
        more = max(more, 1)
    text = f"{more} more approval{'s' if more != 1 else ''}"
    return text if independent else f"{text}, one from someone who neither owns the agent nor edited it"


def _approve(p: Proposal, user, votes: list[Vote], counted: list[Vote], editors: set) -> str:
    mine = Vote(proposal=p, reviewer_id=user.pk, verdict="approve")
    after = [*votes, mine]
    edited = bool(editors)
    if _quorum_reached(p, after):
        result = "approved with the edited arguments" if edited else "approved"
        return f"Approving decides it: {result}, and the agent is told at once."
    n, quorum = len(counted) + 1, p.quorum
    if user.pk == p.agent.owner_id and n >= quorum:
        return (f"{n - 1} of {quorum} approval{'s' if quorum != 1 else ''} — you cannot be the "
                f"{_ordinal(n)}: you own {p.agent.name}, so your approval is recorded but someone who neither "
                f"owns the agent nor edited it must approve it too (four eyes).")
    return (f"Your approval makes {n} of {quorum}; it stays pending for "
            f"{_still_needed(p, [*counted, mine], editors)}.")


def _edit(p: Proposal, counted: list[Vote]) -> str:
    more = max(p.quorum - 1, 1)
    restart = f" The {len(counted)} approval{'s' if len(counted) != 1 else ''} given so far will no longer count." \
        if counted else ""
    return (f"This edit needs another approver: your edited arguments count as 1 of {p.quorum} "
            f"approval{'s' if p.quorum != 1 else ''} and run only after {more} other reviewer"
            f"{'s' if more != 1 else ''} who did not edit them approve{'s' if more == 1 else ''} "
            f"(four eyes).{restart}")


def _voted(p: Proposal, mine: Vote, counted: list[Vote], editors: set) -> str:
    did = {"edit": "You edited its arguments", "approve": "You approved it"}.get(mine.verdict, "You voted")
    n = len(counted)
    why = "four eyes: someone else must approve your edit" if mine.verdict == "edit" else "your vote is already counted"
    if mine not in counted:  # an approval an edit has since set aside
        why = "you voted before the last edit, and each reviewer votes once"
    return (f"{did}. {n} of {p.quorum} approval{'s' if p.quorum != 1 else ''} — you cannot be the "
            f"{_ordinal(n + 1)}: {why}. It waits for {_still_needed(p, counted, editors)}, or for anyone's "
            f"rejection.")


def _ordinal(n: int) -> str:
    return ORDINALS.get(n, "next")

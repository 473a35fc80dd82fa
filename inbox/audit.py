"""The proposal lifecycle's audit events, built from the proposal so every step of its record names the
same domain, policy version, classification, workflow and related tasks.

Each function writes inside the caller's transaction (``governance.audit.record``): the lifecycle
services call them right where they change the proposal. The approval binding lives here too: the
digest of what was approved, which an execution report must match.
"""
import hashlib
import json
from datetime import timedelta

from governance.audit.models import AuditAction
from governance.audit.record import Entry, audit_record_many
from governance.snapshot import current as governance_snapshot

from .models import Proposal

APPROVAL_TTL_SECONDS = 24 * 3600  # an approval may be executed for a day unless its policy says otherwise
SIGNIFICANT_RISKS = {"high", "critical"}


def approval_digest(action: str, resource: str, args) -> str:
    """SHA-256 of the canonical JSON of what is approved: the action, the resource and the final args."""
    body = {"action": action, "resource": resource or "", "args": args if args is not None else {}}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def bind_approval(p: Proposal, now) -> None:
    """Set the approval's digest and expiry on a proposal being approved (before its save): the policy's
    ``approval_ttl_seconds`` or ``APPROVAL_TTL_SECONDS``."""
    p.approval_digest = approval_digest(p.action, p.resource, p.final_args)
    p.approval_expires_at = now + timedelta(seconds=_policy(p, "approval_ttl_seconds") or APPROVAL_TTL_SECONDS)


def _policy(p: Proposal, attribute: str):
    if not p.policy_id:
        return None
    compiled = next((c for c in governance_snapshot().policies if c.id == p.policy_id), None)
    return getattr(compiled, attribute, None) if compiled else None


def entry(p: Proposal, action_type: str, summary: str, *, actor, status: str = "", **details) -> Entry:
    """An audit entry about ``p`` (``details``: context, options_considered, decision, reasoning, outcome)."""
    return Entry(
        action_type, summary, actor=actor, status=status or p.status, domain=p.agent.domain.slug,
        details=details, classification=p.classification, related_tasks=p.related_tasks, proposal_id=p.pk,
        policy_id=p.policy_id, policy_version=p.policy_version, policy_retention=_policy(p, "retention") or "",
        workflow=p.workflow, trace_id=p.trace_id or None,
    )


def record(p: Proposal, action_type: str, summary: str, *, actor, status: str = "", **details):
    """Write one event about ``p`` (significant retention for high and critical risk); returns it."""
    return audit_record_many([entry(p, action_type, summary, actor=actor, status=status, **details)],
                      significant=p.risk in SIGNIFICANT_RISKS)[0]


def submitted(p: Proposal, reasons: list[str]) -> None:
    where = {"pending": f"routed for review ({p.get_level_display().lower()} level)",
             "approved": "auto-approved by policy", "refused": "refused by policy"}.get(p.status, p.status)
    record(
        p, AuditAction.SUBMISSION, f"{p.agent.name} proposed {p.action} {p.resource}".strip() + f": {where}",
        actor=p.agent,
        context={"action": p.action, "resource": p.resource, "args": p.args, "risk": p.risk,
                 "confidence": p.confidence, "cost_usd": str(p.cost_usd), "summary": p.summary},
        options_considered=reasons, decision=where, reasoning=p.reasoning,
        outcome={"status": p.status, "inbox": p.inbox_id,
                 "quorum": p.quorum, "routing_reason": p.routing_reason},
    )


def voted(p: Proposal, reviewer, verdict: str, comment: str, args) -> None:
    """A vote that does not decide yet (awaiting quorum); the deciding vote is the decision's event."""
    record(p, AuditAction.VOTE, f"{reviewer.get_username()} voted {verdict} on {p.action} {p.resource}".strip(),
           actor=reviewer, status=verdict, decision=verdict, reasoning=comment,
           context={"edited_args": args} if args is not None else None,
           outcome={"quorum": p.quorum, "status": p.status})


def decided(p: Proposal, reviewer, verdict: str, comment: str, votes) -> None:
    """The decision, with the deciding vote (``verdict``, ``comment``) and the earlier ``votes``' verdicts
    (``votes``: the proposal's, their reviewers loaded)."""
    who = reviewer.get_username() if reviewer is not None else "policy"
    earlier = [f"{v.reviewer.get_username()}: {v.verdict}" for v in votes
               if v.reviewer_id != getattr(reviewer, "pk", None)]
    record(p, AuditAction.DECISION, f"{p.action} {p.resource} {p.get_status_display().lower()} by {who}".strip(),
           actor=reviewer, decision=verdict, reasoning=comment, options_considered=earlier,
           outcome={"status": p.status, "final_args": p.final_args, "approval_digest": p.approval_digest or None,
                    "approval_expires_at": p.approval_expires_at.isoformat() if p.approval_expires_at else None})


def superseded(others: list[Proposal], approved: Proposal, reviewer) -> None:
    audit_record_many([
        entry(o, AuditAction.SUPERSESSION, f"{o.action} {o.resource} superseded by {approved.pk}".strip(),
              actor=reviewer, decision="superseded", reasoning=o.decision_comment,
              context={"approved_rival": str(approved.pk)})
        for o in others
    ])


def expired(p: Proposal) -> None:
    record(p, AuditAction.EXPIRY, f"{p.action} {p.resource} expired before a decision".strip(), actor=None,
           decision="expired", outcome={"expires_at": p.expires_at.isoformat() if p.expires_at else None})


def escalated(p: Proposal, from_inbox_id, reason: str, by) -> None:
    record(p, AuditAction.ESCALATION, f"{p.action} {p.resource} escalated to {p.get_level_display().lower()}"
           .replace("  ", " "), actor=by, status=p.level, decision=f"to {p.level}", reasoning=reason,
           outcome={"from_inbox": from_inbox_id, "to_inbox": p.inbox_id,
                    "sla_due_at": p.sla_due_at.isoformat() if p.sla_due_at else None})


def frozen(items: list[Proposal], frozen: bool, reason: str, by) -> None:
    verb = "frozen" if frozen else "thawed"
    audit_record_many([entry(p, AuditAction.KILL_SWITCH, f"{p.action} {p.resource} {verb}".strip(), actor=by,
                             status=verb, decision=verb, reasoning=reason) for p in items])

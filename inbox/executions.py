"""Closing the loop: the agent reports what happened when an approved action ran.

An approval is bound to what was approved (``audit.bind_approval``: a digest of the action, resource and
final args, and an expiry). A report is accepted once per approval, only for an approved proposal, only
with the args that were approved, only before the approval expires; anything else is refused (409
``not_approved_as_executed``), fail closed, and the refused attempt is itself recorded in the audit
trail and alerted to the domain's orchestrators. Then the record reads proposal → routing → decision →
execution → outcome.
"""
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.audit.alerts import alert_raise
from governance.audit.models import AuditAction, AuditAlert
from governance.models import Agent
from orchestra_site.errors import Conflict

from . import audit
from .models import Execution, Proposal

APPROVED = (Proposal.Status.APPROVED, Proposal.Status.EDITED)
REFUSED = "not_approved_as_executed"


class NotApprovedAsExecuted(Conflict):
    """409: the report does not match an unexpired, unexecuted approval (``reason`` says which)."""

    code = REFUSED


def _refusal(p: Proposal, args: dict, now) -> tuple[str, str] | None:
    """(reason, message) when the report must be refused, else None."""
    if p.status not in APPROVED:
        return "not_approved", f"Proposal {p.pk} is {p.status}, not approved: nothing may run."
    if Execution.objects.filter(proposal=p).exists():
        return "already_executed", "This approval was already executed and reported: one approval, one execution."
    if not p.approval_digest or p.approval_expires_at is None:
        return "no_approval_binding", "This approval does not record what was approved: it cannot be executed."
    if now >= p.approval_expires_at:
        return "approval_expired", f"The approval expired at {p.approval_expires_at.isoformat()}."
    if audit.approval_digest(p.action, p.resource, args) != p.approval_digest:
        return "args_differ", "The args executed differ from the args approved."
    return None


def execution_report(*, proposal: Proposal, agent: Agent, status: str, message: str = "", data=None,
                     args: dict) -> Execution:
    """Record the outcome (``status``: succeeded | failed | partial) of ``proposal``'s action, run by
    ``agent`` (its own agent: the caller checked ``permissions.access_proposal``) with ``args``.

    Raises ``NotApprovedAsExecuted`` (409, ``reason``: not_approved, already_executed, approval_expired,
    args_differ, no_approval_binding); the refused attempt is committed as an ``execution_refused``
    audit event with an alert before the error is raised."""
    now = timezone.now()
    refused = None
    with transaction.atomic():
        p = (Proposal.objects.select_for_update(of=("self",)).select_related("agent__domain")
             .get(pk=proposal.pk))
        refused = _refusal(p, args, now)
        if refused is None:
            try:
                with transaction.atomic():
                    execution = Execution.objects.create(proposal=p, status=status, message=message,
                                                         data=data or {}, args=args)
            except IntegrityError:  # reported meanwhile by a concurrent request
                refused = ("already_executed", "This approval was already executed and reported.")
        if refused is None:
            audit.record(p, AuditAction.EXECUTION, f"{agent.name} ran {p.action} {p.resource}: {status}".strip(),
                         actor=agent, status=status, decision="executed", reasoning=message,
                         context={"args": args}, outcome={"status": status, "data": data or {}})
            return execution
        reason, detail = refused
        event = audit.record(p, AuditAction.EXECUTION_REFUSED,
                     f"{agent.name} reported running {p.action} {p.resource}, refused: {reason}".strip(),
                     actor=agent, status=reason, decision="refused", reasoning=detail,
                     context={"args": args, "reported_status": status, "message": message})
        alert_raise(AuditAlert.Kind.EXECUTION_REFUSED, event, domain=p.agent.domain.slug)
    raise NotApprovedAsExecuted(detail, reason=reason, proposal_id=str(p.pk))


"""Who may see and decide which proposal: the inbox app's one door for authorization.

Proposal-level answers live here and build on ``governance.permissions`` (who may view or decide in
an inbox, who reviews, who is an agent); the inbox-level answers are re-exported so that the inbox
app's views, API routes, consumers and tasks ask this module only. Missing and forbidden objects both
raise ``NotFound`` (404), so ids cannot be probed.
"""
from governance import permissions as governance
from governance.models import Agent
from governance.permissions import (  # noqa: F401  (the inbox app asks this module only)
    access_agent_to_suspend,
    access_alert,
    access_audit,
    access_domain_to_suspend,
    access_inbox,
    audit_domains,
    can_decide,
    can_escalate,
    can_suspend_agent,
    can_suspend_domain,
    can_view,
    domains_to_switch,
    inboxes_for,
    is_reviewer,
    require_agent,
    require_reviewer,
)
from orchestra_site.errors import Forbidden, NotFound

from . import hooks
from .models import Escalation, Proposal


def access_proposal(principal, proposal_id, *, for_decision: bool = False) -> Proposal:
    """The proposal if ``principal`` may see it (or decide it); else ``NotFound``.

    Agents see only their own proposals and never decide (``Forbidden``). Reviewers see proposals
    of inboxes they may view, and those they escalated by hand (read only: deciding one they may
    not decide in is ``Forbidden``); deciding needs ``decide_inbox`` on the proposal's inbox. A proposal
    linked to something above the inbox (an incident's remediation) is answered by that link's
    handler instead (``hooks.proposal_access``): the incident's team sees it, its commander decides.
    """
    proposal = (
        Proposal.objects.select_related("agent", "inbox", "decided_by", "policy").filter(pk=proposal_id).first()
    )
    if proposal is None:
        raise NotFound("No such proposal.")
    linked = hooks.proposal_access(principal, proposal)  # e.g. an incident's remediation: its commander decides
    if linked is not None and not isinstance(principal, Agent):
        view, decide = linked
        if not view:
            raise NotFound("No such proposal.")
        if for_decision and not decide:
            raise Forbidden("Only the incident's commander decides its remediations.", code="decide_forbidden")
        return proposal
    if isinstance(principal, Agent):
        if proposal.agent_id != principal.pk:
            raise NotFound("No such proposal.")
        if for_decision:
            raise Forbidden("Agents cannot decide proposals; use a reviewer's token.", code="reviewer_required")
        return proposal
    if not is_reviewer(principal):
        raise NotFound("No such proposal.")
    if proposal.inbox is None or not can_view(principal, proposal.inbox):
        if not escalated_it(principal, proposal):
            raise NotFound("No such proposal.")
        if for_decision:  # who escalated it keeps reading it (and sees where it went), not deciding it
            raise Forbidden("You escalated this proposal: it is decided where it went.", code="decide_forbidden")
        return proposal
    if for_decision and not can_decide(principal, proposal.inbox):
        raise Forbidden("You may view this inbox but not decide in it.", code="decide_forbidden")
    return proposal


def decidable(principal, proposals: list[Proposal]) -> dict:
    """``{proposal id: may principal decide it}`` for several proposals at once (the rivals an approval
    may supersede): a linked proposal by its link's rule (an incident's remediation: its commander), any
    other by its inbox. One query per link handler plus one permission check per inbox, however many."""
    linked = hooks.proposals_access(principal, proposals)
    per_inbox: dict = {}
    answers = {}
    for p in proposals:
        if p.pk in linked:
            answers[p.pk] = linked[p.pk][1]
            continue
        if p.inbox_id not in per_inbox:
            per_inbox[p.inbox_id] = p.inbox is not None and can_decide(principal, p.inbox)
        answers[p.pk] = per_inbox[p.inbox_id]
    return answers


def escalated_it(user, proposal: Proposal) -> bool:
    """Did reviewer ``user`` escalate ``proposal`` by hand (one indexed query)? Who escalates keeps
    read access to it, wherever it went."""
    return is_reviewer(user) and Escalation.objects.filter(proposal=proposal, by=user).exists()


def may(principal, operation: str, obj=None) -> bool:
    """Answer ``operation`` (view, decide, escalate, suspend, edit_policy, view_governance) on ``obj``
    (a Proposal, an Inbox, an Agent or a Domain) for any principal: the authorization test's one door."""
    if isinstance(obj, Proposal):
        if isinstance(principal, Agent):
            return operation == "view" and obj.agent_id == principal.pk
        linked = hooks.proposal_access(principal, obj)
        if linked is not None and operation in ("view", "decide", "escalate"):
            return linked[0] if operation == "view" else linked[1]
        proposal, obj = obj, obj.inbox
        if operation == "view" and not governance.may(principal, operation, obj):
            return escalated_it(principal, proposal)
    return governance.may(principal, operation, obj)

"""Remediations: proposals made for an incident (``POST /api/v1/proposals`` with ``"incident": "<id>"``).

The inbox does not know incidents; ``IncidentsConfig.ready`` registers these functions with
``inbox.hooks`` (``ProposalLinks`` named ``incident``):

- ``resolve``: the incident must exist, be open and be visible to the agent (else 422 on ``incident``);
- ``route``: policy has spoken first. A refusal stays a refusal, an auto-approval happens only where
  policy allows it, and what policy escalates (to the domain orchestrator or the board, by an
  escalate policy, the authority matrix or a resource request) is decided at that level as usual.
  What policy sends to first-line review goes to the incident's commander instead: incident command
  replaces first-line review, so one approval (the commander's) decides it — unless the routing
  policy sets a quorum of its own above one, which stands, and then the policy's inbox decides;
- ``linked``: the ``Remediation`` row, a timeline entry, an audit event, in the submission's transaction;
- ``access``: the incident's team and the inbox's viewers see it; a remediation routed to the
  commander is decided by the commander alone (not a responder, not the inbox's reviewers) while it
  stays at the first-line level; once escalated (SLA, by hand) that level's reviewers decide.

A decision, whoever takes it, lands on the timeline through ``on_proposal_saved`` (post_save of the
proposal, inside the decision's transaction; once per remediation, by a conditional UPDATE).
"""
import uuid

from django.db import transaction

from governance import permissions as governance
from governance.models import Agent, Level, Policy
from orchestra_site.errors import InvalidInput

from . import permissions, record
from .models import OPEN, EntryKind, Incident, Remediation

PENDING = "pending"


def resolve(agent: Agent, ref: str) -> Incident:
    incident = Incident.objects.select_related("domain").filter(pk=_uuid(ref)).first() if _uuid(ref) else None
    if incident is None or not permissions.can_view(agent, incident):
        raise InvalidInput("No such incident (or not one this agent may see).", field="incident")
    if incident.status not in OPEN:
        raise InvalidInput(f"{incident.reference} is {incident.status}: remediations go to open incidents.",
                           field="incident")
    return incident


def _uuid(ref: str):
    try:
        return uuid.UUID(str(ref))
    except ValueError:
        return None


def route(proposal, incident: Incident, ev) -> None:
    note = f" Remediation of incident {incident.reference}:"
    own_quorum = None
    if ev.policy_id:
        own_quorum = Policy.objects.filter(pk=ev.policy_id).values_list("quorum", flat=True).first()
    if ev.outcome != "review":
        proposal.routing_reason += f"{note} policy decided it ({ev.outcome.replace('_', ' ')})."
    elif proposal.level != Level.AGENT:
        level = Level(proposal.level).label.lower()
        proposal.routing_reason += f"{note} policy sends it to the {level} level, which decides."
    elif own_quorum and own_quorum > 1:
        proposal.routing_reason += f"{note} the policy's own quorum ({own_quorum}) stands; its inbox decides."
    else:
        proposal.quorum = 1
        proposal._by_commander = True
        proposal.routing_reason += f"{note} its commander decides (incident command replaces first-line review)."


def linked(proposal, incident: Incident) -> None:
    agent = proposal.agent
    by_commander = getattr(proposal, "_by_commander", False)
    outcome = PENDING if proposal.is_pending else proposal.status
    Remediation.objects.create(incident=incident, proposal=proposal, by_commander=by_commander, outcome=outcome)
    where = "waits for the commander" if by_commander else (
        f"is {proposal.get_status_display().lower()}" if not proposal.is_pending else "waits for its inbox")
    text = f"remediation proposed: {proposal.action} {proposal.resource} — {proposal.summary} ({where})"
    record.entry(incident, EntryKind.REMEDIATION, text, actor=agent,
                 data={"proposal": str(proposal.pk), "action": proposal.action, "status": proposal.status,
                       "risk": proposal.risk, "by_commander": by_commander})
    record.agent_reported(incident, agent, f"proposed {proposal.action}: {proposal.summary}")
    record.audit(incident, f"remediation proposed by {agent.name}: {proposal.action}", actor=agent,
                 context=proposal.summary, options_considered=proposal.reasoning[:500] or None,
                 decision=proposal.status, reasoning=proposal.routing_reason[-500:])


def access(principal, proposal) -> tuple[bool, bool] | None:
    if not governance.is_reviewer(principal):
        return None
    remediation = Remediation.objects.select_related("incident").filter(proposal_id=proposal.pk).first()
    if remediation is None:
        return None
    incident = remediation.incident
    inbox = proposal.inbox
    view = permissions.can_view(principal, incident) or (inbox is not None and governance.can_view(principal, inbox))
    if remediation.by_commander and proposal.level == Level.AGENT:
        decide = permissions.can_decide_remediation(principal, incident)
    else:
        decide = inbox is not None and governance.can_decide(principal, inbox)
    return view, view and decide


def on_proposal_saved(sender, instance, created=False, **kwargs) -> None:
    """A remediation's proposal left ``pending``: its decision goes on the incident's timeline."""
    if created or instance.status == PENDING or instance.link_kind != "incident":  # not a remediation: no query
        return
    if not Remediation.objects.filter(proposal_id=instance.pk, outcome=PENDING).update(outcome=instance.status):
        return
    remediation = Remediation.objects.select_related("incident__domain").get(proposal_id=instance.pk)
    incident = remediation.incident
    who = instance.decided_by if instance.decided_by_id else None
    verb = instance.get_status_display().lower()
    by = f" by {who.get_username()}" if who else ""
    text = f"remediation {verb}{by}: {instance.action} — {instance.summary}"
    if instance.decision_comment:
        text += f" (“{instance.decision_comment[:200]}”)"
    with transaction.atomic():
        record.entry(incident, EntryKind.DECISION, text, actor=who,
                     data={"proposal": str(instance.pk), "status": instance.status, "action": instance.action})
        record.audit(incident, text[:400], actor=who, decision=instance.status, reasoning=instance.decision_comment)

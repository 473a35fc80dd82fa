"""Incidents API (``/api/v1/incidents``): parse, ask ``permissions``, call one service or selector, shape.

Agents report incidents (candidates), post findings and draft status updates; people's tokens can
also declare, move an incident through its lifecycle and hand command over (as the board does).
A remediation is an ordinary proposal with ``"incident": "<id>"`` (``POST /api/v1/proposals``).
"""
from uuid import UUID

from ninja import Query, Router, Status
from ninja.pagination import paginate

from governance.auth import bearer
from governance.models import Agent, Domain
from orchestra_site.errors import InvalidInput, NotFound
from orchestra_site.pagination import BoundedLimitOffset
from orchestra_site.schemas import ERROR_RESPONSES

from . import permissions, selectors, services
from .schemas import (
    CommanderIn,
    FindingIn,
    FindingOut,
    IncidentIn,
    IncidentOut,
    StatusEnum,
    StatusIn,
    UpdateIn,
    UpdateOut,
)

router = Router(auth=bearer, tags=["incidents"])
StatusFilter = Query(None, description="Only incidents in this status. Default: the open ones")
ERRORS = ERROR_RESPONSES


def _domain_for(principal, slug: str | None) -> Domain:
    if isinstance(principal, Agent):
        permissions.require_active_agent(principal)
        if not slug:
            return principal.domain
    elif not slug:
        raise InvalidInput("Name the incident's domain (its slug).", field="domain")
    domain = Domain.objects.filter(slug=slug).first()
    if domain is None or (not isinstance(principal, Agent) and not permissions.can_declare(principal, domain)):
        raise NotFound("No such domain (or not one whose incidents you declare).")
    return domain


@router.post("/incidents", response={200: IncidentOut, 201: IncidentOut, **ERRORS})
def report_incident(request, payload: IncidentIn):
    """Report (agent: a candidate in ``triage``) or declare (person: ``investigating``, you command it)
    an incident. 201 with the new incident; 200 with ``grouped: true`` and the existing incident when a
    report of the same ``resource`` and ``symptom`` joined an open one within the grouping window."""
    domain = _domain_for(request.auth, payload.domain)
    incident, grouped = services.incident_report(
        reporter=request.auth, title=payload.title, severity=payload.severity, domain=domain,
        resource=payload.resource, symptom=payload.symptom, summary=payload.summary, evidence=payload.evidence,
        workflow=payload.workflow)
    incident = permissions.access_incident(request.auth, incident.pk)
    incident.grouped = grouped
    return Status(200 if grouped else 201, incident)


@router.get("/incidents", response={200: list[IncidentOut], **ERRORS})
@paginate(BoundedLimitOffset)
def list_incidents(request, status: StatusEnum | None = StatusFilter):
    """Incidents you may see: open ones by severity and time left to target, or those in ``status``."""
    return selectors.board(request.auth, status=status)


@router.get("/incidents/{incident_id}", response={200: IncidentOut, **ERRORS})
def get_incident(request, incident_id: UUID):
    return permissions.access_incident(request.auth, incident_id)


@router.post("/incidents/{incident_id}/findings", response={201: FindingOut, **ERRORS})
def post_finding(request, incident_id: UUID, payload: FindingIn):
    """A finding on the timeline (agents, and people on the incident). 409 ``incident_closed`` once it
    is closed, declined or merged (``merged_into`` names where findings go)."""
    principal = request.auth
    incident = permissions.access_incident(principal, incident_id)
    if isinstance(principal, Agent):
        permissions.require_active_agent(principal)
    else:
        permissions.check(permissions.responds(principal, incident), "Only the incident's responders add findings.")
    item = services.finding_add(incident=incident, by=principal, summary=payload.summary, evidence=payload.evidence,
                                confidence=payload.confidence, question=payload.question, answer=payload.answer)
    return Status(201, item)


@router.post("/incidents/{incident_id}/updates", response={201: UpdateOut, **ERRORS})
def draft_update(request, incident_id: UUID, payload: UpdateIn):
    """Draft a status update (a comms agent, or a person on the incident); the commander or the
    communications lead publishes it."""
    principal = request.auth
    incident = permissions.access_incident(principal, incident_id)
    if isinstance(principal, Agent):
        permissions.require_active_agent(principal)
    else:
        permissions.check(permissions.responds(principal, incident), "Only the incident's responders draft updates.")
    update = services.update_draft(incident=incident, by=principal, headline=payload.headline,
                                   conditions=payload.conditions, actions=payload.actions, needs=payload.needs)
    return Status(201, update)


@router.post("/incidents/{incident_id}/status", response={200: IncidentOut, **ERRORS})
def set_status(request, incident_id: UUID, payload: StatusIn):
    """People's tokens: accept a candidate (``investigating``), decline it (``declined``, with a
    reason), or move the incident on. Accepting and declining take a responder of its domain; other
    moves its commander (or the domain orchestrator, the board). Agents: 403. 409 for a move the
    lifecycle does not allow from the current status."""
    user = permissions.require_person(request.auth)
    incident = permissions.access_incident(user, incident_id)
    permissions.check_move(user, incident, payload.status)
    services.incident_set_status(incident=incident, status=payload.status, by=user, reason=payload.reason)
    return permissions.access_incident(user, incident_id)


@router.post("/incidents/{incident_id}/commander", response={200: IncidentOut, **ERRORS})
def hand_off_command(request, incident_id: UUID, payload: CommanderIn):
    """People's tokens: hand command to ``username`` with a reason. The commander, the domain
    orchestrator or the board may; agents: 403."""
    user = permissions.require_person(request.auth)
    incident = permissions.access_incident(user, incident_id)
    permissions.check(permissions.can_command(user, incident), "Only the commander hands command over.")
    services.command_handoff(incident=incident, to=services.user_named(payload.username), by=user,
                             reason=payload.reason)
    return permissions.access_incident(user, incident_id)

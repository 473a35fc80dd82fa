"""Who may do what with incidents: the incidents app's one door for authorization.

People (Django users):
- the incident's **commander** holds ``incidents.command_incident`` on it (django-guardian): moves it
  through its lifecycle, changes its severity, assigns roles, hands command over, publishes status
  updates, and is the only one who decides its remediations (at the first-line level);
- **responders** of its domain (``DomainResponse.responders``), and whoever holds a role on it, see
  it, write notes, draft status updates and edit the review; responders also declare incidents and
  accept or decline candidates (an incident an agent raised);
- the **communications lead** publishes status updates too;
- the domain's **orchestrator** and the **enterprise board** see and act on everything (they are
  where a breached target escalates), and may take command;
- **auditors** (``governance.audit``, or a global ``governance.view_inbox``) see everything, change nothing.

Agents see the incidents of their own domain and those they took part in; they report incidents,
post findings and draft status updates, never accept, decline or command (403).

Missing and not visible both raise ``NotFound`` (404), so ids cannot be probed.
"""
import uuid

from django.db.models import Exists, OuterRef, Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from governance import permissions as governance
from governance.models import Agent, Domain
from orchestra_site.errors import Forbidden, NotFound

from .models import OPEN as OPEN_STATUSES
from .models import AgentParticipant, DomainResponse, Incident, Role, RoleKind

COMMAND = "incidents.command_incident"
OVERSEE = (governance.ENTERPRISE,)  # global permissions that act on every incident
READ_ALL = (governance.AUDIT, governance.VIEW)


def is_person(principal) -> bool:
    return governance.is_reviewer(principal)


def _global(user, perms) -> bool:
    return user.is_superuser or any(user.has_perm(p) for p in perms)


def responder_domains(user) -> QuerySet[Domain]:
    """Domains whose incidents ``user`` responds to (responder group, or orchestrator)."""
    groups = user.groups.values("pk")
    mine = DomainResponse.objects.filter(responders__in=groups).values("domain_id")
    orchestrated = get_objects_for_user(user, governance.ORCHESTRATE, klass=Domain, accept_global_perms=False)
    return Domain.objects.filter(Q(pk__in=mine) | Q(pk__in=orchestrated.values("pk")))


def is_commander(user, incident: Incident) -> bool:
    return is_person(user) and governance.object_checker(user).has_perm(COMMAND, incident)


def oversees(user, incident: Incident) -> bool:
    """The domain orchestrator or the board: act on the incident, take command."""
    return is_person(user) and (_global(user, OVERSEE) or governance.orchestrates(user, incident.domain_id))


def responds(user, incident: Incident) -> bool:
    """A responder of the incident's domain, someone with a role on it, or an overseer."""
    if not is_person(user):
        return False
    if oversees(user, incident) or is_commander(user, incident):
        return True
    if Role.objects.filter(incident=incident, user=user).exists():
        return True
    return DomainResponse.objects.filter(domain_id=incident.domain_id, responders__in=user.groups.values("pk")).exists()


def can_view(principal, incident: Incident) -> bool:
    if isinstance(principal, Agent):
        return incident.domain_id == principal.domain_id or AgentParticipant.objects.filter(
            incident=incident, agent=principal).exists()
    return is_person(principal) and (_global(principal, READ_ALL) or responds(principal, incident))


def can_triage(user, incident: Incident) -> bool:
    """Accept or decline a candidate: any responder (a human), never an agent."""
    return responds(user, incident)


def can_command(user, incident: Incident) -> bool:
    """Change status and severity, assign roles, hand over command: the commander or an overseer."""
    return is_commander(user, incident) or oversees(user, incident)


def can_publish(user, incident: Incident) -> bool:
    return can_command(user, incident) or (is_person(user) and Role.objects.filter(
        incident=incident, user=user, kind=RoleKind.COMMS).exists())


def can_decide_remediation(user, incident: Incident) -> bool:
    """Only the commander: not a responder, not a scribe, not an overseer (they decide at their level)."""
    return is_commander(user, incident)


def can_declare(user, domain: Domain) -> bool:
    if not is_person(user):
        return False
    return _global(user, OVERSEE) or responder_domains(user).filter(pk=domain.pk).exists()


def incidents_for(principal) -> QuerySet[Incident]:
    """Incidents ``principal`` may see, as one lazy query."""
    if isinstance(principal, Agent):
        took_part = AgentParticipant.objects.filter(incident=OuterRef("pk"), agent=principal)
        return Incident.objects.filter(Q(domain_id=principal.domain_id) | Q(Exists(took_part)))
    if not is_person(principal):
        return Incident.objects.none()
    if _global(principal, READ_ALL + OVERSEE):
        return Incident.objects.all()
    # The commander always holds the ``commander`` role too (``team.take_command`` keeps them together),
    # so the roles cover the guardian permission here; the domains are a handful of ids, read first.
    domains = list(responder_domains(principal).values_list("pk", flat=True))
    with_role = Role.objects.filter(user=principal).values("incident_id")
    return Incident.objects.filter(Q(domain_id__in=domains) | Q(pk__in=with_role))


def triage_domain_ids(user) -> set[int] | None:
    """Domains whose candidates ``user`` may accept or decline (None: every domain; an overseer).
    The board's one answer for all its rows; ``can_triage`` is the per-incident form (roles too)."""
    if not is_person(user):
        return set()
    if _global(user, OVERSEE):
        return None
    return set(responder_domains(user).values_list("pk", flat=True))


def board_domain_ids(user) -> list[int]:
    """Domains whose board events ``user`` hears: every domain for auditors and overseers; else the
    domains they respond to and those of incidents they hold a role on."""
    if not is_person(user):
        return []
    if _global(user, READ_ALL + OVERSEE):
        return list(Domain.objects.values_list("pk", flat=True))
    roles = Role.objects.filter(user=user, incident__status__in=OPEN_STATUSES).values("incident__domain_id")
    return list(Domain.objects.filter(Q(pk__in=responder_domains(user).values("pk")) | Q(pk__in=roles))
                .values_list("pk", flat=True))


def access_incident(principal, incident_id, *, for_update: bool = False) -> Incident:
    """The incident if ``principal`` may see it; else ``NotFound`` (also for a malformed id).
    ``for_update`` locks the row (inside the caller's transaction)."""
    qs = Incident.objects.select_related("domain", "commander", "reported_by", "merged_into")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        incident_id = uuid.UUID(str(incident_id))
    except ValueError:
        raise NotFound("No such incident.") from None
    incident = qs.filter(pk=incident_id).first()
    if incident is None or not can_view(principal, incident):
        raise NotFound("No such incident.")
    return incident


def require_person(principal):
    """People's tokens and sessions only; agents get ``Forbidden`` (403)."""
    if not is_person(principal):
        raise Forbidden("Only people can do this; agents raise alarms and post findings.", code="person_required")
    return principal


def require_active_agent(agent: Agent) -> Agent:
    if not agent.is_active or agent.domain.is_suspended:
        raise Forbidden(f"Agent {agent.name} (or its domain) is suspended.", code="agent_suspended")
    return agent


def check_move(user, incident: Incident, status: str) -> None:
    """Accepting or declining a candidate takes a responder; every other move the commander (or an
    overseer). ``Forbidden`` (403) otherwise. A responder who lost the race to triage the candidate
    is let through here and gets the lifecycle's 409 (``invalid_transition``)."""
    reopening = status == "investigating" and incident.status in ("identified", "mitigated", "resolved")
    if status in ("investigating", "declined") and not reopening:  # triage (else the lifecycle says 409)
        check(can_triage(user, incident), "Only the domain's responders accept or decline candidates.")
    else:
        check(can_command(user, incident), "Only the incident's commander moves it on.")


def check(allowed: bool, message: str) -> None:
    if not allowed:
        raise Forbidden(message, code="incident_forbidden")

"""Who hears about an incident, by e-mail (Django's e-mail backend). Each message is owed in the
change's own transaction (``inbox.notifications.outbox.emails_owe``: one row per recipient) and sent
by the django-q2 worker after the commit, at least once: a SIGKILLed cluster loses none (the
notification sweep queues again what is owed), failures are retried and shown in admin.

- declared (or a candidate accepted): by the severity's response — everyone in the domain's
  responder group (``page_all``), the commander (``page_commander``; the group when there is none),
  or nobody (``queue``: the board only);
- target breached: the domain's orchestrators, then the enterprise board;
- a status update due: the commander and the communications lead;
- a status update published: the domain's subscribers (one message each, nobody sees the others).
"""
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q
from guardian.shortcuts import get_users_with_perms

from governance.permissions import ENTERPRISE, ORCHESTRATE
from inbox.notifications.outbox import emails_owe

from .models import DomainResponse, Incident, Response, RoleKind, Severity, StatusUpdate


def _queue(subject: str, body: str, recipients) -> None:
    """Inside the change's transaction: owe ``subject``/``body`` to each of ``recipients``."""
    emails_owe(subject, body, recipients)


def _link(incident: Incident) -> str:
    return f"{settings.ORCHESTRA_BASE_URL}/incidents/{incident.pk}/"


def responder_emails(incident: Incident) -> list[str]:
    response = DomainResponse.objects.filter(domain_id=incident.domain_id).select_related("responders").first()
    if response is None or response.responders is None:
        return []
    return list(response.responders.user_set.filter(is_active=True).values_list("email", flat=True))


def declared(incident: Incident) -> None:
    severity = Severity.objects.filter(level=incident.severity).first()
    response = severity.response if severity else Response.QUEUE
    if response == Response.QUEUE:
        return
    if response == Response.PAGE_COMMANDER and incident.commander is not None:
        to = [incident.commander.email]
    else:
        to = responder_emails(incident)
    commander = incident.commander.get_username() if incident.commander else "nobody yet"
    _queue(f"[{incident.severity}] {incident.reference} {incident.title}",
           f"{incident.title}\n\nSeverity {incident.severity}, commander {commander}.\n{incident.summary}\n\n"
           f"War room: {_link(incident)}\n", to)


def escalated(incident: Incident, level: int) -> None:
    User = get_user_model()
    if level == 1:
        users = get_users_with_perms(incident.domain, only_with_perms_in=[ORCHESTRATE.split(".")[1]],
                                     with_group_users=True)
        to = [u.email for u in users if u.is_active]
        who = "the domain orchestrator"
    else:
        perm = Permission.objects.filter(content_type__app_label="governance", codename=ENTERPRISE.split(".")[1])
        to = list(User.objects.filter(Q(user_permissions__in=perm) | Q(groups__permissions__in=perm), is_active=True)
                  .values_list("email", flat=True).distinct())
        who = "the enterprise board"
    _queue(f"[{incident.severity}] {incident.reference} breached its resolution target",
           f"{incident.title} is still {incident.status} past its target ({incident.target_due_at:%Y-%m-%d %H:%M} "
           f"UTC). Escalated to {who}.\n\nWar room: {_link(incident)}\n", to)


def update_due(incident: Incident) -> None:
    to = [r.user.email for r in incident.roles.select_related("user").filter(
        kind__in=[RoleKind.COMMANDER, RoleKind.COMMS])]
    _queue(f"[{incident.severity}] {incident.reference}: a status update is due",
           f"No status update on {incident.title} has been published for a while. Draft or publish one: "
           f"{_link(incident)}\n", to)


def published(update: StatusUpdate) -> None:
    response = DomainResponse.objects.filter(domain_id=update.incident.domain_id).first()
    to = response.subscriber_list() if response else []
    parts = [f"Conditions: {update.conditions}"]
    if update.actions:
        parts.append(f"Actions: {update.actions}")
    if update.needs:
        parts.append(f"Needs: {update.needs}")
    _queue(f"Status update: {update.headline}",
           "\n\n".join(parts) + f"\n\nStatus page: {settings.ORCHESTRA_BASE_URL}/status/\n", to)

"""The response team: command (a guardian object permission that moves on hand-off) and roles.

Handing command over removes ``incidents.command_incident`` from the old commander and gives it to
the new one in one transaction, with a timeline entry and an audit event naming who handed it,
from whom, to whom, when and why. The ``commander`` column and the ``commander`` role follow.
"""
from django.contrib.auth import get_user_model
from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from orchestra_site.errors import InvalidInput

from . import record
from .models import EntryKind, Incident, Role, RoleKind
from .permissions import COMMAND

PERM = COMMAND.split(".", 1)[1]


def take_command(incident: Incident, user, *, by, reason: str) -> None:
    """Inside the caller's transaction (the incident row locked): ``user`` commands ``incident``.
    The old commander is read by id after the lock (never joined into the locking query: PostgreSQL
    re-reads only the locked row after waiting, so a joined commander would be the stale one)."""
    old = get_user_model().objects.filter(pk=incident.commander_id).first() if incident.commander_id else None
    if old is not None and old.pk == user.pk:
        return
    if old is not None:
        remove_perm(PERM, old, incident)
        Role.objects.filter(incident=incident, user=old, kind=RoleKind.COMMANDER).delete()
    assign_perm(PERM, user, incident)
    Role.objects.get_or_create(incident=incident, user=user, kind=RoleKind.COMMANDER, defaults={"assigned_by": by})
    Incident.objects.filter(pk=incident.pk).update(commander=user)
    incident.commander = user
    who = by.get_username() if by is not None else "system"
    text = (f"command handed from {old.get_username()} to {user.get_username()} by {who}" if old
            else f"{user.get_username()} took command")
    record.entry(incident, EntryKind.COMMAND, text + (f": {reason}" if reason else ""), actor=by,
                 data={"from": old.get_username() if old else None, "to": user.get_username(), "reason": reason})
    record.audit(incident, text, actor=by, decision=f"commander: {user.get_username()}", reasoning=reason,
                 context=f"previous commander: {old.get_username() if old else 'none'}")


def user_named(username: str, field: str = "username"):
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise InvalidInput(f"No active user {username}.", field=field)
    return user


def command_handoff(*, incident: Incident, to, by, reason: str) -> Incident:
    """Hand command of ``incident`` to ``to`` (a user), with a reason (required)."""
    if not (reason or "").strip():
        raise InvalidInput("Say why command changes hands.", field="reason")
    with transaction.atomic():
        locked = Incident.objects.select_for_update(of=("self",)).select_related("domain").get(pk=incident.pk)
        take_command(locked, to, by=by, reason=reason)
    return locked


def role_assign(*, incident: Incident, user, kind: str, by) -> Role:
    """Give ``user`` a role (scribe, comms, sme) on ``incident``; command moves with ``command_handoff``."""
    if kind not in RoleKind.values or kind == RoleKind.COMMANDER:
        raise InvalidInput("Role must be scribe, comms or sme (hand command over instead).", field="kind")
    with transaction.atomic():
        locked = Incident.objects.select_for_update(of=("self",)).select_related("domain").get(pk=incident.pk)
        role, created = Role.objects.get_or_create(incident=locked, user=user, kind=kind, defaults={"assigned_by": by})
        if created:
            label = RoleKind(kind).label.lower()
            record.entry(locked, EntryKind.ROLE, f"{user.get_username()} is {label}", actor=by,
                         data={"user": user.get_username(), "kind": kind})
            record.audit(locked, f"{user.get_username()} assigned {label}", actor=by, decision=kind)
    return role


def role_remove(*, incident: Incident, user, kind: str, by) -> None:
    if kind == RoleKind.COMMANDER:
        raise InvalidInput("Hand command over instead.", field="kind")
    with transaction.atomic():
        locked = Incident.objects.select_for_update(of=("self",)).select_related("domain").get(pk=incident.pk)
        removed, _ = Role.objects.filter(incident=locked, user=user, kind=kind).delete()
        if removed:
            record.entry(locked, EntryKind.ROLE, f"{user.get_username()} is no longer {RoleKind(kind).label.lower()}",
                         actor=by, data={"user": user.get_username(), "kind": kind, "removed": True})
            record.audit(locked, f"{user.get_username()} unassigned {kind}", actor=by, decision="removed")

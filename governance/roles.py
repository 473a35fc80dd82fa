"""Services granting and revoking roles (exported by ``governance.services``): the only code of Orchestra
that writes permissions, so seeding, Django admin and the API grant the same way and an audit trail
has one place to listen. Who holds a role is read in ``governance.permissions``.

- reviewers of an inbox: ``inbox_grant`` / ``inbox_revoke`` / ``inbox_update(reviewers=...)`` (services);
- orchestrator of a domain: ``governance.orchestrate_domain`` on the Domain (``domain_orchestrator_grant``);
- global roles (``GLOBAL_ROLES``): the auditor, the enterprise board, global read of every inbox;
- the object-permission pages of Django admin (guardian) save through ``object_permissions_set``.
"""
import logging

from django.contrib.auth.models import Permission
from django.db import transaction
from guardian.shortcuts import assign_perm, get_group_perms, get_user_perms, remove_perm

from orchestra_site.errors import InvalidInput

from .audit import changes
from .models import Domain, Inbox

log = logging.getLogger("orchestra.roles")

ORCHESTRATE = "governance.orchestrate_domain"
GLOBAL_ROLES = {
    "audit": ["governance.view_inbox", "governance.audit"],
    "enterprise_governance": ["governance.enterprise_governance"],
    "view_inbox": ["governance.view_inbox"],
}
# Object permissions that may be granted on each model through admin (guardian's pages).
OBJECT_PERMISSIONS = {
    Inbox: {"view_inbox", "decide_inbox"},
    Domain: {"orchestrate_domain", "suspend_domain"},
}


def _permissions(names: list[str]) -> list[Permission]:
    found = []
    for name in names:
        app_label, codename = name.split(".", 1)
        found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found


def _role(role: str) -> list[Permission]:
    if role not in GLOBAL_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(GLOBAL_ROLES)}.", field="role")
    return _permissions(GLOBAL_ROLES[role])


@transaction.atomic
def global_role_grant(*, user, role: str, by=None) -> None:
    """Give ``user`` a global role: ``audit`` (read-only everywhere), ``enterprise_governance`` (the
    board: view everything, suspend anything), ``view_inbox`` (read every inbox)."""
    user.user_permissions.add(*_role(role))
    changes.permission_change(f"global role {role} granted to {changes.grantee(user)}", by=by, widened=True,
                              context={"role": role, "permissions": GLOBAL_ROLES[role]})
    log.info("role %s granted to %s by %s", role, user, by or "system")


@transaction.atomic
def global_role_revoke(*, user, role: str, by=None) -> None:
    """Take a global role back from ``user`` (permissions it also holds through groups stay)."""
    user.user_permissions.remove(*_role(role))
    changes.permission_change(f"global role {role} revoked from {changes.grantee(user)}", by=by,
                              context={"role": role})
    log.info("role %s revoked from %s by %s", role, user, by or "system")


@transaction.atomic
def domain_orchestrator_grant(*, user, domain: Domain, by=None) -> None:
    """Make ``user`` an orchestrator of ``domain``: view, decide and escalate in each of its inboxes,
    pull its kill switch (``governance.permissions``)."""
    assign_perm(ORCHESTRATE, user, domain)
    changes.permission_change(f"orchestrator of {domain.slug} granted to {changes.grantee(user)}", by=by,
                              domain=domain.slug, widened=True)
    log.info("orchestrator of %s granted to %s by %s", domain, user, by or "system")


@transaction.atomic
def domain_orchestrator_revoke(*, user, domain: Domain, by=None) -> None:
    remove_perm(ORCHESTRATE, user, domain)
    changes.permission_change(f"orchestrator of {domain.slug} revoked from {changes.grantee(user)}", by=by,
                              domain=domain.slug)
    log.info("orchestrator of %s revoked from %s by %s", domain, user, by or "system")


@transaction.atomic
def object_permissions_set(*, obj, perms, user=None, group=None, by=None) -> None:
    """Make the object permissions of ``user`` or ``group`` on ``obj`` (an Inbox or a Domain) exactly
    ``perms`` (codenames, e.g. ``{"view_inbox"}``). Raises ``InvalidInput`` for another model or a
    permission not grantable there (``OBJECT_PERMISSIONS``)."""
    allowed = OBJECT_PERMISSIONS.get(type(obj))
    perms = {p.split(".", 1)[-1] for p in perms}
    if allowed is None or not perms <= allowed:
        raise InvalidInput("Not a permission granted on this object.", field="permissions")
    target = user or group
    held = set(get_user_perms(user, obj) if user is not None else get_group_perms(group, obj)) & allowed
    for codename in held - perms:
        remove_perm(codename, target, obj)
    for codename in perms - held:
        assign_perm(codename, target, obj)
    if perms != held:
        domain = obj.slug if isinstance(obj, Domain) else (obj.domain.slug if obj.domain_id else "")
        changes.permission_change(
            f"permissions of {changes.grantee(user, group)} on {obj._meta.model_name} {obj} set to "
            f"{', '.join(sorted(perms)) or 'none'}", by=by, domain=domain, widened=bool(perms - held),
            context={"added": sorted(perms - held), "removed": sorted(held - perms)})
    log.info("object permissions of %s on %s set to %s by %s", target, obj, sorted(perms), by or "system")

"""The audit events of governance changes, one function per kind, written by the governance services in
their transactions: who may do what (roles, object permissions, inbox reviewers), the rules (policies,
the authority matrix, action categories and types, agent groups), configuration (domains, agents,
inboxes, tokens) and the kill switch's flags. A change that widens an agent's or a user's authority
also raises an alert to the domain's orchestrators (``alerts.alert_raise``)."""
from .alerts import alert_raise
from .models import AuditAction, AuditAlert, AuditEvent
from .record import audit_record


def _write(action_type: str, summary: str, *, by, domain: str, widened: bool, reason: str, status: str,
           context, decision: str = "") -> AuditEvent:
    event = audit_record(action_type, summary, actor=by, status=status, domain=domain or "",
                         details={"context": context, "decision": decision or summary, "reasoning": reason})
    if widened:
        alert_raise(AuditAlert.Kind.AUTHORITY_WIDENED, event, domain=domain or "")
    return event


def permission_change(summary: str, *, by, domain: str = "", widened: bool = False, reason: str = "",
                      context=None) -> AuditEvent:
    """A role or permission granted (``widened``: it adds authority, alerted) or taken back."""
    return _write(AuditAction.PERMISSION_CHANGE, summary, by=by, domain=domain, widened=widened, reason=reason,
                  status="granted" if widened else "revoked", context=context)


def policy_change(summary: str, *, by, domain: str = "", widened: bool = False, reason: str = "",
                  context=None, status: str = "changed") -> AuditEvent:
    """A routing policy or a cell of the matrix changed (``widened``: more is decided without a human)."""
    return _write(AuditAction.POLICY_CHANGE, summary, by=by, domain=domain, widened=widened, reason=reason,
                  status=status, context=context)


def configuration_change(summary: str, *, by, domain: str = "", widened: bool = False, reason: str = "",
                         context=None, status: str = "changed") -> AuditEvent:
    """A domain, agent, inbox or token created or changed (``widened``: e.g. a new approved tool)."""
    return _write(AuditAction.CONFIGURATION, summary, by=by, domain=domain, widened=widened, reason=reason,
                  status=status, context=context)


def kill_switch(summary: str, *, by, domain: str, suspended: bool, reason: str = "") -> AuditEvent:
    return _write(AuditAction.KILL_SWITCH, summary, by=by, domain=domain, widened=False, reason=reason,
                  status="suspended" if suspended else "resumed", context=None)


def grantee(user=None, group=None) -> str:
    """``"user alice"`` or ``"group platform-reviewers"``."""
    return f"user {user.get_username()}" if user is not None else f"group {group.name}"


def group_membership_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    """``m2m_changed`` receiver of ``User.groups``: joining a group (which is how reviewers get an inbox,
    through its reviewers group) or leaving one is a permission change, from whichever side it is made
    (Django admin's user and group pages included). Runs inside the m2m write's own transaction."""
    if action not in ("post_add", "post_remove") or not pk_set:
        return
    from django.contrib.auth.models import Group

    if reverse:  # group.user_set.add(users…)
        groups, users = [instance], list(model.objects.filter(pk__in=pk_set))
    else:  # user.groups.add(groups…)
        groups, users = list(Group.objects.filter(pk__in=pk_set)), [instance]
    added = action == "post_add"
    for group in groups:
        names = ", ".join(u.get_username() for u in users)
        permission_change(f"{names} {'added to' if added else 'removed from'} group {group.name}", by=_request_user(),
                          domain=_domain_of_group(group), widened=added and _carries_authority(group),
                          context={"group": group.name, "users": [u.get_username() for u in users]})


def model_permissions_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    """``m2m_changed`` receiver of ``User.user_permissions`` and ``Group.permissions``: a global permission
    (the enterprise board, auditing, suspending, …) granted to or taken from a user or a group, from
    whichever side (Django admin's user and group pages included). A grant widens authority: it raises
    the permission-widening alert. Runs inside the m2m write's own transaction."""
    if action not in ("post_add", "post_remove") or not pk_set:
        return
    from django.contrib.auth.models import Group, Permission

    if reverse:  # permission.user_set / permission.group_set .add(holders…)
        permissions, holders = [instance], list(model.objects.filter(pk__in=pk_set))
    else:  # user.user_permissions / group.permissions .add(permissions…)
        permissions, holders = list(Permission.objects.filter(pk__in=pk_set).select_related("content_type")), [instance]
    added = action == "post_add"
    codes = sorted(f"{p.content_type.app_label}.{p.codename}" for p in permissions)
    for holder in holders:
        who = grantee(group=holder) if isinstance(holder, Group) else grantee(user=holder)
        permission_change(f"{', '.join(codes)} {'granted to' if added else 'taken from'} {who}", by=_request_user(),
                          widened=added, context={"holder": who, "permissions": codes})


def _domain_of_group(group) -> str:
    inbox = group.inboxes.select_related("domain").first()
    return inbox.domain.slug if inbox is not None and inbox.domain_id else ""


def _carries_authority(group) -> bool:
    return group.inboxes.exists() or group.permissions.exists()


def _request_user():
    """The signed-in user of the request being served, if any (simple-history's middleware keeps it)."""
    from simple_history.models import HistoricalRecords

    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None

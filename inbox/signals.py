"""Tell open inbox sockets when their session ends or their user may have lost access.

A socket is checked when it connects (``inbox.consumers``); afterwards these receivers tell it to look
again, after the change commits (``transaction.on_commit``), through the Channels group ``user-<id>``
that each of a user's sockets joins (and ``inbox-<id>`` for changes to the inbox itself):

- ``session.ended`` (``session``: digest of the session key, or None for "every session"): sent on
  ``user_logged_out``; the sockets opened with that session close with 4401.
- ``access.changed``: sent to every user who may have lost a permission: removed from a group, a
  group or user permission removed (global, or a guardian object permission on an inbox or a
  domain), a group deleted, the user saved (deactivated, superuser flag or password changed) or
  deleted, an inbox changed or deleted. Each socket then re-reads its session and asks
  ``permissions.access_inbox`` again, and closes with 4401 (signed out) or 4403 (no access).

Grants send nothing: a socket that exists already had access. Sessions that merely expire are not
announced (no event exists for that); they end at the next of these events or reconnect.
"""
import hashlib
import logging
from functools import partial

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model, user_logged_out
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

from governance.models import Inbox

from .events import inbox_group

log = logging.getLogger("orchestra.events")

SESSION_ENDED = "session.ended"
ACCESS_CHANGED = "access.changed"
_REMOVALS = ("post_remove", "pre_clear")  # pre_clear: the rows to be cleared are still readable


def user_group(user_id) -> str:
    return f"user-{user_id}"


def session_digest(session_key: str | None) -> str | None:
    """What the channel layer carries instead of the session key itself (a credential)."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:32] if session_key else None


def _send(groups: list[str], message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:  # a lost notice must never fail the change that caused it
            log.exception("group_send to %s failed", group)


def _after_commit(groups, message: dict) -> None:
    groups = sorted(set(groups))
    if groups:
        transaction.on_commit(partial(_send, groups, message))


def tell_users(user_ids, message_type: str = ACCESS_CHANGED, **fields) -> None:
    """After commit, send ``{"type": message_type, **fields}`` to the sockets of ``user_ids``."""
    _after_commit([user_group(pk) for pk in user_ids], {"type": message_type, **fields})


def _members(group_ids) -> list[int]:
    return list(get_user_model().objects.filter(groups__in=list(group_ids)).values_list("pk", flat=True).distinct())


# --- receivers (connected in InboxConfig.ready) ------------------------------------------------------

def on_logout(sender, request, user, **kwargs):
    if user is not None and user.pk is not None:
        session = getattr(request, "session", None)
        tell_users([user.pk], SESSION_ENDED, session=session_digest(session and session.session_key))


def on_user_groups(sender, instance, action, reverse, pk_set, **kwargs):
    """``user.groups`` / ``group.user_set`` lost rows."""
    if action not in _REMOVALS:
        return
    if not reverse:  # instance is a user
        tell_users([instance.pk])
    elif action == "pre_clear":  # instance is a group being emptied
        tell_users(instance.user_set.values_list("pk", flat=True))
    else:
        tell_users(pk_set)


def on_user_permissions(sender, instance, action, reverse, pk_set, **kwargs):
    """``user.user_permissions`` / ``permission.user_set`` lost rows."""
    if action not in _REMOVALS:
        return
    if not reverse:
        tell_users([instance.pk])
    else:  # instance is a Permission
        tell_users(instance.user_set.values_list("pk", flat=True) if action == "pre_clear" else pk_set)


def on_group_permissions(sender, instance, action, reverse, pk_set, **kwargs):
    """``group.permissions`` / ``permission.group_set`` lost rows: every member of the groups."""
    if action not in _REMOVALS:
        return
    if not reverse:
        tell_users(_members([instance.pk]))
    else:
        group_ids = instance.group_set.values_list("pk", flat=True) if action == "pre_clear" else pk_set
        tell_users(_members(group_ids))


def on_user_object_permission(sender, instance, created=False, **kwargs):
    if not created:
        tell_users([instance.user_id])


def on_group_object_permission(sender, instance, created=False, **kwargs):
    if not created:
        tell_users(_members([instance.group_id]))


def on_group_delete(sender, instance, **kwargs):
    tell_users(_members([instance.pk]))  # before the membership rows are gone


def on_user_saved(sender, instance, created=False, update_fields=None, **kwargs):
    # A sign-in saves only last_login; anything else may be a deactivation or a password change.
    if not created and set(update_fields or ()) != {"last_login"}:
        tell_users([instance.pk])


def on_user_deleted(sender, instance, **kwargs):
    tell_users([instance.pk])


def on_inbox_changed(sender, instance, created=False, **kwargs):
    if not created:
        _after_commit([inbox_group(instance.pk)], {"type": ACCESS_CHANGED})


def connect() -> None:
    """Wire the receivers; called once from ``InboxConfig.ready``."""
    User = get_user_model()

    def wire(signal, receiver, sender=None):
        signal.connect(receiver, sender=sender, dispatch_uid=f"orchestra.{receiver.__name__}.{signal_names[signal]}")

    signal_names = {user_logged_out: "logout", m2m_changed: "m2m", post_save: "save", post_delete: "delete",
                    pre_delete: "pre_delete"}
    wire(user_logged_out, on_logout)
    wire(m2m_changed, on_user_groups, User.groups.through)
    wire(m2m_changed, on_user_permissions, User.user_permissions.through)
    wire(m2m_changed, on_group_permissions, Group.permissions.through)
    for signal in (post_save, post_delete):
        wire(signal, on_user_object_permission, get_user_obj_perms_model())
        wire(signal, on_group_object_permission, get_group_obj_perms_model())
        wire(signal, on_inbox_changed, Inbox)
    wire(pre_delete, on_group_delete, Group)
    wire(post_save, on_user_saved, User)
    wire(post_delete, on_user_deleted, User)

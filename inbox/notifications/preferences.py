"""Reviewers' notification preferences and inboxes' Slack channels: the services that change them,
their selectors, and ``anyone_listening``, the one cheap check the proposal path makes."""
import logging
import time

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q

from governance.audit.changes import configuration_change
from governance.models import Inbox
from governance.permissions import inboxes_for
from orchestra_site.errors import InvalidInput

from .models import InboxSlack, NotificationPreference

log = logging.getLogger("orchestra.notifications")
LISTENING_KEY = "orchestra:notifications:listening"
LISTENING_SECONDS = 60
LOCAL_SECONDS = 1.0
_local = {"at": float("-inf"), "value": False}  # this process's last answer, and when (monotonic)
Email = NotificationPreference.Email


def preference_of(user) -> NotificationPreference:
    """``user``'s preferences; an unsaved default (browser only) when they never chose."""
    return NotificationPreference.objects.filter(user=user).first() or NotificationPreference(user=user)


def anyone_listening() -> bool:
    """Has any reviewer asked to be told by e-mail or Slack? Remembered in the process for
    ``LOCAL_SECONDS``, then one shared-cache read (and one ``EXISTS`` query at most once a minute, and
    after each preference change): when nobody opted in the proposal path writes nothing and queues
    nothing. A reviewer who opts in is heard by every process within ``LOCAL_SECONDS``."""
    now = time.monotonic()
    if now - _local["at"] < LOCAL_SECONDS:
        return _local["value"]
    _local.update(at=now, value=_shared_listening())
    return _local["value"]


def _shared_listening() -> bool:
    try:
        listening = cache.get(LISTENING_KEY)
    except Exception:  # the cache (Redis) is down: ask the database, never fail the proposal
        log.warning("cache unavailable; asking the database whether anyone listens", exc_info=True)
        return _listening_now()
    if listening is None:
        listening = _listening_now()
        try:
            cache.set(LISTENING_KEY, listening, LISTENING_SECONDS)
        except Exception:
            log.warning("cache unavailable; not remembering whether anyone listens", exc_info=True)
    return listening


def _listening_now() -> bool:
    return NotificationPreference.objects.filter(~Q(email=Email.OFF) | Q(slack=True), user__is_active=True).exists()


def forget_listening() -> None:
    """Drop the cached ``anyone_listening`` answer (after a change of preferences)."""
    _local["at"] = float("-inf")
    try:
        cache.delete(LISTENING_KEY)
    except Exception:  # it expires within LISTENING_SECONDS anyway
        log.warning("cache unavailable; the answer of anyone_listening expires on its own", exc_info=True)


def notification_preference_set(*, user, email: str, slack: bool, on_new: bool, on_escalation: bool,
                                on_sla: bool) -> NotificationPreference:
    """Set how ``user`` (a reviewer) is told about new proposals (``on_new``), escalations to their
    inboxes (``on_escalation``) and proposals about to breach their SLA (``on_sla``): ``email`` is one of
    ``off`` | ``immediate`` | ``digest``; ``slack`` posts to the Slack channel of each inbox where they
    decide. Audited. Raises ``InvalidInput`` (field ``email``) for another value, or when e-mail is
    asked for and the user has no address."""
    if email not in Email.values:
        raise InvalidInput(f"email: one of {', '.join(Email.values)}.", field="email")
    if email != Email.OFF and not user.email:
        raise InvalidInput("Your account has no e-mail address: ask an administrator to add one.", field="email")
    with transaction.atomic():
        pref, _ = NotificationPreference.objects.update_or_create(user=user, defaults={
            "email": email, "slack": bool(slack), "on_new": bool(on_new), "on_escalation": bool(on_escalation),
            "on_sla": bool(on_sla)})
        configuration_change(f"notification preferences of {user.get_username()}: e-mail {email}, "
                             f"slack {'on' if slack else 'off'}", by=user,
                             context={"email": email, "slack": bool(slack), "on_new": bool(on_new),
                                      "on_escalation": bool(on_escalation), "on_sla": bool(on_sla)})
        forget_listening()  # now, and again once committed (a process may have cached the old answer meanwhile)
        transaction.on_commit(forget_listening)
    return pref


def inbox_slack_set(*, inbox: Inbox, webhook_url: str, by=None) -> InboxSlack | None:
    """Set (or, with an empty ``webhook_url``, remove) the Slack incoming webhook of ``inbox``. Who may
    is the caller's business (admin: ``governance.change_inbox``). The URL is never written to the audit
    trail, only that it changed. Raises ``InvalidInput`` (field ``webhook_url``) unless it is an
    ``https://`` URL (``http://`` to a loopback host is accepted, for local receivers)."""
    webhook_url = (webhook_url or "").strip()
    with transaction.atomic():
        if not webhook_url:
            removed, _ = InboxSlack.objects.filter(inbox=inbox).delete()
            if removed:
                configuration_change(f"inbox {inbox.slug}: Slack channel removed", by=by,
                                     domain=inbox.domain.slug if inbox.domain_id else "")
            return None
        if not (webhook_url.startswith("https://") or webhook_url.startswith(("http://127.0.0.1", "http://localhost"))):
            raise InvalidInput("A Slack incoming-webhook URL starts with https://.", field="webhook_url")
        slack, _ = InboxSlack.objects.update_or_create(inbox=inbox, defaults={"webhook_url": webhook_url,
                                                                               "updated_by": by})
        configuration_change(f"inbox {inbox.slug}: Slack channel set ({slack.masked_url})", by=by,
                             domain=inbox.domain.slug if inbox.domain_id else "")
    return slack


def slack_status(user) -> list[tuple[Inbox, bool]]:
    """(inbox, has a Slack channel) for each inbox where ``user`` decides: two queries. The URL itself
    is not read."""
    inboxes = list(inboxes_for(user, for_decision=True).order_by("name"))
    with_slack = set(InboxSlack.objects.filter(inbox__in=inboxes).values_list("inbox_id", flat=True))
    return [(inbox, inbox.pk in with_slack) for inbox in inboxes]

"""Alerts to a domain's orchestrators: authority widened (a new decide permission, a new approved tool,
a policy moving actions to auto-approval) and executions refused. Each alert is a row (their page lists
the unacknowledged ones) and, after commit, a message to the Channels group of the domain
(``alerts_group``), which reviewer sockets of the domain's orchestrators and the board join, so it shows
live. Raised by the service that made the change, in its transaction, next to its audit event.
"""
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from .models import AuditAlert, AuditEvent

log = logging.getLogger("orchestra.audit")
ENTERPRISE = "enterprise"  # alerts without a domain
ALL = "alerts.all"  # every alert: joined by those who see every domain (auditors, the board)


def alerts_group(domain_slug: str) -> str:
    """Channels group of a domain's alerts (``""`` = enterprise-wide)."""
    return f"alerts.{domain_slug or ENTERPRISE}"


def alert_raise(kind: str, event: AuditEvent, *, domain: str = "") -> AuditAlert:
    """Record an alert about ``event`` for ``domain``'s orchestrators (``""``: the enterprise board) and
    announce it live after commit. Must run in the change's transaction."""
    alert = AuditAlert.objects.create(kind=kind, domain=domain or "", summary=event.summary, event_id=event.id)
    message = {"type": "alert.raised", "alert": {
        "id": alert.pk, "kind": kind, "kind_label": alert.get_kind_display(), "domain": alert.domain,
        "summary": alert.summary, "event_id": str(event.id)}}
    groups = {alerts_group(domain), ALL}
    transaction.on_commit(lambda: _announce(groups, message))
    return alert


def _announce(groups: set[str], message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:  # the alert row is kept and listed; the live push is best effort
            log.exception("could not announce alert %s to %s", message["alert"]["id"], group)


def alert_acknowledge(*, alert: AuditAlert, by) -> AuditAlert:
    """Mark an alert as seen by ``by`` (the caller checked ``governance.permissions.access_alert``)."""
    with transaction.atomic():
        locked = AuditAlert.objects.select_for_update().get(pk=alert.pk)
        if locked.acknowledged_at is None:
            locked.acknowledged_by, locked.acknowledged_at = by, timezone.now()
            locked.save(update_fields=["acknowledged_by", "acknowledged_at"])
    return locked


def alerts_acknowledge_all(*, by, domain: str | None = None) -> int:
    """Acknowledge every open alert (of ``domain``, when given) as ``by``; returns how many. For set-up
    scripts whose own grants raised them (``seed_demo``)."""
    with transaction.atomic():
        open_alerts = AuditAlert.objects.filter(acknowledged_at__isnull=True)
        if domain is not None:
            open_alerts = open_alerts.filter(domain=domain)
        return open_alerts.update(acknowledged_by=by, acknowledged_at=timezone.now())

"""Work of the django-q2 cluster for incidents: the minute sweep (breached targets escalate, due
status updates are reminded; schedule ``incidents-sweep`` from migration 0002). Incident e-mails go
through the notification outbox (``incidents.notify``)."""

from . import services


def sweep() -> dict:
    """Escalate breached targets and remind due status updates. Safe to run twice at once."""
    return {"escalated": services.incidents_escalate_breached(), "reminded": services.updates_remind_due()}

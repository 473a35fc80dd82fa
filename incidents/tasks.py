"""Work of the django-q2 cluster for incidents: the minute sweep (breached targets escalate, due
status updates are reminded; schedule ``incidents-sweep`` from migration 0002) and e-mail notices."""
from django.conf import settings
from django.core.mail import send_mass_mail

from . import services


def sweep() -> dict:
    """Escalate breached targets and remind due status updates. Safe to run twice at once."""
    return {"escalated": services.incidents_escalate_breached(), "reminded": services.updates_remind_due()}


def send_notice(subject: str, body: str, recipients: list[str]) -> int:
    """One message per recipient (nobody sees the others' addresses); returns how many were sent."""
    return send_mass_mail([(subject, body, settings.DEFAULT_FROM_EMAIL, [to]) for to in recipients])

"""Scheduled governance work, run by the django-q2 cluster every minute (see migration 0002)."""
from inbox.services import proposals_escalate_overdue, proposals_expire_due


def sweep() -> dict:
    """Expire proposals past their hard expiry, then escalate those past their SLA deadline.
    Safe to run twice or on several clusters at once (each change locks its row)."""
    return {"expired": proposals_expire_due(), "escalated": proposals_escalate_overdue()}

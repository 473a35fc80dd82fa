"""Incident services: the one entry point for every change to incidents (views, API routes, admin,
tasks and the demo call these). Each is a function with its transaction, its timeline entry, its
audit event (``AuditAction.INCIDENT``) and its live events after commit, written in the module of
its seam and exported here."""
from .comms import update_discard, update_draft, update_publish, updates_remind_due  # noqa: F401
from .config import domain_response_set, settings_update, severity_update  # noqa: F401
from .escalation import incidents_escalate_breached  # noqa: F401
from .findings import finding_add, note_add  # noqa: F401
from .lifecycle import (  # noqa: F401
    incident_merge,
    incident_relate,
    incident_report,
    incident_set_impact_start,
    incident_set_severity,
    incident_set_status,
    incident_split,
)
from .review import review_generate, review_markdown, review_update  # noqa: F401
from .team import command_handoff, role_assign, role_remove, user_named  # noqa: F401

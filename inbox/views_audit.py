"""Audit pages in the reviewer app: the audit search (operators and auditors), a proposal's or a
workflow's trace, and the alerts page of domain orchestrators. Each asks ``permissions`` who may read
what and reads through ``governance.audit.selectors``; the pages never change an event."""
from datetime import datetime, time

from django.contrib import messages
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from governance.audit import selectors as audit
from governance.audit.alerts import alert_acknowledge
from governance.audit.models import AuditAction, AuditClassification
from orchestra_site.errors import InvalidInput

from . import permissions
from .views import page, reviewer_view

FILTERS = ("agent", "actor", "domain", "action_type", "status", "classification", "related_task", "workflow", "q")


def _day(value: str, *, end: bool = False):
    """A ``YYYY-MM-DD`` form date as an aware datetime (the end of the day is exclusive)."""
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except (TypeError, ValueError):
        return None
    moment = datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
    return moment + timezone.timedelta(days=1) if end else moment


@reviewer_view
def audit_search(request):
    scope = permissions.access_audit(request.user)
    given = {name: request.GET.get(name, "").strip()[:200] for name in FILTERS}
    filters = audit.AuditFilters(**given, since=_day(request.GET.get("since")),
                                 until=_day(request.GET.get("until"), end=True))
    try:
        events, next_cursor = audit.audit_page(audit.audit_events(scope, filters),
                                               cursor=request.GET.get("cursor"), limit=50)
    except InvalidInput:  # a cursor from elsewhere: start over
        events, next_cursor = [], None
    query = request.GET.copy()
    query.pop("cursor", None)
    return page(request, "inbox/audit.html", {
        "events": events, "given": given, "since": request.GET.get("since", ""),
        "until": request.GET.get("until", ""), "next_cursor": next_cursor, "query": query.urlencode(),
        "action_types": AuditAction.choices, "classifications": AuditClassification.choices,
        "scope": sorted(scope) if scope is not None else None,
    })


@reviewer_view
def proposal_trace(request, proposal_id):
    """Everything that happened to one proposal, and to its workflow, oldest first. Whoever may see the
    proposal sees its own steps; the rest of the workflow within their audit scope."""
    proposal = permissions.access_proposal(request.user, proposal_id)
    scope = permissions.audit_domains(request.user)
    own = audit.workflow_trace(None, proposal_ids=[proposal.pk])
    others = audit.workflow_trace(scope, workflow=proposal.workflow) if proposal.workflow and scope != set() else []
    seen = {e.id for e in own}
    timeline = sorted(own + [e for e in others if e.id not in seen], key=lambda e: (e.timestamp, str(e.id)))
    return page(request, "inbox/audit_trace.html", {"timeline": timeline, "proposal": proposal,
                                                    "workflow": proposal.workflow})


@reviewer_view
def workflow_trace(request, workflow):
    scope = permissions.access_audit(request.user)
    timeline = audit.workflow_trace(scope, workflow=workflow)
    return page(request, "inbox/audit_trace.html", {"timeline": timeline, "workflow": workflow})


@reviewer_view
def alerts(request):
    scope = permissions.access_audit(request.user)
    recent = audit.alerts_in_scope(scope).filter(acknowledged_at__isnull=False).select_related("acknowledged_by")
    return page(request, "inbox/alerts.html", {
        "open_alerts": list(audit.open_alerts(scope)[:200]),
        "recent": list(recent[:50]),
    })


@reviewer_view
@require_POST
def alert_ack(request, alert_id):
    alert = permissions.access_alert(request.user, alert_id)
    alert_acknowledge(alert=alert, by=request.user)
    messages.success(request, "Alert acknowledged.")
    return redirect("inbox:alerts")

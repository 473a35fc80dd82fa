"""Governance pages for humans: the kill switch of domain orchestrators and the board.

Each view asks ``governance.permissions`` (the one door) and calls one service; Django admin keeps
the full ops flag for admins. Unknown objects are 404, objects the user may not switch off 403.
"""
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from inbox.models import Agent
from inbox.views import page, reviewer_view

from . import permissions, selectors, services
from .models import Domain

SWITCHES = {
    ("domain", "suspend"): services.domain_suspend, ("domain", "resume"): services.domain_resume,
    ("agent", "suspend"): services.agent_suspend, ("agent", "resume"): services.agent_resume,
}


@reviewer_view
def kill_switch(request):
    domains = list(selectors.domains_for_kill_switch(request.user))
    if not domains:
        raise PermissionDenied("The kill switch is for domain orchestrators, the governance board and admins.")
    rows = [{"domain": d, "can_suspend_domain": permissions.can_suspend_domain(request.user, d),
             "agents": [{"agent": a, "can_suspend": permissions.can_suspend_agent(request.user, a)}
                        for a in d.agents.all()]}
            for d in domains]
    return page(request, "governance/kill_switch.html", {"rows": rows})


@reviewer_view
@require_POST
def switch(request, kind: str, key: str, action: str):
    """Suspend or resume one domain (``kind`` "domain", ``key`` its slug) or agent ("agent", its name).
    Suspending needs a reason; it is recorded in the history of the record and of each frozen proposal."""
    target = (get_object_or_404(Domain, slug=key) if kind == "domain"
              else get_object_or_404(Agent.objects.select_related("domain"), name=key))
    if not permissions.may(request.user, "suspend", target):
        raise PermissionDenied(f"You may not {action} this {kind}.")
    reason = request.POST.get("reason", "").strip()
    if action == "suspend" and not reason:
        messages.error(request, f"Say why you suspend {target}: the reason is recorded and shown to its owners.")
        return redirect("governance:kill_switch")
    changed = SWITCHES[kind, action](**{kind: target}, by=request.user, reason=reason)
    verb = "Suspended" if action == "suspend" else "Resumed"
    effect = "frozen" if action == "suspend" else "thawed"
    plural = "" if changed == 1 else "s"
    messages.success(request, f"{verb} {kind} {target}: {changed} pending proposal{plural} {effect}.")
    return redirect("governance:kill_switch")

"""Pages of incidents: the SEV board, the war room, the review, and the public status page.

Every view parses (``forms``), asks ``permissions``, calls one service or selector, and renders or
redirects. Missing and not visible are both 404; a change one may not make is 403; a form that does
not validate or a service's refusal comes back as a message on the page it was posted from.
"""
import functools

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from governance.models import Domain
from inbox import permissions as inbox_permissions
from inbox import services as inbox_services
from inbox.views import page, reviewer_view
from orchestra_site.errors import ApplicationError, Forbidden

from . import forms, permissions, selectors, services
from .events import card, entry_dict
from .lifecycle import TRANSITIONS
from .metrics import human, metrics_of
from .models import Review, Severity, SeverityLevel, Status


def _war_room(incident):
    return redirect("incidents:war_room", incident_id=incident.pk)


def _back(request, incident):
    """Back to the page that posted (the board or the war room)."""
    return redirect("incidents:board") if request.POST.get("next") == "board" else _war_room(incident)


def incident_action(form_class, allowed):
    """A POST on one incident: 404 unless visible, 403 unless ``allowed(user, incident, data)``; the
    form's errors and the services' refusals are shown as messages."""
    def wrap(fn):
        @reviewer_view
        @require_POST
        @functools.wraps(fn)
        def view(request, incident_id, **kwargs):
            incident = permissions.access_incident(request.user, incident_id)
            form = form_class(request.POST)
            if not form.is_valid():
                for field, errors in form.errors.items():
                    messages.error(request, f"{field}: {' '.join(errors)}")
                return _back(request, incident)
            permissions.check(allowed(request.user, incident, form.cleaned_data), "You may not do this here.")
            try:
                text = fn(request, incident, form.cleaned_data, **kwargs)
            except ApplicationError as e:
                messages.error(request, e.message)
            else:
                if isinstance(text, HttpResponse):
                    return text
                messages.success(request, text)
            return _back(request, incident)
        return view
    return wrap


@reviewer_view
@require_GET
def board(request):
    now = timezone.now()
    cards = [card(row, now) for row in selectors.board_rows(request.user)]
    triage = permissions.triage_domain_ids(request.user)  # None: every domain
    return page(request, "incidents/board.html", {
        "cards": cards,  # rendered into rows by incidents.js, the same code that applies live events
        "triage_domains": "*" if triage is None else ",".join(str(pk) for pk in sorted(triage)),
        "declarable": permissions.responder_domains(request.user).order_by("name"),
        "severities": SeverityLevel.choices,
    })


@reviewer_view
@require_POST
def declare(request):
    form = forms.DeclareForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Declare: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect("incidents:board")
    data = form.cleaned_data
    domain = Domain.objects.filter(slug=data["domain"]).first()
    if domain is None or not permissions.can_declare(request.user, domain):
        messages.error(request, "You declare incidents only in the domains you respond to.")
        return redirect("incidents:board")
    incident, grouped = services.incident_report(
        reporter=request.user, title=data["title"], severity=data["severity"], domain=domain,
        resource=data["resource"], symptom=data["symptom"], summary=data["summary"])
    messages.success(request, f"Joined the open {incident.reference} (same resource and symptom)." if grouped
                     else f"Declared {incident.reference}; you command it.")
    return _war_room(incident)


@reviewer_view
@require_GET
def war_room(request, incident_id):
    incident = permissions.access_incident(request.user, incident_id)
    user = request.user
    target = Severity.objects.filter(level=incident.severity).values_list("target_seconds", flat=True).first() or 0
    metrics = metrics_of(incident, target)
    remediations = selectors.remediations(incident)
    can_decide = permissions.can_decide_remediation(user, incident)
    return page(request, "incidents/war_room.html", {
        "incident": incident,
        "card": card(selectors.board_row(incident.pk)),
        "metrics": metrics, "target_human": human(target),
        "metric_rows": [("Time to acknowledge", "reported → accepted", human(metrics.time_to_acknowledge)),
                        ("Time to mitigate", "impact started → mitigated", human(metrics.time_to_mitigate)),
                        ("Time to resolve", "impact started → resolved", human(metrics.time_to_resolve))],
        "timeline": [entry_dict(e) for e in selectors.timeline(incident)],
        "remediations": [{"r": r, "p": r.proposal,
                          "decidable": can_decide and r.by_commander and r.proposal.is_pending
                          and r.proposal.level == "agent" and not r.proposal.is_frozen} for r in remediations],
        "team": selectors.team(incident),
        "agents": incident.agents.select_related("agent").order_by("-last_reported_at"),
        "updates": selectors.updates(incident),
        "contradictions": selectors.contradictions(incident),
        "related": incident.related.all(),
        "relatable": selectors.relatable(user, incident),
        "can_command": permissions.can_command(user, incident),
        "can_triage": incident.is_candidate and permissions.can_triage(user, incident),
        "can_respond": permissions.responds(user, incident),
        "can_publish": permissions.can_publish(user, incident),
        "can_decide": can_decide,
        "severities": SeverityLevel.choices,
        "next_statuses": _next_statuses(incident),
    })


def _next_statuses(incident):
    return [(s, Status(s).label) for s in Status.values if s in TRANSITIONS[incident.status] and s != Status.MERGED]


def _may_move(user, incident, data) -> bool:
    try:
        permissions.check_move(user, incident, data["status"])
    except Forbidden:
        return False
    return True


@incident_action(forms.StatusForm, _may_move)
def set_status(request, incident, data):
    done = services.incident_set_status(incident=incident, status=data["status"], by=request.user,
                                        reason=data["reason"])
    return f"{done.reference} is {done.get_status_display().lower()}."


@incident_action(forms.SeverityForm, lambda u, i, d: permissions.can_command(u, i))
def set_severity(request, incident, data):
    done = services.incident_set_severity(incident=incident, severity=data["severity"], by=request.user,
                                          reason=data["reason"])
    return f"{done.reference} is {done.severity}."


@incident_action(forms.NoteForm, lambda u, i, d: permissions.responds(u, i))
def add_note(request, incident, data):
    services.note_add(incident=incident, by=request.user, text=data["text"])
    return "Note added."


@incident_action(forms.CommanderForm, lambda u, i, d: permissions.can_command(u, i))
def hand_off(request, incident, data):
    to = services.user_named(data["username"])
    services.command_handoff(incident=incident, to=to, by=request.user, reason=data["reason"])
    return f"{to.get_username()} commands {incident.reference} now."


@incident_action(forms.RoleForm, lambda u, i, d: permissions.can_command(u, i))
def set_role(request, incident, data):
    user = services.user_named(data["username"])
    if data["remove"]:
        services.role_remove(incident=incident, user=user, kind=data["kind"], by=request.user)
        return f"{user.get_username()} no longer has that role."
    services.role_assign(incident=incident, user=user, kind=data["kind"], by=request.user)
    return f"{user.get_username()} joined the response team."


@incident_action(forms.DecideForm, lambda u, i, d: permissions.can_decide_remediation(u, i))
def decide_remediation(request, incident, data, proposal_id):
    proposal = inbox_permissions.access_proposal(request.user, proposal_id, for_decision=True)
    if not incident.remediations.filter(proposal=proposal).exists():
        permissions.check(False, "That proposal is not a remediation of this incident.")
    done = inbox_services.proposal_decide(proposal=proposal, reviewer=request.user, verdict=data["verdict"],
                                          comment=data["comment"])
    return f"{done.get_status_display()}: {done.action} {done.resource}."


@incident_action(forms.UpdateForm, lambda u, i, d: permissions.responds(u, i))
def draft_update(request, incident, data):
    services.update_draft(incident=incident, by=request.user, **data)
    return "Status update drafted; the commander or the communications lead publishes it."


@incident_action(forms.UpdateForm, lambda u, i, d: permissions.can_publish(u, i))
def publish_update(request, incident, data, update_id):
    update = incident.updates.filter(pk=update_id).first()
    if update is None:
        permissions.check(False, "No such update on this incident.")
    services.update_publish(update=update, by=request.user, **data)
    return "Published: subscribers are notified and the status page shows it."


@incident_action(forms.MergeForm, lambda u, i, d: permissions.can_command(u, i))
def merge(request, incident, data):
    into = permissions.access_incident(request.user, data["into"])
    permissions.check(permissions.can_command(request.user, into), "You do not command that incident.")
    services.incident_merge(incident=incident, into=into, by=request.user, reason=data["reason"])
    return _war_room(into)


@incident_action(forms.RelateForm, lambda u, i, d: permissions.can_command(u, i))
def relate(request, incident, data):
    other = permissions.access_incident(request.user, data["other"])
    services.incident_relate(incident=incident, other=other, by=request.user, reason=data["reason"],
                             related=not data["remove"])
    return f"{'No longer related' if data['remove'] else 'Related'}: {other.reference}."


@incident_action(forms.SplitForm, lambda u, i, d: permissions.can_command(u, i))
def split(request, incident, data):
    new = services.incident_split(incident=incident, by=request.user, **data)
    return _war_room(new)


@incident_action(forms.ImpactForm, lambda u, i, d: permissions.can_command(u, i))
def set_impact(request, incident, data):
    services.incident_set_impact_start(incident=incident, at=data["impact_started_at"], by=request.user)
    return "Impact start corrected; the metrics and the target follow it."


@reviewer_view
@require_http_methods(["GET", "POST"])
def review(request, incident_id):
    incident = permissions.access_incident(request.user, incident_id)
    can_edit = permissions.responds(request.user, incident)
    current = Review.objects.filter(incident=incident).first()
    if request.method == "POST":
        permissions.check(can_edit, "Only the incident's team edits its review.")
        if request.POST.get("regenerate") or current is None:
            current = services.review_generate(incident=incident, by=request.user, regenerate=current is not None)
            messages.success(request, "Review generated from the record.")
            return redirect("incidents:review", incident_id=incident.pk)
        form = forms.ReviewForm(request.POST)
        if form.is_valid():
            services.review_update(review=current, by=request.user, **form.cleaned_data)
            messages.success(request, "Review saved.")
            return redirect("incidents:review", incident_id=incident.pk)
    else:
        initial = {"body": current.body, "action_items": current.action_items} if current else None
        form = forms.ReviewForm(initial=initial)
    return page(request, "incidents/review.html", {"incident": incident, "review": current, "form": form,
                                                   "can_edit": can_edit})


@reviewer_view
@require_GET
def review_export(request, incident_id):
    incident = permissions.access_incident(request.user, incident_id)
    current = Review.objects.filter(incident=incident).first() or services.review_generate(
        incident=incident, by=request.user)
    response = HttpResponse(services.review_markdown(current), content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{incident.reference}-review.md"'
    return response


@require_GET
def status_page(request):
    """Public, no login: published status updates only (their own headline and text)."""
    updates = selectors.public_updates()
    ongoing = selectors.public_open_incident_ids()
    return render(request, "incidents/status.html", {
        "updates": updates, "ongoing": [u for u in updates if u.incident_id in ongoing],
        "all_clear": not ongoing,
    })

"""Reviewer web app: every view parses, asks ``inbox.permissions``, calls one service or selector,
and renders. Missing and forbidden objects are both 404 (``permissions`` decides which)."""
import functools
import json
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from governance import tokens, words
from governance.audit.selectors import open_alerts
from orchestra_site.errors import Conflict, Forbidden, InvalidInput, NotFound, ProposalAlreadyDecided

from . import permissions, selectors, services, tool_calls
from .decision_outlook import decision_outlook
from .forms import DecisionForm, InboxFilterForm, NotificationPreferenceForm, TokenCreateForm
from .models import Proposal
from .notifications import preferences as notification_preferences

ORDERS = {"newest": "Newest first", "urgent": "Most urgent first"}
PAGE_SIZE = 50  # rows per page of an inbox list
COUNT_CAP = 10_000  # an inbox list counts its rows up to here ("more than 10,000" beyond)
# Changes not worth a line in a proposal's history (``decided_at`` is the row's own timestamp).
HISTORY_HIDDEN = {"decided_at", "idempotency_key"}
# Refusals the decision panel already explains in its own words (frozen, voted, expired): not repeated above it.
EXPLAINED = {"frozen", "already_voted", "expired"}


def reviewer_view(view):
    """``login_required`` plus the translation of permission errors to 404 / 403."""

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as e:
            raise Http404(e.message) from e
        except Forbidden as e:
            raise PermissionDenied(e.message) from e

    return wrapper


def page(request, template: str, context: dict, *, status: int = 200):
    """Render a page of the app shell: the sidebar lists the user's inboxes with live counts."""
    if "nav_inboxes" not in context:  # a view that read them already passes them
        context["nav_inboxes"] = selectors.inboxes_with_pending_counts(request.user)
    context["nav_kill_switch"] = lambda: may_pull_kill_switch(request.user)  # evaluated by the template
    context["nav_audit"] = functools.cache(lambda: audit_nav(request.user))
    return render(request, template, context, status=status)


def audit_nav(user) -> dict | None:
    """The Audit and Alerts links: None for those who may read no audit event."""
    scope = permissions.audit_domains(user)
    if scope is not None and not scope:
        return None
    return {"open_alerts": open_alerts(scope).count()}


def may_pull_kill_switch(user) -> bool:
    return permissions.domains_to_switch(user).exists()


@reviewer_view
def inbox_detail(request, slug):
    """One inbox's list: tabs (pending, decided, all), filters, search, both orders, a page of
    ``PAGE_SIZE`` rows. Invalid query values are reported (400) and left out; the rest still apply."""
    inbox = permissions.access_inbox(request.user, slug=slug)
    form = InboxFilterForm(request.GET)
    f = form.filters()
    page_number = f.pop("page")
    qs = selectors.inbox_list(inbox, **f)
    offset = (page_number - 1) * PAGE_SIZE
    rows = selectors.page_of(qs, offset, PAGE_SIZE + 1, user=request.user)  # one more: is there a next page?
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    narrowed = form.narrowed()
    nav = list(selectors.inboxes_with_pending_counts(request.user))  # the sidebar's counts, read once
    pending_total = next((i.pending_count for i in nav if i.pk == inbox.pk), None)
    if pending_total is None:
        pending_total = selectors.pending_count(inbox.pk)
    unfiltered_pending = f["status"] == "pending" and not narrowed
    total = pending_total if unfiltered_pending else selectors.count_upto(qs, COUNT_CAP)
    can_decide = permissions.can_decide(request.user, inbox)
    for p in rows:
        p.quick_approve = quick_approve(p, can_decide)
    return page(request, "inbox/inbox.html", {
        "inbox": inbox,
        "proposals": selectors.batches_together(rows),
        "form": form,
        "filters": f,
        "narrowed": narrowed,
        "order": f["order"],
        "orders": ORDERS,
        "tab": f["status"] if f["status"] in ("pending", "decided", "all") else "decided",
        "page_number": page_number,
        "has_next": has_next,
        "first_row": offset + 1 if rows else 0,
        "last_row": offset + len(rows),
        "total": total if unfiltered_pending else min(total, COUNT_CAP),
        "total_capped": not unfiltered_pending and total > COUNT_CAP,
        "pending_total": pending_total,
        "nav_inboxes": nav,
        "live_rows": unfiltered_pending and page_number == 1,
        "page_size": PAGE_SIZE,
        "now": timezone.now(),
        "can_decide": can_decide,
        "selectable": can_decide and f["status"] == "pending",  # the tick boxes of the bulk decision
        "blank_proposal": Proposal(id=UUID(int=0)),  # the <template> row that live events fill in
    }, status=400 if form.errors else 200)


def quick_approve(p: Proposal, can_decide: bool) -> bool:
    """Does ``p``'s list row offer Approve in place? Only a pending, unfrozen action of low or medium
    risk whose tool accepts ``approve``, to a reviewer who decides here and has not voted on it yet
    (high and critical risk, questions and the rest open the proposal instead)."""
    return (can_decide and p.is_pending and not p.is_frozen and not getattr(p, "you_voted", False)
            and p.kind != Proposal.Kind.QUESTION and p.risk not in ("high", "critical")
            and (not p.allowed_verdicts or "approve" in p.allowed_verdicts))


@reviewer_view
@require_http_methods(["GET", "POST"])
def proposal_detail(request, proposal_id):
    proposal = permissions.access_proposal(request.user, proposal_id)
    form = DecisionForm(initial={"args": json.dumps(proposal.args, indent=2, ensure_ascii=False)})
    conflict, status = None, 200
    if request.method == "POST":
        proposal = permissions.access_proposal(request.user, proposal_id, for_decision=True)
        form = DecisionForm(request.POST)
        if form.is_valid():
            try:
                decided = services.proposal_decide(
                    proposal=proposal, reviewer=request.user, verdict=form.cleaned_data["verdict"],
                    comment=form.cleaned_data["comment"], args=form.cleaned_data.get("parsed_args"),
                    supersede_conflicts=form.cleaned_data["supersede"],
                )
            except InvalidInput as e:  # ``field`` may be a JSON path inside the args: "args.to_version"
                field = e.field.split(".")[0]
                form.add_error(field if field in form.fields else None, e.message)
            except ProposalAlreadyDecided as e:
                conflict = e
                proposal = permissions.access_proposal(request.user, proposal_id)
            except Conflict as e:  # e.g. already voted, or frozen by a kill switch
                conflict = e
                proposal = permissions.access_proposal(request.user, proposal_id)
            else:
                messages.success(request, decision_message(decided))
                return redirect("inbox:inbox", slug=decided.inbox.slug)
        status = 409 if conflict else 422
    # What each verdict would do, said before acting; it also says which buttons there are (none when
    # frozen, expired, already voted or view only). A refusal it explains is shown once, there.
    outlook = decision_outlook(proposal, request.user)
    can_decide = outlook is not None and outlook.can_decide
    if conflict is not None and outlook is not None and outlook.blocked_code and conflict.code in EXPLAINED:
        conflict = None
    conflicts, hidden_conflicts = selectors.conflicts_for(proposal, request.user)
    supersedable = sum(1 for c in conflicts if c.is_pending and not c.is_frozen
                       and permissions.can_decide(request.user, c.inbox)) if can_decide else 0
    batch, hidden_in_batch = selectors.batch_for(proposal, request.user)
    return page(request, "inbox/proposal.html", {
        "proposal": proposal,
        "offered": tool_calls.offered_verdicts(proposal),  # only the verdicts its tool accepts
        "batch": batch,
        "hidden_in_batch": hidden_in_batch,
        "args_schema_json": (json.dumps(proposal.args_schema, indent=2, ensure_ascii=False)
                             if proposal.args_schema is not None else None),
        "outlook": outlook,
        "next_level_name": words.next_level_name(proposal.level),
        "inbox": proposal.inbox,
        "args_json": json.dumps(proposal.args, indent=2, ensure_ascii=False),
        "final_args_json": (json.dumps(proposal.final_args, indent=2, ensure_ascii=False)
                            if proposal.final_args is not None and proposal.final_args != proposal.args else None),
        "history": history_of(proposal),
        "escalations": selectors.escalations_of(proposal),  # where it went (inbox/_escalations.html)
        "can_decide": can_decide,
        "form": form,
        "conflict": conflict,
        "conflicts": [{"proposal": c, "args_json": json.dumps(c.args, indent=2, ensure_ascii=False)}
                      for c in conflicts],
        "hidden_conflicts": hidden_conflicts,
        "pending_conflicts": any(c.is_pending for c in conflicts) or hidden_conflicts > 0,
        "supersedable": supersedable,  # pending rivals shown here that approving may supersede, if ticked
        "approved_conflicts": selectors.approved_conflicts(proposal, request.user) if proposal.is_pending else [],
    }, status=status)


@reviewer_view
@require_POST
def proposal_escalate(request, proposal_id):
    """Move a pending proposal up one authority level, with a reason (it leaves this inbox)."""
    proposal = permissions.access_proposal(request.user, proposal_id, for_decision=True)
    try:
        moved = services.proposal_escalate(proposal=proposal, reason=request.POST.get("reason", ""), by=request.user)
    except (InvalidInput, Conflict) as e:
        messages.error(request, e.message)
        return redirect("inbox:proposal", proposal_id=proposal.pk)
    messages.success(request, f"Escalated {moved.action} {moved.resource} to the {words.level_name(moved.level)}.")
    return redirect("inbox:inbox", slug=proposal.inbox.slug)


def decision_message(p) -> str:
    what = f"{p.action} {p.resource}".strip()
    if p.is_pending:  # a vote towards a quorum, or an edit that another reviewer must approve (four eyes)
        return f"Your vote on {what} is recorded; it stays pending until another reviewer approves it."
    return f"{p.get_status_display()}: {what}."


def history_of(proposal) -> list[dict]:
    """Each history row with the fields it changed (oldest first), for the audit trail."""
    records = list(
        proposal.history.select_related("history_user", "decided_by").order_by("history_date", "history_id")
    )
    rows, previous = [], None
    for record in records:
        changes = []
        if previous is not None:
            delta = record.diff_against(previous, excluded_fields=HISTORY_HIDDEN, foreign_keys_are_objs=True)
            changes = [{"field": c.field.replace("_", " "), "old": _show(c.old), "new": _show(c.new)}
                       for c in delta.changes]
        rows.append({"record": record, "changes": changes})
        previous = record
    return rows


def _show(value) -> str:
    if value is None or value == "" or getattr(value, "pk", "") is None:  # None, or a null foreign key
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@reviewer_view
@require_http_methods(["GET", "POST"])
def profile(request):
    form, new_token = TokenCreateForm(), None
    if request.method == "POST":
        form = TokenCreateForm(request.POST)
        if form.is_valid():
            _, new_token = tokens.user_token_create(user=request.user, name=form.cleaned_data["name"])
            form = TokenCreateForm()
    return page(request, "inbox/profile.html", {
        "tokens": selectors.user_tokens(request.user),
        "form": form,
        "new_token": new_token,
        **notifications_context(request.user),
    })


def notifications_context(user, form=None) -> dict:
    pref = notification_preferences.preference_of(user)
    return {"notify_form": form or NotificationPreferenceForm.of(pref),
            "slack_inboxes": notification_preferences.slack_status(user)}


@reviewer_view
@require_POST
def profile_notifications(request):
    form = NotificationPreferenceForm(request.POST)
    if form.is_valid():
        try:
            notification_preferences.notification_preference_set(user=request.user, **form.cleaned_data)
        except InvalidInput as e:
            form.add_error(e.field or None, e.message)
        else:
            messages.success(request, "Notification preferences saved.")
            return redirect("inbox:profile")
    return page(request, "inbox/profile.html", {
        "tokens": selectors.user_tokens(request.user), "form": TokenCreateForm(), "new_token": None,
        **notifications_context(request.user, form),
    }, status=422)


@reviewer_view
@require_POST
def token_revoke(request, token_id):
    token = get_object_or_404(selectors.user_tokens(request.user), pk=token_id)
    tokens.token_revoke(token=token)
    messages.success(request, f"Token {token.prefix}… revoked. Programs using it now get 401.")
    return redirect("inbox:profile")


# --- the kill switch of domain orchestrators and the board -----------------------------------------

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
    return page(request, "inbox/kill_switch.html", {"rows": rows})


@reviewer_view
@require_POST
def switch(request, kind: str, key: str, action: str):
    """Suspend or resume one domain (``kind`` "domain", ``key`` its slug) or agent ("agent", its name).
    Suspending needs a reason; it is recorded in the history of the record and of each frozen proposal.
    A domain or agent that does not exist or that the user may not switch is 404 alike."""
    access = permissions.access_domain_to_suspend if kind == "domain" else permissions.access_agent_to_suspend
    target = access(request.user, key)
    reason = request.POST.get("reason", "").strip()
    if action == "suspend" and not reason:
        messages.error(request, f"Say why you suspend {target}: the reason is recorded and shown to its owners.")
        return redirect("inbox:kill_switch")
    changed = SWITCHES[kind, action](**{kind: target}, by=request.user, reason=reason)
    verb = "Suspended" if action == "suspend" else "Resumed"
    effect = "frozen" if action == "suspend" else "thawed"
    plural = "" if changed == 1 else "s"
    messages.success(request, f"{verb} {kind} {target}: {changed} pending proposal{plural} {effect}.")
    return redirect("inbox:kill_switch")

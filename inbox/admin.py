"""Django admin for the work: proposals, votes, escalations and webhook deliveries (read-only, never
deleted), the policy dry-run; and agents and domains, whose kill switch (flag + freezing their pending
proposals) is the inbox app's. History via simple-history, readable and never reverted; every change
goes through a service (see ``governance.admin.GovernedAdmin``).

Who may run each action (``allowed_permissions``, then each selected object is asked again):
- suspend / resume an agent: ``governance.permissions.can_suspend_agent`` (``governance.suspend_agent``,
  the agent's domain orchestrator, the board);
- suspend / resume a domain: ``can_suspend_domain`` (``governance.suspend_domain``, its orchestrator, the board);
- issue an agent token: ``governance.add_apitoken`` (a token acts as the agent, so it is its own
  permission, not implied by changing agents); adding an agent (``add_agent``) mints its first token;
- rotate an agent's webhook secret: ``governance.change_agent``; only holders of it see the secret.
A new token is shown once, in the response page itself (never in a message or a cookie).
"""
import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from governance import permissions, tokens
from governance import services as governance_services
from governance.admin import (
    ActionsNeedPermission,
    ApiTokenInline,
    GovernedAdmin,
    ServiceGuardedAdmin,
    adopt,
    form_changes,
)
from governance.models import Agent, Domain
from orchestra_site.errors import ApplicationError

from . import services
from .models import Escalation, OwedWebhook, Proposal, Vote, WebhookDelivery
from .schemas import ProposalIn

TOKENS_TEMPLATE = "admin/governance/agent/tokens_issued.html"
SECRET_VIEWERS = "governance.change_agent"


def tokens_page(model_admin, request, issued: list[tuple[Agent, str]]) -> TemplateResponse:
    """The page showing newly minted tokens once (admin views are already ``never_cache``)."""
    context = {**model_admin.admin_site.each_context(request), "title": "New API tokens (shown once)",
               "issued": issued, "opts": model_admin.model._meta}
    return TemplateResponse(request, TOKENS_TEMPLATE, context)


SECRET_FIELDS = ("webhook_secret", "webhook_secret_previous")


@admin.register(Agent)
class AgentAdmin(GovernedAdmin):
    list_display = ("name", "domain", "team", "status", "owner", "created_at")
    list_filter = ("status", "domain")
    search_fields = ("name", "team")
    # Status is the kill switch's (actions below), the secret is rotated by its action, tokens are minted
    # by the "issue token" action: none of them is a form field.
    readonly_fields = ("status", "suspended_reason", "webhook_secret", "webhook_secret_previous",
                       "webhook_secret_previous_until", "created_at")
    inlines = [ApiTokenInline]
    actions = ["issue_token", "suspend", "resume", "rotate_webhook_secret"]

    # --- who may see and do what ---

    def may_see_secret(self, request) -> bool:
        return request.user.has_perm(SECRET_VIEWERS)

    def has_suspend_permission(self, request):
        return permissions.can_suspend_some_agent(request.user)

    def has_issue_token_permission(self, request):
        return request.user.has_perm("governance.add_apitoken")

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if self.may_see_secret(request) else [f for f in fields if f not in SECRET_FIELDS]

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        """The history page lists what changed between versions: never the secret, unless one may rotate it."""
        if self.may_see_secret(request):
            return super().set_history_delta_changes(request, historical_records, foreign_keys_are_objs)
        previous = None
        for current in historical_records:
            if previous is not None:
                delta = previous.diff_against(current, excluded_fields=list(SECRET_FIELDS),
                                              foreign_keys_are_objs=foreign_keys_are_objs)
                helper = self.get_historical_record_context_helper(request, previous)
                previous.history_delta_changes = helper.context_for_delta_changes(delta)
            previous = current

    # --- writes, through the services ---

    def save_model(self, request, obj, form, change):
        fields = form_changes(form, change)
        if change:
            governance_services.agent_update(agent=obj, by=request.user, **fields)
            return
        agent, raw = governance_services.agent_create(by=request.user, **fields)
        adopt(obj, agent)
        request._orchestra_new_tokens = [(agent, raw)]

    def response_add(self, request, obj, post_url_continue=None):
        issued = getattr(request, "_orchestra_new_tokens", None)
        if issued:
            return tokens_page(self, request, issued)
        return super().response_add(request, obj, post_url_continue)

    def _each_allowed(self, request, queryset):
        agents = list(queryset.select_related("domain"))
        if not all(permissions.can_suspend_agent(request.user, agent) for agent in agents):
            raise PermissionDenied("You may not suspend or resume some of these agents.")
        return agents

    @admin.action(description="Suspend (kill switch): refuse new proposals, freeze pending ones",
                  permissions=["suspend"])
    def suspend(self, request, queryset):
        for agent in self._each_allowed(request, queryset):
            n = services.agent_suspend(agent=agent, by=request.user, reason=f"suspended in admin by {request.user}")
            self.message_user(request, f"{agent.name} suspended; {n} pending proposals frozen.", messages.WARNING)

    @admin.action(description="Resume", permissions=["suspend"])
    def resume(self, request, queryset):
        for agent in self._each_allowed(request, queryset):
            n = services.agent_resume(agent=agent, by=request.user)
            self.message_user(request, f"{agent.name} resumed; {n} proposals thawed.")

    @admin.action(description="Issue a new API token (shown once)", permissions=["issue_token"])
    def issue_token(self, request, queryset):
        issued = [(agent, tokens.agent_token_create(agent=agent, name=f"admin ({request.user})")[1])
                  for agent in queryset]
        return tokens_page(self, request, issued)

    @admin.action(description="Rotate the webhook secret (the old one still signs for a grace period)",
                  permissions=["change"])
    def rotate_webhook_secret(self, request, queryset):
        for agent in queryset:
            agent = governance_services.agent_webhook_secret_rotate(agent=agent, by=request.user)
            until = agent.webhook_secret_previous_until
            grace = (f"the old one still signs until {until:%Y-%m-%d %H:%M} UTC" if until
                     else "the old one no longer signs")
            self.message_user(request, f"{agent.name}: new webhook secret ({grace}); give it to the agent's owner.",
                              messages.WARNING)


@admin.register(Domain)
class DomainAdmin(ServiceGuardedAdmin, GovernedAdmin):
    list_display = ("name", "default_inbox", "orchestrator_inbox", "is_suspended", "rate_limit_per_minute",
                    "daily_budget_usd")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("is_suspended", "suspended_reason")
    actions = ["suspend", "resume"]

    def has_suspend_permission(self, request):
        return permissions.can_suspend_some_domain(request.user)

    def save_model(self, request, obj, form, change):
        fields = form_changes(form, change)
        if change:
            governance_services.domain_update(domain=obj, by=request.user, **fields)
        else:
            adopt(obj, governance_services.domain_create(by=request.user, **fields))

    def _each_allowed(self, request, queryset):
        domains = list(queryset)
        if not all(permissions.can_suspend_domain(request.user, domain) for domain in domains):
            raise PermissionDenied("You may not suspend or resume some of these domains.")
        return domains

    @admin.action(description="Suspend (kill switch): refuse new proposals, freeze pending ones",
                  permissions=["suspend"])
    def suspend(self, request, queryset):
        for domain in self._each_allowed(request, queryset):
            n = services.domain_suspend(domain=domain, by=request.user, reason=f"suspended in admin by {request.user}")
            self.message_user(request, f"{domain} suspended; {n} pending proposals frozen.", messages.WARNING)

    @admin.action(description="Resume", permissions=["suspend"])
    def resume(self, request, queryset):
        for domain in self._each_allowed(request, queryset):
            n = services.domain_resume(domain=domain, by=request.user)
            self.message_user(request, f"{domain} resumed; {n} proposals thawed.")


# --- the work: read-only, never deleted -----------------------------------------------------------------

class ReadOnly:
    """Seen, never added, changed or deleted in admin (the lifecycle's services write these)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class VoteInline(ReadOnly, admin.TabularInline):
    model = Vote
    fields = ("reviewer", "verdict", "comment", "args", "created_at")
    readonly_fields = fields
    extra = 0


class DryRunForm(forms.Form):
    agent = forms.ModelChoiceField(queryset=Agent.objects.select_related("domain"))
    proposal = forms.CharField(widget=forms.Textarea(attrs={"rows": 12, "cols": 80}), initial=json.dumps(
        {"action": "deploy.rollback", "resource": "service:payments", "args": {"service": "payments",
         "to_version": "2026.11.3"}, "summary": "Roll back payments", "risk": "high", "confidence": 0.9,
         "cost_usd": "0.40"}, indent=2), help_text="The would-be proposal, as an agent would POST it (JSON).")


@admin.register(Proposal)
class ProposalAdmin(ReadOnly, GovernedAdmin):
    list_display = ("summary", "action", "agent", "inbox", "risk", "status", "decided_by", "created_at")
    list_filter = ("status", "risk", "classification", "inbox")
    search_fields = ("summary", "action", "resource", "agent__name")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Proposal._meta.fields]
    inlines = [VoteInline]

    def get_urls(self):
        return [path("dry-run/", self.admin_site.admin_view(self.dry_run_view), name="inbox_proposal_dryrun"),
                *super().get_urls()]

    def dry_run_view(self, request):
        """Which policy would match a would-be proposal, and what would happen, with the reasons.
        For those who may see governance (``governance.permissions.can_view_governance``), else 403."""
        if not permissions.can_view_governance(request.user):
            raise PermissionDenied("The dry-run is for auditors, orchestrators, the board and admins.")
        form = DryRunForm(request.POST or None)
        result = error = None
        if request.method == "POST" and form.is_valid():
            try:
                data = ProposalIn.model_validate_json(form.cleaned_data["proposal"]).to_model_fields()
                result = services.proposal_evaluate(agent=form.cleaned_data["agent"], data=data)
            except ApplicationError as exc:
                error = exc.message
            except ValueError as exc:
                error = str(exc)
        context = {**self.admin_site.each_context(request), "title": "Policy dry-run", "form": form,
                   "result": result, "error": error, "opts": self.model._meta}
        return TemplateResponse(request, "admin/inbox/proposal/dry_run.html", context)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly, ActionsNeedPermission):
    list_display = ("proposal", "attempt", "status_code", "delivered", "created_at")
    list_filter = ("delivered",)
    readonly_fields = ("proposal", "attempt", "status_code", "error", "delivered", "created_at")


@admin.register(OwedWebhook)
class OwedWebhookAdmin(ReadOnly, ActionsNeedPermission):
    """The webhook outbox: what each agent is owed, delivered, given up or refused (inbox.outbox)."""

    list_display = ("proposal", "state", "attempts", "next_attempt_at", "leased_until", "created_at", "done_at")
    list_filter = ("state",)
    readonly_fields = ("id", "proposal", "event", "state", "attempts", "next_attempt_at", "leased_until",
                       "queued_at", "last_error", "created_at", "done_at")


@admin.register(Escalation)
class EscalationAdmin(ReadOnly, ActionsNeedPermission):
    list_display = ("created_at", "proposal", "from_inbox", "to_inbox", "to_level", "by", "reason")
    list_filter = ("to_level",)
    readonly_fields = ("proposal", "from_inbox", "to_inbox", "to_level", "reason", "by", "created_at")


from .notifications import admin as notifications_admin  # noqa: E402, F401  (registers its admin)

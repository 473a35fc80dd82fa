"""Django admin for the work: proposals (read-only), webhook deliveries, escalations and the policy
dry-run; and agents and domains, whose kill switch (flag + freezing their pending proposals) is the
inbox app's. History via simple-history; every change goes through a service."""
import json

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import path
from guardian.admin import GuardedModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from governance import services as governance_services
from governance import tokens
from governance.admin import ApiTokenInline
from governance.models import Agent, Domain
from orchestra_site.errors import ApplicationError

from . import services
from .models import Escalation, Proposal, WebhookDelivery
from .schemas import ProposalIn


@admin.register(Agent)
class AgentAdmin(SimpleHistoryAdmin):
    list_display = ("name", "domain", "team", "status", "owner", "created_at")
    list_filter = ("status", "domain")
    search_fields = ("name", "team")
    # The kill switch goes through governance.services (freeze pending proposals, record who and why),
    # so status is changed by the actions below, never by editing the field.
    readonly_fields = ("status", "suspended_reason", "webhook_secret", "created_at")
    inlines = [ApiTokenInline]
    actions = ["issue_token", "suspend", "resume"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.webhook_secret = obj.webhook_secret or governance_services.new_webhook_secret()
        super().save_model(request, obj, form, change)
        if not change:
            _, raw = tokens.agent_token_create(agent=obj, name="admin")
            self.message_user(request, f"API token for {obj.name} (shown once, copy it now): {raw}", messages.WARNING)

    @admin.action(description="Suspend (kill switch): refuse new proposals, freeze pending ones")
    def suspend(self, request, queryset):
        for agent in queryset.select_related("domain"):
            n = services.agent_suspend(agent=agent, by=request.user, reason=f"suspended in admin by {request.user}")
            self.message_user(request, f"{agent.name} suspended; {n} pending proposals frozen.", messages.WARNING)

    @admin.action(description="Resume")
    def resume(self, request, queryset):
        for agent in queryset.select_related("domain"):
            n = services.agent_resume(agent=agent, by=request.user)
            self.message_user(request, f"{agent.name} resumed; {n} proposals thawed.")

    @admin.action(description="Issue a new API token (shown once)")
    def issue_token(self, request, queryset):
        for agent in queryset:
            _, raw = tokens.agent_token_create(agent=agent, name="admin")
            self.message_user(request, f"API token for {agent.name} (shown once): {raw}", messages.WARNING)


@admin.register(Domain)
class DomainAdmin(GuardedModelAdmin, SimpleHistoryAdmin):
    list_display = ("name", "default_inbox", "orchestrator_inbox", "is_suspended", "rate_limit_per_minute",
                    "daily_budget_usd")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("is_suspended", "suspended_reason")
    actions = ["suspend", "resume"]

    @admin.action(description="Suspend (kill switch): refuse new proposals, freeze pending ones")
    def suspend(self, request, queryset):
        for domain in queryset:
            n = services.domain_suspend(domain=domain, by=request.user, reason=f"suspended in admin by {request.user}")
            self.message_user(request, f"{domain} suspended; {n} pending proposals frozen.", messages.WARNING)

    @admin.action(description="Resume")
    def resume(self, request, queryset):
        for domain in queryset:
            n = services.domain_resume(domain=domain, by=request.user)
            self.message_user(request, f"{domain} resumed; {n} proposals thawed.")


class DryRunForm(forms.Form):
    agent = forms.ModelChoiceField(queryset=Agent.objects.select_related("domain"))
    proposal = forms.CharField(widget=forms.Textarea(attrs={"rows": 12, "cols": 80}), initial=json.dumps(
        {"action": "deploy.rollback", "resource": "service:payments", "args": {"service": "payments",
         "to_version": "2026.11.3"}, "summary": "Roll back payments", "risk": "high", "confidence": 0.9,
         "cost_usd": "0.40"}, indent=2), help_text="The would-be proposal, as an agent would POST it (JSON).")


@admin.register(Proposal)
class ProposalAdmin(SimpleHistoryAdmin):
    list_display = ("summary", "action", "agent", "inbox", "risk", "status", "decided_by", "created_at")
    list_filter = ("status", "risk", "classification", "inbox")
    search_fields = ("summary", "action", "resource", "agent__name")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Proposal._meta.fields]

    def has_add_permission(self, request):
        return False  # agents post proposals through the API

    def get_urls(self):
        return [path("dry-run/", self.admin_site.admin_view(self.dry_run_view), name="inbox_proposal_dryrun"),
                *super().get_urls()]

    def dry_run_view(self, request):
        """Which policy would match a would-be proposal, and what would happen, with the reasons."""
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
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("proposal", "attempt", "status_code", "delivered", "created_at")
    list_filter = ("delivered",)
    readonly_fields = ("proposal", "attempt", "status_code", "error", "delivered", "created_at")


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "proposal", "from_inbox", "to_inbox", "to_level", "by", "reason")
    list_filter = ("to_level",)
    readonly_fields = ("proposal", "from_inbox", "to_inbox", "to_level", "reason", "by", "created_at")

    def has_add_permission(self, request):
        return False

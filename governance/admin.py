"""Django admin for governance: the authority matrix, action types, policies (with a dry-run page),
domains (with the kill switch) and escalations. Changes are versioned by simple-history."""
import json

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import path
from guardian.admin import GuardedModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from inbox.models import Agent
from inbox.schemas import ProposalIn
from orchestra_site.errors import ApplicationError

from . import services
from .models import ActionCategory, ActionType, AgentGroup, AuthorityRule, Domain, Escalation, Policy


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


@admin.register(ActionCategory)
class ActionCategoryAdmin(SimpleHistoryAdmin):
    list_display = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(AuthorityRule)
class AuthorityRuleAdmin(SimpleHistoryAdmin):
    list_display = ("level", "mode", "category", "note")
    list_filter = ("level", "mode")
    list_editable = ("mode",)


@admin.register(ActionType)
class ActionTypeAdmin(SimpleHistoryAdmin):
    list_display = ("name", "category")
    list_filter = ("category",)
    search_fields = ("name",)


@admin.register(AgentGroup)
class AgentGroupAdmin(SimpleHistoryAdmin):
    filter_horizontal = ("agents",)


class DryRunForm(forms.Form):
    agent = forms.ModelChoiceField(queryset=Agent.objects.select_related("domain"))
    proposal = forms.CharField(widget=forms.Textarea(attrs={"rows": 12, "cols": 80}), initial=json.dumps(
        {"action": "deploy.rollback", "resource": "service:payments", "args": {"service": "payments",
         "to_version": "2026.11.3"}, "summary": "Roll back payments", "risk": "high", "confidence": 0.9,
         "cost_usd": "0.40"}, indent=2), help_text="The would-be proposal, as an agent would POST it (JSON).")


@admin.register(Policy)
class PolicyAdmin(SimpleHistoryAdmin):
    list_display = ("priority", "name", "outcome", "domain", "action_pattern", "category", "min_risk", "max_risk",
                    "classification", "inbox", "escalate_to", "quorum", "is_regulatory", "is_active")
    list_display_links = ("name",)
    list_editable = ("is_active",)
    list_filter = ("is_active", "outcome", "is_regulatory", "domain")
    search_fields = ("name", "action_pattern", "description")
    filter_horizontal = ("agents", "agent_groups")
    readonly_fields = ("updated_at", "updated_by")
    fieldsets = [
        (None, {"fields": ("name", "description", "priority", "is_active", "is_regulatory")}),
        ("Matches (blank = any)", {"fields": ("agents", "agent_groups", "domain", "action_pattern", "category",
                                              ("min_risk", "max_risk"), "classification",
                                              ("min_cost_usd", "max_cost_usd"))}),
        ("Decides", {"fields": ("outcome", "inbox", "escalate_to", "quorum", "min_confidence", "sla_seconds",
                                "expiry_seconds")}),
        ("Changed", {"fields": ("updated_at", "updated_by")}),
    ]
    change_list_template = "admin/governance/policy/change_list.html"

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        return [path("dry-run/", self.admin_site.admin_view(self.dry_run_view), name="governance_policy_dryrun"),
                *super().get_urls()]

    def dry_run_view(self, request):
        """Which policy would match a would-be proposal, and what would happen, with the reasons."""
        from inbox.services import proposal_evaluate

        form = DryRunForm(request.POST or None)
        result = error = None
        if request.method == "POST" and form.is_valid():
            try:
                data = ProposalIn.model_validate_json(form.cleaned_data["proposal"]).to_model_fields()
                result = proposal_evaluate(agent=form.cleaned_data["agent"], data=data)
            except ApplicationError as exc:
                error = exc.message
            except ValueError as exc:
                error = str(exc)
        context = {**self.admin_site.each_context(request), "title": "Policy dry-run", "form": form,
                   "result": result, "error": error, "opts": self.model._meta}
        return TemplateResponse(request, "admin/governance/policy/dry_run.html", context)


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "proposal", "from_inbox", "to_inbox", "to_level", "by", "reason")
    list_filter = ("to_level",)
    readonly_fields = ("proposal", "from_inbox", "to_inbox", "to_level", "reason", "by", "created_at")

    def has_add_permission(self, request):
        return False

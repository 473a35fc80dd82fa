"""Django admin for governance: the authority matrix, action types, agent groups, policies, inboxes
and API tokens. Changes are versioned by simple-history. Agents and domains are administered with
their kill switch (which freezes proposals) in ``inbox.admin``; the policy dry-run is there too."""
from django.contrib import admin
from guardian.admin import GuardedModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from . import services, tokens
from .models import ActionCategory, ActionType, AgentGroup, ApiToken, AuthorityRule, Inbox, Policy


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


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    fields = ("name", "prefix", "created_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "agent", "user", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "agent__name", "user__username")
    readonly_fields = ("agent", "user", "prefix", "digest", "created_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # tokens are minted by services (create_agent, profile page, create_user_token)

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            tokens.token_revoke(token=token)


@admin.register(Inbox)
class InboxAdmin(GuardedModelAdmin, SimpleHistoryAdmin):
    list_display = ("name", "slug", "domain", "reviewers")
    list_filter = ("domain",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if obj.reviewers_id:
            services.inbox_grant(inbox=obj, group=obj.reviewers)

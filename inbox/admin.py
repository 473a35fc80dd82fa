"""Django admin for agents, tokens, inboxes and proposals (history via simple-history, object
permissions via guardian). State changes go through ``inbox.services``."""
from django.contrib import admin, messages
from guardian.admin import GuardedModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from . import services
from .models import Agent, ApiToken, Inbox, Proposal, WebhookDelivery


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    fields = ("name", "prefix", "created_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


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
            obj.webhook_secret = obj.webhook_secret or services.new_webhook_secret()
        super().save_model(request, obj, form, change)
        if not change:
            _, raw = services.agent_token_create(agent=obj, name="admin")
            self.message_user(request, f"API token for {obj.name} (shown once, copy it now): {raw}", messages.WARNING)

    @admin.action(description="Suspend (kill switch): refuse new proposals, freeze pending ones")
    def suspend(self, request, queryset):
        from governance.services import agent_suspend

        for agent in queryset.select_related("domain"):
            n = agent_suspend(agent=agent, by=request.user, reason=f"suspended in admin by {request.user}")
            self.message_user(request, f"{agent.name} suspended; {n} pending proposals frozen.", messages.WARNING)

    @admin.action(description="Resume")
    def resume(self, request, queryset):
        from governance.services import agent_resume

        for agent in queryset.select_related("domain"):
            n = agent_resume(agent=agent, by=request.user)
            self.message_user(request, f"{agent.name} resumed; {n} proposals thawed.")

    @admin.action(description="Issue a new API token (shown once)")
    def issue_token(self, request, queryset):
        for agent in queryset:
            _, raw = services.agent_token_create(agent=agent, name="admin")
            self.message_user(request, f"API token for {agent.name} (shown once): {raw}", messages.WARNING)


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
            services.token_revoke(token=token)


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


@admin.register(Proposal)
class ProposalAdmin(SimpleHistoryAdmin):
    list_display = ("summary", "action", "agent", "inbox", "risk", "status", "decided_by", "created_at")
    list_filter = ("status", "risk", "classification", "inbox")
    search_fields = ("summary", "action", "resource", "agent__name")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Proposal._meta.fields]

    def has_add_permission(self, request):
        return False  # agents post proposals through the API


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("proposal", "attempt", "status_code", "delivered", "created_at")
    list_filter = ("delivered",)
    readonly_fields = ("proposal", "attempt", "status_code", "error", "delivered", "created_at")

"""Admin for the audit trail: events and alerts are read-only (never added, changed or deleted here);
retention periods are edited through ``retention.retention_class_set`` (audited)."""
from django.contrib import admin

from .models import AuditAlert, AuditEvent, RetentionClass
from .retention import retention_class_set


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("timestamp", "action_type", "actor_name", "status", "domain", "summary")
    list_filter = ("action_type", "classification", "retention", "actor_type")
    search_fields = ("summary", "actor_name", "workflow", "=trace_id")
    date_hierarchy = "timestamp"
    show_full_result_count = False  # no COUNT(*) over millions of events


@admin.register(AuditAlert)
class AuditAlertAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "domain", "summary", "acknowledged_by", "acknowledged_at")
    list_filter = ("kind",)


@admin.register(RetentionClass)
class RetentionClassAdmin(admin.ModelAdmin):
    list_display = ("name", "days", "updated_by")
    fields = ("name", "days")
    readonly_fields = ("name",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        retention_class_set(name=obj.name, days=obj.days, by=request.user)

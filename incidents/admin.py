"""Django admin for incidents: severities (targets, responses, update cadence), the grouping window
and each domain's incident response. Thin: every save calls the service (``incidents.config``),
which audits it; history is readable, never reverted; nothing here is deleted or added by hand
(the four severities and the settings row come from a migration). Incidents themselves are worked
on the board and in the war room, and are read-only here."""
from django.contrib import admin

from governance.admin import GovernedAdmin

from . import services
from .models import DomainResponse, Incident, IncidentSettings, Severity


@admin.register(Severity)
class SeverityAdmin(GovernedAdmin):
    list_display = ["level", "target_seconds", "response", "update_every_seconds"]
    readonly_fields = ["level"]
    fields = ["level", "target_seconds", "response", "update_every_seconds"]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        services.severity_update(severity=obj, by=request.user,
                                 **{name: form.cleaned_data[name] for name in form.changed_data})


@admin.register(IncidentSettings)
class IncidentSettingsAdmin(GovernedAdmin):
    list_display = ["__str__", "grouping_window_seconds"]
    fields = ["grouping_window_seconds"]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        saved = services.settings_update(by=request.user, grouping_window_seconds=form.cleaned_data[
            "grouping_window_seconds"])
        obj.pk = saved.pk


@admin.register(DomainResponse)
class DomainResponseAdmin(GovernedAdmin):
    list_display = ["domain", "responders"]
    fields = ["domain", "responders", "subscribers"]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *(["domain"] if obj else [])]

    def save_model(self, request, obj, form, change):
        saved = services.domain_response_set(domain=obj.domain, by=request.user,
                                             responders=form.cleaned_data["responders"],
                                             subscribers=form.cleaned_data["subscribers"])
        obj.pk, obj._state.adding = saved.pk, False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["reference", "title", "severity", "status", "domain", "commander", "reported_at"]
    list_filter = ["status", "severity", "domain"]
    search_fields = ["title", "resource", "symptom"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

"""Admin of notifications: inboxes' Slack channels (the URL is write-only: typed in, never shown back
but masked; set through ``preferences.inbox_slack_set``, by holders of ``governance.change_inbox``), and
the notification outbox, read-only, where failed deliveries show with their last error and can be tried
again (action "Try again", same permission)."""
from django import forms
from django.contrib import admin, messages

from governance.admin import ActionsNeedPermission, adopt

from . import outbox, preferences
from .models import InboxSlack, NotificationEvent, OwedNotification

MANAGE = "governance.change_inbox"


class InboxSlackForm(forms.ModelForm):
    webhook_url = forms.URLField(
        max_length=500, assume_scheme="https", required=False, label="Incoming-webhook URL",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="https://hooks.slack.com/services/…. Never shown again; leave empty to keep the current one.")

    class Meta:
        model = InboxSlack
        fields = ["inbox", "webhook_url"]

    def clean(self):
        data = super().clean()
        if not data.get("webhook_url") and not self.instance.pk:
            self.add_error("webhook_url", "Required.")
        return data


@admin.register(InboxSlack)
class InboxSlackAdmin(admin.ModelAdmin):
    form = InboxSlackForm
    list_display = ("inbox", "masked_url", "updated_at", "updated_by")
    readonly_fields = ("masked_url", "updated_at", "updated_by")

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "inbox") if obj else self.readonly_fields

    def _may(self, request):
        return request.user.has_perm(MANAGE)

    def has_view_permission(self, request, obj=None):
        return self._may(request)

    def has_add_permission(self, request):
        return self._may(request)

    def has_change_permission(self, request, obj=None):
        return self._may(request)

    def has_delete_permission(self, request, obj=None):
        return self._may(request)

    def save_model(self, request, obj, form, change):
        url = form.cleaned_data.get("webhook_url")
        if change and not url:  # empty keeps the stored URL (the form never holds it)
            url = InboxSlack.objects.filter(pk=obj.pk).values_list("webhook_url", flat=True).first() or ""
        inbox = obj.inbox if change else form.cleaned_data["inbox"]
        adopt(obj, preferences.inbox_slack_set(inbox=inbox, webhook_url=url, by=request.user))

    def delete_model(self, request, obj):
        preferences.inbox_slack_set(inbox=obj.inbox, webhook_url="", by=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset.select_related("inbox"):
            self.delete_model(request, obj)


class ReadOnlyAdmin(ActionsNeedPermission):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OwedNotification)
class OwedNotificationAdmin(ReadOnlyAdmin):
    """Every e-mail and Slack delivery: owed, delivered, given up (with why) or refused."""

    list_display = ("created_at", "channel", "recipient", "state", "attempts", "next_attempt_at", "short_error")
    list_filter = ("state", "channel")
    readonly_fields = ("id", "event", "channel", "user", "inbox", "to_email", "subject", "state", "attempts",
                       "next_attempt_at",
                       "leased_until", "queued_at", "last_error", "created_at", "done_at")
    actions = ["retry"]

    @admin.display(description="to")
    def recipient(self, obj):
        return obj.user or obj.to_email or (f"Slack of {obj.inbox}" if obj.inbox_id else "")

    @admin.display(description="Last error")
    def short_error(self, obj):
        return obj.last_error[:120]

    def has_retry_permission(self, request):
        return request.user.has_perm(MANAGE)

    @admin.action(description="Try again (given-up deliveries)", permissions=["retry"])
    def retry(self, request, queryset):
        count = outbox.delivery_retry(rows=list(queryset), by=request.user)
        messages.info(request, f"{count} given-up deliveries will be tried again within a minute.")


@admin.register(NotificationEvent)
class NotificationEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "proposal", "inbox", "fanned_out_at")
    list_filter = ("kind",)
    readonly_fields = ("id", "proposal", "inbox", "kind", "key", "by", "created_at", "queued_at", "fanned_out_at")

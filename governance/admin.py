"""Django admin for governance: the authority matrix, action types, agent groups, policies, inboxes
and API tokens. Agents and domains are administered with their kill switch (which freezes proposals)
in ``inbox.admin``; the policy dry-run is there too.

Admin is one more door, so it holds to the same rules as the API (``GovernedAdmin``):
- every write goes through the service for that change (``governance.services``), with ``by`` and a
  reason, so history names who changed what; many-to-many fields go through the service too;
- history pages are readable (view permission is enough) and never revertible: a revert saves
  whatever the history form posts (``SIMPLE_HISTORY_REVERT_DISABLED``; the POST answers 403);
- governed records are never deleted here (retire a policy with ``is_active``, suspend an agent):
  a deleted agent group would silently widen every policy that names it;
- each action names the permission its service requires (``allowed_permissions``); posting an action
  one may not run answers 403 and changes nothing.
"""
import copy

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from guardian.admin import (
    AdminGroupObjectPermissionsForm,
    AdminUserObjectPermissionsForm,
    GuardedModelAdmin,
)
from simple_history.admin import SimpleHistoryAdmin

from orchestra_site.errors import InvalidInput

from . import admin_display, services, tokens
from .action_types import schema_errors
from .models import ActionCategory, ActionType, AgentGroup, ApiToken, AuthorityRule, Inbox, Policy

# Django admin is Orchestra's back office: branded as such.
admin.site.site_header = "Orchestra administration"
admin.site.site_title = "Orchestra admin"
admin.site.index_title = "Governance, records and the audit trail"


def form_changes(form, change: bool) -> dict:
    """The model fields (many-to-many included) a bound admin form sets: all of them when adding,
    the changed ones when changing."""
    opts = form._meta.model._meta
    names = {f.name for f in opts.concrete_fields} | {f.name for f in opts.many_to_many}
    posted = form.changed_data if change else form.cleaned_data
    return {name: form.cleaned_data[name] for name in posted if name in names and name in form.cleaned_data}


def adopt(obj, saved) -> None:
    """Make admin's unsaved ``obj`` stand for ``saved`` (created by a service), for the log and the
    redirect that follow ``save_model``."""
    obj.pk = saved.pk
    obj._state.adding, obj._state.db = False, saved._state.db


class ActionsNeedPermission(admin.ModelAdmin):
    """Posting an action one may not run (its ``allowed_permissions`` fail) answers 403, where Django
    would quietly redirect with "No action selected"; nothing changes either way."""

    def changelist_view(self, request, extra_context=None):
        action = request.POST.get("action") if request.method == "POST" else None
        known = {name for _, name, _ in self._get_base_actions()}
        if action in known and action not in self.get_actions(request):
            raise PermissionDenied(f"You may not run {action} here.")
        return super().changelist_view(request, extra_context)


class GovernedAdmin(ActionsNeedPermission, SimpleHistoryAdmin):
    """Base of the admin of every governed record (see the module docstring). Subclasses write
    through services in ``save_model``; ``save_related`` saves inlines only, never the form's
    many-to-many fields (the service got them)."""

    def has_delete_permission(self, request, obj=None):
        return False

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST" and self.revert_disabled(request):
            raise PermissionDenied("History is read-only: a record is never reverted to an old version.")
        request._orchestra_history_page = True  # shown read-only, not as a form without a button
        page = copy.copy(self)  # this request's copy: read-only fields prepopulate nothing
        page.prepopulated_fields = {}
        return super(GovernedAdmin, page).history_form_view(request, object_id, version_id, extra_context)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if getattr(request, "_orchestra_history_page", False):
            opts = self.model._meta
            fields = [*fields, *(f.name for f in [*opts.fields, *opts.many_to_many]
                                 if f.editable and not f.auto_created and f.name not in fields)]
        return fields

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        """Each history row's changes against the row before it, in words (field names, choice labels,
        related objects by name: ``admin_display.readable_changes``)."""
        previous = None
        for current in historical_records:  # newest first
            if previous is not None:
                delta = previous.diff_against(current, foreign_keys_are_objs=True)
                previous.history_delta_changes = admin_display.readable_changes(self.model, delta)
            previous = current


@admin.register(ActionCategory)
class ActionCategoryAdmin(GovernedAdmin):
    list_display = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request, obj, form, change):
        saved = services.action_category_save(category=obj if change else None, by=request.user,
                                              **form_changes(form, change))
        adopt(obj, saved)


@admin.register(AuthorityRule)
class AuthorityRuleAdmin(GovernedAdmin):
    """The matrix reads as a table (levels × can decide / must escalate, ``admin_display.matrix_rows``)
    with a grid below that changes several cells at once, with a reason, through
    ``services.authority_matrix_update``. With any query (a filter, an order) it is the plain list of
    cells; each cell has its
    change form and history."""

    list_display = ("level", "mode", "category", "note")
    list_filter = ("level", "mode")
    matrix_template = "admin/governance/authorityrule/matrix.html"

    def changelist_view(self, request, extra_context=None):
        if request.GET or request.POST.get("action"):  # filtered, sorted, searched: the plain list
            return super().changelist_view(request, extra_context)
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        may_change = self.has_change_permission(request)
        rules = list(AuthorityRule.objects.select_related("category"))
        error, reason = None, ""
        if request.method == "POST":
            if not may_change:
                raise PermissionDenied("You may view the authority matrix but not change it.")
            reason = request.POST.get("reason", "")
            modes = {r.pk: request.POST[f"rule-{r.pk}"] for r in rules if f"rule-{r.pk}" in request.POST}
            try:
                changed = services.authority_matrix_update(modes=modes, by=request.user, reason=reason)
            except InvalidInput as e:
                error = e.message
            else:
                count = len(changed)
                messages.success(request, f"{count} cell{'s' if count != 1 else ''} of the authority matrix "
                                          "changed." if count else "Nothing changed in the authority matrix.")
                return redirect(request.path)
        grid, heads = admin_display.matrix_grid(rules)
        context = {
            **self.admin_site.each_context(request), "title": "Authority matrix", "opts": self.model._meta,
            "rows": admin_display.matrix_rows(rules), "grid": grid, "heads": heads, "modes": admin_display.MODES,
            "may_change": may_change, "error": error, "reason": reason,
            "has_add_permission": self.has_add_permission(request), **(extra_context or {}),
        }
        return TemplateResponse(request, self.matrix_template, context, status=422 if error else 200)

    def save_model(self, request, obj, form, change):
        if change:
            services.authority_rule_update(rule=obj, by=request.user, **form_changes(form, change))
        else:
            adopt(obj, services.authority_rule_create(by=request.user, **form_changes(form, change)))


class ActionTypeForm(forms.ModelForm):
    class Meta:
        model = ActionType
        fields = ("name", "category", "description", "args_schema")

    def clean_args_schema(self):
        schema = self.cleaned_data["args_schema"]
        errors = schema_errors(schema)
        if errors:
            raise forms.ValidationError(["This is not a valid JSON Schema (2020-12); every proposal of the "
                                         "action would be refused:", *errors[:5]])
        return schema


@admin.register(ActionType)
class ActionTypeAdmin(GovernedAdmin):
    form = ActionTypeForm
    list_display = ("name", "category")
    list_filter = ("category",)
    search_fields = ("name",)

    def save_model(self, request, obj, form, change):
        saved = services.action_type_save(action_type=obj if change else None, by=request.user,
                                          **form_changes(form, change))
        adopt(obj, saved)


@admin.register(AgentGroup)
class AgentGroupAdmin(GovernedAdmin):
    filter_horizontal = ("agents",)

    def save_model(self, request, obj, form, change):
        adopt(obj, services.agent_group_save(group=obj if change else None, by=request.user,
                                             **form_changes(form, change)))


class PolicyForm(forms.ModelForm):
    """The policy form, with the reason for a change: required to change a policy (kept in its history
    and in the audit event), optional when creating one."""

    change_reason = forms.CharField(
        label="Reason for this change", required=False, max_length=500, strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Required to change a policy: kept in its history and in the audit trail.")

    class Meta:
        model = Policy
        fields = ("name", "description", "priority", "is_active", "is_regulatory", "agents", "agent_groups", "domain",
                  "action_pattern", "category", "min_risk", "max_risk", "classification", "min_cost_usd",
                  "max_cost_usd", "outcome", "inbox", "escalate_to", "quorum", "min_confidence", "sla_seconds",
                  "expiry_seconds")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["change_reason"].required = self.instance.pk is not None


@admin.register(Policy)
class PolicyAdmin(GovernedAdmin):
    form = PolicyForm
    list_display = ("name", "priority", "matches", "decides", "version", "is_active")  # "decides" says the outcome
    list_display_links = ("name",)
    list_filter = ("is_active", "outcome", "is_regulatory", "domain")
    list_select_related = ("domain", "category", "inbox")
    history_list_display = ["version"]
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
        ("Why", {"fields": ("change_reason",)}),
        ("Changed", {"fields": ("updated_at", "updated_by")}),
    ]
    change_list_template = "admin/governance/policy/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("agents", "agent_groups")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if getattr(request, "_orchestra_history_page", False):  # an old version: nothing to give a reason for
            fieldsets = [(name, opts) for name, opts in fieldsets if name != "Why"]
        return fieldsets

    @admin.display(description="Matches")
    def matches(self, policy):
        return admin_display.policy_matches(policy)

    @admin.display(description="Decides")
    def decides(self, policy):
        return admin_display.policy_decides(policy)

    def save_model(self, request, obj, form, change):
        changes = form_changes(form, change)
        reason = form.cleaned_data.get("change_reason", "")
        if change:
            services.policy_update(policy=obj, by=request.user, reason=reason, **changes)
        else:
            adopt(obj, services.policy_create(by=request.user, reason=reason, **changes))


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    fields = ("name", "prefix", "created_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(ActionsNeedPermission):
    list_display = ("prefix", "name", "agent", "user", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "agent__name", "user__username")
    readonly_fields = ("agent", "user", "name", "prefix", "digest", "created_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # tokens are minted by services (agent admin, profile page, create_user_token)

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, never deleted: the record says which token acted

    def has_change_permission(self, request, obj=None):
        return False  # a token changes only by being revoked (the action below)

    def has_revoke_permission(self, request):
        return request.user.has_perm("governance.change_apitoken")

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke(self, request, queryset):
        for token in queryset:
            tokens.token_revoke(token=token)


# --- inboxes: who reviews them is a service's business ------------------------------------------------

class _ServiceObjectPermissions:
    """guardian's object-permission forms, saved through ``governance.services.object_permissions_set``."""

    by = None

    def get_obj_perms_field_choices(self):
        grantable = services.OBJECT_PERMISSIONS.get(type(self.obj), set())
        return [(codename, name) for codename, name in super().get_obj_perms_field_choices() if codename in grantable]

    def save_obj_perms(self):
        perms = self.cleaned_data[self.get_obj_perms_field_name()]
        target = {"user": self.user} if hasattr(self, "user") else {"group": self.group}
        services.object_permissions_set(obj=self.obj, perms=perms, by=self.by, **target)


class UserObjectPermissionsForm(_ServiceObjectPermissions, AdminUserObjectPermissionsForm):
    pass


class GroupObjectPermissionsForm(_ServiceObjectPermissions, AdminGroupObjectPermissionsForm):
    pass


class ServiceGuardedAdmin(GuardedModelAdmin):
    """GuardedModelAdmin whose object-permission pages grant through the roles service."""

    def get_obj_perms_manage_user_form(self, request):
        return type("UserPermsForm", (UserObjectPermissionsForm,), {"by": request.user})

    def get_obj_perms_manage_group_form(self, request):
        return type("GroupPermsForm", (GroupObjectPermissionsForm,), {"by": request.user})


@admin.register(Inbox)
class InboxAdmin(ServiceGuardedAdmin, GovernedAdmin):
    list_display = ("name", "slug", "domain", "level", "reviewers")
    list_filter = ("domain",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request, obj, form, change):
        changes = form_changes(form, change)
        if change:  # a new reviewers group: the old one loses view and decide, in the same transaction
            services.inbox_update(inbox=obj, by=request.user, **changes)
        else:
            adopt(obj, services.inbox_create(by=request.user, **changes))


from .audit import admin as audit_admin  # noqa: E402, F401  (registers the audit trail's admin)

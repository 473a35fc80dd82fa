"""Django admin as a product: branded Orchestra; the authority matrix reads as a table (levels × can
decide / must escalate) and changes through the governance service with a reason; a policy change asks
for a reason and records it (history and audit event); the policy history shows field names and
display values; the policy list fits the page; every model's names read right ("webhook deliveries")."""
import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import Client

from governance.audit.models import AuditEvent
from governance.models import AuthorityRule, Policy
from tests.admin_forms import form_data
from tests.factories import PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def root_client():
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def viewer_client():
    user = UserFactory(username="vera", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_authorityrule", "view_policy"]))
    client = Client()
    client.force_login(user)
    return client


def text(r) -> str:
    return re.sub(r"\s+", " ", r.content.decode())


def test_admin_is_branded_orchestra(root_client):
    page = text(root_client.get("/admin/"))
    assert "<title>Governance, records and the audit trail | Orchestra admin</title>" in page
    assert "Orchestra administration" in page and "Django administration" not in page


# --- the authority matrix ------------------------------------------------------------------------------

def test_the_matrix_reads_as_levels_by_can_decide_and_must_escalate(viewer_client):
    r = viewer_client.get("/admin/governance/authorityrule/")
    assert r.status_code == 200
    rows = r.context["rows"]
    assert [row["name"] for row in rows] == ["First-line review", "Domain orchestrator", "Enterprise board"]
    assert [rule.category.slug for rule in rows[0]["can_decide"]] == [
        "implementation_details", "tactical_approach", "tool_selection"]  # by label
    assert [rule.category.slug for rule in rows[2]["must_escalate"]] == [
        "compliance_issue", "major_incident", "strategic_change"]
    page = text(r)
    assert page.count('<tr data-level="') == 3  # three rows, not eighteen
    assert "<th scope=\"col\">Can decide</th><th scope=\"col\">Must escalate</th>" in page
    assert "Scope changes" in page  # categories by their label
    assert "Change the matrix" not in page  # view only: no grid


def test_view_only_staff_cannot_change_the_matrix(viewer_client):
    rule = AuthorityRule.objects.get(level="agent", category__slug="scope_change")
    r = viewer_client.post("/admin/governance/authorityrule/", {f"rule-{rule.pk}": "can_decide", "reason": "x"})
    assert r.status_code == 403
    assert AuthorityRule.objects.get(pk=rule.pk).mode == "must_escalate"


def test_the_matrix_grid_needs_a_reason_and_changes_nothing_without_one(root_client):
    rule = AuthorityRule.objects.get(level="agent", category__slug="scope_change")
    r = root_client.post("/admin/governance/authorityrule/", {f"rule-{rule.pk}": "can_decide", "reason": " "})
    assert r.status_code == 422
    assert "Say why the matrix changes" in text(r)
    assert AuthorityRule.objects.get(pk=rule.pk).mode == "must_escalate"


def test_the_matrix_grid_changes_only_the_cells_that_changed_with_the_reason_audited(root_client):
    rules = {(r.level, r.category.slug): r for r in AuthorityRule.objects.select_related("category")}
    scope, tactics = rules["agent", "scope_change"], rules["agent", "tactical_approach"]
    before = AuditEvent.objects.count()
    r = root_client.post("/admin/governance/authorityrule/", {
        f"rule-{scope.pk}": "can_decide", f"rule-{tactics.pk}": "can_decide", "reason": "Pilot: agents scope."})
    assert r.status_code == 302
    assert AuthorityRule.history.filter(id=tactics.pk).count() == 0  # unchanged: no new version
    event = AuditEvent.objects.order_by("-timestamp").first()
    assert AuditEvent.objects.count() == before + 1 and event.details["reasoning"] == "Pilot: agents scope."


def test_the_plain_list_of_cells_is_still_there(root_client):
    r = root_client.get("/admin/governance/authorityrule/?o=1.2")
    assert r.status_code == 200 and "18 authority matrix" in text(r)


# --- policies: a reason, a readable history, a list that fits ----------------------------------------

def test_a_policy_change_needs_a_reason(root_client):
    policy = PolicyFactory(name="Deploys", action_pattern="deploy.*")
    r = root_client.post(f"/admin/governance/policy/{policy.pk}/change/", form_data(policy, priority=7))
    assert r.status_code == 200 and "change_reason" in r.context["adminform"].form.errors
    stored = Policy.objects.get(pk=policy.pk)
    assert stored.priority == policy.priority and stored.version == 1


def test_a_policy_change_records_its_reason_in_history_and_audit(root_client):
    policy = PolicyFactory(name="Deploys", action_pattern="deploy.*")
    r = root_client.post(f"/admin/governance/policy/{policy.pk}/change/",
                         form_data(policy, priority=7, change_reason="Deploys before the catch-all."))
    assert r.status_code == 302
    version = Policy.history.filter(id=policy.pk).latest()
    assert version.version == 2 and version.history_change_reason == "Deploys before the catch-all."
    event = AuditEvent.objects.filter(action_type="policy_change").order_by("-timestamp").first()
    assert event.details["reasoning"] == "Deploys before the catch-all." and "(v2)" in event.summary


def test_the_policy_form_asks_for_the_reason(root_client):
    policy = PolicyFactory(name="Deploys", action_pattern="deploy.*")
    page = text(root_client.get(f"/admin/governance/policy/{policy.pk}/change/"))
    assert "Reason for this change" in page and 'name="change_reason"' in page


def test_the_policy_history_shows_field_names_and_display_values(root_client, platform_inbox):
    policy = PolicyFactory(name="Deploys", action_pattern="deploy.*", outcome="review")
    r = root_client.post(f"/admin/governance/policy/{policy.pk}/change/", form_data(
        policy, outcome="escalate", escalate_to="domain", inbox=platform_inbox.pk, change_reason="Escalate deploys."))
    assert r.status_code == 302, r.context["adminform"].form.errors
    page = text(root_client.get(f"/admin/governance/policy/{policy.pk}/history/"))
    assert "Escalate deploys." in page
    assert "<strong>Outcome:</strong> Review in an inbox &nbsp;&rarr;&nbsp;&nbsp;Escalate to a level" in page
    assert "<strong>Inbox:</strong> — &nbsp;&rarr;&nbsp;&nbsp;Platform reviewers" in page
    assert "<strong>Escalate to:</strong> — &nbsp;&rarr;&nbsp;&nbsp;Domain orchestrator" in page
    assert "escalate_to" not in page.split('id="change-history"')[1]  # no raw field names in the table


def test_the_policy_list_fits_the_page(root_client, platform_inbox):
    PolicyFactory(name="Deploys", action_pattern="deploy.*", min_risk="high", quorum=2, inbox=platform_inbox)
    r = root_client.get("/admin/governance/policy/")
    assert len(admin.site._registry[Policy].list_display) <= 7
    page = text(r)
    assert "deploy.* · risk high–critical" in page
    assert "Review in Platform reviewers, 2 approvers" in page


# --- names -------------------------------------------------------------------------------------------

def plural_of(name: str) -> str:
    if name.endswith("y") and name[-2:-1] not in "aeiou":
        return name[:-1] + "ies"
    if name.endswith(("s", "x", "ch", "sh")):
        return name + "es"
    return name + "s"


IRREGULAR = {"incident settings": "incident settings", "authority matrix cell": "authority matrix"}


@pytest.mark.parametrize("model", [m for m in apps.get_models()
                                   if m._meta.app_label in ("governance", "inbox", "incidents", "reports")
                                   and "_" not in m.__name__],  # not simple-history's many-to-many tables
                         ids=lambda m: m.__name__)
def test_every_model_has_a_right_plural(model):
    opts = model._meta
    singular = str(opts.verbose_name)
    expected = IRREGULAR.get(singular.removeprefix("historical "))
    if expected is not None and singular.startswith("historical "):
        expected = "historical " + expected
    assert str(opts.verbose_name_plural) == (expected or plural_of(singular))


def test_names_that_read_right():
    assert apps.get_model("inbox", "WebhookDelivery")._meta.verbose_name_plural == "webhook deliveries"
    assert apps.get_model("governance", "ApiToken")._meta.verbose_name == "API token"
    assert apps.get_model("incidents", "TimelineEntry")._meta.verbose_name_plural == "timeline entries"

"""Django admin keeps decisions and history as they were: history pages are readable and never revert
(``SIMPLE_HISTORY_REVERT_DISABLED``, enforced on POST by ``governance.admin.GovernedAdmin``), proposals,
votes, escalations and webhook deliveries are read-only, governed records are never deleted.

The revert tests fail when the setting is removed: simple-history's revert saves whatever the history
form posts (an agent un-suspended, a policy that was never one of its versions)."""
import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from governance import services as governance_services
from governance.models import Agent, Policy
from inbox import services
from inbox.models import Escalation, Proposal, Vote, WebhookDelivery
from tests.admin_forms import action, form_data
from tests.conftest import PROPOSAL
from tests.factories import PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def root():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def root_client(root):
    client = Client()
    client.force_login(root)
    return client


@pytest.fixture
def viewer_client():
    """Staff with only the view permissions of the models below."""
    user = UserFactory(username="vera", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=[
        "view_proposal", "view_agent", "view_policy", "view_escalation", "view_webhookdelivery"]))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def decided(agent, alice):
    p = services.proposal_submit(agent=agent, data=dict(PROPOSAL, risk="low", confidence=0.3))[0]
    return services.proposal_decide(proposal=p, reviewer=alice, verdict="approve")


def first_version(model, obj):
    return model.history.filter(id=obj.pk).earliest()


def revert_url(model, obj, version):
    opts = model._meta
    return f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/history/{version.history_id}/"


# --- revert is refused, for superusers too ---------------------------------------------------------

def test_reverting_a_decided_proposal_changes_nothing(root_client, decided):
    old = first_version(Proposal, decided)
    assert old.status == "pending"
    r = root_client.post(revert_url(Proposal, decided, old), form_data(old.instance, inlines=["votes"]))
    assert r.status_code == 403
    p = Proposal.objects.get(pk=decided.pk)
    assert p.status == "approved" and p.decided_by.username == "alice"


def test_reverting_an_agent_does_not_lift_its_suspension(root_client, agent, root):
    services.agent_suspend(agent=agent, by=root, reason="Runaway loop.")
    old = first_version(Agent, agent)
    assert old.status == "active"
    r = root_client.post(revert_url(Agent, agent, old), form_data(old.instance, inlines=["tokens"]))
    assert r.status_code == 403
    assert Agent.objects.get(pk=agent.pk).status == "suspended"


def test_reverting_a_policy_cannot_write_a_version_it_never_had(root_client, root):
    policy = PolicyFactory(name="Deploys", action_pattern="deploy.*", priority=500)
    governance_services.policy_update(policy=policy, by=root, priority=400)
    old = first_version(Policy, policy)
    forged = form_data(old.instance, priority=99, outcome="auto_approve")
    r = root_client.post(revert_url(Policy, policy, old), forged)
    assert r.status_code == 403
    policy = Policy.objects.get(pk=policy.pk)
    assert (policy.priority, policy.outcome) == (400, "review")
    assert Policy.history.filter(id=policy.pk).count() == 2


def test_view_only_staff_cannot_revert_either(viewer_client, agent, root):
    services.agent_suspend(agent=agent, by=root, reason="Runaway loop.")
    old = first_version(Agent, agent)
    r = viewer_client.post(revert_url(Agent, agent, old), form_data(old.instance, inlines=["tokens"]))
    assert r.status_code == 403 and Agent.objects.get(pk=agent.pk).status == "suspended"


# --- history stays readable --------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["root_client", "viewer_client"])
def test_history_pages_are_readable(request, who, decided, agent):
    client = request.getfixturevalue(who)
    for model, obj in [(Proposal, decided), (Agent, agent)]:
        opts = model._meta
        r = client.get(f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/history/")
        assert r.status_code == 200
        r = client.get(revert_url(model, obj, first_version(model, obj)))
        assert r.status_code == 200 and b'name="_save"' not in r.content  # no Revert button
        assert b'name="team"' not in r.content and b'name="summary"' not in r.content  # values, not inputs


# --- the work is read-only in admin --------------------------------------------------------------------

def test_a_proposal_cannot_be_changed_in_admin(root_client, decided):
    data = form_data(decided, inlines=["votes"], status="pending", decision_comment="rewritten")
    r = root_client.post(f"/admin/inbox/proposal/{decided.pk}/change/", data)
    assert r.status_code == 403
    assert Proposal.objects.get(pk=decided.pk).status == "approved"


def test_the_proposal_page_is_readable_with_its_votes(root_client, decided):
    r = root_client.get(f"/admin/inbox/proposal/{decided.pk}/change/")
    assert r.status_code == 200 and b"alice" in r.content and b'name="status"' not in r.content


@pytest.mark.parametrize("model", [Proposal, Escalation, WebhookDelivery, Agent, Policy])
def test_nothing_is_deleted_in_admin(root_client, model, decided, agent):
    p = Proposal.objects.get(pk=decided.pk)
    obj = {Proposal: p, Agent: agent, Policy: PolicyFactory(name="Any"),
           Escalation: Escalation.objects.create(proposal=p, to_level="domain", reason="x"),
           WebhookDelivery: WebhookDelivery.objects.create(proposal=p, attempt=1)}[model]
    opts = model._meta
    base = f"/admin/{opts.app_label}/{opts.model_name}/"
    assert root_client.post(f"{base}{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    assert root_client.post(base, action("delete_selected", obj) | {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_escalations_and_deliveries_cannot_be_changed(root_client, decided):
    p = Proposal.objects.get(pk=decided.pk)
    esc = Escalation.objects.create(proposal=p, to_level="domain", reason="x")
    delivery = WebhookDelivery.objects.create(proposal=p, attempt=1)
    r = root_client.post(f"/admin/inbox/escalation/{esc.pk}/change/", form_data(esc, reason="rewritten"))
    assert r.status_code == 403 and Escalation.objects.get(pk=esc.pk).reason == "x"
    r = root_client.post(f"/admin/inbox/webhookdelivery/{delivery.pk}/change/", form_data(delivery, delivered=True))
    assert r.status_code == 403 and not WebhookDelivery.objects.get(pk=delivery.pk).delivered
    assert Vote.objects.filter(proposal=p).count() == 1

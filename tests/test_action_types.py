"""Action types' data contracts: a JSON Schema is checked when it is saved (service and admin form), and
a schema that is broken anyway (written around the service) refuses proposals with 422, never a 500."""
import pytest

from governance import services, snapshot
from governance.action_types import schema_errors
from governance.models import ActionCategory, ActionType
from orchestra_site.errors import InvalidInput
from tests.conftest import PROPOSAL
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
TYPO = {"type": "object", "properties": {"service": {"type": "strng"}}}


def test_the_default_schemas_are_valid():
    assert all(schema_errors(a.args_schema) == [] for a in ActionType.objects.all())


@pytest.mark.parametrize("schema", [TYPO, {"type": "object", "required": "service"}, {"minLength": -1}, []])
def test_schema_errors_names_what_is_wrong(schema):
    assert schema_errors(schema)


def test_the_service_refuses_an_invalid_schema_and_saves_nothing():
    action_type = ActionType.objects.get(name="deploy.rollback")
    before = action_type.args_schema
    with pytest.raises(InvalidInput) as exc:
        services.action_type_save(action_type=action_type, by=None, args_schema=TYPO)
    assert exc.value.field == "args_schema" and exc.value.code == "invalid_schema" and "strng" in exc.value.message
    assert ActionType.objects.get(pk=action_type.pk).args_schema == before


def test_the_service_saves_a_valid_schema_naming_who():
    root = UserFactory(username="root")
    category = ActionCategory.objects.get(slug="tactical_approach")
    schema = {"type": "object", "required": ["queue"], "properties": {"queue": {"type": "string"}}}
    created = services.action_type_save(by=root, name="queue.drain", category=category, args_schema=schema)
    version = ActionType.history.filter(id=created.pk).latest()
    assert version.args_schema == schema and version.history_user == root


def test_a_broken_stored_schema_refuses_submissions_with_422_not_500(agent_client, proposal_body):
    ActionType.objects.filter(name="deploy.rollback").update(args_schema=TYPO)  # around the service
    snapshot.bump_version()
    r = agent_client.post_json("/api/v1/proposals", proposal_body)
    assert r.status_code == 422, r.content
    assert r.json()["code"] == "invalid_contract" and r.json()["field"] == "action"


def test_a_broken_stored_schema_refuses_an_edit_with_422(agent, alice_client):
    from inbox import services as inbox_services

    p = inbox_services.proposal_submit(agent=agent, data=dict(PROPOSAL, risk="low", confidence=0.3))[0]
    ActionType.objects.filter(name="deploy.rollback").update(args_schema={"$ref": "#/nowhere"})
    snapshot.bump_version()
    r = alice_client.post_json(f"/api/v1/proposals/{p.pk}/decision",
                               {"verdict": "edit", "args": {"service": "payments", "to_version": "1"}})
    assert r.status_code == 422, r.content
    assert r.json()["code"] == "invalid_contract" and r.json()["field"] == "action"

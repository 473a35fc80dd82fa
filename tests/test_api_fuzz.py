"""Nothing a fuzzer can break: Schemathesis over the whole OpenAPI schema finds no server error (500).

- Every operation is fuzzed as an agent and as a reviewer (an admin, who may do everything), with
  valid and invalid data. A generated proposal id that is a well-formed UUID is swapped for a fresh
  pending proposal, so decisions, escalations and reads reach the database instead of a 404.
- The HumanLayer-compatible API (``/humanlayer/v1``, its own schema) is fuzzed as the agent whose
  token the SDK carries.
- The stateful phase then follows the schema's links (a proposal's ``id`` to read, wait for, decide
  and escalate it), each call with the token its route takes; every scenario starts from the same
  database (its writes are rolled back).

Runs in process over WSGI on whichever database the suite runs on (SQLite, or PostgreSQL in CI's
second pass); derandomized, so a failure reproduces. About a minute per backend on two cores.
"""
import os
import uuid

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from governance import services as governance_services
from governance import tokens
from governance.services import domain_get_or_create
from inbox import services
from orchestra_site.wsgi import application
from tests.conftest import PROPOSAL
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# 25 examples per operation keeps CI at about a minute per backend; ORCHESTRA_FUZZ_EXAMPLES=500 digs deeper.
FUZZ = settings(max_examples=int(os.environ.get("ORCHESTRA_FUZZ_EXAMPLES", 25)), deadline=None, derandomize=True,
                database=None, suppress_health_check=list(HealthCheck))
CHECKS = [not_a_server_error]
AGENT_ROUTES = {"inbox_api_submit_proposal", "inbox_api_list_own_proposals", "inbox_api_wait_for_decision"}

# Loaded once at collection, over WSGI (the schema route touches no database).
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
# The HumanLayer-compatible API has its own schema; every route takes the agent's token.
humanlayer_schema = schemathesis.openapi.from_wsgi("/humanlayer/v1/openapi.json", application)


@pytest.fixture(autouse=True)
def in_process(settings):
    """Requests run inside the test's transaction (as Django's test client runs them), and
    long-polls answer at once."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    settings.ORCHESTRA_LONG_POLL_MAX_SECONDS = 0.01
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(db):
    """An agent with pending proposals in its domain's inbox, and an admin reviewer; their tokens."""
    agent, agent_token = governance_services.agent_create(name="fuzz-bot", domain=domain_get_or_create(name="Platform"))
    admin = UserFactory(username="fuzz-admin", is_staff=True, is_superuser=True)

    def pending() -> str:
        return str(services.proposal_submit(agent=agent, data=_proposal())[0].pk)

    for _ in range(3):
        pending()
    return {"agent": agent_token, "reviewer": tokens.user_token_create(user=admin)[1], "pending": pending}


def _proposal() -> dict:
    from inbox.schemas import ProposalIn

    return ProposalIn(**PROPOSAL).to_model_fields()


def _on_a_real_proposal(case, world) -> None:
    value = (case.path_parameters or {}).get("proposal_id")
    try:
        uuid.UUID(str(value))
    except ValueError:
        return  # an invalid id is part of the test
    case.path_parameters["proposal_id"] = world["pending"]()


@schema.parametrize()
@FUZZ
def test_no_input_from_an_agent_is_a_server_error(case, world):
    _on_a_real_proposal(case, world)
    case.call_and_validate(headers={"Authorization": f"Bearer {world['agent']}"}, checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_no_input_from_a_reviewer_is_a_server_error(case, world):
    _on_a_real_proposal(case, world)
    case.call_and_validate(headers={"Authorization": f"Bearer {world['reviewer']}"}, checks=CHECKS)


@humanlayer_schema.parametrize()
@FUZZ
def test_no_input_to_the_humanlayer_api_is_a_server_error(case, world):
    case.call_and_validate(headers={"Authorization": f"Bearer {world['agent']}"}, checks=CHECKS)


def test_no_sequence_of_calls_is_a_server_error(world):
    class Workflow(schema.as_state_machine()):
        def setup(self):
            self.savepoint = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)

        def get_call_kwargs(self, case):
            who = "agent" if case.operation.definition.raw.get("operationId") in AGENT_ROUTES else "reviewer"
            return {"headers": {"Authorization": f"Bearer {world[who]}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS)

    Workflow.run(settings=settings(FUZZ, stateful_step_count=6))

"""Fixtures of the incident tests (imported by name in each ``tests/test_incidents_*.py``).

- ``ops``: domain Operations; its responder group "Ops responders" (``DomainResponse``) with
  subscribers status@example.com and cto@example.com.
- ``ines`` and ``raj``: responders of Operations. ``olivia``: its orchestrator. ``erin``: the board.
  ``audrey``: auditor. ``mallory``: signed in, no role anywhere.
- ``monitor`` / ``rca``: Operations agents with tokens (``monitor_client`` …). ``stranger``: a Platform agent.
"""
import pytest
from django.contrib.auth.models import Group

from governance import services as governance_services
from governance import tokens
from governance.roles import domain_orchestrator_grant, global_role_grant
from governance.services import domain_get_or_create
from incidents import services
from tests.conftest import TokenClient
from tests.factories import UserFactory


@pytest.fixture
def ops(db):
    domain = domain_get_or_create(name="Operations")
    services.domain_response_set(domain=domain, by=None, responders=Group.objects.create(name="Ops responders"),
                                 subscribers="status@example.com\ncto@example.com\n")
    return domain


def _responder(ops, name):
    user = UserFactory(username=name)
    user.groups.add(ops.incident_response.responders)
    return user


@pytest.fixture
def ines(ops):
    return _responder(ops, "ines")


@pytest.fixture
def raj(ops):
    return _responder(ops, "raj")


@pytest.fixture
def olivia(ops):
    user = UserFactory(username="olivia")
    domain_orchestrator_grant(user=user, domain=ops)
    return user


@pytest.fixture
def erin(db):
    user = UserFactory(username="erin")
    global_role_grant(user=user, role="enterprise_governance")
    return user


@pytest.fixture
def audrey(db):
    user = UserFactory(username="audrey")
    global_role_grant(user=user, role="audit")
    return user


@pytest.fixture
def mallory(db):
    return UserFactory(username="mallory")


@pytest.fixture
def monitor_and_token(ops):
    return governance_services.agent_create(name="monitor-bot", domain=ops, team="SRE")


@pytest.fixture
def monitor(monitor_and_token):
    return monitor_and_token[0]


@pytest.fixture
def monitor_client(monitor_and_token):
    return TokenClient(monitor_and_token[1])


@pytest.fixture
def rca_and_token(ops):
    return governance_services.agent_create(name="rca-bot", domain=ops, team="SRE")


@pytest.fixture
def rca(rca_and_token):
    return rca_and_token[0]


@pytest.fixture
def rca_client(rca_and_token):
    return TokenClient(rca_and_token[1])


@pytest.fixture
def stranger_client(db):
    return TokenClient(governance_services.agent_create(name="stranger-bot", domain=domain_get_or_create(
        name="Platform"))[1])


def person_client(user):
    return TokenClient(tokens.user_token_create(user=user)[1])


def candidate(agent, **fields):
    """A candidate raised by ``agent`` (SEV-2 on service:payments / error_rate_high unless told)."""
    body = {"title": "Payments error rate at 4 %", "severity": "SEV-2", "domain": agent.domain,
            "resource": "service:payments", "symptom": "error_rate_high", "summary": "5xx on /charge"}
    body.update(fields)
    incident, _ = services.incident_report(reporter=agent, **body)
    return incident


def accepted(agent, user, **fields):
    incident = candidate(agent, **fields)
    return services.incident_set_status(incident=incident, status="investigating", by=user)

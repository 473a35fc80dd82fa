"""Shared fixtures: a domain with its default inbox, fixed reviewers per role, agents with tokens.

- ``platform``: domain "Platform" with default inbox ``platform-reviewers`` (group "Platform reviewers").
- ``alice``: reviewer of the platform inbox (view + decide). ``bob``: reviewer of another inbox ("legal").
- ``auditor``: global view permission, no decide. ``agent`` / ``other_agent``: Platform agents.
- ``agent_client`` / ``alice_client`` …: Django test clients sending their bearer token.
"""
import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from governance import services as governance_services
from governance import tokens
from governance.services import domain_get_or_create
from tests.factories import UserFactory

pytest_plugins = ["tests.incident_fixtures"]  # ops, ines, monitor, … (the incident tests' fixtures)


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_postgres = "postgresql" in settings.DATABASES["default"]["ENGINE"]
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)"))


@pytest.fixture(autouse=True)
def fresh_governance_snapshot():
    """Each test sees its own policies: forget the process-local snapshot, and the rate-limit windows."""
    from governance import limits, snapshot

    snapshot.reset()
    snapshot._bump()  # servers in other processes (live-server tests) reload too
    limits._limiter.cache_clear()
    yield
    snapshot.reset()


class TokenClient(Client):
    def __init__(self, token, **kwargs):
        super().__init__(HTTP_AUTHORIZATION=f"Bearer {token}", **kwargs)

    def post_json(self, path, data, **headers):
        return self.post(path, data=data, content_type="application/json", headers=headers)


@pytest.fixture
def platform(db):
    return domain_get_or_create(name="Platform")


@pytest.fixture
def platform_inbox(platform):
    return platform.default_inbox


@pytest.fixture
def legal_inbox(db):
    return governance_services.inbox_create(slug="legal", name="Legal", domain=domain_get_or_create(name="Product"),
                                 reviewers=Group.objects.create(name="Legal"))


@pytest.fixture
def alice(platform_inbox):
    user = UserFactory(username="alice")
    user.groups.add(platform_inbox.reviewers)
    return user


@pytest.fixture
def bob(legal_inbox):
    user = UserFactory(username="bob")
    user.groups.add(legal_inbox.reviewers)
    return user


@pytest.fixture
def auditor(db):
    user = UserFactory(username="audrey")  # the audit role: read-only everywhere, the whole audit trail
    user.user_permissions.add(Permission.objects.get(codename="view_inbox"), Permission.objects.get(codename="audit"))
    return user


@pytest.fixture
def agent_and_token(platform):
    return governance_services.agent_create(name="deploy-bot", domain=platform, team="SRE")


@pytest.fixture
def agent(agent_and_token):
    return agent_and_token[0]


@pytest.fixture
def agent_client(agent_and_token):
    return TokenClient(agent_and_token[1])


@pytest.fixture
def other_agent_client(platform):
    return TokenClient(governance_services.agent_create(name="other-bot", domain=platform)[1])


@pytest.fixture
def alice_client(alice):
    return TokenClient(tokens.user_token_create(user=alice)[1])


@pytest.fixture
def bob_client(bob):
    return TokenClient(tokens.user_token_create(user=bob)[1])


@pytest.fixture
def auditor_client(auditor):
    return TokenClient(tokens.user_token_create(user=auditor)[1])


PROPOSAL = {
    "action": "deploy.rollback",
    "resource": "service:payments",
    "args": {"service": "payments", "to_version": "2026.11.3"},
    "summary": "Roll back payments to 2026.11.3",
    "reasoning": "Error rate rose from 0.1% to 4% after the last deploy.",
    "risk": "high",
    "confidence": 0.82,
    "cost_usd": "0.40",
    "classification": "internal",
    "related_tasks": ["INC-1042"],
}


@pytest.fixture
def proposal_body():
    return dict(PROPOSAL)

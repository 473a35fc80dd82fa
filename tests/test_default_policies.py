"""Routing of every default policy (governance/defaults.py), through ``proposal_submit``.

One row per policy: which agent proposes what, and where it must end up (policy, outcome, inbox,
quorum). Plus the rules around them: a regulatory policy never auto-approves, a confident proposal
below an auto-approve threshold falls through to the next policy, and nothing matching means the
domain's default inbox (never auto-approval).
"""
from decimal import Decimal

import pytest

from governance import services as governance_services
from governance.defaults import DEFAULT_POLICIES, seed_policies
from governance.services import domain_get_or_create
from inbox import services
from inbox.models import Proposal
from orchestra_site.errors import Forbidden

pytestmark = pytest.mark.django_db

INBOXES = {"legal": "Product", "content-editors": "Product", "incident-commanders": "Operations",
           "platform-reviewers": "Platform", "qa-release": "Platform", "support-triage": "Operations"}
AGENTS = {"intake-triage-bot": "Operations", "ops-handoff-bot": "Platform", "content-pipeline-bot": "Product",
          "qa-release-bot": "Platform"}


def make_inboxes() -> dict:
    """The three domains (each creates its default and orchestrator inboxes) and the named inboxes."""
    domains = {name: domain_get_or_create(name=name) for name in {"Product", "Platform", "Operations"}}
    for slug, domain in INBOXES.items():
        if not domains[domain].inboxes.filter(slug=slug).exists():
            governance_services.inbox_create(slug=slug, name=slug.replace("-", " ").title(), domain=domains[domain])
    return domains


@pytest.fixture
def fleet(db):
    domains = make_inboxes()
    agents = {name: governance_services.agent_create(name=name, domain=domains[d])[0] for name, d in AGENTS.items()}
    assert seed_policies() == len(DEFAULT_POLICIES)
    return agents


def propose(agent, action, args, **fields):
    data = {"action": action, "args": args, "summary": f"{action} test", "resource": "", "reasoning": "",
            "risk": "medium", "confidence": 0.5, "cost_usd": Decimal("0"), "classification": "internal",
            "related_tasks": [], "callback_url": "", "expires_at": None, **fields}
    return services.proposal_submit(agent=agent, data=data)[0]


ROLLBACK = {"service": "payments", "to_version": "2026.11.3"}
FIREWALL = {"rule_id": "fw-12", "action": "allow", "cidr": "10.0.0.0/8", "port": 443}
# (policy name, agent, action, args, extra fields) -> (status, inbox slug or None, quorum)
CASES = [
    ("Critical risk goes to the domain orchestrator", "ops-handoff-bot", "deploy.rollback", ROLLBACK,
     {"risk": "critical"}, ("pending", "platform-orchestrators", 2)),
    ("Big spend goes to the domain orchestrator", "ops-handoff-bot", "service.restart", {"service": "search"},
     {"cost_usd": Decimal("250")}, ("pending", "platform-orchestrators", 1)),
    ("Sensitive data needs Legal", "intake-triage-bot", "ticket.route", {"ticket_id": "T-1", "queue": "billing"},
     {"classification": "sensitive", "risk": "low", "confidence": 0.99}, ("pending", "legal", 1)),
    ("External email goes to Legal", "content-pipeline-bot", "email.send_external", {"to": ["a@example.com"]},
     {"risk": "low", "confidence": 1.0}, ("pending", "legal", 1)),
    ("Legal flags go to Legal", "intake-triage-bot", "ticket.flag_legal", {"ticket_id": "T-2"}, {},
     ("pending", "legal", 1)),
    ("Editor sign-off before publishing", "content-pipeline-bot", "content.publish_article", {"slug": "hello"},
     {"risk": "low", "confidence": 0.95}, ("pending", "content-editors", 1)),
    ("Firewall changes need two incident commanders", "ops-handoff-bot", "firewall.update_rule", FIREWALL, {},
     ("pending", "incident-commanders", 2)),
    ("Service restarts to incident commanders", "ops-handoff-bot", "service.restart", {"service": "search"}, {},
     ("pending", "incident-commanders", 1)),
    ("Deploys to platform reviewers", "ops-handoff-bot", "deploy.rollback", ROLLBACK, {"risk": "high"},
     ("pending", "platform-reviewers", 2)),
    ("Release holds go to the domain orchestrator", "qa-release-bot", "release.hold", {"release": "2026.12.1"}, {},
     ("pending", "platform-orchestrators", 1)),
    ("Confident low-risk bug tickets auto-approve", "qa-release-bot", "ticket.file_bug", {"title": "Crash on save"},
     {"risk": "low", "confidence": 0.8}, ("approved", None, 1)),
    ("QA tickets to QA & release", "qa-release-bot", "ticket.file_bug", {"title": "Crash on save"},
     {"risk": "low", "confidence": 0.79}, ("pending", "qa-release", 1)),
    ("Confident low-risk, cheap ticket routing auto-approves", "intake-triage-bot", "ticket.route",
     {"ticket_id": "T-3", "queue": "billing"}, {"risk": "low", "confidence": 0.85, "cost_usd": Decimal("1")},
     ("approved", None, 1)),
    ("Ticket routing to support triage", "intake-triage-bot", "ticket.route", {"ticket_id": "T-4", "queue": "x"},
     {"risk": "low", "confidence": 0.85, "cost_usd": Decimal("1.01")}, ("pending", "support-triage", 1)),
]


def test_every_default_policy_has_a_case():
    names = {name for name, *_ in DEFAULT_POLICIES}
    covered = {case[0] for case in CASES} | {"Intake agents never touch firewalls"}
    assert covered == names


@pytest.mark.parametrize(("policy", "agent", "action", "args", "fields", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_default_policy_routes(fleet, policy, agent, action, args, fields, expected):
    p = propose(fleet[agent], action, args, **fields)
    status, inbox, quorum = expected
    assert p.policy.name == policy, p.routing_reason
    assert (p.status, p.inbox.slug if p.inbox else None, p.quorum) == (status, inbox, quorum)
    assert policy in p.routing_reason and p.policy_version is not None


def test_intake_agents_never_touch_firewalls(fleet):
    with pytest.raises(Forbidden) as refused:
        propose(fleet["intake-triage-bot"], "firewall.update_rule", FIREWALL, risk="low", confidence=1.0)
    assert refused.value.code == "forbidden_by_policy"
    p = Proposal.objects.get(agent=fleet["intake-triage-bot"])
    assert p.status == "refused" and p.policy.name == "Intake agents never touch firewalls" and p.inbox is None


def test_the_same_firewall_change_from_an_ops_agent_is_reviewed(fleet):
    p = propose(fleet["ops-handoff-bot"], "firewall.update_rule", FIREWALL)
    assert p.status == "pending" and p.inbox.slug == "incident-commanders"


def test_nothing_matching_goes_to_the_domains_default_inbox_never_auto_approved(fleet):
    p = propose(fleet["qa-release-bot"], "kb.update_article", {"slug": "faq"}, risk="low", confidence=1.0)
    assert p.status == "pending" and p.policy is None
    assert p.inbox == fleet["qa-release-bot"].domain.default_inbox


def test_a_policy_naming_a_missing_agent_is_not_seeded_broader(db):
    """Seeded before its agent exists, "Intake agents never touch firewalls" would forbid every agent."""
    make_inboxes()
    assert seed_policies() == len(DEFAULT_POLICIES) - 1
    governance_services.agent_create(name="intake-triage-bot", domain=domain_get_or_create(name="Operations"))
    assert seed_policies() == 1

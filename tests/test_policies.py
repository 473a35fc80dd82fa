"""Policy routing: deterministic matching, outcomes, the authority matrix, quorum defaults, dry-run."""
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from governance import services as governance_services
from governance.models import Domain, Inbox, Level, Policy
from governance.policies import Facts, evaluate
from governance.services import domain_get_or_create, enterprise_inbox
from inbox.models import Proposal
from tests.factories import AgentFactory, InboxFactory, PolicyFactory

pytestmark = pytest.mark.django_db
P = "/api/v1/proposals"


def facts(domain, **kw):
    base = dict(agent_id=kw.pop("agent_id", 0), domain_id=domain.id, action="deploy.rollback", risk="medium",
                confidence=0.5, cost_usd=Decimal("0"), classification="internal")
    return Facts(**{**base, **kw})


def test_nothing_matches_so_a_human_in_the_default_inbox_decides(platform):
    ev = evaluate(facts(platform))
    assert (ev.outcome, ev.level, ev.quorum, ev.policy_id) == ("review", "agent", 1, None)
    assert "safe fallback" in ev.reason


def test_a_new_domain_gets_reviewer_and_orchestrator_inboxes():
    domain = domain_get_or_create(name="Finance")
    assert domain.default_inbox.slug == "finance-reviewers" and domain.default_inbox.level == Level.AGENT
    assert domain.orchestrator_inbox.slug == "finance-orchestrators" and domain.orchestrator_inbox.level == "domain"
    assert domain_get_or_create(name="finance") == domain


def test_it_matches_an_action_glob(platform):
    policy = PolicyFactory(action_pattern="deploy.*", inbox=InboxFactory())
    assert evaluate(facts(platform)).policy_id == policy.id
    assert evaluate(facts(platform, action="email.send_external")).policy_id is None


def test_lower_priority_wins_whatever_the_creation_order(platform):
    PolicyFactory(priority=50)
    early = PolicyFactory(priority=10)
    assert evaluate(facts(platform)).policy_id == early.id


def test_ties_go_to_the_older_policy(platform):
    older = PolicyFactory(priority=10)
    PolicyFactory(priority=10)
    assert evaluate(facts(platform)).policy_id == older.id


@pytest.mark.parametrize(("field", "value", "fact", "hit", "miss"), [
    ("min_risk", "high", "risk", "critical", "medium"),
    ("max_risk", "low", "risk", "low", "medium"),
    ("classification", "sensitive", "classification", "sensitive", "internal"),
    ("min_cost_usd", Decimal("100"), "cost_usd", Decimal("150"), Decimal("99.99")),
    ("max_cost_usd", Decimal("1"), "cost_usd", Decimal("1"), Decimal("1.01")),
])
def test_each_condition_filters(platform, field, value, fact, hit, miss):
    policy = PolicyFactory(**{field: value})
    assert evaluate(facts(platform, **{fact: hit})).policy_id == policy.id
    assert evaluate(facts(platform, **{fact: miss})).policy_id is None


def test_agent_and_agent_group_conditions(platform):
    from governance.models import AgentGroup

    a, b, c = AgentFactory(domain=platform), AgentFactory(domain=platform), AgentFactory(domain=platform)
    group = AgentGroup.objects.create(name="Release bots")
    group.agents.add(b)
    policy = PolicyFactory()
    policy.agents.add(a)
    policy.agent_groups.add(group)
    assert evaluate(facts(platform, agent_id=a.id)).policy_id == policy.id
    assert evaluate(facts(platform, agent_id=b.id)).policy_id == policy.id
    assert evaluate(facts(platform, agent_id=c.id)).policy_id is None


def test_domain_condition(platform):
    other = domain_get_or_create(name="Product")
    policy = PolicyFactory(domain=other)
    assert evaluate(facts(platform)).policy_id is None
    assert evaluate(facts(other)).policy_id == policy.id


def test_inactive_policies_are_ignored(platform):
    PolicyFactory(is_active=False)
    assert evaluate(facts(platform)).policy_id is None


def test_forbid(platform):
    PolicyFactory(outcome=Policy.Outcome.FORBID)
    assert evaluate(facts(platform)).outcome == "forbid"


def test_auto_approve_needs_enough_confidence(platform):
    PolicyFactory(outcome=Policy.Outcome.AUTO_APPROVE, min_confidence=0.9)
    assert evaluate(facts(platform, confidence=0.9)).outcome == "auto_approve"
    ev = evaluate(facts(platform, confidence=0.89))
    assert ev.outcome == "review" and "below 0.90" in ev.reason


def test_a_regulatory_policy_never_auto_approves(platform):
    PolicyFactory(outcome=Policy.Outcome.AUTO_APPROVE, min_confidence=0.5, is_regulatory=True)
    ev = evaluate(facts(platform, confidence=0.99))
    assert ev.outcome == "review" and "regulatory" in ev.reason


def test_a_lower_ranked_regulatory_match_still_blocks_auto_approval(platform):
    PolicyFactory(priority=1, outcome=Policy.Outcome.AUTO_APPROVE, min_confidence=0.5)
    PolicyFactory(priority=99, is_regulatory=True, classification="sensitive")
    assert evaluate(facts(platform, confidence=0.99)).outcome == "auto_approve"
    assert evaluate(facts(platform, confidence=0.99, classification="sensitive")).outcome == "review"


def test_auto_approve_only_for_categories_the_agent_level_can_decide(platform):
    PolicyFactory(outcome=Policy.Outcome.AUTO_APPROVE, min_confidence=0.5)
    ok = evaluate(facts(platform, confidence=0.99, action="deploy.rollback"))  # tactical approach
    assert ok.outcome == "auto_approve"
    ev = evaluate(facts(platform, confidence=0.99, action="email.send_external"))  # external communication
    assert ev.outcome == "review" and "may not decide external communication" in ev.reason
    ev = evaluate(facts(platform, confidence=0.99, action="unknown.thing"))
    assert ev.outcome == "review" and "no category" in ev.reason


@pytest.mark.parametrize(("flag", "text"), [("over_budget", "budget"), ("off_tool_list", "approved list")])
def test_over_budget_or_off_list_is_escalated_as_a_resource_request(platform, flag, text):
    PolicyFactory(outcome=Policy.Outcome.AUTO_APPROVE, min_confidence=0.5)
    ev = evaluate(facts(platform, confidence=0.99, tool="kubectl", **{flag: True}))
    assert (ev.outcome, ev.level, ev.category) == ("review", "domain", "resource_request")
    assert text in ev.reason


def test_the_matrix_raises_what_the_domain_must_escalate_to_the_enterprise(platform):
    ev = evaluate(facts(platform, action="budget.allocate"))
    assert ev.level == "enterprise" and "must escalate budget allocation" in ev.reason


def test_the_matrix_sends_what_only_the_orchestrator_decides_to_the_domain_level(platform):
    ev = evaluate(facts(platform, action="release.hold"))  # quality trade-off
    assert ev.level == "domain"


def test_escalate_outcome(platform):
    PolicyFactory(outcome=Policy.Outcome.ESCALATE, escalate_to="enterprise")
    assert evaluate(facts(platform)).level == "enterprise"


@pytest.mark.parametrize(("risk", "quorum", "sla"), [("low", 1, 86400), ("medium", 1, 14400), ("high", 2, 3600),
                                                      ("critical", 2, 900)])
def test_quorum_and_sla_default_by_risk(platform, risk, quorum, sla):
    PolicyFactory()
    ev = evaluate(facts(platform, risk=risk))
    assert (ev.quorum, ev.sla_seconds) == (quorum, sla)


def test_policy_quorum_and_sla_override_the_defaults(platform):
    PolicyFactory(quorum=3, sla_seconds=60)
    assert (evaluate(facts(platform, risk="low")).quorum, evaluate(facts(platform)).sla_seconds) == (3, 60)


def test_a_proposal_records_the_policy_and_version_that_routed_it(agent_client, proposal_body, platform):
    inbox = InboxFactory(slug="deploys", domain=platform)
    policy = PolicyFactory(name="Deploys", action_pattern="deploy.*", inbox=inbox)
    body = agent_client.post_json(P, proposal_body).json()
    assert body["inbox"] == "deploys" and body["policy"] == "Deploys"
    assert body["policy_version"] == policy.version == 1  # the policy's own version, not a history row id
    assert "Deploys" in body["routing_reason"] and body["quorum"] == 2
    from governance.services import policy_update
    policy_update(policy=policy, by=None, reason="tighter", priority=5)
    body = agent_client.post_json(P, dict(proposal_body, summary="again")).json()
    assert body["policy_version"] == 2


def test_editing_a_policy_takes_effect_at_once(agent_client, proposal_body, platform):
    policy = PolicyFactory(action_pattern="deploy.*", inbox=InboxFactory(slug="first", domain=platform))
    assert agent_client.post_json(P, proposal_body).json()["inbox"] == "first"
    policy.inbox = InboxFactory(slug="second", domain=platform)
    policy.save()
    assert agent_client.post_json(P, dict(proposal_body, summary="again")).json()["inbox"] == "second"


def test_a_forbidden_proposal_is_403_and_kept_for_audit(agent_client, proposal_body, agent):
    PolicyFactory(outcome=Policy.Outcome.FORBID, name="No rollbacks")
    r = agent_client.post_json(P, proposal_body)
    assert r.status_code == 403 and r.json()["code"] == "forbidden_by_policy" and "No rollbacks" in r.json()["detail"]
    assert agent.proposals.get().status == "refused"


def test_an_auto_approved_proposal_is_approved_at_once(agent_client, proposal_body):
    PolicyFactory(outcome=Policy.Outcome.AUTO_APPROVE, min_confidence=0.8)
    body = agent_client.post_json(P, dict(proposal_body, confidence=0.82)).json()
    assert body["status"] == "approved" and body["decision"]["decided_by"] is None


def test_escalated_proposals_land_in_the_level_inbox(agent_client, proposal_body, platform):
    PolicyFactory(outcome=Policy.Outcome.ESCALATE, escalate_to="domain")
    assert agent_client.post_json(P, proposal_body).json()["inbox"] == platform.orchestrator_inbox.slug
    PolicyFactory(priority=1, outcome=Policy.Outcome.ESCALATE, escalate_to="enterprise")
    assert agent_client.post_json(P, dict(proposal_body, summary="b")).json()["inbox"] == enterprise_inbox().slug


def test_args_breaking_the_action_contract_are_422_naming_the_path(agent_client, proposal_body):
    r = agent_client.post_json(P, dict(proposal_body, args={"service": "payments"}))
    assert r.status_code == 422 and r.json()["field"] == "args.to_version"
    r = agent_client.post_json(P, dict(proposal_body, args={"service": "", "to_version": "1"}))
    assert r.status_code == 422 and r.json()["field"] == "args.service"


def test_dry_run_over_the_api(agent_client, proposal_body, auditor_client, bob_client):
    PolicyFactory(name="Deploys", action_pattern="deploy.*")
    r = agent_client.post_json("/api/v1/governance/dry-run", {"proposal": proposal_body})
    assert r.status_code == 200, r.content
    assert r.json()["policy"] == "Deploys" and r.json()["outcome"] == "review" and r.json()["reasons"]
    r = auditor_client.post_json("/api/v1/governance/dry-run", {"agent": "deploy-bot", "proposal": proposal_body})
    assert r.status_code == 200 and r.json()["quorum"] == 2
    assert bob_client.post_json("/api/v1/governance/dry-run",
                                {"agent": "deploy-bot", "proposal": proposal_body}).status_code == 403


def test_dry_run_in_admin(admin_client, agent, proposal_body):
    import json

    PolicyFactory(name="Deploys", action_pattern="deploy.*")
    r = admin_client.post("/admin/inbox/proposal/dry-run/",
                          {"agent": agent.pk, "proposal": json.dumps(proposal_body)})
    assert r.status_code == 200 and b"Deploys" in r.content and b"review" in r.content


def test_a_blocked_auto_approval_falls_to_the_next_matching_policy(platform):
    PolicyFactory(priority=1, outcome=Policy.Outcome.AUTO_APPROVE, min_confidence=0.9)
    review = PolicyFactory(priority=2, inbox=InboxFactory(domain=platform), quorum=3)
    ev = evaluate(facts(platform, confidence=0.5))
    assert (ev.outcome, ev.policy_id, ev.target_inbox_id, ev.quorum) == ("review", review.id, review.inbox_id, 3)
    assert "below 0.90" in ev.reason and review.name in ev.reason


def test_a_blocked_auto_approval_with_nothing_after_it_goes_to_a_human(platform):
    PolicyFactory(outcome=Policy.Outcome.AUTO_APPROVE, min_confidence=0.9)
    ev = evaluate(facts(platform, confidence=0.5, risk="high"))
    assert (ev.outcome, ev.policy_id, ev.target_inbox_id, ev.quorum) == ("review", None, None, 1)
    assert "safe fallback" in ev.reason


def test_the_dry_run_stores_nothing_not_even_a_missing_inbox(auditor, auditor_client, proposal_body):
    """A domain without its orchestrator inbox yet: the escalation would create it, the dry-run must not."""
    auditor.user_permissions.add(Permission.objects.get(codename="audit"))
    bare = Domain.objects.create(name="Bare", slug="bare")
    governance_services.agent_create(name="bare-bot", domain=bare)
    PolicyFactory(name="Deploys escalate", action_pattern="deploy.*", outcome=Policy.Outcome.ESCALATE,
                  escalate_to="domain")
    inboxes, proposals = Inbox.objects.count(), Proposal.objects.count()
    r = auditor_client.post_json("/api/v1/governance/dry-run", {"agent": "bare-bot", "proposal": proposal_body})
    assert r.status_code == 200, r.content
    assert r.json()["level"] == "domain" and r.json()["inbox"] is None
    assert (Inbox.objects.count(), Proposal.objects.count()) == (inboxes, proposals)

"""Limits (governance.limits): proposals per minute (agent and domain), daily budget, approved tools.

Over a rate the API answers 429 with ``Retry-After`` and stores nothing (an idempotent replay of an
earlier key is answered first, so it still works). Over the daily budget or off the approved tool
list nothing is auto-approved: it goes to the domain orchestrator as a resource request, saying why.
"""
from decimal import Decimal

import pytest

from governance import limits
from governance.models import Agent, Domain, Policy
from inbox.models import Proposal
from tests.factories import PolicyFactory

pytestmark = pytest.mark.django_db
P = "/api/v1/proposals"


@pytest.fixture(autouse=True)
def fresh_rate_windows():
    """Rate windows start empty (Redis keeps them across tests when REDIS_URL is set)."""
    limits._limiter().storage.reset()


@pytest.fixture
def auto_approve(db):
    """Auto-approves deploy.rollback (a tactical approach the agent level can decide) at confidence ≥ 0.5."""
    return PolicyFactory(name="Auto rollbacks", outcome=Policy.Outcome.AUTO_APPROVE, min_confidence=0.5)


def set_agent(agent, **fields):
    Agent.objects.filter(pk=agent.pk).update(**fields)


def set_domain(domain, **fields):
    Domain.objects.filter(pk=domain.pk).update(**fields)


def post(client, body, n, **headers):
    return [client.post_json(P, dict(body, summary=f"proposal {i}"), **headers) for i in range(n)]


# --- rate ------------------------------------------------------------------------------------------

def test_the_third_proposal_in_a_minute_is_429(agent, agent_client, proposal_body):
    set_agent(agent, rate_limit_per_minute=2)
    first, second, third = post(agent_client, proposal_body, 3)
    assert (first.status_code, second.status_code) == (201, 201)
    assert third.status_code == 429
    assert third.json()["code"] == "rate_limited" and third.json()["limit"] == "agent"


def test_a_429_says_when_to_retry(agent, agent_client, proposal_body):
    set_agent(agent, rate_limit_per_minute=2)
    r = post(agent_client, proposal_body, 3)[-1]
    retry_after = r.headers["Retry-After"]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 61
    assert r.json()["retry_after"] == int(retry_after)


def test_a_rate_limited_proposal_is_not_stored(agent, agent_client, proposal_body):
    set_agent(agent, rate_limit_per_minute=2)
    post(agent_client, proposal_body, 3)
    assert Proposal.objects.filter(agent=agent).count() == 2


def test_an_agent_limit_does_not_slow_other_agents(agent, agent_client, other_agent_client, proposal_body):
    set_agent(agent, rate_limit_per_minute=1)
    Agent.objects.filter(name="other-bot").update(rate_limit_per_minute=1)
    post(agent_client, proposal_body, 2)
    assert other_agent_client.post_json(P, proposal_body).status_code == 201


def test_a_domain_limit_counts_every_agent_of_the_domain(platform, agent_client, other_agent_client,
                                                         proposal_body):
    set_domain(platform, rate_limit_per_minute=2)
    assert agent_client.post_json(P, proposal_body).status_code == 201
    assert other_agent_client.post_json(P, proposal_body).status_code == 201
    r = agent_client.post_json(P, dict(proposal_body, summary="third"))
    assert r.status_code == 429 and r.json()["limit"] == "domain" and int(r.headers["Retry-After"]) >= 1
    assert Proposal.objects.count() == 2


def test_no_limit_means_unlimited(agent_client, proposal_body):
    assert {r.status_code for r in post(agent_client, proposal_body, 5)} == {201}


def test_a_rate_limited_agent_can_still_replay_an_earlier_key(agent, agent_client, proposal_body):
    set_agent(agent, rate_limit_per_minute=2)
    first = agent_client.post_json(P, proposal_body, **{"Idempotency-Key": "k1"})
    agent_client.post_json(P, dict(proposal_body, summary="second"), **{"Idempotency-Key": "k2"})
    assert agent_client.post_json(P, dict(proposal_body, summary="third"),
                                  **{"Idempotency-Key": "k3"}).status_code == 429
    again = agent_client.post_json(P, proposal_body, **{"Idempotency-Key": "k1"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]


def test_a_rejected_submission_does_not_use_up_the_rate(agent, agent_client, proposal_body):
    """A body breaking the action's contract is refused (422) before it counts against the limit."""
    set_agent(agent, rate_limit_per_minute=1)
    assert agent_client.post_json(P, dict(proposal_body, args={"service": "payments"})).status_code == 422
    assert agent_client.post_json(P, proposal_body).status_code == 201


# --- daily budget ------------------------------------------------------------------------------------

def test_spend_within_the_agents_budget_is_still_auto_approved(agent, agent_client, auto_approve, proposal_body):
    set_agent(agent, daily_budget_usd=Decimal("1.00"))
    first = agent_client.post_json(P, dict(proposal_body, cost_usd="0.60"))
    second = agent_client.post_json(P, dict(proposal_body, cost_usd="0.40", summary="exactly at budget"))
    assert first.json()["status"] == "approved" and second.json()["status"] == "approved"


def test_over_the_agents_daily_budget_nothing_is_auto_approved(agent, agent_client, auto_approve, proposal_body):
    set_agent(agent, daily_budget_usd=Decimal("1.00"))
    agent_client.post_json(P, dict(proposal_body, cost_usd="0.60"))
    body = agent_client.post_json(P, dict(proposal_body, cost_usd="0.60", summary="over")).json()
    assert body["status"] == "pending"


def test_over_budget_goes_to_the_domain_orchestrator_as_a_resource_request(agent, agent_client, platform,
                                                                          auto_approve, proposal_body):
    set_agent(agent, daily_budget_usd=Decimal("1.00"))
    body = agent_client.post_json(P, dict(proposal_body, cost_usd="1.50")).json()
    assert (body["level"], body["category"]) == ("domain", "resource_request")
    assert body["inbox"] == platform.orchestrator_inbox.slug
    assert "budget" in body["routing_reason"]


def test_the_domain_budget_counts_every_agent_of_the_domain(platform, agent_client, other_agent_client,
                                                           auto_approve, proposal_body):
    set_domain(platform, daily_budget_usd=Decimal("1.00"))
    assert agent_client.post_json(P, dict(proposal_body, cost_usd="0.60")).json()["status"] == "approved"
    body = other_agent_client.post_json(P, dict(proposal_body, cost_usd="0.60")).json()
    assert (body["status"], body["level"], body["category"]) == ("pending", "domain", "resource_request")
    assert "budget" in body["routing_reason"]


def test_rejected_proposals_do_not_count_towards_the_budget(agent, agent_client, alice_client, auto_approve,
                                                           proposal_body):
    set_agent(agent, daily_budget_usd=Decimal("1.00"))
    pid = agent_client.post_json(P, dict(proposal_body, cost_usd="0.90", confidence=0.1)).json()["id"]
    alice_client.post_json(f"{P}/{pid}/decision", {"verdict": "reject", "comment": "No."})
    body = agent_client.post_json(P, dict(proposal_body, cost_usd="0.90", summary="again")).json()
    assert body["status"] == "approved"


def test_the_dry_run_says_a_proposal_would_be_over_budget(agent, agent_client, auto_approve, proposal_body):
    set_agent(agent, daily_budget_usd=Decimal("1.00"))
    r = agent_client.post_json("/api/v1/governance/dry-run", {"proposal": dict(proposal_body, cost_usd="1.50")})
    assert r.status_code == 200
    assert (r.json()["outcome"], r.json()["category"]) == ("review", "resource_request")
    assert any("budget" in reason for reason in r.json()["reasons"])


def _submission_sql(agent, proposal_body):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inbox import services
    from inbox.schemas import ProposalIn

    agent = Agent.objects.select_related("domain").get(pk=agent.pk)
    with CaptureQueriesContext(connection) as ctx:
        services.proposal_submit(agent=agent, data=ProposalIn(**proposal_body).to_model_fields())
    return " ".join(q["sql"] for q in ctx.captured_queries).upper()


def test_without_a_budget_submitting_locks_nothing_and_sums_nothing(agent, auto_approve, proposal_body):
    sql = _submission_sql(agent, proposal_body)
    assert " FOR " not in sql and "SUM(" not in sql


@pytest.mark.postgres
def test_with_a_budget_submitting_locks_the_budget_before_summing_todays_spend(agent, auto_approve,
                                                                               proposal_body):
    """The row lock comes first, in the transaction that inserts (concurrency: tests/test_race.py)."""
    set_agent(agent, daily_budget_usd=Decimal("1.00"))
    sql = _submission_sql(agent, proposal_body)
    assert "FOR NO KEY UPDATE" in sql and sql.index("FOR NO KEY UPDATE") < sql.index("SUM(") < sql.index("INSERT")


# --- approved tools ----------------------------------------------------------------------------------

def test_an_action_off_the_approved_tool_list_is_not_auto_approved(agent, agent_client, auto_approve,
                                                                   proposal_body):
    set_agent(agent, approved_tools=["ticket"])
    assert agent_client.post_json(P, proposal_body).json()["status"] == "pending"


def test_off_the_tool_list_goes_to_the_domain_orchestrator_as_a_resource_request(agent, agent_client, platform,
                                                                                auto_approve, proposal_body):
    set_agent(agent, approved_tools=["ticket"])
    body = agent_client.post_json(P, proposal_body).json()
    assert (body["level"], body["category"]) == ("domain", "resource_request")
    assert body["inbox"] == platform.orchestrator_inbox.slug
    assert "“deploy” is not on the approved list" in body["routing_reason"]


def test_off_the_tool_list_is_escalated_even_when_no_policy_matched(agent, agent_client, platform, proposal_body):
    set_agent(agent, approved_tools=["ticket"])
    body = agent_client.post_json(P, proposal_body).json()
    assert (body["level"], body["category"], body["inbox"]) == ("domain", "resource_request",
                                                                platform.orchestrator_inbox.slug)


def test_an_approved_tool_is_auto_approved(agent, agent_client, auto_approve, proposal_body):
    set_agent(agent, approved_tools=["ticket", "deploy"])
    assert agent_client.post_json(P, proposal_body).json()["status"] == "approved"


def test_args_tool_names_the_tool_instead_of_the_action_prefix(agent, agent_client, auto_approve, proposal_body):
    set_agent(agent, approved_tools=["kubectl"])
    args = dict(proposal_body["args"], tool="kubectl")
    assert agent_client.post_json(P, dict(proposal_body, args=args)).json()["status"] == "approved"


def test_an_unapproved_args_tool_is_escalated_by_name(agent, agent_client, auto_approve, proposal_body):
    set_agent(agent, approved_tools=["deploy"])
    args = dict(proposal_body["args"], tool="kubectl")
    body = agent_client.post_json(P, dict(proposal_body, args=args)).json()
    assert (body["status"], body["category"]) == ("pending", "resource_request")
    assert "“kubectl” is not on the approved list" in body["routing_reason"]


def test_an_empty_tool_list_restricts_nothing(agent, agent_client, auto_approve, proposal_body):
    set_agent(agent, approved_tools=[])
    assert agent_client.post_json(P, proposal_body).json()["status"] == "approved"

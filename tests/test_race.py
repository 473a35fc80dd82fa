"""Exactly once: many reviewers deciding the same proposal at the same moment store one decision; many
proposals posted at the same moment spend a daily budget exactly as if they had come one by one.

Runs on PostgreSQL (row lock), and on SQLite too (BEGIN IMMEDIATE serialises writers), with real
threads and real connections.
"""
import threading

import pytest
from django.db import connection

from inbox import services
from inbox.models import Proposal
from orchestra_site.errors import ProposalAlreadyDecided
from tests.factories import ProposalFactory, UserFactory

ATTEMPTS = 24


def _race(proposal, reviewers, verdicts):
    barrier = threading.Barrier(len(reviewers))
    results = [None] * len(reviewers)

    def attempt(i):
        try:
            barrier.wait()
            services.proposal_decide(proposal=proposal, reviewer=reviewers[i], verdict=verdicts[i],
                                     comment="race")
            results[i] = "won"
        except ProposalAlreadyDecided as exc:
            results[i] = exc.extra["decided_by"]
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(reviewers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres), "any"])
def test_concurrent_decisions_store_exactly_one(platform_inbox, backend):
    proposal = ProposalFactory(inbox=platform_inbox)
    reviewers = [UserFactory(username=f"reviewer{i}") for i in range(ATTEMPTS)]
    verdicts = ["approve" if i % 2 else "reject" for i in range(ATTEMPTS)]
    results = _race(proposal, reviewers, verdicts)

    assert results.count("won") == 1
    winner = reviewers[results.index("won")]
    # every loser was told who decided first
    assert all(r == winner.username for r in results if r != "won")
    proposal.refresh_from_db()
    assert proposal.decided_by == winner
    assert proposal.status == ("approved" if results.index("won") % 2 else "rejected")
    # one decision in the history too: created, then decided once
    assert proposal.history.exclude(status="pending").count() == 1
    assert Proposal.objects.filter(status="pending").count() == 0


# --- the daily budget: the check and the spend are atomic ------------------------------------------

BUDGET_POSTS = 8


def _post_at_once(clients, body):
    """Each client POSTs ``body`` at the same moment, each on its own thread and connection."""
    barrier = threading.Barrier(len(clients))
    results = [None] * len(clients)

    def post(i):
        try:
            barrier.wait()
            results[i] = clients[i].post_json("/api/v1/proposals", dict(body, summary=f"proposal {i}"))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _budget_outcomes():
    approved = Proposal.objects.filter(status="approved")
    escalated = Proposal.objects.filter(status="pending", category="resource_request", level="domain")
    return approved.count(), escalated.count()


@pytest.fixture
def auto_rollbacks(db):
    """Auto-approves deploy.rollback at confidence ≥ 0.5. A transactional test starts from empty tables,
    without what the migrations seeded: the authority matrix and the action types are seeded again."""
    from django.apps import apps

    from governance import matrix
    from governance.models import Policy
    from tests.factories import PolicyFactory

    matrix.seed(apps)
    return PolicyFactory(name="Auto rollbacks", outcome=Policy.Outcome.AUTO_APPROVE, min_confidence=0.5)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres), "any"])
def test_concurrent_proposals_cannot_overspend_the_agents_daily_budget(backend, agent, agent_and_token, auto_rollbacks,
                                                                       proposal_body):
    """Budget 1.00 USD, 8 proposals of 0.40 at once, each auto-approvable: as one after the other,
    two are auto-approved (0.80) and the six others escalated as resource requests."""
    from decimal import Decimal

    from governance.models import Agent
    from tests.conftest import TokenClient

    Agent.objects.filter(pk=agent.pk).update(daily_budget_usd=Decimal("1.00"))
    clients = [TokenClient(agent_and_token[1]) for _ in range(BUDGET_POSTS)]
    results = _post_at_once(clients, dict(proposal_body, cost_usd="0.40"))

    assert [r.status_code for r in results] == [201] * BUDGET_POSTS
    assert _budget_outcomes() == (2, BUDGET_POSTS - 2), list(Proposal.objects.values_list("status", "category"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres), "any"])
def test_concurrent_proposals_of_several_agents_cannot_overspend_the_domains_budget(backend, platform, auto_rollbacks,
                                                                                    proposal_body):
    from decimal import Decimal

    from governance import services as governance_services
    from governance.models import Domain
    from tests.conftest import TokenClient

    Domain.objects.filter(pk=platform.pk).update(daily_budget_usd=Decimal("1.00"))
    clients = [TokenClient(governance_services.agent_create(name=f"bot-{i}", domain=platform)[1])
               for i in range(BUDGET_POSTS)]
    results = _post_at_once(clients, dict(proposal_body, cost_usd="0.40"))

    assert [r.status_code for r in results] == [201] * BUDGET_POSTS
    assert _budget_outcomes() == (2, BUDGET_POSTS - 2), list(Proposal.objects.values_list("status", "category"))


# --- rivals approved at the same moment -----------------------------------------------------------

RIVAL_ROUNDS = 6


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres), "any"])
@pytest.mark.parametrize("supersede", [False, True])
def test_approving_rivals_at_the_same_moment_never_deadlocks(platform_inbox, backend, supersede):
    """Two reviewers each approve one of two rival proposals (same resource, other agents) at once.
    Each approval locks its proposal and then the pending rivals: without care, each would wait for
    the other's lock (a deadlock, one request failing). Both answers must be a decision: approved,
    or 409 when the other approval superseded it first."""
    from orchestra_site.errors import ProposalAlreadyDecided

    reviewers = [UserFactory(username=f"rev{i}") for i in range(2)]
    for r in reviewers:
        r.groups.add(platform_inbox.reviewers)
    for round_ in range(RIVAL_ROUNDS):
        pair = [ProposalFactory(inbox=platform_inbox, resource=f"service:r{round_}", risk="low") for _ in range(2)]
        barrier = threading.Barrier(2)
        results = [None, None]

        def attempt(i):
            try:
                barrier.wait()
                services.proposal_decide(proposal=pair[i], reviewer=reviewers[i], verdict="approve",
                                         supersede_conflicts=supersede)
                results[i] = "approved"
            except ProposalAlreadyDecided:
                results[i] = "superseded first"
            except Exception as exc:  # noqa: BLE001  (the failure this test is about)
                results[i] = repr(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert set(results) <= {"approved", "superseded first"}, results
        if not supersede:
            assert results == ["approved", "approved"]

"""Exactly once: many reviewers deciding the same proposal at the same moment store one decision.

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

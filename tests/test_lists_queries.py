"""Query counts of the inbox lists, My work and the home (in the style of test_selectors_queries): a
page costs a fixed number of queries whatever the number of proposals, and each selector is one query
(``page_of`` two: ids, then rows)."""
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from inbox import selectors, services
from tests.factories import ProposalFactory, UserFactory


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)


def fill(agent, inbox, n):
    for i in range(n):
        ProposalFactory(agent=agent, inbox=inbox, risk=["low", "high"][i % 2], quorum=1 + i % 2)


@pytest.fixture
def busy(alice, agent, platform_inbox):
    carol = UserFactory(username="carol")
    carol.groups.add(platform_inbox.reviewers)
    fill(agent, platform_inbox, 30)
    for p in list(selectors.inbox_list(platform_inbox, risk="high"))[:3]:
        services.proposal_decide(proposal=p, reviewer=carol, verdict="approve")
    services.proposal_escalate(proposal=selectors.inbox_list(platform_inbox).first(), reason="up", by=alice)
    return alice


def test_a_list_page_is_two_queries(busy, platform_inbox, django_assert_num_queries):
    qs = selectors.inbox_list(platform_inbox, order="urgent", q="roll")
    with django_assert_num_queries(2):
        rows = selectors.page_of(qs, 0, 20, user=busy)
    with django_assert_num_queries(0):
        [(p.agent.name, p.inbox.name, p.decided_by, p.policy, p.has_approval, p.you_voted, p.approved_conflict,
          p.deadline) for p in rows]


def test_count_upto_is_one_query(busy, platform_inbox, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert selectors.count_upto(selectors.inbox_list(platform_inbox), 10) == 11  # more than 10


@pytest.mark.parametrize("selector", ["decided_by", "escalated_by", "awaiting_quorum", "escalated_to",
                                      "overdue_for", "frozen_for"])
def test_each_my_work_and_home_selector_is_one_query(busy, selector, django_assert_max_num_queries):
    list(getattr(selectors, selector)(fresh(busy))[:1])  # warm process-wide caches, as in a running server
    user = fresh(busy)
    user.has_perm("governance.view_inbox")  # warm ModelBackend's cache, as an earlier check in the request would
    with django_assert_max_num_queries(1):
        list(getattr(selectors, selector)(user)[:25])


@pytest.mark.parametrize("selector", ["waiting_on", "second_approval_for"])
def test_waiting_sections_are_two_queries(busy, selector, django_assert_max_num_queries):
    selectors.page_of(getattr(selectors, selector)(fresh(busy)), 0, 1, user=fresh(busy))  # warm caches
    user = fresh(busy)
    user.has_perm("governance.view_inbox")
    with django_assert_max_num_queries(2):
        selectors.page_of(getattr(selectors, selector)(user), 0, 26, user=user)


def count_page_queries(user, path) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    client.get(path)  # warm process-wide caches (content types, the governance snapshot)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("path", ["/inboxes/platform-reviewers/", "/inboxes/platform-reviewers/?order=urgent&q=roll",
                                  "/inboxes/platform-reviewers/?status=decided", "/my-work/", "/"])
def test_pages_cost_the_same_queries_with_5_or_60_proposals(alice, agent, platform_inbox, path):
    fill(agent, platform_inbox, 5)
    ProposalFactory(agent=agent, inbox=platform_inbox, status="approved", decided_by=alice, decided_at=timezone.now())
    few = count_page_queries(alice, path)
    fill(agent, platform_inbox, 55)
    ProposalFactory.create_batch(5, agent=agent, inbox=platform_inbox, status="approved", decided_by=alice,
                                 decided_at=timezone.now())
    assert count_page_queries(alice, path) == few
    assert few <= 16

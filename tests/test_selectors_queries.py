"""'Proposals this reviewer may see' is one SQL query, however many inboxes (issue: governance overhead).

Each case builds a reviewer whose inboxes come from different grants (group object permissions, direct
user object permissions, ``governance.orchestrate_domain`` on a Domain, or the auditor's global
``governance.view_inbox``), puts proposals in permitted *and* in other inboxes, then counts the queries of
``list(selectors.proposals_for_reviewer(user)[:50])`` and checks the rows are exactly the permitted ones.

The user is re-read from the database before counting, as a request sees it (``request.user`` or the
bearer-token principal, with no permission cache yet). ``*_sql_is_one_statement`` cases count with the
permission cache already warm: the proposals query itself, whatever the number of inboxes.
"""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from guardian.shortcuts import assign_perm

from governance import services as governance_services
from governance.services import domain_get_or_create
from inbox import selectors, services
from tests.factories import AgentFactory, InboxFactory, ProposalFactory, UserFactory


def fresh(user, *, for_decision=False):
    """The user as a request sees it: no ``_perm_cache`` / ``_user_perm_cache`` / ``_group_perm_cache``.

    Process-wide caches are warmed first with a throwaway copy of the user, as in a running server
    (guardian looks up each permission's ContentType once per process)."""
    list(selectors.proposals_for_reviewer(get_user_model().objects.get(pk=user.pk), for_decision=for_decision)[:1])
    return get_user_model().objects.get(pk=user.pk)


def fill(inboxes, per_inbox=3):
    """``per_inbox`` proposals in each inbox; returns their ids."""
    agent = AgentFactory()
    return {p.pk for inbox in inboxes for p in ProposalFactory.create_batch(per_inbox, agent=agent, inbox=inbox)}


@pytest.fixture
def other_inboxes(db):
    """Inboxes nobody in these tests may see, each with proposals (a leak would show up in the results)."""
    boxes = InboxFactory.create_batch(4)
    return boxes, fill(boxes)


@pytest.fixture
def one_inbox_reviewer(platform_inbox, other_inboxes):
    user = UserFactory(username="one-inbox")
    user.groups.add(platform_inbox.reviewers)
    return user, fill([platform_inbox])


@pytest.fixture
def thirty_inbox_reviewer(other_inboxes):
    """30 inboxes: 12 through two groups, 12 by direct user permission, 6 as orchestrator of a domain."""
    user = UserFactory(username="thirty-inboxes")
    by_group = InboxFactory.create_batch(12)
    for i, group in enumerate(Group.objects.create(name=f"reviewers-{i}") for i in range(2)):
        user.groups.add(group)
        for inbox in by_group[i * 6:(i + 1) * 6]:
            governance_services.inbox_grant(inbox=inbox, group=group)
    direct = InboxFactory.create_batch(12)
    for inbox in direct:
        governance_services.inbox_grant(inbox=inbox, user=user, decide=False)
    domain = domain_get_or_create(name="Orchestrated")  # creates its default and orchestrator inboxes
    orchestrated = [domain.default_inbox, domain.orchestrator_inbox, *InboxFactory.create_batch(4, domain=domain)]
    assign_perm("governance.orchestrate_domain", user, domain)
    permitted = by_group + direct + orchestrated
    assert len({i.pk for i in permitted}) == 30
    # 90 proposals: newest-first [:50] must still draw only from permitted inboxes.
    return user, fill(permitted)


@pytest.fixture
def auditor_user(db, other_inboxes, platform_inbox):
    user = UserFactory(username="auditor-q")
    user.user_permissions.add(Permission.objects.get(codename="view_inbox", content_type__app_label="governance"))
    return user, other_inboxes[1] | fill([platform_inbox])


def newest_50(ids):
    from inbox.models import Proposal

    return set(Proposal.objects.filter(pk__in=ids).order_by("-created_at").values_list("pk", flat=True)[:50])


CASES = ["one_inbox_reviewer", "thirty_inbox_reviewer", "auditor_user"]


@pytest.mark.parametrize("case", CASES)
def test_proposals_for_reviewer_is_one_query(case, request, django_assert_num_queries):
    user, permitted = request.getfixturevalue(case)
    user = fresh(user)
    with django_assert_num_queries(1):
        rows = list(selectors.proposals_for_reviewer(user)[:50])
    assert {p.pk for p in rows} == newest_50(permitted)


@pytest.mark.parametrize("case", CASES)
def test_proposals_for_reviewer_sql_is_one_statement(case, request, django_assert_num_queries):
    """With the user's global-permission cache warm, the proposals themselves are one SELECT (the
    permitted inboxes are subqueries), for 1 inbox as for 30."""
    user, permitted = request.getfixturevalue(case)
    user = fresh(user)
    user.has_perm("governance.view_inbox")  # warm ModelBackend's cache, as an earlier check in the request would
    with django_assert_num_queries(1):
        rows = list(selectors.proposals_for_reviewer(user)[:50])
    assert {p.pk for p in rows} == newest_50(permitted)
    assert all(p.inbox_id is not None for p in rows)
    with django_assert_num_queries(0):  # select_related: no query per row
        [(p.agent.name, p.inbox.name, p.policy) for p in rows]


@pytest.mark.parametrize("case", CASES)
def test_query_count_does_not_grow_with_inboxes(case, request, django_assert_max_num_queries):
    """Cold user cache, as in a request: never more than one query whatever the number of inboxes; no leak."""
    user, permitted = request.getfixturevalue(case)
    user = fresh(user)
    with django_assert_max_num_queries(1):
        rows = list(selectors.proposals_for_reviewer(user)[:50])
    assert {p.pk for p in rows} == newest_50(permitted)


def test_results_exclude_other_inboxes_entirely(thirty_inbox_reviewer, other_inboxes):
    user, permitted = thirty_inbox_reviewer
    seen = set(selectors.proposals_for_reviewer(fresh(user)).values_list("pk", flat=True))
    assert seen == permitted
    assert not seen & other_inboxes[1]


def test_for_decision_drops_view_only_grants(thirty_inbox_reviewer, django_assert_max_num_queries):
    """The 12 direct grants are view-only: deciding sees the group and orchestrated inboxes only."""
    user, permitted = thirty_inbox_reviewer
    user = fresh(user, for_decision=True)
    with django_assert_max_num_queries(1):
        decidable = {p.inbox_id for p in selectors.proposals_for_reviewer(user, for_decision=True)}
    assert len(decidable) == 18


def test_deciding_checks_cost_five_queries_at_most(alice, agent, django_assert_max_num_queries):
    """``access_proposal(for_decision=True)`` for a reviewer as a request sees it: the proposal, the
    user's and groups' global permissions (ModelBackend), and the object permissions on the inbox once
    (one guardian checker per user object, reused for view and decide). A proposal with no link
    (``Proposal.link_kind`` empty) costs no look-up of one (``inbox.hooks``)."""
    from inbox import permissions
    from tests.conftest import PROPOSAL

    proposal = services.proposal_submit(agent=agent, data=dict(PROPOSAL))[0]
    user = fresh(alice)
    with django_assert_max_num_queries(5):
        permissions.access_proposal(user, proposal.pk, for_decision=True)


def test_a_submission_and_an_approval_cost_few_queries(alice, agent, django_assert_max_num_queries):
    """The hot paths' budgets (PostgreSQL: conflict marks are one statement there). A submission: the
    proposal and its history row, the audit event, the conflict marks; an approval: the locked row,
    its votes, the vote, the rivals, the proposal and its history row, the audit event; the answer is
    built without reading the proposal again."""
    from django.db import connection

    from tests.conftest import PROPOSAL

    pg = connection.vendor == "postgresql"
    services.proposal_submit(agent=agent, data=dict(PROPOSAL))  # loads the governance snapshot once
    # Inside the test's transaction: SAVEPOINT and RELEASE count too. SQLite: the marks by the ORM.
    with django_assert_max_num_queries(6 if pg else 8):
        proposal = services.proposal_submit(agent=agent, data=dict(PROPOSAL))[0]
    reviewer = fresh(alice)
    with django_assert_max_num_queries(11):
        services.proposal_decide(proposal=proposal, reviewer=reviewer, verdict="approve", comment="ok")

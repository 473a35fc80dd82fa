"""My work (what waits on me, what I decided, what I escalated and where it went, what I approved that
waits for quorum), the escalator's read access, and the home of broad roles."""
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from guardian.shortcuts import assign_perm

from inbox import selectors, services
from tests.factories import ProposalFactory, UserFactory


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def make(agent, platform_inbox):
    def make(**fields):
        fields.setdefault("agent", agent)
        fields.setdefault("risk", "medium")
        fields.setdefault("inbox", platform_inbox)
        return ProposalFactory(**fields)
    return make


@pytest.fixture
def carol(platform_inbox):
    user = UserFactory(username="carol")
    user.groups.add(platform_inbox.reviewers)
    return user


@pytest.fixture
def olivia(platform):
    """The Platform domain's orchestrator: views and decides in both of its inboxes."""
    user = UserFactory(username="olivia")
    assign_perm("governance.orchestrate_domain", user, platform)
    return user


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)


def ids(qs):
    return [p.pk for p in qs]


# --- waiting on me -----------------------------------------------------------------------------------

def test_waiting_on_lists_what_i_may_decide_and_have_not_voted_on(alice, carol, make, legal_inbox, agent):
    mine = make(sla_due_at=timezone.now() + timedelta(hours=2))
    sooner = make(sla_due_at=timezone.now() + timedelta(minutes=5))
    voted = make(risk="high", quorum=2)
    services.proposal_decide(proposal=voted, reviewer=alice, verdict="approve")
    frozen = make(is_frozen=True)
    make(inbox=legal_inbox)  # not alice's
    make(status="approved", decided_by=carol, decided_at=timezone.now())
    got = ids(selectors.waiting_on(alice))
    assert got == [sooner.pk, mine.pk]  # nearest deadline first; not voted, frozen or elsewhere
    assert voted.pk not in got and frozen.pk not in got


def test_waiting_for_my_second_approval(alice, carol, make):
    approved_by_carol = make(risk="high", quorum=2)
    services.proposal_decide(proposal=approved_by_carol, reviewer=carol, verdict="approve")
    make()
    assert ids(selectors.second_approval_for(alice)) == [approved_by_carol.pk]
    assert ids(selectors.second_approval_for(carol)) == []  # her own vote: nothing more from her
    page = selectors.page_of(selectors.waiting_on(alice), 0, 10, user=alice)
    assert {p.pk: p.has_approval for p in page}[approved_by_carol.pk] is True


# --- what I did ------------------------------------------------------------------------------------------

def test_decided_by_me_newest_first(alice, carol, make):
    first, second = make(), make()
    services.proposal_decide(proposal=first, reviewer=alice, verdict="approve")
    services.proposal_decide(proposal=second, reviewer=alice, verdict="reject", comment="no")
    other = make()
    services.proposal_decide(proposal=other, reviewer=carol, verdict="approve")
    assert ids(selectors.decided_by(alice)) == [second.pk, first.pk]


def test_awaiting_quorum_lists_my_approvals_still_pending(alice, carol, make):
    waiting = make(risk="high", quorum=2)
    services.proposal_decide(proposal=waiting, reviewer=alice, verdict="approve")
    done = make(risk="high", quorum=2)
    services.proposal_decide(proposal=done, reviewer=alice, verdict="approve")
    services.proposal_decide(proposal=done, reviewer=carol, verdict="approve")
    rows = list(selectors.awaiting_quorum(alice))
    assert [p.pk for p in rows] == [waiting.pk] and rows[0].my_verdict == "approve"
    assert list(selectors.awaiting_quorum(carol)) == []


def test_escalated_by_me_says_where_it_went(alice, make, platform):
    p = make()
    services.proposal_escalate(proposal=p, reason="Needs the orchestrator", by=alice)
    escalations = list(selectors.escalated_by(alice))
    assert [e.proposal_id for e in escalations] == [p.pk]
    assert escalations[0].to_inbox == platform.orchestrator_inbox and escalations[0].to_level == "domain"


# --- the escalator keeps read access ---------------------------------------------------------------------

def test_the_escalator_reads_what_they_escalated_and_sees_where_it_went(alice, bob, make, platform):
    p = make()
    services.proposal_escalate(proposal=p, reason="Needs the orchestrator", by=alice)
    client = login(alice)
    r = client.get(f"/proposals/{p.pk}/")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="escalations"' in html and platform.orchestrator_inbox.name in html and "by you" in html
    assert 'name="verdict"' not in html and 'id="decide-blocked"' in html  # read, not decide: no buttons
    assert client.post(f"/proposals/{p.pk}/", {"verdict": "approve"}).status_code == 403
    assert p.__class__.objects.get(pk=p.pk).is_pending
    assert login(bob).get(f"/proposals/{p.pk}/").status_code == 404  # others still see nothing


def test_my_work_page_shows_the_four_sections(alice, carol, make, platform):
    make(summary="Scale checkout")
    decided = make(summary="Purge the CDN")
    services.proposal_decide(proposal=decided, reviewer=alice, verdict="approve")
    quorum = make(risk="high", quorum=2, summary="Rotate the signing key")
    services.proposal_decide(proposal=quorum, reviewer=alice, verdict="approve")
    escalated = make(summary="Drop the index")
    services.proposal_escalate(proposal=escalated, reason="Above me", by=alice)
    second = make(risk="high", quorum=2, summary="Failover the primary")
    services.proposal_decide(proposal=second, reviewer=carol, verdict="approve")
    r = login(alice).get("/my-work/")
    assert r.status_code == 200
    html = r.content.decode()
    names = ("second", "waiting", "quorum", "escalated", "decided")
    sections = {name: html[html.index(f'id="{name}"'):] for name in names}
    for name in sections:  # each section up to the next one
        sections[name] = sections[name][:sections[name].index("</section>")]
    assert "Failover the primary" in sections["second"]
    assert "Scale checkout" in sections["waiting"] and "Failover the primary" in sections["waiting"]
    assert "Rotate the signing key" in sections["quorum"]
    assert "Drop the index" in sections["escalated"] and platform.orchestrator_inbox.name in sections["escalated"]
    assert "Purge the CDN" in sections["decided"]
    assert 'class="my-work-link active"' in html


def test_my_work_needs_a_login(client, db):
    assert client.get("/my-work/").status_code == 302


# --- the home of broad roles -------------------------------------------------------------------------------

def test_a_narrow_role_gets_the_simple_home(alice, make):
    html = login(alice).get("/").content.decode()
    assert "Your inboxes" in html and "Needs you first" not in html


def test_a_broad_role_gets_what_needs_them_first_then_inboxes_by_domain_and_level(olivia, alice, make, platform,
                                                                                  agent, legal_inbox):
    escalated = make(summary="Escalated one")
    services.proposal_escalate(proposal=escalated, reason="Above me", by=alice)
    overdue = make(summary="Late one", sla_due_at=timezone.now() - timedelta(minutes=3))
    frozen = make(summary="Frozen one")
    services.agent_suspend(agent=agent, by=olivia, reason="runaway")
    r = login(olivia).get("/")
    html = r.content.decode()
    assert "Needs you first" in html
    block = lambda name: html[html.index(f'id="needs-{name}"'):].split("</section>")[0]  # noqa: E731
    assert "Escalated one" in block("escalated")
    assert "Late one" in block("overdue")
    assert "Frozen one" in block("frozen") and "Late one" in block("frozen")  # the whole agent is frozen
    groups = r.context["groups"]
    assert [g["domain"].name for g in groups] == ["Platform"]
    assert [lvl["level"] for lvl in groups[0]["levels"]] == ["agent", "domain"]
    assert escalated.pk and overdue.pk and frozen.pk


def test_an_auditor_gets_the_broad_home_grouped_by_domain(auditor, platform_inbox, legal_inbox):
    r = login(auditor).get("/")
    assert "Needs you first" in r.content.decode()
    names = [g["domain"].name if g["domain"] else None for g in r.context["groups"]]
    assert names == sorted(n for n in names if n)  # by domain name


def test_escalated_to_lists_arrivals_not_routings(olivia, alice, make, platform):
    arrived = make()
    services.proposal_escalate(proposal=arrived, reason="Above me", by=alice)
    make(inbox=platform.orchestrator_inbox)  # routed there directly, not escalated
    assert ids(selectors.escalated_to(olivia)) == [arrived.pk]

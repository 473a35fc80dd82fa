"""The inbox list page: tabs (pending, decided, all), filters, search, pages, the deadline column,
row marks, the live-row switch and bad query strings (issue: reviewer experience, finding the work)."""
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inbox import selectors, services
from inbox.forms import InboxFilterForm
from tests.conftest import PROPOSAL
from tests.factories import AgentFactory, ProposalFactory, UserFactory


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(inbox, **query) -> str:
    from urllib.parse import urlencode

    return reverse("inbox:inbox", args=[inbox.slug]) + (f"?{urlencode(query)}" if query else "")


def shown(response) -> list:
    return [p.pk for p in response.context["proposals"]]


@pytest.fixture
def make(agent, platform_inbox):
    """``make(**fields)``: a proposal in the platform inbox (pending unless ``status`` says otherwise)."""
    def make(**fields):
        fields.setdefault("agent", agent)
        fields.setdefault("risk", "medium")
        return ProposalFactory(inbox=platform_inbox, **fields)
    return make


@pytest.fixture
def decided(make, alice):
    return make(status="rejected", decided_by=alice, decided_at=timezone.now(), summary="Drop the cache")


# --- tabs -----------------------------------------------------------------------------------------

def test_the_pending_tab_is_the_default_and_shows_only_pending(alice, make, decided, platform_inbox):
    waiting = make(summary="Scale checkout")
    r = login(alice).get(url(platform_inbox))
    assert r.status_code == 200 and shown(r) == [waiting.pk]
    assert 'aria-current="page">Pending' in r.content.decode()


def test_the_decided_tab_says_who_when_and_the_verdict(alice, make, decided, platform_inbox):
    make()
    r = login(alice).get(url(platform_inbox, status="decided"))
    html = r.content.decode()
    assert shown(r) == [decided.pk]
    assert "status-rejected" in html and "Rejected" in html and "<strong>alice</strong>" in html
    assert f'datetime="{decided.decided_at:%Y-%m-%d}' in html
    assert 'name="proposal"' not in html  # no bulk tick boxes on decided rows


def test_the_all_tab_shows_both_newest_first(alice, make, decided, platform_inbox):
    waiting = make()
    assert set(shown(login(alice).get(url(platform_inbox, status="all")))) == {waiting.pk, decided.pk}


def test_a_single_outcome_can_be_chosen(alice, make, decided, platform_inbox):
    approved = make(status="approved", decided_by=alice, decided_at=timezone.now())
    assert shown(login(alice).get(url(platform_inbox, status="approved"))) == [approved.pk]


# --- filters and search ---------------------------------------------------------------------------

def test_filter_by_risk(alice, make, platform_inbox):
    high = make(risk="high")
    make(risk="low")
    assert shown(login(alice).get(url(platform_inbox, risk="high"))) == [high.pk]


def test_filter_by_agent_name(alice, make, platform_inbox, platform):
    other = AgentFactory(name="scribe", domain=platform)
    theirs = make(agent=other)
    make()
    assert shown(login(alice).get(url(platform_inbox, agent="scribe"))) == [theirs.pk]


def test_filter_by_action_prefix(alice, make, platform_inbox):
    scale = make(action="deploy.scale")
    make(action="db.migrate")
    assert shown(login(alice).get(url(platform_inbox, action="deploy."))) == [scale.pk]


@pytest.mark.parametrize("deadline, expected", [
    ("overdue", {"late"}), ("1h", {"soon"}), ("today", {"soon", "later_today"}), ("none", {"never"}),
])
def test_filter_by_deadline(alice, make, platform_inbox, deadline, expected, monkeypatch):
    now = timezone.now().replace(hour=10, minute=0)  # a fixed hour: "today" has 14 h left
    monkeypatch.setattr(timezone, "now", lambda: now)
    made = {
        "late": make(sla_due_at=now - timedelta(minutes=5)),
        "soon": make(sla_due_at=now + timedelta(minutes=30)),
        "later_today": make(expires_at=now + timedelta(hours=5)),
        "tomorrow": make(sla_due_at=now + timedelta(days=1, hours=2)),
        "never": make(),
    }
    got = set(shown(login(alice).get(url(platform_inbox, deadline=deadline))))
    assert got == {made[k].pk for k in expected}


def test_the_deadline_is_the_earlier_of_sla_and_expiry(make, platform_inbox):
    now = timezone.now()
    p = make(sla_due_at=now + timedelta(hours=3), expires_at=now + timedelta(hours=1))
    assert selectors.inbox_list(platform_inbox).get(pk=p.pk).deadline == p.expires_at


def test_search_matches_summary_or_resource_every_word_case_insensitive(alice, make, platform_inbox):
    by_summary = make(summary="Roll back PAYMENTS to 2026.11.3", resource="service:x")
    by_resource = make(summary="Restart", resource="service:payments-eu")
    make(summary="Scale checkout", resource="service:checkout")
    client = login(alice)
    assert set(shown(client.get(url(platform_inbox, q="payments")))) == {by_summary.pk, by_resource.pk}
    assert shown(client.get(url(platform_inbox, q="payments roll"))) == [by_summary.pk]


def test_filters_combine_with_the_decided_tab(alice, make, decided, platform_inbox):
    make(summary="Drop the cache")  # pending: not on the decided tab
    assert shown(login(alice).get(url(platform_inbox, status="decided", q="cache"))) == [decided.pk]


def test_both_orders_are_kept(alice, make, platform_inbox):
    low = make(risk="low")
    critical = make(risk="critical")
    newest = make(risk="low")
    client = login(alice)
    assert shown(client.get(url(platform_inbox)))[0] == newest.pk
    assert shown(client.get(url(platform_inbox, order="urgent")))[0] == critical.pk
    assert low.pk in shown(client.get(url(platform_inbox, order="urgent")))


def test_urgent_order_puts_the_nearest_deadline_first_within_a_risk(alice, make, platform_inbox):
    now = timezone.now()
    later = make(risk="high", sla_due_at=now + timedelta(hours=2))
    sooner = make(risk="high", sla_due_at=now + timedelta(minutes=10))
    assert shown(login(alice).get(url(platform_inbox, order="urgent")))[:2] == [sooner.pk, later.pk]


# --- pages ------------------------------------------------------------------------------------------

def test_pages_of_fifty_keep_the_query_string(alice, make, platform_inbox):
    for _ in range(120):
        make(risk="low")
    client = login(alice)
    first = client.get(url(platform_inbox, risk="low", order="urgent"))
    html = first.content.decode()
    assert len(shown(first)) == 50 and "1–50 of 120" in html
    assert 'href="?risk=low&amp;order=urgent&amp;page=2"' in html and 'rel="prev"' not in html
    third = client.get(url(platform_inbox, risk="low", order="urgent", page=3))
    assert len(shown(third)) == 20 and "101–120 of 120" in third.content.decode()
    assert 'rel="next"' not in third.content.decode()
    seen = set()
    for n in (1, 2, 3):
        seen |= set(shown(client.get(url(platform_inbox, risk="low", order="urgent", page=n))))
    assert len(seen) == 120  # no row twice, none missed


def test_a_page_past_the_end_is_empty_not_an_error(alice, make, platform_inbox):
    make()
    r = login(alice).get(url(platform_inbox, page=9))
    assert r.status_code == 200 and shown(r) == [] and "Back to the first page" in r.content.decode()


def test_the_pending_count_is_the_inboxs_not_the_pages(alice, make, platform_inbox):
    for _ in range(60):
        make()
    html = login(alice).get(url(platform_inbox)).content.decode()
    assert f'data-count-for="{platform_inbox.pk}">60<' in html and 'data-pending="60"' in html


# --- bad query strings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("query, field", [
    ({"risk": "extreme"}, "risk"), ({"page": "0"}, "page"), ({"page": "abc"}, "page"),
    ({"status": "maybe"}, "status"), ({"deadline": "yesterday"}, "deadline"), ({"order": "random"}, "order"),
    ({"agent": "nobody-called-this"}, "agent"), ({"q": "x" * 201}, "q"), ({"q": "a\x00b"}, "q"),
])
def test_invalid_values_get_a_clear_message_and_the_rest_still_applies(alice, make, platform_inbox, query, field):
    high = make(risk="high")
    make(risk="low")
    r = login(alice).get(url(platform_inbox, risk="high", **query) if field != "risk" else url(platform_inbox, **query))
    assert r.status_code == 400
    html = r.content.decode()
    assert 'id="filter-errors"' in html and f"<strong>{field}</strong>" in html
    if field != "risk":
        assert shown(r) == [high.pk]  # the valid risk filter still applies


def test_the_filter_form_defaults():
    assert InboxFilterForm({}).filters() == {"status": "pending", "risk": "", "agent": None, "action": "",
                                              "deadline": "", "q": "", "order": "newest", "page": 1}


# --- rows: deadline, marks, approve in place ------------------------------------------------------------

def test_an_overdue_row_stands_out(alice, make, platform_inbox):
    make(sla_due_at=timezone.now() - timedelta(minutes=20))
    html = login(alice).get(url(platform_inbox)).content.decode()
    assert 'class="due overdue"' in html and "20 min overdue" in html


def test_time_left_is_shown(alice, make, platform_inbox):
    make(sla_due_at=timezone.now() + timedelta(hours=3, minutes=1))
    assert "in 3 h" in login(alice).get(url(platform_inbox)).content.decode()


def test_rows_say_you_voted_and_waiting_for_a_second_approver(alice, make, platform_inbox):
    carol = UserFactory(username="carol")
    carol.groups.add(platform_inbox.reviewers)
    p = make(risk="high", quorum=2)
    services.proposal_decide(proposal=p, reviewer=alice, verdict="approve")
    mine = login(alice).get(url(platform_inbox)).content.decode()
    assert "You voted" in mine and "Waiting for a second approver" in mine
    theirs = login(carol).get(url(platform_inbox)).content.decode()
    assert "You voted" not in theirs and "Waiting for a second approver" in theirs


def test_a_frozen_row_has_no_approve_button(alice, make, platform_inbox, agent):
    p = make(risk="low")
    services.agent_suspend(agent=agent, by=alice, reason="runaway")
    html = login(alice).get(url(platform_inbox)).content.decode()
    row = html[html.index(f'data-id="{p.pk}"'):]
    row = row[:row.index("</tr>")]
    assert "Frozen" in row and 'value="approve"' not in row and 'disabled' in row


def test_a_low_risk_row_offers_approve_in_place_and_a_voter_does_not_see_it_again(alice, make, platform_inbox):
    p = make(risk="low")
    r = login(alice).get(url(platform_inbox))
    assert next(x for x in r.context["proposals"] if x.pk == p.pk).quick_approve is True


# --- live rows ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, live", [
    ({}, "rows"), ({"order": "urgent"}, "rows"), ({"risk": "low"}, "notice"), ({"q": "x"}, "notice"),
    ({"page": "2"}, "notice"), ({"status": "decided"}, "notice"), ({"status": "all"}, "notice"),
])
def test_new_rows_appear_live_only_where_no_filter_excludes_them(alice, platform_inbox, query, live):
    assert f'data-live="{live}"' in login(alice).get(url(platform_inbox, **query)).content.decode()


def test_the_row_template_carries_a_deadline_cell(alice, platform_inbox):
    html = login(alice).get(url(platform_inbox)).content.decode()
    template = html[html.index('<template id="row-template">'):]
    assert 'data-field="deadline"' in template


def test_the_live_card_carries_the_deadline(agent, platform_inbox):
    from inbox.events import proposal_card

    p, _ = services.proposal_submit(agent=agent, data=dict(PROPOSAL, risk="medium"))
    assert proposal_card(p)["deadline"] == p.sla_due_at.isoformat()


# --- access -----------------------------------------------------------------------------------------------

def test_other_reviewers_get_404_whatever_the_query(bob, platform_inbox):
    assert login(bob).get(url(platform_inbox, status="decided", q="x")).status_code == 404

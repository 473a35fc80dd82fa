"""Conflicts: pending proposals from different agents on the same resource.

They are marked as conflicting (both ways). Approving one supersedes nothing unless the reviewer
chooses to (``supersede_conflicts: true`` over the API, the ticked box on the page; off by default),
and then only the rivals in inboxes where that reviewer may decide (their agents see ``superseded``
and get their webhook). Every other rival stays pending for its own reviewers: linked to the approved
one, marked live in its inbox, with a history row saying who approved what and why it was left.
"""
import pytest

from governance import services as governance_services
from inbox import services
from inbox import tasks as inbox_tasks
from inbox.models import Proposal
from tests.factories import PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db
P = "/api/v1/proposals"
HOOK = "http://127.0.0.1:9/hooks/orchestra"


@pytest.fixture
def queued(monkeypatch):
    """Proposal ids whose webhook was enqueued."""
    ids = []
    monkeypatch.setattr(inbox_tasks, "enqueue_webhook", lambda pid, attempt=1: ids.append(str(pid)))
    return ids


@pytest.fixture
def pair(agent_client, other_agent_client, proposal_body):
    """Two pending proposals on service:payments in the platform inbox, from deploy-bot (first) and
    other-bot (second); medium risk, so one approval decides."""
    body = dict(proposal_body, risk="medium")
    first = agent_client.post_json(P, body).json()["id"]
    second = other_agent_client.post_json(P, dict(body, summary="Restart payments instead")).json()["id"]
    return first, second


SUPERSEDE = {"verdict": "approve", "supersede_conflicts": True}


def conflicts_of(pid):
    return {str(pk) for pk in Proposal.objects.get(pk=pid).conflicts_with.values_list("pk", flat=True)}


# --- marking --------------------------------------------------------------------------------------

def test_two_agents_on_the_same_resource_conflict_both_ways(pair):
    first, second = pair
    assert conflicts_of(first) == {second}
    assert conflicts_of(second) == {first}


def test_the_same_agent_twice_is_not_a_conflict(agent_client, proposal_body):
    first = agent_client.post_json(P, proposal_body).json()["id"]
    second = agent_client.post_json(P, dict(proposal_body, summary="again")).json()["id"]
    assert conflicts_of(first) == set() and conflicts_of(second) == set()


def test_different_resources_do_not_conflict(agent_client, other_agent_client, proposal_body):
    first = agent_client.post_json(P, proposal_body).json()["id"]
    other_agent_client.post_json(P, dict(proposal_body, resource="service:ledger"))
    assert conflicts_of(first) == set()


def test_proposals_without_a_resource_do_not_conflict(agent_client, other_agent_client, proposal_body):
    first = agent_client.post_json(P, dict(proposal_body, resource="")).json()["id"]
    other_agent_client.post_json(P, dict(proposal_body, resource=""))
    assert conflicts_of(first) == set()


def test_a_decided_proposal_conflicts_with_nothing_new(agent_client, other_agent_client, alice_client,
                                                        proposal_body):
    first = agent_client.post_json(P, dict(proposal_body, risk="medium")).json()["id"]
    alice_client.post_json(f"{P}/{first}/decision", {"verdict": "approve"})
    second = other_agent_client.post_json(P, proposal_body).json()["id"]
    assert conflicts_of(second) == set()


# --- supersession ---------------------------------------------------------------------------------

def test_approving_with_supersede_supersedes_the_other(pair, alice, alice_client):
    first, second = pair
    assert alice_client.post_json(f"{P}/{first}/decision", SUPERSEDE).status_code == 200
    other = Proposal.objects.get(pk=second)
    assert other.status == "superseded" and other.decided_at is not None and other.decided_by == alice
    assert first in other.decision_comment


def test_over_the_api_approving_supersedes_nothing_by_default(pair, alice_client):
    first, second = pair
    r = alice_client.post_json(f"{P}/{first}/decision", {"verdict": "approve"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert Proposal.objects.get(pk=second).status == "pending"
    assert conflicts_of(second) == {first}  # still linked: its reviewers see what was approved


def test_the_api_documents_supersede_conflicts_as_off_by_default(client):
    schema = client.get("/api/openapi.json").json()["components"]["schemas"]["DecisionIn"]
    field = schema["properties"]["supersede_conflicts"]
    assert field["default"] is False and "inboxes where you may decide" in field["description"]


def test_the_other_agent_reads_superseded(pair, alice_client, other_agent_client):
    first, second = pair
    alice_client.post_json(f"{P}/{first}/decision", SUPERSEDE)
    body = other_agent_client.get(f"{P}/{second}").json()
    assert body["status"] == "superseded"
    assert body["decision"]["verdict"] == "supersede" and first in body["decision"]["comment"]
    assert body["decision"]["decided_by"] == "alice"


def test_the_superseded_agent_gets_its_webhook(agent_client, other_agent_client, alice_client, proposal_body,
                                               queued, django_capture_on_commit_callbacks):
    first = agent_client.post_json(P, dict(proposal_body, risk="medium")).json()["id"]
    second = other_agent_client.post_json(P, dict(proposal_body, callback_url=HOOK)).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post_json(f"{P}/{first}/decision", SUPERSEDE)
    assert queued == [second]


def test_supersede_conflicts_false_leaves_the_other_pending(pair, alice_client):
    first, second = pair
    r = alice_client.post_json(f"{P}/{first}/decision", {"verdict": "approve", "supersede_conflicts": False})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert Proposal.objects.get(pk=second).status == "pending"


def test_rejecting_one_leaves_the_other_pending(pair, alice_client):
    first, second = pair
    alice_client.post_json(f"{P}/{first}/decision", {"verdict": "reject", "comment": "Restart instead."})
    assert Proposal.objects.get(pk=second).status == "pending"


def test_an_approval_short_of_quorum_supersedes_nothing(agent_client, other_agent_client, alice_client,
                                                        proposal_body):
    PolicyFactory(name="Two approvers", quorum=2)
    first = agent_client.post_json(P, proposal_body).json()["id"]
    second = other_agent_client.post_json(P, proposal_body).json()["id"]
    alice_client.post_json(f"{P}/{first}/decision", SUPERSEDE)
    assert Proposal.objects.get(pk=second).status == "pending"


def test_an_edited_approval_supersedes_too(pair, alice, platform_inbox):
    first, second = pair
    carol = UserFactory(username="carol")
    carol.groups.add(platform_inbox.reviewers)
    p = Proposal.objects.get(pk=first)
    services.proposal_decide(proposal=p, reviewer=alice, verdict="edit",
                             args={"service": "payments", "to_version": "2026.11.1"})
    services.proposal_decide(proposal=p, reviewer=carol, verdict="approve", supersede_conflicts=True)
    assert Proposal.objects.get(pk=second).status == "superseded"


def test_a_superseded_proposal_cannot_be_decided(pair, alice_client):
    first, second = pair
    alice_client.post_json(f"{P}/{first}/decision", SUPERSEDE)
    r = alice_client.post_json(f"{P}/{second}/decision", {"verdict": "approve"})
    assert r.status_code == 409 and r.json()["code"] == "already_decided" and r.json()["status"] == "superseded"


# --- many rivals on one resource ------------------------------------------------------------------

def test_marking_is_bounded_but_approving_supersedes_every_rival(platform, alice, proposal_body):
    """Work per new proposal stays constant (it is linked to the 20 most recent rivals), yet approving
    it supersedes every pending proposal of other agents on the resource, and records them all."""
    from inbox.schemas import ProposalIn
    from inbox.submission import CONFLICTS_MARKED_MAX

    data = ProposalIn(**{**proposal_body, "risk": "low"}).to_model_fields()
    rivals = [services.proposal_submit(agent=governance_services.agent_create(name=f"rival-{i}", domain=platform)[0],
                                       data=dict(data))[0] for i in range(CONFLICTS_MARKED_MAX + 5)]
    winner = services.proposal_submit(agent=governance_services.agent_create(name="winner", domain=platform)[0],
                                      data=dict(data))[0]
    assert winner.conflicts_with.count() == CONFLICTS_MARKED_MAX
    assert set(conflicts_of(winner.pk)) == {str(p.pk) for p in rivals[-CONFLICTS_MARKED_MAX:]}
    services.proposal_decide(proposal=winner, reviewer=alice, verdict="approve", supersede_conflicts=True)
    assert set(Proposal.objects.filter(pk__in=[p.pk for p in rivals]).values_list("status", flat=True)) == {
        "superseded"}
    assert winner.conflicts_with.count() == len(rivals)


# --- the approving reviewer's authority -----------------------------------------------------------

@pytest.fixture
def across(agent, legal_inbox):
    """A pending proposal of deploy-bot in the platform inbox (alice decides there), and a rival on the
    same resource in the legal inbox (bob's; alice may neither view nor decide there)."""
    from inbox.schemas import ProposalIn
    from tests.conftest import PROPOSAL
    from tests.factories import AgentFactory, ProposalFactory

    mine = services.proposal_submit(agent=agent, data=ProposalIn(**{**PROPOSAL, "risk": "medium"}).to_model_fields())[0]
    theirs = ProposalFactory(inbox=legal_inbox, agent=AgentFactory(name="legal-bot", domain=legal_inbox.domain),
                             resource=mine.resource, risk="medium")
    return mine, theirs


def approve(proposal, reviewer, **kw):
    return services.proposal_decide(proposal=proposal, reviewer=reviewer, verdict="approve", **kw)


def last_reason(p):
    return p.history.order_by("-history_id").first()


def test_a_rival_outside_the_approvers_authority_stays_pending_even_when_superseding(across, alice):
    mine, theirs = across
    approve(mine, alice, supersede_conflicts=True)
    theirs.refresh_from_db()
    assert theirs.status == "pending" and theirs.decided_by is None
    assert conflicts_of(theirs.pk) == {str(mine.pk)}  # linked to what was approved


def test_a_rival_left_pending_has_a_history_row_naming_who_approved_what_and_why(across, alice):
    mine, theirs = across
    approve(mine, alice, supersede_conflicts=True)
    row = last_reason(theirs)
    assert row.history_change_reason == (f"approved rival {str(mine.pk)[:8]} by alice; "
                                         "left pending: outside alice's authority")
    assert row.history_user == alice and row.status == "pending"


def test_the_approved_proposals_history_says_what_it_left_and_superseded(across, pair, alice):
    first, second = pair  # second: other-bot's rival in alice's own inbox
    _, theirs = across  # legal-bot's, in bob's inbox (``mine`` is deploy-bot's, as ``first``: no rival)
    approve(Proposal.objects.get(pk=first), alice, supersede_conflicts=True)
    # settled just before the decision is saved (a decided proposal is immutable): the row before it
    decision, row = Proposal.objects.get(pk=first).history.order_by("-history_id")[:2]
    assert decision.history_change_reason == "approve by alice" and decision.status == "approved"
    assert row.history_change_reason.startswith("rivals on the resource: superseded ")
    assert "pending (outside alice's authority)" in row.history_change_reason
    assert "superseded 1;" in row.history_change_reason and "left 1 pending" in row.history_change_reason
    assert [str(pk) for pk in Proposal.objects.filter(status="superseded").values_list("pk", flat=True)] == [second]
    assert Proposal.objects.get(pk=theirs.pk).status == "pending"


def test_a_superseded_rivals_history_names_who_and_why(pair, alice):
    first, second = pair
    approve(Proposal.objects.get(pk=first), alice, supersede_conflicts=True)
    row = last_reason(Proposal.objects.get(pk=second))
    assert row.status == "superseded" and row.history_user == alice
    assert row.history_change_reason == f"superseded by {first}, approved by alice"


def test_a_same_inbox_rival_is_superseded_only_when_chosen(pair, alice):
    first, second = pair
    approve(Proposal.objects.get(pk=first), alice)
    rival = Proposal.objects.get(pk=second)
    assert rival.status == "pending"
    assert last_reason(rival).history_change_reason.endswith("left pending: supersede not chosen")


def test_a_frozen_rival_is_not_superseded(pair, alice):
    first, second = pair
    Proposal.objects.filter(pk=second).update(is_frozen=True)
    approve(Proposal.objects.get(pk=first), alice, supersede_conflicts=True)
    rival = Proposal.objects.get(pk=second)
    assert rival.status == "pending" and last_reason(rival).history_change_reason.endswith("left pending: frozen")


def test_the_rivals_inbox_is_told_which_proposal_was_approved(across, alice, monkeypatch,
                                                               django_capture_on_commit_callbacks):
    import json

    from inbox import events

    sent = []
    monkeypatch.setattr(events, "_send", lambda group, message: sent.append((group, message)))
    mine, theirs = across
    with django_capture_on_commit_callbacks(execute=True):
        approve(mine, alice, supersede_conflicts=True)
    inbox_events = [(g, json.loads(m["data"])) for g, m in sent if "data" in m]
    conflict = [(g, data) for g, data in inbox_events if data["event"] == "proposal.conflict"]
    assert [g for g, _ in conflict] == [f"inbox-{theirs.inbox_id}"]
    data = conflict[0][1]
    assert data["proposal"]["id"] == str(theirs.pk) and data["proposal"]["status"] == "pending"
    assert data["approved"] == {"id": str(mine.pk), "action": mine.action, "resource": mine.resource,
                                "status": "approved", "decided_by": "alice"}


# --- the reviewer pages ---------------------------------------------------------------------------

def page_client(user):
    from django.test import Client

    c = Client()
    c.force_login(user)
    return c


def proposal_page(user, pid):
    from django.urls import reverse

    return page_client(user).get(reverse("inbox:proposal", args=[pid]))


def test_the_form_leaves_the_supersede_box_unticked(pair, alice):
    first, _ = pair
    html = proposal_page(alice, first).content.decode()
    assert 'name="supersede"' in html and 'name="supersede" checked' not in html
    assert "supersede_shown" not in html


def test_approving_on_the_page_without_the_box_supersedes_nothing(pair, alice):
    from django.urls import reverse

    first, second = pair
    r = page_client(alice).post(reverse("inbox:proposal", args=[first]), {"verdict": "approve"})
    assert r.status_code == 302 and Proposal.objects.get(pk=first).status == "approved"
    assert Proposal.objects.get(pk=second).status == "pending"


def test_approving_on_the_page_with_the_box_ticked_supersedes(pair, alice):
    from django.urls import reverse

    first, second = pair
    page_client(alice).post(reverse("inbox:proposal", args=[first]), {"verdict": "approve", "supersede": "on"})
    assert Proposal.objects.get(pk=second).status == "superseded"


def test_with_only_rivals_outside_ones_authority_the_page_offers_no_box(across, alice):
    mine, _ = across
    Proposal.objects.get(pk=mine.pk).conflicts_with.add(across[1])
    html = proposal_page(alice, mine.pk).content.decode()
    assert 'name="supersede"' not in html and "inboxes where you do not decide" in html


def test_the_rivals_page_links_the_approved_proposal_with_its_status(pair, alice):
    first, second = pair
    approve(Proposal.objects.get(pk=first), alice)
    r = proposal_page(alice, second)
    html = r.content.decode()
    assert 'id="approved-conflict"' in html and f'data-approved-id="{first}"' in html
    assert r.context["conflicts"][0]["proposal"].status == "approved"


def test_a_rival_whose_approved_proposal_is_out_of_sight_still_says_so(across, alice, bob):
    mine, theirs = across
    approve(mine, alice, supersede_conflicts=True)
    html = proposal_page(bob, theirs.pk).content.decode()
    assert 'id="approved-conflict"' in html and "in an inbox you may not see" in html
    assert str(mine.pk)[:8] in html and f'data-approved-id="{mine.pk}"' not in html


def test_the_rivals_inbox_page_marks_its_row(across, alice, bob):
    from django.urls import reverse

    mine, theirs = across
    approve(mine, alice, supersede_conflicts=True)
    html = page_client(bob).get(reverse("inbox:inbox", args=[theirs.inbox.slug])).content.decode()
    assert html.count('class="conflict-mark"') == 1


@pytest.mark.parametrize("supersede", [False, True])
def test_settling_rivals_costs_the_same_queries_for_3_or_20(platform, platform_inbox, alice, supersede):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import AgentFactory, ProposalFactory

    def queries(n):
        resource = f"service:s{n}"
        winner = ProposalFactory(inbox=platform_inbox, resource=resource, risk="low")
        ProposalFactory.create_batch(n, inbox=platform_inbox, resource=resource, risk="low",
                                     agent=AgentFactory(domain=platform))
        with CaptureQueriesContext(connection) as ctx:
            approve(winner, alice, supersede_conflicts=supersede)
        assert Proposal.objects.filter(resource=resource, status="superseded" if supersede else "pending").count() == n
        return len(ctx.captured_queries)

    queries(1)  # warm the per-process and per-user caches (content types, the permission checker)
    assert queries(3) == queries(20)  # 20: within one SQLite bulk-insert batch of history rows

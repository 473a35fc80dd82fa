"""Batches: proposals raised together carry a ``batch`` id, are shown together, and a reviewer decides
several at once (``POST /api/v1/decisions`` or the inbox page), each exactly once, each
permission-checked, failures reported per proposal."""
import re
import threading

import pytest
from django.db import connection

from inbox import batches
from inbox.models import Proposal
from tests.conftest import PROPOSAL
from tests.factories import ProposalFactory, UserFactory

P = "/api/v1/proposals"
D = "/api/v1/decisions"


def submit(client, **fields):
    r = client.post_json(P, {**PROPOSAL, "risk": "medium", **fields})
    assert r.status_code == 201, r.json()
    return r.json()


def test_a_batch_id_is_kept_and_filters_the_lists(agent_client, alice_client):
    a = submit(agent_client, action="send_email", batch="step-1")
    b = submit(agent_client, action="delete_file", batch="step-1")
    submit(agent_client, action="other")
    assert a["batch"] == "step-1"
    mine = agent_client.get(f"{P}?batch=step-1").json()
    assert mine["count"] == 2
    theirs = alice_client.get("/api/v1/inbox/proposals?batch=step-1").json()
    assert {p["id"] for p in theirs["items"]} == {a["id"], b["id"]}


@pytest.mark.parametrize("batch", ["has space", "x" * 121, "-lead"])
def test_a_bad_batch_id_is_refused(agent_client, batch):
    r = agent_client.post_json(P, {**PROPOSAL, "batch": batch})
    assert r.status_code == 422 and r.json()["field"] == "batch"


def test_one_request_decides_several_and_reports_each(agent_client, alice_client, legal_inbox):
    approve = submit(agent_client, batch="s")
    reject = submit(agent_client, batch="s")
    done = submit(agent_client, batch="s")
    alice_client.post_json(f"{P}/{done['id']}/decision", {"verdict": "approve"})
    bad_edit = submit(agent_client, batch="s", allowed_verdicts=["approve", "reject"])
    elsewhere = ProposalFactory(inbox=legal_inbox)  # alice does not review Legal
    r = alice_client.post_json(D, {"decisions": [
        {"proposal_id": approve["id"], "verdict": "approve", "comment": "ok"},
        {"proposal_id": reject["id"], "verdict": "reject", "comment": "no"},
        {"proposal_id": done["id"], "verdict": "approve"},
        {"proposal_id": bad_edit["id"], "verdict": "edit", "args": {"a": 1}},
        {"proposal_id": str(elsewhere.pk), "verdict": "approve"},
    ]})
    assert r.status_code == 200
    body = r.json()
    assert (body["decided"], body["failed"]) == (2, 3)
    assert [(x["ok"], x["status_code"]) for x in body["results"]] == [
        (True, 200), (True, 200), (False, 409), (False, 422), (False, 404)]
    assert body["results"][0]["proposal"]["status"] == "approved"
    assert body["results"][1]["proposal"]["decision"]["comment"] == "no"
    assert body["results"][2]["error"]["code"] == "already_decided"
    assert body["results"][2]["error"]["decided_by"] == "alice"
    assert body["results"][3]["error"]["code"] == "verdict_not_allowed"
    assert body["results"][4]["error"]["code"] == "not_found" and body["results"][4]["proposal"] is None
    assert Proposal.objects.get(pk=bad_edit["id"]).status == "pending"


def test_a_proposal_named_twice_refuses_the_whole_request(agent_client, alice_client):
    p, q = submit(agent_client), submit(agent_client)
    r = alice_client.post_json(D, {"decisions": [{"proposal_id": p["id"], "verdict": "approve"},
                                                 {"proposal_id": q["id"], "verdict": "approve"},
                                                 {"proposal_id": p["id"], "verdict": "reject", "comment": "x"}]})
    assert r.status_code == 422 and r.json()["field"] == "decisions.2.proposal_id"
    assert Proposal.objects.filter(status="pending").count() == 2


def test_the_batch_route_is_for_reviewers_with_a_strict_body(agent_client, alice_client):
    p = submit(agent_client)
    assert agent_client.post_json(D, {"decisions": [{"proposal_id": p["id"], "verdict": "approve"}]}).status_code == 403
    assert alice_client.post_json(D, {"decisions": []}).status_code == 422
    r = alice_client.post_json(D, {"decisions": [{"proposal_id": p["id"], "verdict": "approve", "args": {}}]})
    assert r.status_code == 422 and r.json()["field"] == "decisions.0.args"
    assert alice_client.post_json(D, {"decisions": [], "extra": 1}).status_code == 422


def test_a_viewer_who_may_not_decide_gets_403_for_that_item(agent_client, auditor_client):
    p = submit(agent_client)
    r = auditor_client.post_json(D, {"decisions": [{"proposal_id": p["id"], "verdict": "approve"}]})
    assert r.json()["results"][0]["status_code"] in (403, 404)
    assert Proposal.objects.get(pk=p["id"]).status == "pending"


# --- pages ---------------------------------------------------------------------------------------

def test_the_inbox_shows_a_batch_together_and_the_proposal_page_lists_it(agent_client, other_agent_client, alice,
                                                                         client):
    first = submit(agent_client, action="send_email", batch="step-9")
    between = submit(other_agent_client, action="unrelated")
    second = submit(agent_client, action="delete_file", batch="step-9")
    client.force_login(alice)
    html = client.get("/inboxes/platform-reviewers/").content.decode()
    rows = re.findall(r'<tr class="row" data-id="([0-9a-f-]{36})"', html)
    # newest first, except that a batch stays together: the older of the two moves up beside the newer
    assert rows[:3] == [second["id"], first["id"], between["id"]]
    assert "step-9" in html and 'form="bulk-decide"' in html
    page = client.get(f"/proposals/{first['id']}/").content.decode()
    assert 'id="batch"' in page and f'/proposals/{second["id"]}/' in page


def test_the_inbox_page_decides_the_ticked_proposals_with_one_comment(agent_client, alice, client):
    a, b, c = submit(agent_client), submit(agent_client), submit(agent_client)
    client.force_login(alice)
    r = client.post("/inboxes/platform-reviewers/decide/",
                    {"proposal": [a["id"], b["id"]], "verdict": "reject", "comment": "Not this week"}, follow=True)
    assert "Rejected 2 proposals." in r.content.decode()
    for pid in (a["id"], b["id"]):
        p = Proposal.objects.get(pk=pid)
        assert (p.status, p.decision_comment, p.decided_by.username) == ("rejected", "Not this week", "alice")
    assert Proposal.objects.get(pk=c["id"]).status == "pending"


def test_rejecting_ticked_proposals_without_a_comment_reports_each(agent_client, alice, client):
    a = submit(agent_client)
    client.force_login(alice)
    r = client.post("/inboxes/platform-reviewers/decide/", {"proposal": [a["id"]], "verdict": "reject"}, follow=True)
    assert "A comment is required to reject." in r.content.decode()
    assert Proposal.objects.get(pk=a["id"]).status == "pending"


def test_the_bulk_form_cannot_reach_a_proposal_outside_your_inboxes(agent_client, bob, client):
    a = submit(agent_client)
    client.force_login(bob)
    assert client.post("/inboxes/platform-reviewers/decide/", {"proposal": [a["id"]], "verdict": "approve"}
                       ).status_code == 404
    r = client.post("/inboxes/legal/decide/", {"proposal": [a["id"]], "verdict": "approve"}, follow=True)
    assert "No such proposal." in r.content.decode()
    assert Proposal.objects.get(pk=a["id"]).status == "pending"


# --- exactly once ----------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres), "any"])
def test_two_reviewers_deciding_the_same_batch_at_once_decide_each_proposal_once(platform_inbox, backend):
    proposals = [ProposalFactory(inbox=platform_inbox, risk="medium", quorum=1) for _ in range(6)]
    reviewers = [UserFactory(username=f"rev{i}") for i in range(2)]
    for r in reviewers:
        r.groups.add(platform_inbox.reviewers)
    barrier = threading.Barrier(2)
    outcomes = [None, None]

    def run(i):
        try:
            barrier.wait()
            items = [batches.DecisionItem(proposal_id=p.pk, verdict="approve") for p in proposals]
            outcomes[i] = batches.proposals_decide(reviewer=reviewers[i], items=list(reversed(items)) if i else items)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    by_id = {}
    for result in outcomes:
        for o in result:
            by_id.setdefault(o.proposal_id, []).append(o)
    for p in proposals:
        wins = [o for o in by_id[p.pk] if o.ok]
        assert len(wins) == 1, by_id[p.pk]
        loser = next(o for o in by_id[p.pk] if not o.ok)
        assert loser.error.code == "already_decided"
        p.refresh_from_db()
        assert p.status == "approved" and p.decided_by == wins[0].proposal.decided_by
        assert p.history.exclude(status="pending").count() == 1


@pytest.mark.parametrize("batch", ["a\x00b", "has space", "x" * 121])
def test_a_bad_batch_filter_is_a_422_not_a_server_error(agent_client, alice_client, batch):
    assert agent_client.get(P, {"batch": batch}).status_code == 422
    assert alice_client.get("/api/v1/inbox/proposals", {"batch": batch}).status_code == 422

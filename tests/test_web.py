"""The reviewer web app: pages, access rules and the decision form (Django test client, sessions)."""
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from governance import tokens
from governance.models import ApiToken
from inbox import services
from inbox.models import Proposal
from tests.conftest import PROPOSAL
from tests.factories import UserFactory


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def pending(agent, platform_inbox):
    proposal, _ = services.proposal_submit(agent=agent, data=dict(PROPOSAL, risk="medium"))  # one approver
    assert proposal.inbox_id == platform_inbox.pk
    return proposal


def inbox_url(inbox):
    return reverse("inbox:inbox", args=[inbox.slug])


def proposal_url(proposal):
    return reverse("inbox:proposal", args=[proposal.id])


def decide(client, proposal, **data):
    return client.post(proposal_url(proposal), data)


# --- login ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/inboxes/platform-reviewers/", "/profile/",
                                  "/proposals/00000000-0000-0000-0000-000000000000/"])
def test_pages_redirect_anonymous_users_to_login(client, db, path):
    r = client.get(path)
    assert r.status_code == 302
    assert r.url.startswith("/accounts/login/?next=")


def test_login_page_signs_in_and_lands_on_home(client, alice):
    r = client.get("/accounts/login/")
    assert r.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in r.content
    r = client.post("/accounts/login/", {"username": "alice", "password": "pw-for-tests-1"})
    assert r.status_code == 302 and r.url == "/"


def test_logout_is_a_post(alice):
    client = login(alice)
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


# --- home and inbox page -------------------------------------------------------------------------

def test_home_lists_the_users_inboxes_with_pending_counts(alice, pending, legal_inbox):
    r = login(alice).get("/")
    assert r.status_code == 200
    inboxes = list(r.context["nav_inboxes"])
    assert [i.slug for i in inboxes] == ["platform-reviewers"]
    assert inboxes[0].pending_count == 1
    assert b"Platform reviewers" in r.content and b"Legal" not in r.content


def test_alice_sees_the_platform_inbox_and_its_pending_proposals(alice, pending, platform_inbox):
    r = login(alice).get(inbox_url(platform_inbox))
    assert r.status_code == 200
    assert list(r.context["proposals"]) == [pending]
    html = r.content.decode()
    assert pending.summary in html and "deploy-bot" in html and "82%" in html and "$0.40" in html
    assert f'data-inbox="{platform_inbox.pk}"' in html  # the page's live socket


def test_inbox_page_orders_by_urgency(alice, agent, platform_inbox):
    low, _ = services.proposal_submit(agent=agent, data={**PROPOSAL, "risk": "low"})
    critical, _ = services.proposal_submit(agent=agent, data={**PROPOSAL, "risk": "critical"})
    newest_last_low, _ = services.proposal_submit(agent=agent, data={**PROPOSAL, "risk": "low"})
    client = login(alice)
    assert list(client.get(inbox_url(platform_inbox)).context["proposals"])[0] == newest_last_low
    assert list(client.get(inbox_url(platform_inbox) + "?order=urgent").context["proposals"])[0] == critical


def test_decided_proposals_leave_the_inbox_page(alice, pending, platform_inbox):
    services.proposal_decide(proposal=pending, reviewer=alice, verdict="approve")
    r = login(alice).get(inbox_url(platform_inbox))
    assert list(r.context["proposals"]) == []
    assert b"All clear" in r.content


def test_bob_gets_404_on_alices_inbox(bob, platform_inbox):
    assert login(bob).get(inbox_url(platform_inbox)).status_code == 404


def test_unknown_inbox_is_404(alice):
    assert login(alice).get("/inboxes/nope/").status_code == 404


# --- proposal page -------------------------------------------------------------------------------

def test_proposal_page_shows_everything_the_agent_sent(alice, pending):
    r = login(alice).get(proposal_url(pending))
    assert r.status_code == 200
    html = r.content.decode()
    for text in ("deploy.rollback", "service:payments", PROPOSAL["reasoning"], "INC-1042", "Internal", "82%",
                 escape(pending.routing_reason), "Submitted by agent", "&quot;to_version&quot;: &quot;2026.11.3&quot;"):
        assert text in html, text
    assert r.context["can_decide"] is True
    assert 'name="verdict" value="approve"' in html


def test_bob_gets_404_on_alices_proposal_and_cannot_decide_it(bob, pending):
    client = login(bob)
    assert client.get(proposal_url(pending)).status_code == 404
    assert decide(client, pending, verdict="approve").status_code == 404
    pending.refresh_from_db()
    assert pending.status == Proposal.Status.PENDING


def test_auditor_sees_the_proposal_but_no_form_and_cannot_post(auditor, pending):
    client = login(auditor)
    r = client.get(proposal_url(pending))
    assert r.status_code == 200 and r.context["can_decide"] is False
    assert b'value="approve"' not in r.content
    assert decide(client, pending, verdict="approve").status_code == 403
    pending.refresh_from_db()
    assert pending.status == Proposal.Status.PENDING


def test_approve_with_optional_comment(alice, pending, platform_inbox):
    r = decide(login(alice), pending, verdict="approve", comment="Go ahead.")
    assert r.status_code == 302 and r.url == inbox_url(platform_inbox)
    pending.refresh_from_db()
    assert pending.status == Proposal.Status.APPROVED
    assert pending.decided_by == alice and pending.decision_comment == "Go ahead."
    assert pending.final_args == PROPOSAL["args"]


def test_approval_is_recorded_in_the_history(alice, pending):
    client = login(alice)
    decide(client, pending, verdict="approve")
    r = client.get(proposal_url(pending))
    html = r.content.decode()
    assert "Approve by alice" in html  # the change reason
    changes = {c["field"]: (c["old"], c["new"]) for c in r.context["history"][-1]["changes"]}
    assert changes["status"] == ("pending", "approved")
    assert changes["decided by"] == ("—", "alice")
    assert r.context["can_decide"] is False


def test_reject_needs_a_comment_and_changes_nothing_without_one(alice, pending):
    client = login(alice)
    r = decide(client, pending, verdict="reject", comment="  ")
    assert r.status_code == 422
    assert "A comment is required to reject." in r.context["form"].errors["comment"]
    pending.refresh_from_db()
    assert pending.status == Proposal.Status.PENDING and pending.decided_by is None

    decide(client, pending, verdict="reject", comment="Not during the sale.")
    pending.refresh_from_db()
    assert pending.status == Proposal.Status.REJECTED and pending.decision_comment == "Not during the sale."


def test_answer_needs_a_comment(alice, pending):
    client = login(alice)
    assert decide(client, pending, verdict="answer").status_code == 422
    decide(client, pending, verdict="answer", comment="Use the blue-green switch instead.")
    pending.refresh_from_db()
    assert pending.status == Proposal.Status.ANSWERED


@pytest.mark.parametrize("args, error", [
    ('{"service": "payments",', "Not valid JSON"),
    ('["not", "an", "object"]', "Edited args must be a JSON object."),
])
def test_edit_with_invalid_args_shows_the_error_and_changes_nothing(alice, pending, args, error):
    r = decide(login(alice), pending, verdict="edit", args=args)
    assert r.status_code == 422
    assert any(error in e for e in r.context["form"].errors["args"])
    assert error.encode() in r.content
    pending.refresh_from_db()
    assert pending.status == Proposal.Status.PENDING


@pytest.fixture
def carol(platform_inbox):
    user = UserFactory(username="carol")
    user.groups.add(platform_inbox.reviewers)
    return user


def test_edit_with_valid_json_then_a_second_approval_approves_the_edited_args(alice, carol, pending):
    edited = {"service": "payments", "to_version": "2026.11.2"}
    client = login(alice)
    r = decide(client, pending, verdict="edit", args=json.dumps(edited), comment="One version further back.")
    assert r.status_code == 302
    pending.refresh_from_db()
    assert pending.final_args == edited and pending.args == PROPOSAL["args"]
    assert pending.status == Proposal.Status.PENDING  # four eyes: whoever edits cannot approve alone
    r = client.get(r.url)
    assert "stays pending until another reviewer approves it" in r.content.decode()
    r = client.get(proposal_url(pending))  # alice's vote is in: no second vote from her
    assert r.context["outlook"].blocked_code == "voted" and r.context["can_decide"] is False
    assert b"You edited its arguments" in r.content and b'value="approve"' not in r.content

    decide(login(carol), pending, verdict="approve")
    pending.refresh_from_db()
    assert pending.status == Proposal.Status.EDITED and pending.final_args == edited


def test_the_edit_textarea_is_prefilled_with_the_args(alice, pending):
    r = login(alice).get(proposal_url(pending))
    assert json.loads(r.context["form"]["args"].value()) == PROPOSAL["args"]


def test_second_decision_says_who_decided_first(alice, carol, pending):
    decide(login(carol), pending, verdict="approve")

    r = decide(login(alice), pending, verdict="reject", comment="Too risky.")
    assert r.status_code == 409
    assert b"Already approved by carol." in r.content
    assert r.context["can_decide"] is False  # the decided state, no form
    assert b'value="reject"' not in r.content
    pending.refresh_from_db()
    assert pending.status == Proposal.Status.APPROVED and pending.decided_by == carol


def test_forms_need_a_csrf_token(alice, pending):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert decide(client, pending, verdict="approve").status_code == 403
    pending.refresh_from_db()
    assert pending.status == Proposal.Status.PENDING


# --- profile and tokens ----------------------------------------------------------------------------

def test_profile_creates_a_token_and_shows_it_once(alice):
    client = login(alice)
    r = client.post("/profile/", {"name": "laptop CLI"})
    assert r.status_code == 200
    raw = r.context["new_token"]
    assert raw.startswith("orc_u_") and raw.encode() in r.content
    token = ApiToken.objects.get(user=alice)
    assert token.name == "laptop CLI" and tokens.token_authenticate(raw) == alice
    r = client.get("/profile/")
    assert raw.encode() not in r.content and token.prefix.encode() in r.content


def test_profile_revokes_own_token(alice):
    token, raw = tokens.user_token_create(user=alice, name="old")
    r = login(alice).post(reverse("inbox:token_revoke", args=[token.pk]))
    assert r.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and tokens.token_authenticate(raw) is None


def test_cannot_revoke_another_users_token(alice, bob):
    token, raw = tokens.user_token_create(user=bob)
    assert login(alice).post(reverse("inbox:token_revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_profile_lists_only_own_tokens(alice, bob):
    tokens.user_token_create(user=alice, name="mine")
    tokens.user_token_create(user=bob, name="bobs")
    r = login(alice).get("/profile/")
    assert [t.name for t in r.context["tokens"]] == ["mine"]


def test_revoke_is_post_only(alice):
    token, _ = tokens.user_token_create(user=alice)
    assert login(alice).get(reverse("inbox:token_revoke", args=[token.pk])).status_code == 405


def test_a_conflict_from_the_service_is_shown_on_the_form(alice, pending, monkeypatch):
    from orchestra_site.errors import Conflict

    def frozen(**kwargs):
        raise Conflict("This proposal is frozen: its agent or domain is suspended.", code="frozen")

    monkeypatch.setattr(services, "proposal_decide", frozen)
    r = decide(login(alice), pending, verdict="approve")
    assert r.status_code == 409
    assert b"This proposal is frozen" in r.content


def test_an_args_contract_error_is_shown_on_the_args_field(alice, pending, monkeypatch):
    from orchestra_site.errors import InvalidInput

    def contract(**kwargs):
        raise InvalidInput("args.to_version: 'x' does not match (contract of deploy.rollback)", field="args.to_version")

    monkeypatch.setattr(services, "proposal_decide", contract)
    r = decide(login(alice), pending, verdict="edit", args='{"to_version": "x"}')
    assert r.status_code == 422
    assert "args.to_version" in r.context["form"].errors["args"][0]


def test_escalate_moves_the_proposal_up_a_level_with_a_reason(alice, pending, platform_inbox):
    client = login(alice)
    assert b"Escalate to the next level" in client.get(proposal_url(pending)).content
    r = client.post(reverse("inbox:escalate", args=[pending.id]), {"reason": "Touches payments during the sale."})
    assert r.status_code == 302 and r.url == inbox_url(platform_inbox)
    pending.refresh_from_db()
    assert pending.level == "domain" and pending.inbox_id != platform_inbox.pk and pending.is_pending


def test_escalate_needs_a_reason(alice, pending):
    client = login(alice)
    r = client.post(reverse("inbox:escalate", args=[pending.id]), {"reason": " "}, follow=True)
    assert b"A reason is required to escalate." in r.content
    pending.refresh_from_db()
    assert pending.level == "agent"


def test_bob_cannot_escalate_alices_proposal(bob, pending):
    assert login(bob).post(reverse("inbox:escalate", args=[pending.id]), {"reason": "x"}).status_code == 404

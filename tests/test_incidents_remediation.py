"""Remediations: a proposal with ``"incident": "<id>"`` goes to the incident's commander under the
governance policies. Only the commander decides (not a responder, not the inbox's reviewers, not an
agent); handing command over moves that right; a forbidden action stays forbidden; what policy sends
higher is decided higher; the decision lands on the timeline and reaches the waiting agent."""
import pytest

from governance.models import Level, Policy
from incidents import services
from incidents.models import EntryKind, Remediation
from tests.factories import PolicyFactory, UserFactory
from tests.incident_fixtures import accepted, person_client

ROLLBACK = {"action": "deploy.rollback", "resource": "service:payments", "summary": "Roll back payments to 2026.11.3",
            "args": {"service": "payments", "to_version": "2026.11.3"}, "risk": "high", "confidence": 0.85,
            "reasoning": "The error rate rose with 2026.11.4."}


def propose(client, incident, **change):
    return client.post_json("/api/v1/proposals", {**ROLLBACK, "incident": str(incident.pk), **change})


@pytest.fixture
def incident(monitor, ines):
    return accepted(monitor, ines)


def test_a_remediation_waits_for_the_commander_alone(incident, rca_client, ops):
    PolicyFactory(name="review deploys", action_pattern="deploy.*")  # high risk, blank quorum: 2 by default
    r = propose(rca_client, incident)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "pending" and body["quorum"] == 1
    assert "its commander decides" in body["routing_reason"]
    remediation = Remediation.objects.get(proposal_id=body["id"])
    assert remediation.incident == incident and remediation.by_commander
    assert incident.timeline.filter(kind=EntryKind.REMEDIATION, agent__name="rca-bot").exists()


def test_only_the_commander_decides(incident, rca_client, ines, raj, ops):
    reviewer = UserFactory(username="rita")  # first-line reviewer of the domain's default inbox
    reviewer.groups.add(ops.default_inbox.reviewers)
    proposal_id = propose(rca_client, incident).json()["id"]
    for user in (raj, reviewer):  # a responder; an inbox reviewer: they see it, they cannot decide
        client = person_client(user)
        assert client.get(f"/api/v1/proposals/{proposal_id}").status_code == 200
        r = client.post_json(f"/api/v1/proposals/{proposal_id}/decision", {"verdict": "approve"})
        assert r.status_code == 403, user
    outsider = person_client(UserFactory(username="mallory"))
    assert outsider.get(f"/api/v1/proposals/{proposal_id}").status_code == 404
    r = person_client(ines).post_json(f"/api/v1/proposals/{proposal_id}/decision",
                                      {"verdict": "approve", "comment": "Roll it back"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert r.json()["decision"]["decided_by"] == "ines"
    decision = incident.timeline.get(kind=EntryKind.DECISION)
    assert decision.user == ines and "approved by ines" in decision.summary
    assert Remediation.objects.get(proposal_id=proposal_id).outcome == "approved"


def test_the_agent_learns_the_decision_as_for_any_proposal(incident, rca_client, ines):
    proposal_id = propose(rca_client, incident).json()["id"]
    person_client(ines).post_json(f"/api/v1/proposals/{proposal_id}/decision", {"verdict": "reject",
                                                                                  "comment": "Too risky now"})
    r = rca_client.get(f"/api/v1/proposals/{proposal_id}/wait?timeout=1")
    assert r.json()["status"] == "rejected" and r.json()["decision"]["comment"] == "Too risky now"


def test_handing_off_command_moves_the_right_to_decide(incident, rca_client, ines, raj):
    proposal_id = propose(rca_client, incident).json()["id"]
    services.command_handoff(incident=incident, to=raj, by=ines, reason="Shift change")
    assert person_client(ines).post_json(f"/api/v1/proposals/{proposal_id}/decision",
                                         {"verdict": "approve"}).status_code == 403
    r = person_client(raj).post_json(f"/api/v1/proposals/{proposal_id}/decision", {"verdict": "approve"})
    assert r.status_code == 200 and r.json()["decision"]["decided_by"] == "raj"
    handoff = incident.timeline.get(kind=EntryKind.COMMAND, data__to="raj")
    assert handoff.user == ines and handoff.data == {"from": "ines", "to": "raj", "reason": "Shift change"}


def test_a_forbidden_action_stays_forbidden(incident, rca_client):
    PolicyFactory(name="no rollbacks", action_pattern="deploy.rollback", outcome=Policy.Outcome.FORBID)
    r = propose(rca_client, incident)
    assert r.status_code == 403 and r.json()["code"] == "forbidden_by_policy"
    remediation = Remediation.objects.get(incident=incident)
    assert remediation.outcome == "refused" and not remediation.by_commander
    assert "policy decided it (forbid)" in remediation.proposal.routing_reason


def test_nothing_auto_approves_that_policy_would_not(incident, rca_client):
    PolicyFactory(name="auto deploys", action_pattern="deploy.*", outcome=Policy.Outcome.AUTO_APPROVE,
                  min_confidence=0.99)
    assert propose(rca_client, incident, risk="low").json()["status"] == "pending"


def test_what_policy_escalates_is_decided_at_that_level(incident, rca_client, ines, olivia):
    PolicyFactory(name="orchestrator decides rollbacks", action_pattern="deploy.rollback",
                  outcome=Policy.Outcome.ESCALATE, escalate_to=Level.DOMAIN)
    body = propose(rca_client, incident).json()
    assert body["level"] == "domain" and "which decides" in body["routing_reason"]
    assert person_client(ines).post_json(f"/api/v1/proposals/{body['id']}/decision",
                                         {"verdict": "approve"}).status_code == 403
    r = person_client(olivia).post_json(f"/api/v1/proposals/{body['id']}/decision", {"verdict": "approve"})
    assert r.status_code == 200


def test_a_policys_own_quorum_stands(incident, rca_client, ines):
    PolicyFactory(name="two for rollbacks", action_pattern="deploy.rollback", quorum=2)
    body = propose(rca_client, incident).json()
    assert body["quorum"] == 2 and "quorum (2) stands" in body["routing_reason"]
    assert not Remediation.objects.get(proposal_id=body["id"]).by_commander


@pytest.mark.parametrize("ref", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_an_unknown_incident_is_422(rca_client, ops, ref):
    r = rca_client.post_json("/api/v1/proposals", {**ROLLBACK, "incident": ref})
    assert r.status_code == 422 and r.json()["field"] == "incident"


def test_an_incident_the_agent_may_not_see_is_422(incident, stranger_client):
    r = propose(stranger_client, incident)
    assert r.status_code == 422 and r.json()["field"] == "incident"


def test_a_resolved_incident_takes_no_remediation(incident, rca_client, ines):
    services.incident_set_status(incident=incident, status="resolved", by=ines)
    r = propose(rca_client, incident)
    assert r.status_code == 422 and "resolved" in r.json()["detail"]


def test_a_proposal_without_an_incident_is_untouched(rca_client, ops):
    r = rca_client.post_json("/api/v1/proposals", ROLLBACK)
    assert r.status_code == 201 and "incident" not in r.json()["routing_reason"].lower()
    assert not Remediation.objects.exists()


def test_a_superseded_remediation_leaves_the_board_and_says_so_on_the_timeline(incident, rca_client,
                                                                               monitor_client, ines):
    """Approving one remediation may supersede a rival on the same resource (a bulk update, no
    ``save``): the rival still gets its timeline line and stops counting as pending on the board."""
    from incidents.selectors import board

    chosen = propose(rca_client, incident).json()["id"]
    rival = propose(monitor_client, incident, summary="Restart payments instead").json()["id"]
    assert board(ines).get(pk=incident.pk).pending_remediations == 2
    r = person_client(ines).post_json(f"/api/v1/proposals/{chosen}/decision",
                                      {"verdict": "approve", "comment": "Roll back", "supersede_conflicts": True})
    assert r.status_code == 200, r.content
    assert Remediation.objects.get(proposal_id=rival).outcome == "superseded"
    line = incident.timeline.get(kind=EntryKind.DECISION, data__proposal=rival)
    assert "superseded by ines" in line.summary and "Restart payments instead" in line.summary
    assert board(ines).get(pk=incident.pk).pending_remediations == 0


def test_an_inbox_reviewer_cannot_supersede_a_remediation_only_the_commander_decides(incident, rca_client,
                                                                                     monitor_client, ops):
    remediation = propose(rca_client, incident).json()["id"]
    plain = monitor_client.post_json("/api/v1/proposals", {**ROLLBACK, "risk": "low", "confidence": 0}).json()
    assert plain["status"] == "pending" and plain["quorum"] == 1, plain
    rita = UserFactory(username="rita")
    rita.groups.add(ops.default_inbox.reviewers)
    r = person_client(rita).post_json(f"/api/v1/proposals/{plain['id']}/decision",
                                      {"verdict": "approve", "supersede_conflicts": True})
    assert r.status_code == 200, r.content
    assert Remediation.objects.get(proposal_id=remediation).outcome == "pending"
    assert rca_client.get(f"/api/v1/proposals/{remediation}").json()["status"] == "pending"

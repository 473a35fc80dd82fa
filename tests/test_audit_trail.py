"""The audit trail: one event per change, written in the change's transaction, immutable, sealed and
verifiable, retained per class."""
import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from governance import services as governance_services
from governance.audit.models import AuditAction, AuditEvent, AuditSeal, RetentionClass
from governance.audit.record import NotInTransaction, audit_record
from governance.audit.retention import audit_purge, retention_class_set
from governance.audit.seal import audit_seal, audit_verify
from inbox import services
from orchestra_site.errors import ImmutableRecord
from tests.conftest import PROPOSAL
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def events(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("timestamp", "id"))


def submit(agent, **overrides):
    return services.proposal_submit(agent=agent, data={**PROPOSAL, "risk": "low", "confidence": 0.5,
                                                       **overrides})[0]


# --- one event per change, in its transaction ---------------------------------------------------------

def test_the_lifecycle_of_a_proposal_is_recorded_step_by_step(agent, alice):
    p = submit(agent)
    services.proposal_decide(proposal=p, reviewer=alice, verdict="approve", comment="looks right")
    kinds = [e.action_type for e in events(proposal_id=p.pk)]
    assert kinds == ["submission", "decision"]  # one approver decides: the vote is the decision
    submission, decision = events(proposal_id=p.pk)
    assert (submission.actor_type, submission.actor_name, submission.actor_id) == ("agent", "deploy-bot", str(agent.pk))
    assert submission.domain == "platform" and submission.related_tasks == ["INC-1042"]
    assert submission.details["reasoning"] == PROPOSAL["reasoning"]
    assert submission.details["context"]["action"] == "deploy.rollback"
    assert (decision.actor_name, decision.status) == ("alice", "approved")
    assert decision.details["reasoning"] == "looks right"
    assert decision.details["outcome"]["approval_digest"]
    assert decision.details["decision"] == "approve"


def test_votes_awaiting_quorum_are_recorded_before_the_decision(agent, alice):
    governance_services.policy_create(by=None, name="two keys", action_pattern="deploy.*", outcome="review",
                                      quorum=2, priority=1)
    carol = UserFactory(username="carol")
    p = submit(agent, risk="high")
    carol.groups.add(p.inbox.reviewers)
    assert p.quorum == 2, "no policy matched: one approver; this test needs a policy with a quorum of two"
    services.proposal_decide(proposal=p, reviewer=alice, verdict="approve", comment="fine by me")
    services.proposal_decide(proposal=p, reviewer=carol, verdict="approve", comment="agreed")
    vote, decision = events(proposal_id=p.pk)[1:]
    assert (vote.action_type, vote.actor_name, vote.details["reasoning"]) == ("vote", "alice", "fine by me")
    assert (decision.action_type, decision.actor_name) == ("decision", "carol")
    assert decision.details["options_considered"] == ["alice: approve"]


def test_a_refused_submission_is_recorded(agent):
    from governance.services import policy_create
    policy_create(by=None, name="no rollbacks", action_pattern="deploy.*", outcome="forbid", priority=1)
    with pytest.raises(Exception, match="Refused by policy"):
        submit(agent)
    (event,) = events(action_type="submission")
    assert event.status == "refused" and event.policy_version == 1


def test_a_failing_change_leaves_no_event(agent, alice):
    p = submit(agent)
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.proposal_decide(proposal=p, reviewer=alice, verdict="approve")
        raise RuntimeError("the change fails after its event was written")
    assert AuditEvent.objects.count() == before
    p.refresh_from_db()
    assert p.status == "pending"


def test_a_failing_event_write_leaves_no_change(agent, alice, monkeypatch):
    p = submit(agent)

    def broken(*args, **kwargs):
        raise RuntimeError("audit storage unavailable")

    monkeypatch.setattr("governance.audit.record._event", broken)
    with pytest.raises(RuntimeError, match="audit storage"):
        services.proposal_decide(proposal=p, reviewer=alice, verdict="reject", comment="no")
    p.refresh_from_db()
    assert p.status == "pending" and not p.votes.exists()


@pytest.mark.django_db(transaction=True)
def test_an_event_outside_a_transaction_is_refused():
    with pytest.raises(NotInTransaction):
        audit_record(AuditAction.DECISION, "outside")


def test_escalation_expiry_and_kill_switch_are_recorded(agent, alice):
    p = submit(agent)
    services.proposal_escalate(proposal=p, reason="needs the orchestrator", by=alice)
    (esc,) = events(action_type="escalation")
    assert esc.actor_name == "alice" and esc.details["reasoning"] == "needs the orchestrator" and esc.status == "domain"
    services.agent_suspend(agent=agent, by=alice, reason="runaway")
    switch = events(action_type="kill_switch")
    assert {e.status for e in switch} == {"suspended", "frozen"}
    services.agent_resume(agent=agent, by=alice)
    q = submit(agent, expires_at=timezone.now() + dt.timedelta(seconds=1), resource="service:other")
    services.proposal_expire(proposal=q, now=timezone.now() + dt.timedelta(seconds=5))
    (expiry,) = events(action_type="expiry")
    assert expiry.proposal_id == q.pk and expiry.actor_type == "system"


def test_permission_and_policy_changes_are_recorded(platform_inbox, alice):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    carol = UserFactory(username="carol")
    governance_services.inbox_grant(inbox=platform_inbox, user=carol, by=root)
    policy = governance_services.policy_create(by=root, name="fast lane", action_pattern="cache.*",
                                               outcome="review")
    governance_services.policy_update(policy=policy, by=root, reason="trusted", outcome="auto_approve")
    grant, = events(action_type="permission_change", summary__contains="carol")
    assert grant.actor_name == "root" and "carol" in grant.summary and grant.domain == "platform"
    created, changed = events(action_type="policy_change", summary__contains="fast lane")
    assert "v1" in created.summary and "v2" in changed.summary and changed.details["reasoning"] == "trusted"
    assert grant.retention == "compliance"


def test_a_global_permission_granted_or_taken_is_recorded_from_either_side():
    """Django admin's user and group pages edit ``user_permissions`` / ``Group.permissions``: a grant of
    the enterprise board's permission is a permission change that raises the widening alert."""
    from django.contrib.auth.models import Group, Permission

    from governance.audit.models import AuditAlert

    board = Permission.objects.get(content_type__app_label="governance", codename="enterprise_governance")
    dave, board_group = UserFactory(username="dave"), Group.objects.create(name="Board")
    with transaction.atomic():
        dave.user_permissions.add(board)
    with transaction.atomic():
        board.group_set.add(board_group)  # the reverse side
    with transaction.atomic():
        dave.user_permissions.remove(board)
    granted, to_group, taken = events(action_type="permission_change", summary__contains="enterprise_governance")
    assert granted.summary == "governance.enterprise_governance granted to user dave"
    assert to_group.summary == "governance.enterprise_governance granted to group Board"
    assert taken.summary == "governance.enterprise_governance taken from user dave"
    widened = AuditAlert.objects.filter(kind="authority_widened", summary__contains="enterprise_governance")
    assert widened.count() == 2  # the grants, not the removal


# --- immutable ------------------------------------------------------------------------------------------

def test_events_cannot_be_changed_or_deleted_through_the_orm(agent):
    submit(agent)
    event = AuditEvent.objects.first()
    event.summary = "rewritten"
    with pytest.raises(ImmutableRecord):
        event.save()
    with pytest.raises(ImmutableRecord):
        event.delete()
    with pytest.raises(ImmutableRecord):
        AuditEvent.objects.all().delete()
    with pytest.raises(ImmutableRecord):
        AuditEvent.objects.update(summary="x")
    with pytest.raises(ImmutableRecord):
        AuditEvent.objects.bulk_update([event], ["summary"])


# --- sealed and verified ----------------------------------------------------------------------------------

def _raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _db_id(event):
    return event.id if connection.vendor == "postgresql" else event.id.hex


def test_verify_passes_on_an_untouched_chain_and_names_an_edited_event(agent, alice):
    setup = audit_seal()  # what the fixtures did
    p = submit(agent)
    services.proposal_decide(proposal=p, reviewer=alice, verdict="approve")
    assert audit_seal() == 2
    ok = audit_verify()
    assert ok.ok and ok.verified == setup + 2
    vote = events(action_type="decision")[0]
    _raw("UPDATE governance_auditevent SET summary = %s WHERE id = %s", ["nothing happened", _db_id(vote)])
    broken = audit_verify()
    assert not broken.ok and broken.event_id == str(vote.id) and "changed" in broken.problem
    assert broken.verified == setup + 1


def test_verify_names_a_deleted_event(agent, alice):
    p = submit(agent)
    services.proposal_decide(proposal=p, reviewer=alice, verdict="reject", comment="no")
    audit_seal()
    decision = events(action_type="decision")[0]
    _raw("DELETE FROM governance_auditevent WHERE id = %s", [_db_id(decision)])
    result = audit_verify()
    assert not result.ok and result.event_id == str(decision.id) and "missing" in result.problem


def test_verify_finds_a_link_removed_with_its_event(agent, alice):
    setup = audit_seal()
    p = submit(agent)
    services.proposal_decide(proposal=p, reviewer=alice, verdict="reject", comment="no")
    audit_seal()
    submission = events(action_type="submission")[0]
    _raw("DELETE FROM governance_auditevent WHERE id = %s", [_db_id(submission)])
    _raw("DELETE FROM governance_auditseal WHERE event_id = %s", [_db_id(submission)])
    result = audit_verify()
    assert not result.ok and f"link {setup + 1} is missing" in result.problem


def test_verify_command_exit_status(capsys):
    with transaction.atomic():
        audit_record(AuditAction.DECISION, "one")
    call_command("verify_audit", "--seal")
    assert "1 events verified" in capsys.readouterr().out
    event = AuditEvent.objects.get()
    _raw("UPDATE governance_auditevent SET status = %s WHERE id = %s", ["approved", _db_id(event)])
    with pytest.raises(CommandError, match=str(event.id)):
        call_command("verify_audit")


def test_events_written_after_a_seal_are_sealed_next_and_keep_the_chain(agent):
    submit(agent)
    sealed = audit_seal()
    submit(agent, resource="service:b")
    assert AuditSeal.objects.filter(position__isnull=True).count() == 1
    assert audit_seal() == 1
    assert audit_verify().verified == sealed + 1


# --- retention --------------------------------------------------------------------------------------------

def _at(moment, func, *args, **kwargs):
    from unittest import mock
    with mock.patch("django.utils.timezone.now", return_value=moment):
        return func(*args, **kwargs)


def test_retention_purges_each_class_on_time_and_the_chain_still_verifies():
    start = timezone.now() - dt.timedelta(days=400)
    with transaction.atomic():
        _at(start, audit_record, AuditAction.PERMISSION_CHANGE, "compliance, old")
        _at(start, audit_record, AuditAction.DECISION, "standard, old")
        _at(start, audit_record, AuditAction.ESCALATION, "significant, old")
        _at(start + dt.timedelta(days=350), audit_record, AuditAction.DECISION, "standard, recent")
    audit_seal()
    result = audit_purge()
    assert (result["standard"], result["significant"], result["compliance"]) == (1, 1, 0)
    left = {e.summary for e in AuditEvent.objects.all()}
    assert left == {"compliance, old", "standard, recent", "retention purge removed 2 events"}
    audit_seal()
    check = audit_verify()
    assert check.ok, check.problem
    assert check.purged == 2 and check.verified == 3  # links 2 and 3 stay, marked: the chain runs through them
    assert result["checkpoint"] is None  # link 1 is kept, so nothing before it could be pruned
    (purge,) = events(action_type="purge")
    assert purge.retention == "compliance" and purge.details["outcome"]["standard"] == 1


def test_a_deletion_disguised_as_a_purge_is_found():
    with transaction.atomic():
        audit_record(AuditAction.DECISION, "recent")
    audit_seal()
    (event,) = events()
    _raw("DELETE FROM governance_auditevent WHERE id = %s", [_db_id(event)])
    _raw("UPDATE governance_auditseal SET purged_by = %s WHERE event_id = %s",
         [_db_id(event), _db_id(event)])
    result = audit_verify()
    assert not result.ok and "could not have removed" in result.problem


def test_the_leading_purged_links_are_pruned_to_a_checkpoint():
    old = timezone.now() - dt.timedelta(days=100)
    with transaction.atomic():
        for i in range(3):
            _at(old, audit_record, AuditAction.DECISION, f"old {i}")
    audit_seal()
    result = audit_purge()
    assert result["checkpoint"] == 3
    assert not AuditSeal.objects.filter(position__lte=3).exists()
    audit_seal()
    assert audit_verify().ok


def test_retention_periods_are_editable_and_audited():
    root = UserFactory(username="root", is_superuser=True)
    retention_class_set(name="standard", days=30, by=root)
    assert RetentionClass.objects.get(name="standard").days == 30
    (event,) = events(action_type="policy_change")
    assert "30 days" in event.summary and event.actor_name == "root"
    with transaction.atomic():
        _at(timezone.now() - dt.timedelta(days=45), audit_record, AuditAction.DECISION, "45 days old")
    audit_seal()
    assert audit_purge()["standard"] == 1


# --- sealing while many write (PostgreSQL, real threads) ----------------------------------------------------

@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sealing_keeps_up_with_concurrent_writers_and_links_each_event_once():
    import threading

    from django.db import close_old_connections

    writers, per_writer, stop = 6, 40, threading.Event()
    errors = []

    def write(n):
        try:
            for i in range(per_writer):
                with transaction.atomic():
                    audit_record(AuditAction.DECISION, f"writer {n} event {i}")
                    if i % 7 == 0:  # a transaction that rolls back leaves no event and no link
                        transaction.set_rollback(True)
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            close_old_connections()

    def seal():
        while not stop.is_set():
            audit_seal(batch=25)
        close_old_connections()

    sealers = [threading.Thread(target=seal) for _ in range(2)]  # two clusters sealing at once
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in sealers + threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    for t in sealers:
        t.join()
    audit_seal()
    assert not errors
    kept = writers * (per_writer - len(range(0, per_writer, 7)))
    assert AuditEvent.objects.count() == kept
    positions = sorted(AuditSeal.objects.values_list("position", flat=True))
    assert positions == list(range(1, kept + 1))
    result = audit_verify()
    assert result.ok and result.verified == kept

"""Webhook secret rotation: the service, ``manage.py rotate_webhook_secret`` and the admin action give a
new secret; during the grace period each callback carries both signatures (the new secret's first) and a
receiver with either secret verifies it; afterwards only the new one."""
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from governance import services as governance_services
from governance.audit.models import AuditEvent
from governance.models import Agent
from governance.webhook_secrets import signature_header, signing_secrets
from inbox import services, tasks
from inbox.schemas import ProposalIn
from orchestra_client import verify_signature
from orchestra_site.errors import InvalidInput
from tests.conftest import PROPOSAL
from tests.test_webhooks import Receiver

BODY = b'{"event": "proposal.decided"}'


def test_rotating_keeps_the_old_secret_signing_for_the_grace_period(agent):
    old = agent.webhook_secret
    governance_services.agent_webhook_secret_rotate(agent=agent, by=None, grace_seconds=3600)
    agent.refresh_from_db()
    assert agent.webhook_secret != old and agent.webhook_secret_previous == old
    assert signing_secrets(agent) == [agent.webhook_secret, old]
    header = signature_header(agent, BODY)
    assert header.count("sha256=") == 2
    assert verify_signature(agent.webhook_secret, BODY, header)  # a receiver that moved already
    assert verify_signature(old, BODY, header)  # a receiver that has not yet
    assert not verify_signature("another-secret", BODY, header)


def test_after_the_grace_period_only_the_new_secret_signs(agent):
    old = agent.webhook_secret
    governance_services.agent_webhook_secret_rotate(agent=agent, by=None, grace_seconds=60)
    agent.refresh_from_db()
    later = timezone.now() + timedelta(seconds=61)
    assert signing_secrets(agent, later) == [agent.webhook_secret]
    assert not verify_signature(old, BODY, signature_header(agent, BODY, later))


def test_a_rotation_without_grace_stops_the_old_secret_at_once(agent):
    old = agent.webhook_secret
    governance_services.agent_webhook_secret_rotate(agent=agent, by=None, grace_seconds=0)
    agent.refresh_from_db()
    assert signing_secrets(agent) == [agent.webhook_secret]
    assert not verify_signature(old, BODY, signature_header(agent, BODY))


def test_a_negative_grace_period_is_refused(agent):
    with pytest.raises(InvalidInput):
        governance_services.agent_webhook_secret_rotate(agent=agent, by=None, grace_seconds=-1)


def test_the_rotation_is_in_the_audit_trail_without_the_secrets(agent):
    old = agent.webhook_secret
    governance_services.agent_webhook_secret_rotate(agent=agent, by=None, grace_seconds=60)
    agent.refresh_from_db()
    event = AuditEvent.objects.filter(summary__contains="webhook secret").get()
    text = json.dumps(event.details) + event.summary
    assert agent.name in text and old not in text and agent.webhook_secret not in text


def test_the_command_rotates_and_prints_the_new_secret_last(agent):
    out = StringIO()
    call_command("rotate_webhook_secret", agent.name, "--grace-hours", "2", stdout=out)
    agent.refresh_from_db()
    assert out.getvalue().splitlines()[-1] == agent.webhook_secret
    left = agent.webhook_secret_previous_until - timezone.now()
    assert timedelta(hours=2) - timedelta(minutes=1) < left <= timedelta(hours=2)


def test_the_command_refuses_an_unknown_agent(db):
    with pytest.raises(CommandError, match="No agent"):
        call_command("rotate_webhook_secret", "nobody", stdout=StringIO())


def test_a_callback_during_the_grace_period_verifies_with_either_secret(agent, alice, platform):
    old = agent.webhook_secret
    with Receiver() as receiver:
        data = ProposalIn(**{**PROPOSAL, "risk": "low", "callback_url": receiver.url}).to_model_fields()
        p, _ = services.proposal_submit(agent=agent, data=data)
        services.proposal_decide(proposal=p, reviewer=alice, verdict="approve")
        governance_services.agent_webhook_secret_rotate(agent=agent, by=None, grace_seconds=3600)
        assert tasks.deliver_webhook(str(p.pk)) is True
    [(headers, raw)] = receiver.requests
    new = Agent.objects.get(pk=agent.pk).webhook_secret
    assert verify_signature(new, raw, headers["X-Orchestra-Signature"])
    assert verify_signature(old, raw, headers["X-Orchestra-Signature"])

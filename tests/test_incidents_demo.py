"""The demo's incident scenario over the real HTTP API: a monitoring agent raises a candidate; once a
person accepts it, four agents post findings and a status draft in parallel and a remediation waits
for the commander, who approves it; the seeded data has the incident commander login."""
import io
import threading
import time

from django.contrib.auth import get_user_model
from django.core.management import call_command

from governance.models import Agent
from governance.tokens import agent_token_create
from inbox import services as inbox_services
from inbox.permissions import access_proposal
from incidents import demo, services
from incidents.models import EntryKind, Incident, Remediation
from incidents.permissions import can_declare
from tests import test_fleet

live_stack = test_fleet.live_stack  # uvicorn serving the ASGI app on the test database


def _until(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return None


def test_seed_demo_adds_the_incident_commander_login(db):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=io.StringIO())  # safe twice
    ines = get_user_model().objects.get(username="ines")
    assert ines.check_password("orchestra-demo")
    operations = ines.groups.get(name="Operations responders")
    assert can_declare(ines, Agent.objects.get(name="monitoring-bot").domain) and operations
    assert "ines (incident commander)" in out.getvalue()
    assert Agent.objects.filter(name__in=demo.AGENTS).count() == len(demo.AGENTS)


def test_the_incident_scenario_runs_through_the_api(live_stack, transactional_db):
    call_command("seed_demo", stdout=io.StringIO())
    tokens = {a.name: agent_token_create(agent=a, name="test")[1] for a in Agent.objects.filter(name__in=demo.AGENTS)}
    lines, stop = [], threading.Event()
    player = threading.Thread(target=demo.run, args=(live_stack, tokens, stop, lines.append), kwargs={"seed": 1},
                              daemon=True)
    player.start()
    try:
        incident = _until(lambda: Incident.objects.filter(status="triage").first())
        assert incident is not None, lines
        ines = get_user_model().objects.get(username="ines")
        services.incident_set_status(incident=incident, status="investigating", by=ines)
        remediation = _until(lambda: Remediation.objects.filter(incident=incident).first())
        assert remediation is not None, lines
        assert remediation.by_commander and remediation.proposal.status == "pending"
        findings = incident.timeline.filter(kind=EntryKind.FINDING)
        assert {f.agent.name for f in findings} >= {"root-cause-bot", "impact-bot", "related-incidents-bot"}
        assert incident.updates.filter(drafted_by_agent__name="comms-bot", state="draft").exists()
        proposal = access_proposal(ines, remediation.proposal_id, for_decision=True)
        inbox_services.proposal_decide(proposal=proposal, reviewer=ines, verdict="approve")
        assert _until(lambda: any("remediation approved by ines" in line for line in lines)), lines
    finally:
        stop.set()
        player.join(20)
    assert not player.is_alive()

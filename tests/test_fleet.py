"""The demo fleet: every scenario makes valid proposals that land in the intended inbox, and a short
run against a real uvicorn server posts proposals, reports a decision and revokes its tokens."""
import io
import os
import random
import socket
import subprocess
import sys
import time
from collections import Counter

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from governance.models import Agent, ApiToken
from governance.tokens import agent_token_create, user_token_create
from inbox.demo import scenarios
from inbox.demo.fleet import Fleet, describe
from inbox.models import Proposal
from inbox.schemas import ProposalIn
from orchestra_client import OrchestraClient

ACTIONS = {"ticket.route", "ticket.flag_legal", "content.publish_article", "ticket.file_bug", "release.hold",
           "service.restart", "deploy.rollback", "firewall.update_rule", "data.retention_exception",
           "oncall.reassign", "billing.refund", "asset.license_renewal", "translation.order",
           "capacity.reserve"}


def test_every_scenario_action_is_covered():
    assert set(scenarios.ACTIONS) == ACTIONS
    assert scenarios.AGENT_NAMES == ("intake-triage-bot", "content-pipeline-bot", "qa-release-bot",
                                     "ops-handoff-bot")


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_generated_bodies_are_valid_proposals(action):
    rng = random.Random(action)
    seen = set()
    for _ in range(50):
        body = scenarios.ACTIONS[action](rng)
        parsed = ProposalIn(**body)  # raises on anything the API would answer 422 to
        assert parsed.action == action
        assert parsed.summary and parsed.resource and parsed.args and parsed.reasoning
        assert parsed.related_tasks
        seen.add((body["summary"], body["resource"], repr(body["args"])))
    assert len(seen) > 10  # varied, not one canned proposal


def test_scenarios_mix_their_actions():
    rng = random.Random(1)
    ops = next(s for s in scenarios.SCENARIOS if s.agent == "ops-handoff-bot")
    assert {ops.next_body(rng)["action"] for _ in range(80)} == {
        "service.restart", "deploy.rollback", "firewall.update_rule", "oncall.reassign", "capacity.reserve"}


def test_every_scenario_is_accepted_and_decidable_in_the_seeded_demo(db):
    """Submitted like the API does, each demo proposal is accepted (schema, args contract, policies)
    and is either decided by a policy or lands in an inbox a demo reviewer may decide in."""
    from django.contrib.auth import get_user_model

    from governance.permissions import can_decide
    from inbox import services

    call_command("seed_demo", stdout=io.StringIO())
    from inbox.management.commands.seed_demo import USERS

    demo_users = [u[0] for u in USERS if u[0] != "admin"]  # admin may decide anything: not a proof
    reviewers = list(get_user_model().objects.filter(username__in=demo_users))
    rng = random.Random(2)
    for scenario in scenarios.SCENARIOS:
        agent = Agent.objects.get(name=scenario.agent)
        for func, _ in scenario.generators:
            for _ in range(2):
                body = func(rng)
                p, created = services.proposal_submit(agent=agent, data=ProposalIn(**body).to_model_fields())
                assert created
                if p.is_pending:
                    assert p.inbox is not None, body["action"]
                    assert any(can_decide(u, p.inbox) for u in reviewers), (body["action"], p.inbox)


def test_describe_names_the_decision():
    from orchestra_client import Proposal as P

    p = P.from_json({"id": "x", "status": "edited_and_approved", "action": "deploy.rollback",
                     "summary": "s", "resource": "service:payments", "args": {"to_version": "1"},
                     "decision": {"decided_by": "alice", "final_args": {"to_version": "2"}, "comment": ""}})
    assert describe("ops-handoff-bot", p) == (
        "ops-handoff-bot: deploy.rollback service:payments \u2192 edited and approved by alice "
        "(edited args {'to_version': '2'})")
    long_reason = ("Policy \u201cConfident low-risk, cheap ticket routing auto-approves\u201d (priority 50) "
                   "matched first.")
    auto = P.from_json({"id": "a", "status": "approved", "action": "ticket.route", "summary": "s",
                        "resource": "ticket:SUP-1", "decision": {"decided_by": None, "comment": long_reason}})
    assert describe("bot", auto) == (
        f"bot: ticket.route ticket:SUP-1 \u2192 approved by policy \u2014 \u201c{long_reason}\u201d")
    expired = P.from_json({"id": "y", "status": "expired", "action": "release.hold", "summary": "s",
                           "resource": "release:1", "decision": {"decided_by": None}})
    assert describe("qa-release-bot", expired) == "qa-release-bot: release.hold release:1 \u2192 expired"
    refused = P.from_json({"id": "z", "status": "refused", "action": "firewall.update_rule", "summary": "s",
                           "resource": "fw", "decision": {"decided_by": None}})
    assert describe("bot", refused).endswith("\u2192 refused by policy")


def test_describe_names_who_edited_and_who_approved():
    from orchestra_client import Proposal as P

    votes = [{"reviewer": "bob", "verdict": "edit", "comment": "Roll back one version less: 2 is fine.",
              "args": {"to_version": "2"}, "created_at": "t1"},
             {"reviewer": "alice", "verdict": "approve", "comment": "", "args": None, "created_at": "t2"}]
    p = P.from_json({"id": "x", "status": "edited_and_approved", "action": "deploy.rollback", "summary": "s",
                     "resource": "service:payments", "args": {"to_version": "1"},
                     "decision": {"decided_by": "alice", "final_args": {"to_version": "2"}, "comment": "",
                                  "votes": votes}})
    assert describe("ops-handoff-bot", p) == (
        "ops-handoff-bot: deploy.rollback service:payments \u2192 edited and approved (edited by bob, approved by "
        "bob and alice; edited args {'to_version': '2'}) \u2014 \u201cRoll back one version less: 2 is fine.\u201d")
    quorum = [{"reviewer": "carol", "verdict": "approve", "comment": "Memory leak confirmed on the dashboards."},
              {"reviewer": "olivia", "verdict": "approve", "comment": "Agreed; restart during the lull."}]
    both = P.from_json({"id": "q", "status": "approved", "action": "service.restart", "summary": "s",
                        "resource": "service:auth", "decision": {"decided_by": "olivia", "comment": "x",
                                                                 "votes": quorum}})
    assert describe("ops-handoff-bot", both) == (
        "ops-handoff-bot: service.restart service:auth \u2192 approved by carol and olivia \u2014 carol: "
        "\u201cMemory leak confirmed on the dashboards.\u201d \u2014 olivia: "
        "\u201cAgreed; restart during the lull.\u201d")


def test_articles_are_spread_no_article_is_proposed_five_times():
    content = next(s for s in scenarios.SCENARIOS if s.agent == "content-pipeline-bot")
    assert len({scenarios.content_publish_article(random.Random(i))["resource"] for i in range(2000)}) == len(
        scenarios.ARTICLES)  # every title has its own resource
    rng, proposed = random.Random(5), Counter()
    for _ in range(3 * len(scenarios.ARTICLES)):  # an hour and more at the default rate
        proposed[content.next_body(rng, proposed)["resource"]] += 1
    assert max(proposed.values()) <= 4


def test_the_agents_share_the_rate_in_proportion():
    fleet = Fleet("http://127.0.0.1:9", {s.agent: "t" for s in scenarios.SCENARIOS}, rate=0.9)
    rates = {s.agent: fleet.thread_rate(n) for n, s in enumerate(fleet.scenarios)}
    assert abs(sum(rates.values()) - 0.9) < 1e-9
    assert rates["intake-triage-bot"] == rates["ops-handoff-bot"] == 3 * rates["content-pipeline-bot"]
    fleet.shutdown()


def test_the_openers_give_every_demo_login_work_and_the_board_what_only_it_decides(db):
    """Submitted like the fleet does at start, the agents' openers leave work in every demo inbox, for
    every demo reviewer; the board (erin) gets a compliance issue and a cross-domain conflict, which
    nobody below it may decide; the two agents' on-call requests conflict."""
    from django.contrib.auth import get_user_model

    from governance.permissions import can_decide
    from governance.services import enterprise_inbox
    from inbox import services
    from inbox.management.commands.seed_demo import INBOXES, USERS

    call_command("seed_demo", stdout=io.StringIO())
    rng = random.Random(6)
    pending = []
    for scenario in scenarios.SCENARIOS:
        agent = Agent.objects.get(name=scenario.agent)
        for n in range(len(scenario.openers)):
            body = scenario.opener(n, rng)
            p, _ = services.proposal_submit(agent=agent, data=ProposalIn(**body).to_model_fields())
            assert p.is_pending, body
            pending.append(p)
    assert {slug for slug, *_ in INBOXES} <= {p.inbox.slug for p in pending}
    from governance.models import Inbox

    assert set(Inbox.objects.values_list("slug", flat=True)) == {p.inbox.slug for p in pending}  # every inbox
    for username, *_ in USERS:
        if username in ("admin", "audrey"):  # audrey audits: she reads, never decides
            continue
        user = get_user_model().objects.get(username=username)
        assert any(can_decide(user, p.inbox) for p in pending), username
    board = [p for p in pending if p.inbox_id == enterprise_inbox().pk]
    assert {p.category for p in board} == {"compliance_issue", "cross_domain_conflict"}
    assert len({p.agent.domain_id for p in board if p.action == "oncall.reassign"}) == 2
    others = get_user_model().objects.exclude(username__in=["erin", "admin"])
    assert not any(can_decide(u, p.inbox) for u in others for p in board)
    reassign = [p for p in board if p.action == "oncall.reassign"]
    assert reassign[1].conflicts_with.filter(pk=reassign[0].pk).exists()


# --- a short run against a live server ------------------------------------------------------------

def _database_url() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture(scope="module")
def live_stack(django_db_setup, django_db_blocker):
    """uvicorn serving the ASGI app (as in production) on a free port, on the test database."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with django_db_blocker.unblock():
        env = {**os.environ, "DATABASE_URL": _database_url(), "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "orchestra_site.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--timeout-graceful-shutdown", "2"],
        cwd=settings.BASE_DIR, env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert server.poll() is None, "uvicorn exited"
            time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _until(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_the_fleet_posts_through_http_and_reports_decisions(live_stack, transactional_db):
    from django.contrib.auth import get_user_model

    call_command("seed_demo", stdout=io.StringIO())
    tokens = {a.name: agent_token_create(agent=a, name="test")[1]
              for a in Agent.objects.filter(name__in=scenarios.AGENT_NAMES)}
    lines = []
    fleet = Fleet(live_stack, tokens, rate=40, workers=4, max_pending=2, emit=lines.append, seed=3)
    fleet.start()
    try:
        alice = get_user_model().objects.get(username="alice")
        with OrchestraClient(live_stack, user_token_create(user=alice)[1]) as reviewer:
            assert _until(lambda: reviewer.inbox()), lines
            target = reviewer.inbox()[0]
            reviewer.decide(target.id, "reject", comment="Not this week")
        agent = target.raw["agent"]
        want = f"{agent}: {target.action} {target.raw['resource']} \u2192 rejected by alice"
        assert _until(lambda: any(line.startswith(want) for line in lines)), lines
    finally:
        fleet.shutdown()
    assert any(line.startswith(f"{agent}: proposed ") for line in lines)
    summary = "\n".join(fleet.summary())
    assert f"{agent}:" in summary and "rejected 1" in summary


def test_the_command_mints_and_revokes_its_tokens(live_stack, transactional_db):
    call_command("seed_demo", stdout=io.StringIO())
    out = io.StringIO()
    call_command("run_demo_fleet", base_url=live_stack, rate=8, duration=1.5, seed=4, stdout=out)
    text = out.getvalue()
    assert "Demo fleet stopped" in text and "submitted" in text, text
    tokens = ApiToken.objects.filter(name="demo-fleet")
    from incidents.demo import AGENTS as INCIDENT_AGENTS  # the incident scenario runs beside the fleet

    assert tokens.count() == 4 + len(INCIDENT_AGENTS) and not tokens.filter(revoked_at__isnull=True).exists()
    assert Proposal.objects.exists()


def test_the_command_needs_the_demo_agents(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="seed_demo"):
        call_command("run_demo_fleet", duration=1)


# --- run_stack: supervision -----------------------------------------------------------------------

# Supervision (Ctrl-C, SIGTERM, a process that dies) is tested in tests/test_run_stack.py.

def test_run_stack_refuses_several_workers_without_redis(settings):
    from django.core.management.base import CommandError

    settings.REDIS_URL = ""
    with pytest.raises(CommandError, match="REDIS_URL"):
        call_command("run_stack", workers=2)

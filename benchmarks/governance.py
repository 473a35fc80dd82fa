"""Governance overhead: what 200 policies and 10,000 guardian object permissions add to POST /api/v1/proposals.

    .venv/bin/python -m benchmarks.governance                  # ~3 minutes: rounds baseline, loaded, baseline, loaded
    .venv/bin/python -m benchmarks.governance --src . --requests 1000 --rounds 3

One server (uvicorn, ``--workers``) on one fresh PostgreSQL database; the same agent posts the same
proposal (benchmarks.harness.client.PROPOSAL) in two configurations, alternated ``--rounds`` times so drift
(other load on the machine, table growth) hits both alike:

- **baseline**: no policies (fallback: the Platform default inbox), few guardian permissions;
- **loaded**: ``--policies`` (200) active policies with varied conditions (agent and agent-group M2M,
  domains, action globs, category of the seeded matrix, risk bounds, classification, cost bounds); the
  benchmark proposal first matches the one at position 196 of 200 (worst case: every policy is tried, and ``evaluate``
  checks them all anyway), outcome *review* in the Platform default inbox (the inbox the baseline
  lands in, so pending counts and live events cost the same); and ``--users`` (500) users × 10
  inboxes × view+decide = 10,000 ``UserObjectPermission`` rows, 50 groups × 5 inboxes × 2 group object
  permissions, 10 orchestrator grants on domains, over 100 extra inboxes holding 2,000 proposals.

Switching configuration (one ``manage.py shell``): policies ``is_active`` on/off and the benchmark's
guardian rows parked in / restored from side tables, then the governance snapshot version is bumped
(every worker reloads); pending proposals are expired so each segment starts alike.

Per segment: ``--warmup`` requests, then ``--requests`` sequential POSTs over one keep-alive connection
(latency, one worker), then a light concurrent run (``--concurrency`` connections, ``--concurrent-requests``
in all); server CPU ms per request from /proc. Then in-process (``manage.py shell``, no HTTP, same DB):
``governance.policies.evaluate(facts)`` (µs per call), ``inbox.permissions.access_proposal(user, id,
for_decision=True)`` and ``list(selectors.proposals_for_reviewer(user)[:50])`` for a reviewer with 1
grant (baseline) and with 20 inbox grants (loaded: 10 direct, 10 through 2 groups), each with the user
re-read from the DB (as a request sees it: cold permission caches): median/p99 ms and SQL query count.
Goal (issue): p50 difference ≤ 2 ms; the reviewer's proposal list one query however many inboxes.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time

from benchmarks.harness.client import PROPOSAL, Conn
from benchmarks.harness.server import Bench, common_args, preflight
from benchmarks.harness.stats import cpu_seconds, latency_summary, table, write_json

GOAL_P50_MS = 2.0

PREP_SCRIPT = r'''
import json
from decimal import Decimal
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from guardian.models import GroupObjectPermission, UserObjectPermission
from simple_history.utils import bulk_create_with_history
from governance.models import ActionCategory, ActionType, AgentGroup, Domain, Policy
from governance.snapshot import _bump
from inbox.models import Agent, Inbox, Proposal

N_POLICIES, N_USERS = %(policies)d, %(users)d
platform = Domain.objects.get(name="Platform")
me = Agent.objects.get(name="bench-agent-0")
others = [Agent.objects.create(name=f"gov-other-{k}", domain=platform, webhook_secret="x" * 64) for k in range(5)]
# The matrix and action types are seeded by migration (both configurations): deploy.rollback is a
# tactical approach, which the agent level can decide.
deployment = ActionType.objects.get(name="deploy.rollback").category
data_access = ActionCategory.objects.get(slug="quality_tradeoff")
own_group = AgentGroup.objects.create(name="gov-release-bots")
own_group.agents.add(me, others[0])
other_group = AgentGroup.objects.create(name="gov-other-bots")
other_group.agents.add(*others[1:])
domains = [Domain.objects.create(name=f"Gov-{k}", slug=f"gov-{k}") for k in range(10)]

# --- 200 policies; the benchmark proposal (Platform, deploy.rollback, high, internal, 0.40 USD) first
# matches the one at index WIN (position 196): every earlier one fails on some condition.
WIN = N_POLICIES - 5
OUT = ["review", "escalate", "auto_approve", "forbid"]
specs = []
for i in range(N_POLICIES):
    s = dict(name=f"gov-policy-{i:03d}", priority=i + 1, outcome=OUT[i %% 4], domain=platform,
             action_pattern="deploy.*", escalate_to="domain" if OUT[i %% 4] == "escalate" else "")
    kind = i %% 10
    m2m = None
    if i == WIN or i > WIN and i %% 2:  # the winner, and two later matching ones (one regulatory)
        s.update(outcome="review", inbox=platform.default_inbox, category=deployment, min_risk="medium",
                 max_risk="critical", classification="internal", min_cost_usd=Decimal("0.01"),
                 max_cost_usd=Decimal("10"), is_regulatory=i != WIN, escalate_to="")
        m2m = ("groups", [own_group])
    elif kind == 0:
        m2m = ("agents", others[:3])                          # agent condition: another agent
    elif kind == 1:
        m2m = ("groups", [other_group])                       # agent-group condition: other agents
    elif kind == 2:
        s["domain"] = domains[i %% 10]                         # another domain
    elif kind == 3:
        s["action_pattern"] = "db.*"                          # action glob
    elif kind == 4:
        s["category"] = data_access                           # category
    elif kind == 5:
        s["min_risk"] = "critical"                            # risk lower bound
    elif kind == 6:
        s.update(action_pattern="deploy.roll*", max_risk="medium")  # risk upper bound
    elif kind == 7:
        s.update(action_pattern="*.rollback", classification="sensitive")
    elif kind == 8:
        s.update(classification="internal", min_cost_usd=Decimal("100"))
        m2m = ("agents", [me, others[0]])                     # own agent matches; fails on cost
    else:
        s.update(max_cost_usd=Decimal("0.10"), category=deployment, min_risk="low")
    specs.append((Policy(**s), m2m))
policies = bulk_create_with_history([p for p, _ in specs], Policy)
policies = {p.name: p for p in Policy.objects.filter(name__startswith="gov-policy-")}
pa, pg = Policy.agents.through, Policy.agent_groups.through
pa.objects.bulk_create([pa(policy_id=policies[p.name].id, agent_id=a.id)
                        for p, m in specs if m and m[0] == "agents" for a in m[1]])
pg.objects.bulk_create([pg(policy_id=policies[p.name].id, agentgroup_id=g.id)
                        for p, m in specs if m and m[0] == "groups" for g in m[1]])

# --- 100 inboxes, 500 users, 10,000 user object permissions, group permissions, orchestrators ---
User = get_user_model()
inboxes = Inbox.objects.bulk_create([Inbox(slug=f"gov-inbox-{k}", name=f"Gov inbox {k}", domain=domains[k %% 10])
                                     for k in range(100)])
users = User.objects.bulk_create([User(username=f"gov-user-{i}", password="!") for i in range(N_USERS)])
groups = Group.objects.bulk_create([Group(name=f"gov-group-{k}") for k in range(50)])
ct = ContentType.objects.get_for_model(Inbox)
view = Permission.objects.get(content_type=ct, codename="view_inbox")
decide = Permission.objects.get(content_type=ct, codename="decide_inbox")
orch = Permission.objects.get(content_type__app_label="governance", codename="orchestrate_domain")
dct = ContentType.objects.get_for_model(Domain)
uop = [UserObjectPermission(user=u, permission=p, content_type=ct, object_pk=str(inboxes[50 + (i + 5 * j) %% 50].pk))
       for i, u in enumerate(users) for j in range(10) for p in (view, decide)]
uop += [UserObjectPermission(user=users[i], permission=orch, content_type=dct, object_pk=str(domains[i // 50].pk))
        for i in range(0, N_USERS, 50)]
UserObjectPermission.objects.bulk_create(uop, batch_size=2000)
GroupObjectPermission.objects.bulk_create(
    [GroupObjectPermission(group=g, permission=p, content_type=ct, object_pk=str(inboxes[(k + j) %% 50].pk))
     for k, g in enumerate(groups) for j in range(5) for p in (view, decide)])
ug = User.groups.through
ug.objects.bulk_create([ug(user_id=u.id, group_id=groups[(i + d) %% 50].id)
                        for i, u in enumerate(users) for d in (0, 5)])
Proposal.objects.bulk_create(
    [Proposal(agent=others[1], inbox=ib, action="db.query", resource=f"bench:list-{k}", args={}, summary="listed",
              risk="low", confidence=0.5, status="approved") for k, ib in enumerate(inboxes) for _ in range(20)],
    batch_size=1000)
base = User.objects.create_user(username="gov-baseline-reviewer", password=None)
base.groups.add(Group.objects.get(name="Platform reviewers"))
own = Proposal.objects.create(agent=me, inbox=platform.default_inbox, action="deploy.rollback",
                              resource="bench:own", args={}, summary="own", risk="high", confidence=0.8,
                              status="approved")
_bump()
print(json.dumps({"uop": UserObjectPermission.objects.count(), "gop": GroupObjectPermission.objects.count(),
                  "policies": Policy.objects.filter(is_active=True).count(), "winner": f"gov-policy-{WIN:03d}",
                  "winner_position": WIN + 1, "inboxes": Inbox.objects.count(),
                  "proposals": Proposal.objects.count(), "reviewer_inbox": inboxes[1].pk}))
'''

SWITCH_SCRIPT = r'''
import json
from django.db import connection
from governance.models import Policy
from governance.snapshot import _bump
loaded = %(loaded)r
with connection.cursor() as c:
    for table, who in (("guardian_userobjectpermission",
                        "user_id in (select id from auth_user where username like 'gov-user-%%')"),
                       ("guardian_groupobjectpermission",
                        "group_id in (select id from auth_group where name like 'gov-group-%%')")):
        c.execute(f"create table if not exists bench_parked_{table} (like {table})")
        if loaded:
            c.execute(f"insert into {table} select * from bench_parked_{table}")
            c.execute(f"delete from bench_parked_{table}")
        else:
            c.execute(f"insert into bench_parked_{table} select * from {table} where {who}")
            c.execute(f"delete from {table} where {who}")
    c.execute("update inbox_proposal set status = 'expired' where status = 'pending'")
    c.execute("analyze")
Policy.objects.filter(name__startswith="gov-policy-").update(is_active=loaded)
_bump()
from guardian.models import UserObjectPermission, GroupObjectPermission
print(json.dumps({"policies": Policy.objects.filter(is_active=True).count(),
                  "guardian_rows": UserObjectPermission.objects.count() + GroupObjectPermission.objects.count()}))
'''

INPROC_SCRIPT = r'''
import json, statistics, time
from decimal import Decimal
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from governance.policies import evaluate
from governance.snapshot import current
from inbox import permissions, selectors
from inbox.lifecycle import facts_for
from inbox.models import Agent, Proposal

loaded, iters, reps = %(loaded)r, %(iterations)d, %(repeats)d
out = {}
agent = Agent.objects.select_related("domain").get(name="bench-agent-0")
data = dict(json.loads(%(proposal)r), cost_usd=Decimal(json.loads(%(proposal)r)["cost_usd"]))
facts = facts_for(agent, data)
snap = current()
ev = evaluate(facts, snap)
out["snapshot_policies"] = len(snap.policies)
out["outcome"] = f"{ev.outcome} via {ev.policy_name or 'fallback'} (level {ev.level})"
best = []
for _ in range(reps):
    t = time.perf_counter()
    for _ in range(iters):
        evaluate(facts, snap)
    best.append((time.perf_counter() - t) / iters * 1e6)
out["evaluate_us"] = round(min(best), 1)
best = []
for _ in range(reps):
    t = time.perf_counter()
    for _ in range(iters // 10):
        evaluate(facts)
    best.append((time.perf_counter() - t) / (iters // 10) * 1e6)
out["evaluate_with_version_read_us"] = round(min(best), 1)

User = get_user_model()
if loaded:
    user = User.objects.get(username="gov-user-1")  # 10 direct grants + 10 through groups 1 and 6
    pid = Proposal.objects.filter(inbox_id=%(reviewer_inbox)d).values_list("pk", flat=True).first()
else:
    user = User.objects.get(username="gov-baseline-reviewer")
    pid = Proposal.objects.get(resource="bench:own").pk
grants = permissions.inboxes_for(User.objects.get(pk=user.pk)).count()
out["reviewer_inboxes"] = grants
n = %(calls)d

def bench(fn):
    users = [User.objects.get(pk=user.pk) for _ in range(n + 1)]
    fn(users.pop())  # process-wide caches (ContentType ids) warm, as in a running server
    cold = User.objects.get(pk=user.pk)
    with CaptureQueriesContext(connection) as ctx:
        fn(cold)
    ms = []
    for u in users:
        t = time.perf_counter()
        fn(u)
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    return {"median_ms": round(statistics.median(ms), 3), "p99_ms": round(ms[int(len(ms) * 0.99) - 1], 3),
            "queries": len(ctx), "sql": [q["sql"][:160] for q in ctx.captured_queries]}

out["access_proposal"] = bench(lambda u: permissions.access_proposal(u, pid, for_decision=True))
rows = []
out["proposals_for_reviewer"] = bench(lambda u: rows.append(len(list(selectors.proposals_for_reviewer(u)[:50]))))
out["proposals_for_reviewer"]["rows"] = rows[-1]

def warm(u):
    u.has_perm("inbox.view_inbox")
    return list(selectors.proposals_for_reviewer(u)[:50])

users = [User.objects.get(pk=user.pk) for _ in range(3)]
for u in users:
    u.has_perm("inbox.view_inbox")
with CaptureQueriesContext(connection) as ctx:
    list(selectors.proposals_for_reviewer(users[0])[:50])
out["proposals_for_reviewer_warm_perm_cache_queries"] = len(ctx)
print(json.dumps(out))
'''


async def _sequential(port: int, token: str, body: bytes, warmup: int, n: int) -> tuple[list[float], dict]:
    c = await Conn(port).open()
    raw = c.encode("POST", "/api/v1/proposals", token, body)
    statuses: dict[int, int] = {}
    lat: list[float] = []
    try:
        for i in range(warmup + n):
            t = time.perf_counter()
            status, _ = await c.send_raw(raw)
            if i >= warmup:
                lat.append((time.perf_counter() - t) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        await c.close()
    return lat, statuses


async def _concurrent(port: int, token: str, body: bytes, conns: int, n: int) -> tuple[list[float], dict, float]:
    lat: list[float] = []
    statuses: dict[int, int] = {}
    todo = iter(range(n))

    async def worker():
        c = await Conn(port).open()
        raw = c.encode("POST", "/api/v1/proposals", token, body)
        for _ in range(5):  # warm this connection's worker (snapshot, token cache)
            await c.send_raw(raw)
        await barrier.wait()
        for _ in todo:
            t = time.perf_counter()
            status, _ = await c.send_raw(raw)
            lat.append((time.perf_counter() - t) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
        await c.close()

    barrier = asyncio.Barrier(conns + 1)
    tasks = [asyncio.create_task(worker()) for _ in range(conns)]
    await barrier.wait()
    t0 = time.perf_counter()
    await asyncio.gather(*tasks)
    return lat, statuses, time.perf_counter() - t0


def segment(bench: Bench, args, label: str) -> dict:
    body = json.dumps(PROPOSAL).encode()
    token = bench.agent_tokens[0]
    pids = bench.server_pids()
    cpu0 = cpu_seconds(pids)
    lat, st = asyncio.run(_sequential(bench.port, token, body, args.warmup, args.requests))
    cpu = cpu_seconds(pids) - cpu0
    seq = {**latency_summary(lat), "statuses": st,
           "server_cpu_ms_per_request": round(1000 * cpu / (args.warmup + args.requests), 2)}
    r = {"config": label, "sequential": seq, "sequential_samples": lat}
    if args.concurrency:
        workers = bench.worker_pids()
        cpu0, per0 = cpu_seconds(pids), [cpu_seconds([w]) for w in workers]
        clat, cst, wall = asyncio.run(_concurrent(bench.port, token, body, args.concurrency, args.concurrent_requests))
        cpu = cpu_seconds(pids) - cpu0
        per = [round(cpu_seconds([w]) - c, 2) for w, c in zip(workers, per0, strict=True)]
        r["concurrent"] = {**latency_summary(clat), "statuses": cst, "per_s": round(len(clat) / wall, 1),
                           "server_cpu_ms_per_request": round(1000 * cpu / (len(clat) + 5 * args.concurrency), 2),
                           "worker_cpu_s": per}  # uneven = the connections landed unevenly on the workers
        r["concurrent_samples"] = clat
    bad = {k: v for k, v in {**st, **r.get("concurrent", {}).get("statuses", {})}.items() if k != 201}
    c = r.get("concurrent", {})
    print(f"[governance] {label}: sequential p50 {seq['p50_ms']} / p99 {seq['p99_ms']} ms, "
          f"{seq['server_cpu_ms_per_request']} ms CPU/req"
          + (f"; {args.concurrency} connections p50 {c['p50_ms']} / p99 {c['p99_ms']} ms, {c['per_s']}/s, "
             f"worker CPU s {c['worker_cpu_s']}" if c else "")
          + (f"; NON-201: {bad}" if bad else ""), flush=True)
    if bad:
        print("[governance] server log errors:\n  " + "\n  ".join(bench.server_errors(8)), flush=True)
    return r


def switch(bench: Bench, loaded: bool) -> dict:
    return json.loads(bench.manage("shell", "-c", SWITCH_SCRIPT % {"loaded": loaded}).strip().splitlines()[-1])


def in_process(bench: Bench, args, loaded: bool, reviewer_inbox: int) -> dict:
    script = INPROC_SCRIPT % {"loaded": loaded, "iterations": args.iterations, "repeats": 5,
                              "proposal": json.dumps(PROPOSAL), "reviewer_inbox": reviewer_inbox,
                              "calls": args.calls}
    return json.loads(bench.manage("shell", "-c", script, timeout=600).strip().splitlines()[-1])


def pooled(results: list[dict], key: str) -> dict:
    samples = [x for r in results for x in r.get(f"{key}_samples", [])]
    return latency_summary(samples) if samples else {}


def report(figures: dict) -> str:
    segs = figures["segments"]
    base = [s for s in segs if s["config"] == "baseline"]
    load = [s for s in segs if s["config"] == "loaded"]
    rows = []
    for label, group in (("baseline", base), ("loaded", load)):
        p = pooled(group, "sequential")
        c = pooled(group, "concurrent")
        cpu = statistics.mean(s["sequential"]["server_cpu_ms_per_request"] for s in group)
        per_round = " / ".join(f"{s['sequential']['p50_ms']:.2f}" for s in group)
        rows.append([label, p["n"], f"{p['p50_ms']:.2f}", f"{p['p90_ms']:.2f}", f"{p['p99_ms']:.2f}", per_round,
                     f"{cpu:.2f}", f"{c.get('p50_ms', float('nan')):.2f}", f"{c.get('p99_ms', float('nan')):.2f}",
                     f"{statistics.mean(s['concurrent']['per_s'] for s in group):.1f}" if c else "-"])
    d = figures["delta"]
    rows.append(["loaded - baseline", "", f"{d['p50_ms']:+.2f}", "", f"{d['p99_ms']:+.2f}",
                 f"median of rounds {d['p50_ms_median_of_rounds']:+.2f}", f"{d['cpu_ms_per_request']:+.2f}",
                 f"{d['concurrent_p50_ms']:+.2f}", f"{d['concurrent_p99_ms']:+.2f}", ""])
    out = [table(rows, ["POST /api/v1/proposals", "n", "p50 ms", "p90 ms", "p99 ms", "p50 per round",
                        "CPU ms/req", f"c{figures['concurrency']} p50", f"c{figures['concurrency']} p99", "c req/s"])]
    verdict = "HOLDS" if d["p50_ms"] <= GOAL_P50_MS else "MISSED"
    out.append(f"\ngoal: p50 difference <= {GOAL_P50_MS} ms: {verdict} ({d['p50_ms']:+.2f} ms pooled, "
               f"{d['p50_ms_median_of_rounds']:+.2f} ms median of per-round differences)")
    ib, il = figures["in_process"]["baseline"], figures["in_process"]["loaded"]
    rows = [
        ["evaluate(facts, snapshot)", f"{ib['evaluate_us']} µs", f"{il['evaluate_us']} µs", "0", "0",
         f"{ib['snapshot_policies']} vs {il['snapshot_policies']} policies"],
        ["evaluate(facts) incl. version read", f"{ib['evaluate_with_version_read_us']} µs",
         f"{il['evaluate_with_version_read_us']} µs", "0", "0", "one cache GET (Redis) per call"],
    ]
    for key, what in (("access_proposal", "access_proposal(for_decision=True)"),
                      ("proposals_for_reviewer", "list(proposals_for_reviewer(u)[:50])")):
        b, lo = ib[key], il[key]
        rows.append([what, f"{b['median_ms']} ms (p99 {b['p99_ms']})", f"{lo['median_ms']} ms (p99 {lo['p99_ms']})",
                     b["queries"], lo["queries"],
                     f"reviewer of {ib['reviewer_inboxes']} vs {il['reviewer_inboxes']} inboxes, cold user"
                     + (f", {b['rows']} vs {lo['rows']} rows" if "rows" in b else "")])
    rows.append(["  same, permission cache warm", "", "", ib["proposals_for_reviewer_warm_perm_cache_queries"],
                 il["proposals_for_reviewer_warm_perm_cache_queries"], "queries of the proposals SELECT itself"])
    out.append("\n" + table(rows, ["in-process (no HTTP)", "baseline", "loaded", "queries b", "queries l", "note"]))
    out.append(f"\nloaded outcome: {il['outcome']}; baseline outcome: {ib['outcome']}")
    return "\n".join(out)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.governance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500, help="sequential POSTs measured per segment (default 500)")
    parser.add_argument("--warmup", type=int, default=100, help="sequential warm-up POSTs per segment (default 100)")
    parser.add_argument("--concurrency", type=int, default=4, help="connections of the light concurrent run "
                                                                   "(default 4; 0 = skip)")
    parser.add_argument("--concurrent-requests", type=int, default=400,
                        help="POSTs of the concurrent run (default 400)")
    parser.add_argument("--rounds", type=int, default=2, help="baseline/loaded pairs, alternated (default 2)")
    parser.add_argument("--policies", type=int, default=200, help="active policies when loaded (default 200)")
    parser.add_argument("--users", type=int, default=500,
                        help="users with 10 direct inbox grants (view+decide) each when loaded (default 500: "
                             "10,000 UserObjectPermission rows)")
    parser.add_argument("--iterations", type=int, default=20000, help="evaluate() calls per timing (default 20000)")
    parser.add_argument("--calls", type=int, default=300, help="access/list calls timed in-process (default 300)")
    common_args(parser)
    args = parser.parse_args(argv)
    preflight()
    figures: dict = {"benchmark": "governance", "started": time.strftime("%Y-%m-%d %H:%M"), "cores": os.cpu_count(),
                     "load_average_start": round(os.getloadavg()[0], 2), "workers": args.workers,
                     "requests": args.requests, "warmup": args.warmup, "concurrency": args.concurrency,
                     "rounds": args.rounds, "segments": [], "in_process": {}}
    try:
        with Bench(args, agents=1) as bench:
            t = time.monotonic()
            prep = json.loads(bench.manage("shell", "-c", PREP_SCRIPT % {"policies": args.policies,
                                                                         "users": args.users}).splitlines()[-1])
            figures["data"] = prep
            print(f"[governance] loaded data in {time.monotonic() - t:.1f} s: {prep}", flush=True)
            for rnd in range(args.rounds):
                for loaded in (False, True):
                    label = "loaded" if loaded else "baseline"
                    state = switch(bench, loaded)
                    print(f"[governance] round {rnd + 1}: {label}: {state}", flush=True)
                    if rnd == 0:
                        figures["in_process"][label] = in_process(bench, args, loaded, prep["reviewer_inbox"])
                    seg = segment(bench, args, label)
                    seg["round"], seg["state"] = rnd + 1, state
                    figures["segments"].append(seg)
    except KeyboardInterrupt:
        print("\n[governance] interrupted; server stopped and database dropped", flush=True)
        raise SystemExit(130) from None
    segs = figures["segments"]
    base = [s for s in segs if s["config"] == "baseline"]
    load = [s for s in segs if s["config"] == "loaded"]
    pb, pl = pooled(base, "sequential"), pooled(load, "sequential")
    cb, cl = pooled(base, "concurrent"), pooled(load, "concurrent")
    figures["delta"] = {
        "p50_ms": round(pl["p50_ms"] - pb["p50_ms"], 2), "p99_ms": round(pl["p99_ms"] - pb["p99_ms"], 2),
        "p50_ms_median_of_rounds": round(statistics.median(
            lo["sequential"]["p50_ms"] - b["sequential"]["p50_ms"] for b, lo in zip(base, load, strict=True)), 2),
        "cpu_ms_per_request": round(statistics.mean(s["sequential"]["server_cpu_ms_per_request"] for s in load)
                                    - statistics.mean(s["sequential"]["server_cpu_ms_per_request"] for s in base), 2),
        "concurrent_p50_ms": round(cl.get("p50_ms", 0) - cb.get("p50_ms", 0), 2),
        "concurrent_p99_ms": round(cl.get("p99_ms", 0) - cb.get("p99_ms", 0), 2),
        "goal_p50_ms": GOAL_P50_MS, "holds": pl["p50_ms"] - pb["p50_ms"] <= GOAL_P50_MS,
    }
    figures["load_average_end"] = round(os.getloadavg()[0], 2)
    print(f"\nGovernance overhead, {figures['started']}, {figures['cores']} cores, {args.workers} uvicorn workers, "
          f"load average {figures['load_average_start']} -> {figures['load_average_end']}\n")
    print(report(figures))
    for s in segs:
        s.pop("sequential_samples", None)
        s.pop("concurrent_samples", None)
    write_json(args.json, figures)
    return figures


if __name__ == "__main__":
    main()

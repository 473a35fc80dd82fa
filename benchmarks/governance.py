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

Data and switching live in ``benchmarks.governance_data`` (run inside Django in the served tree): ``load``
creates the loaded configuration once; ``switch`` turns policies ``is_active`` on/off and parks the
benchmark's guardian rows in / restores them from side tables, then bumps the governance snapshot version
(every worker reloads); pending proposals are expired so each segment starts alike.

Per segment: ``--warmup`` requests, then ``--requests`` sequential POSTs over one keep-alive connection
(latency, one worker), then a light concurrent run (``--concurrency`` connections, ``--concurrent-requests``
in all); server CPU ms per request from /proc. Then in-process (``benchmarks.governance_timings``, no HTTP,
same DB):
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
    """Switch the server's database to the loaded or the baseline configuration (benchmarks.governance_data)."""
    return bench.django_module("benchmarks.governance_data", "switch", "--loaded" if loaded else "--baseline")


def in_process(bench: Bench, args, loaded: bool, reviewer_inbox: int) -> dict:
    """The in-process timings of the current configuration (benchmarks.governance_timings)."""
    return bench.django_module("benchmarks.governance_timings", "--loaded" if loaded else "--baseline",
                               "--reviewer-inbox", str(reviewer_inbox), "--iterations", str(args.iterations),
                               "--calls", str(args.calls), "--repeats", "5", timeout=600)


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
            prep = bench.django_module("benchmarks.governance_data", "load", "--policies", str(args.policies),
                                       "--users", str(args.users))
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

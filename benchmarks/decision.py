"""Decision: latency of approving a proposal, and exactly-once under a race.

    .venv/bin/python -m benchmarks.decision                    # 300 sequential + 300 at concurrency 8
    .venv/bin/python -m benchmarks.decision --proposals 500 --concurrency 16 --racers 100

1. ``--proposals`` fresh proposals are approved one after another (``POST /api/v1/proposals/{id}/decision``,
   ``{"verdict": "approve", "comment": "ok"}``) with the superuser's token over one keep-alive connection;
2. as many again with ``--concurrency`` connections;
3. the same sequential run with a plain reviewer's token (member of the Platform inbox's reviewers group:
   the guardian object-permission path, which the superuser skips); ``--no-reviewer`` to skip;
4. race: ``--racers`` connections (default 50), opened beforehand, approve ONE proposal at the same
   moment; exactly one must get 200 and all others 409, and the database must hold status ``approved``
   with exactly one decision in its history;
5. long-poll: for ``--waits`` proposals (default 100) the agent waits (``GET …/wait?timeout=10``) on
   one connection while the superuser approves on another; measured from the moment the approve is
   sent to the wait's answer arriving (the waiting agent's latency). Served by ASGI only.

``--preload N`` first stores N proposals (most decided, ``--preload-pending`` of them pending, with
their history rows) with SQL, to see whether the figures grow with the data.
``--server wsgi`` serves the approvals with gunicorn sync workers (the long-poll run is then skipped).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time

from benchmarks.harness.client import PROPOSAL, Conn
from benchmarks.harness.server import Bench, common_args, preflight
from benchmarks.harness.stats import cpu_seconds, latency_summary, table, write_json

APPROVE = json.dumps({"verdict": "approve", "comment": "ok"}).encode()


async def create_proposals(bench: Bench, n: int, concurrency: int = 8) -> list[str]:
    body = json.dumps(PROPOSAL).encode()
    ids: list[str] = []
    todo = iter(range(n))

    async def worker():
        c = await Conn(bench.port).open()
        for _ in todo:
            status, resp = await c.request("POST", "/api/v1/proposals", bench.agent_tokens[0], body)
            if status != 201:
                raise RuntimeError(f"creating proposals: {status} {resp[:200]!r}")
            ids.append(json.loads(resp)["id"])
        await c.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ids


async def approve_all(bench: Bench, ids: list[str], token: str, concurrency: int) -> dict:
    lat: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(ids)

    async def worker():
        c = await Conn(bench.port).open()
        for pid in queue:
            raw = c.encode("POST", f"/api/v1/proposals/{pid}/decision", token, APPROVE)
            t = time.perf_counter()
            status, _ = await c.send_raw(raw)
            lat.append((time.perf_counter() - t) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
        await c.close()

    pids = bench.server_pids()
    cpu0, t0 = cpu_seconds(pids), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    cpu = cpu_seconds(pids) - cpu0
    return {**latency_summary(lat), "concurrency": concurrency, "statuses": statuses,
            "per_s": round(len(lat) / wall, 1), "server_cpu_ms_per_request": round(1000 * cpu / max(1, len(lat)), 2)}


async def race(bench: Bench, racers: int) -> dict:
    (pid,) = await create_proposals(bench, 1, 1)
    conns = [await Conn(bench.port).open() for _ in range(racers)]
    raw = conns[0].encode("POST", f"/api/v1/proposals/{pid}/decision", bench.admin_token, APPROVE)
    go = asyncio.Event()

    async def one(c: Conn):
        await go.wait()
        status, body = await c.send_raw(raw)
        await c.close()
        return status, body

    tasks = [asyncio.create_task(one(c)) for c in conns]
    await asyncio.sleep(0.2)
    t0 = time.perf_counter()
    go.set()
    results = await asyncio.gather(*tasks)
    wall_ms = (time.perf_counter() - t0) * 1000
    codes: dict[int, int] = {}
    for status, _ in results:
        codes[status] = codes.get(status, 0) + 1
    c = await Conn(bench.port).open()
    status, body = await c.request("GET", f"/api/v1/proposals/{pid}", bench.admin_token)
    await c.close()
    api_status = json.loads(body).get("status") if status == 200 else f"GET {status}"
    db_status = bench.psql(f"select status from inbox_proposal where id = '{pid}'", bench.db)
    decisions = int(bench.psql(
        f"select count(*) from inbox_historicalproposal where id = '{pid}' and status <> 'pending'", bench.db))
    ok2xx = sum(v for k, v in codes.items() if 200 <= k < 300)
    holds = ok2xx == 1 and codes.get(409, 0) == racers - 1 and api_status == db_status == "approved" and decisions == 1
    return {"racers": racers, "statuses": codes, "api_status": api_status, "db_status": db_status,
            "decided_history_rows": decisions, "wall_ms": round(wall_ms, 1), "exactly_once": holds}


async def long_polls(bench: Bench, n: int) -> dict:
    """Approve ``n`` proposals, each while its agent long-polls it; ms from approve sent to wait answered."""
    ids = await create_proposals(bench, n)
    agent, admin = await Conn(bench.port).open(), await Conn(bench.port).open()
    lat, after_answer, statuses = [], [], {}
    for pid in ids:
        waiting = asyncio.create_task(agent.request("GET", f"/api/v1/proposals/{pid}/wait?timeout=10",
                                                    bench.agent_tokens[0]))
        await asyncio.sleep(0.05)  # the waiter has joined its group
        t = time.perf_counter()
        status, _ = await admin.request("POST", f"/api/v1/proposals/{pid}/decision", bench.admin_token, APPROVE)
        answered = time.perf_counter()
        wstatus, body = await waiting
        done = time.perf_counter()
        statuses[wstatus] = statuses.get(wstatus, 0) + 1
        if status == 200 and wstatus == 200 and json.loads(body).get("status") == "approved":
            lat.append((done - t) * 1000)
            after_answer.append((done - answered) * 1000)
    await agent.close()
    await admin.close()
    s = latency_summary(lat)
    return {**s, "statuses": statuses, "after_approve_answer_p99_ms": latency_summary(after_answer)["p99_ms"]}


async def _run(bench: Bench, args) -> dict:
    n = args.proposals
    reviewer = not args.no_reviewer
    t = time.perf_counter()
    ids = await create_proposals(bench, n * (3 if reviewer else 2))
    print(f"[decision] {len(ids)} proposals created in {time.perf_counter() - t:.1f} s", flush=True)
    await approve_all(bench, ids[:20], bench.admin_token, 1)  # warm-up: first requests of each worker
    runs = {}
    runs["admin, sequential"] = await approve_all(bench, ids[20:n], bench.admin_token, 1)
    runs[f"admin, {args.concurrency} concurrent"] = await approve_all(bench, ids[n:2 * n], bench.admin_token,
                                                                       args.concurrency)
    if reviewer:
        runs["reviewer (guardian), sequential"] = await approve_all(bench, ids[2 * n:], bench.reviewer_token, 1)
    for label, r in runs.items():
        print(f"[decision] {label}: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, {r['per_s']}/s, "
              f"statuses {r['statuses']}, server CPU {r['server_cpu_ms_per_request']} ms/request", flush=True)
    rc = await race(bench, args.racers)
    print(f"[decision] race of {rc['racers']}: statuses {rc['statuses']}, API {rc['api_status']}, "
          f"DB {rc['db_status']}, decided history rows {rc['decided_history_rows']}: "
          f"{'exactly once HOLDS' if rc['exactly_once'] else 'exactly once BROKEN'}", flush=True)
    out = {"runs": runs, "race": rc}
    if args.waits and bench.server == "asgi":
        lp = await long_polls(bench, args.waits)
        print(f"[decision] long-poll answered after the approve was sent: p50 {lp['p50_ms']} ms, p99 {lp['p99_ms']} "
              f"ms (n {lp['n']}; wait statuses {lp['statuses']})", flush=True)
        out["long_poll"] = lp
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.decision", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proposals", type=int, default=300, help="approvals per run (default 300)")
    parser.add_argument("--concurrency", type=int, default=8, help="connections of the concurrent run (default 8)")
    parser.add_argument("--racers", type=int, default=50, help="concurrent approvals of one proposal (default 50)")
    parser.add_argument("--no-reviewer", action="store_true", help="skip the plain reviewer's (guardian) run")
    parser.add_argument("--waits", type=int, default=100,
                        help="long-polls answered by an approve (default 100; 0 skips)")
    parser.add_argument("--server", choices=["asgi", "wsgi"], default="asgi",
                        help="asgi = uvicorn (default); wsgi = gunicorn sync workers (no long-poll run)")
    parser.add_argument("--wsgi-workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--preload", type=int, default=0, help="proposals stored before the run (default 0)")
    parser.add_argument("--preload-pending", type=int, default=10_000,
                        help="how many of the preloaded proposals are pending (default 10,000)")
    common_args(parser)
    args = parser.parse_args(argv)
    preflight()
    try:
        import uvloop
        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        workers = args.wsgi_workers if args.server == "wsgi" else args.workers
        with Bench(args, server=args.server, agents=1, reviewers=0 if args.no_reviewer else 1, workers=workers,
                   preload=args.preload, preload_pending=args.preload_pending) as bench:
            r = runner(_run(bench, args))
            bad = [k for k, v in r["runs"].items() if set(v["statuses"]) != {200}]
            if bad or not r["race"]["exactly_once"]:
                print("[decision] server log errors:\n  " + "\n  ".join(bench.server_errors(8)), flush=True)
    except KeyboardInterrupt:
        print("\n[decision] interrupted; server stopped and database dropped", flush=True)
        raise SystemExit(130) from None
    print()
    rows = [[k, v["n"], v["p50_ms"], v["p90_ms"], v["p99_ms"], v["per_s"], v["server_cpu_ms_per_request"],
             ",".join(f"{s}x{c}" for s, c in sorted(v["statuses"].items()))] for k, v in r["runs"].items()]
    rc = r["race"]
    rows.append([f"race: {rc['racers']} approvals of one", rc["racers"], "", "", "", "", "",
                 ",".join(f"{s}x{c}" for s, c in sorted(rc["statuses"].items()))
                 + (" exactly-once OK" if rc["exactly_once"] else " EXACTLY-ONCE BROKEN")])
    if "long_poll" in r:
        lp = r["long_poll"]
        rows.append(["long-poll answered, from approve sent", lp["n"], lp["p50_ms"], lp["p90_ms"], lp["p99_ms"],
                     "", "", ",".join(f"{s}x{c}" for s, c in sorted(lp["statuses"].items()))])
    print(table(rows, ["decision: approve", "n", "p50 ms", "p90 ms", "p99 ms", "per s", "server CPU ms/req",
                       "statuses"]))
    with open("/proc/loadavg") as f:
        print(f"server {args.server}, preloaded {args.preload} proposals; load average at the end: "
              f"{' '.join(f.read().split()[:3])}")
    figures = {"benchmark": "decision", "server": args.server, "workers": workers, "preload": args.preload, **r}
    write_json(args.json, figures)
    return figures


if __name__ == "__main__":
    main()

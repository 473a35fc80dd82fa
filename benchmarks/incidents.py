"""Incidents: the SEV board with 500 open incidents and 50,000 timeline entries, and a finding's
fan-out to 100 open war-room pages.

    .venv/bin/python -m benchmarks.incidents                  # 500 incidents, 50,000 entries, 100 war rooms
    .venv/bin/python -m benchmarks.incidents --viewers 200 --rate 10

Targets (issue 10): the board renders in ≤ 200 ms; a finding reaches 100 open war-room pages with
p99 ≤ 100 ms.

1. ``benchmarks.incidents_data`` fills a fresh PostgreSQL database (``Bench``: uvicorn, ``--workers``
   workers, Redis channel layer): ``--incidents`` open incidents with ``--entries`` timeline entries, a
   commander who commands them all (so every row of the board is complete), ``--viewers`` responders
   with login sessions, an agent with a token.
2. Board: ``GET /incidents/`` as the commander, ``--board-requests`` times one after the other (after
   3 warm-up requests): the server's full answer (the page with all 500 rows' data, which the page's
   script draws, the same code that applies live events), timed at the client; and the server's CPU
   per render (all server processes, from ``/proc``: the figure least disturbed by other load).
3. Fan-out: every viewer opens ``/ws/incidents/<id>/`` (the same war room); the agent POSTs
   ``/api/v1/incidents/<id>/findings`` at ``--rate`` per second for ``--duration`` seconds. For each
   (socket, finding) pair the latency runs from the POST's answer arriving to that socket receiving the
   ``timeline.added`` event of that finding (negative when the event overtakes the answer).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time

from benchmarks.harness.client import Conn
from benchmarks.harness.server import Bench, common_args, preflight
from benchmarks.harness.stats import cpu_seconds, latency_summary, table, write_json


async def _board(bench: Bench, data: dict, args) -> dict:
    conn = await Conn(bench.port).open()
    cookie = {"Cookie": f"sessionid={data['commander_session']}", "Accept": "text/html"}
    timings, sizes, bad = [], [], 0
    pids = bench.server_pids()
    for i in range(3 + args.board_requests):
        if i == 3:
            cpu0 = cpu_seconds(pids)
        t = time.perf_counter()
        status, body = await conn.send_raw(conn.encode("GET", "/incidents/", headers=cookie))
        ms = (time.perf_counter() - t) * 1000
        if status != 200:
            bad += 1
        elif i >= 3:
            timings.append(ms)
            sizes.append(len(body))
    cpu_ms = (cpu_seconds(pids) - cpu0) * 1000 / max(1, len(timings))
    t = time.perf_counter()
    status, _ = await conn.send_raw(conn.encode("GET", f"/incidents/{data['war_room']}/", headers=cookie))
    war_room_ms = (time.perf_counter() - t) * 1000
    await conn.close()
    return {"board": latency_summary(timings), "board_cpu_ms": round(cpu_ms, 1), "board_failed": bad,
            "board_bytes": max(sizes or [0]),
            "war_room_ms": round(war_room_ms, 1), "war_room_status": status}


async def _fanout(bench: Bench, data: dict, args) -> dict:
    from websockets.asyncio.client import connect

    url = f"ws://127.0.0.1:{bench.port}/ws/incidents/{data['war_room']}/"
    origin = f"http://127.0.0.1:{bench.port}"
    received: dict[int, list[float]] = {}
    sockets, refused = [], []
    sem = asyncio.Semaphore(20)

    async def open_one(key):
        async with sem:
            try:
                sockets.append(await connect(url, origin=origin, additional_headers={"Cookie": f"sessionid={key}"},
                                             open_timeout=20, ping_interval=None, max_queue=None, compression=None))
            except Exception as e:  # noqa: BLE001 - reported below
                refused.append(repr(e)[:120])

    await asyncio.gather(*(open_one(k) for k in data["viewer_sessions"]))
    print(f"[incidents] {len(sockets)} war-room sockets open ({len(refused)} refused)", flush=True)

    async def reader(ws):
        try:
            async for msg in ws:
                t = time.perf_counter()
                ev = json.loads(msg)
                if ev.get("event") == "timeline.added":
                    received.setdefault(ev["entry"]["id"], []).append(t)
        except Exception:  # noqa: BLE001, S110 - closed at the end
            pass

    readers = [asyncio.create_task(reader(ws)) for ws in sockets]
    await asyncio.sleep(1.0)
    conn = await Conn(bench.port).open()
    path = f"/api/v1/incidents/{data['war_room']}/findings"
    posts, post_ms, bad = {}, [], 0
    n = max(1, int(args.rate * args.duration))
    pids = bench.server_pids()
    cpu0, wall0 = cpu_seconds(pids), time.perf_counter()
    for i in range(n):
        due = wall0 + i / args.rate
        if (delay := due - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        body = json.dumps({"summary": f"Finding {i}: p99 at {1000 + i} ms", "evidence": {"i": i},
                           "confidence": 0.7, "question": "impact", "answer": f"{i} %"}).encode()
        sent = time.perf_counter()
        status, resp = await conn.request("POST", path, data["agent_token"], body)
        back = time.perf_counter()
        post_ms.append((back - sent) * 1000)
        if status != 201:
            bad += 1
            continue
        posts[json.loads(resp)["id"]] = back
    expected = len(posts) * len(sockets)
    deadline = time.perf_counter() + args.drain
    while time.perf_counter() < deadline and sum(len(received.get(p, ())) for p in posts) < expected:
        await asyncio.sleep(0.05)
    wall = time.perf_counter() - wall0
    server_cpu = cpu_seconds(pids) - cpu0
    await conn.close()
    for ws in sockets:
        await ws.close()
    for r in readers:
        r.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    latencies = [(t - back) * 1000 for pid, back in posts.items() for t in received.get(pid, ())]
    return {"sockets_open": len(sockets), "sockets_refused": len(refused), "findings": n, "findings_failed": bad,
            "deliveries_expected": expected, "deliveries": len(latencies), "missing": expected - len(latencies),
            "fanout": latency_summary(latencies), "post_latency": latency_summary(post_ms),
            "server_cpu_cores": round(server_cpu / wall, 2)}


async def _run(bench: Bench, args) -> dict:
    t = time.perf_counter()
    data = bench.django_module("benchmarks.incidents_data", "--incidents", str(args.incidents), "--entries",
                               str(args.entries), "--viewers", str(args.viewers), timeout=900)
    print(f"[incidents] seeded {args.incidents} incidents, {args.entries} entries in {time.perf_counter() - t:.1f} s",
          flush=True)
    return {**await _board(bench, data, args), **await _fanout(bench, data, args)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.incidents", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=500, help="open incidents (default 500)")
    parser.add_argument("--entries", type=int, default=50_000, help="timeline entries (default 50,000)")
    parser.add_argument("--viewers", type=int, default=100, help="open war-room pages (default 100)")
    parser.add_argument("--board-requests", type=int, default=30, help="timed board renders (default 30)")
    parser.add_argument("--rate", type=float, default=5, help="findings per second (default 5)")
    parser.add_argument("--duration", type=float, default=10, help="seconds of posting (default 10)")
    parser.add_argument("--drain", type=float, default=5, help="seconds to wait for late deliveries (default 5)")
    common_args(parser)
    args = parser.parse_args(argv)
    preflight()
    try:
        with Bench(args, agents=1) as bench:
            r = asyncio.run(_run(bench, args))
            if r["missing"] or r["findings_failed"] or r["board_failed"]:
                print("[incidents] server log errors:\n  " + "\n  ".join(bench.server_errors(8)), flush=True)
    except KeyboardInterrupt:
        print("\n[incidents] interrupted; server stopped and database dropped", flush=True)
        raise SystemExit(130) from None
    b, f = r["board"], r["fanout"]
    print()
    print(table([
        [f"board GET /incidents/ ({args.incidents} open, {args.entries} entries)", b["n"], b["p50_ms"], b["p90_ms"],
         b["p99_ms"], b["max_ms"], "≤ 200 ms"],
        [f"finding → {r['sockets_open']} war rooms", f["n"], f["p50_ms"], f["p90_ms"], f["p99_ms"], f["max_ms"],
         "p99 ≤ 100 ms"],
        ["POST finding", r["post_latency"]["n"], r["post_latency"]["p50_ms"], r["post_latency"]["p90_ms"],
         r["post_latency"]["p99_ms"], r["post_latency"]["max_ms"], ""],
    ], ["incidents", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", "target"]))
    print(f"board page {r['board_bytes'] / 1024:.0f} KiB, {r['board_cpu_ms']} ms server CPU per render; "
          f"war room page {r['war_room_ms']} ms; deliveries "
          f"{r['deliveries']}/{r['deliveries_expected']} (missing {r['missing']}); server CPU "
          f"{r['server_cpu_cores']} cores during the fan-out")
    figures = {"benchmark": "incidents", "incidents": args.incidents, "entries": args.entries,
               "rate": args.rate, "duration_s": args.duration, "workers": args.workers, **r}
    write_json(args.json, figures)
    return figures


if __name__ == "__main__":
    main()

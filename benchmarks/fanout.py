"""Fan-out: how fast a new proposal reaches every reviewer's open inbox page (WebSocket).

    .venv/bin/python -m benchmarks.fanout                       # 200 sockets, 5 proposals/s for 20 s
    .venv/bin/python -m benchmarks.fanout --reviewers 400 --rate 10

``--reviewers`` reviewer users (each its own login session, members of the Platform inbox's reviewers
group) open ``/ws/inboxes/<Platform inbox>/`` on the server (uvicorn, ``--workers`` workers, so the sockets
are spread over them). One agent then POSTs ``/api/v1/proposals`` at ``--rate`` per second for
``--duration`` seconds. For every (socket, proposal) pair the latency is the time from the POST's response
arriving to that socket receiving the ``proposal.created`` event (negative when the event overtakes the
response: the server announces on commit, before it answers). Also given: from the POST being *sent*.

The sockets are served by one asyncio (uvloop) process on the same 2 cores as the server; its own CPU use
is reported, since its event-loop lag is part of the figures.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time

from benchmarks.harness.client import PROPOSAL, Conn
from benchmarks.harness.server import Bench, common_args, preflight
from benchmarks.harness.stats import cpu_seconds, latency_summary, self_cpu, table, write_json


async def _run(bench: Bench, args) -> dict:
    from websockets.asyncio.client import connect

    url = f"ws://127.0.0.1:{bench.port}/ws/inboxes/{bench.inbox_id}/"
    origin = f"http://127.0.0.1:{bench.port}"
    received: dict[str, list[float]] = {}
    other_events = 0
    sockets = []
    refused = []

    async def open_one(session_key: str):
        try:
            ws = await connect(url, origin=origin, additional_headers={"Cookie": f"sessionid={session_key}"},
                               open_timeout=20, ping_interval=None, max_queue=None, compression=None)
            sockets.append(ws)
        except Exception as e:  # noqa: BLE001 - reported below
            refused.append(repr(e)[:120])

    t0 = time.perf_counter()
    sem = asyncio.Semaphore(20)

    async def bounded(key):
        async with sem:
            await open_one(key)

    await asyncio.gather(*(bounded(k) for k in bench.sessions))
    connect_s = time.perf_counter() - t0
    print(f"[fanout] {len(sockets)} sockets open in {connect_s:.1f} s ({len(refused)} refused"
          + (f": {refused[0]}" if refused else "") + ")", flush=True)

    async def reader(ws):
        nonlocal other_events
        try:
            async for msg in ws:
                t = time.perf_counter()
                ev = json.loads(msg)
                if ev.get("event") == "proposal.created":
                    received.setdefault(ev["proposal"]["id"], []).append(t)
                else:
                    other_events += 1
        except Exception:  # noqa: BLE001, S110 - closed at the end
            pass

    readers = [asyncio.create_task(reader(ws)) for ws in sockets]
    await asyncio.sleep(1.0)

    body = json.dumps(PROPOSAL).encode()
    token = bench.agent_tokens[0]
    conn = await Conn(bench.port).open()
    posts: dict[str, tuple[float, float]] = {}
    post_ms = []
    bad_posts = 0
    n = max(1, int(args.rate * args.duration))
    pids = bench.server_pids()
    cpu0, own0, wall0 = cpu_seconds(pids), self_cpu(), time.perf_counter()
    start = time.perf_counter()
    for i in range(n):
        due = start + i / args.rate
        if (delay := due - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        sent = time.perf_counter()
        status, resp = await conn.request("POST", "/api/v1/proposals", token, body)
        back = time.perf_counter()
        post_ms.append((back - sent) * 1000)
        if status != 201:
            bad_posts += 1
            continue
        posts[json.loads(resp)["id"]] = (sent, back)
    # stragglers
    expected = len(posts) * len(sockets)
    deadline = time.perf_counter() + args.drain
    while time.perf_counter() < deadline and sum(len(received.get(p, ())) for p in posts) < expected:
        await asyncio.sleep(0.05)
    wall = time.perf_counter() - wall0
    server_cpu = cpu_seconds(pids) - cpu0
    own_cpu = self_cpu() - own0
    await conn.close()
    for ws in sockets:
        await ws.close()
    for r in readers:
        r.cancel()
    await asyncio.gather(*readers, return_exceptions=True)

    from_return, from_send = [], []
    for pid, (sent, back) in posts.items():
        for t in received.get(pid, ()):
            from_return.append((t - back) * 1000)
            from_send.append((t - sent) * 1000)
    delivered = len(from_return)
    return {
        "reviewers": len(bench.sessions), "sockets_open": len(sockets), "sockets_refused": len(refused),
        "connect_seconds": round(connect_s, 2), "posts": n, "posts_failed": bad_posts,
        "deliveries_expected": expected, "deliveries": delivered, "missing": expected - delivered,
        "deliveries_per_s": round(delivered / max(1e-9, args.duration), 1),
        "from_post_return": latency_summary(from_return),
        "from_post_send": latency_summary(from_send),
        "post_latency": latency_summary(post_ms),
        "server_cpu_cores": round(server_cpu / wall, 2), "client_cpu_cores": round(own_cpu / wall, 2),
        "other_events": other_events,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fanout", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reviewers", type=int, default=200, help="reviewer WebSockets (default 200)")
    parser.add_argument("--rate", type=float, default=5, help="proposals per second (default 5)")
    parser.add_argument("--duration", type=float, default=20, help="seconds of posting (default 20)")
    parser.add_argument("--drain", type=float, default=5, help="seconds to wait for late deliveries (default 5)")
    common_args(parser)
    args = parser.parse_args(argv)
    preflight()
    try:
        import uvloop
        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        with Bench(args, agents=1, reviewers=args.reviewers) as bench:
            r = runner(_run(bench, args))
            if r["missing"] or r["posts_failed"] or r["sockets_refused"]:
                print("[fanout] server log errors:\n  " + "\n  ".join(bench.server_errors(8)), flush=True)
    except KeyboardInterrupt:
        print("\n[fanout] interrupted; server stopped and database dropped", flush=True)
        raise SystemExit(130) from None
    fr, fs = r["from_post_return"], r["from_post_send"]
    print()
    print(table([
        ["POST returned -> event", fr["n"], fr["p50_ms"], fr["p90_ms"], fr["p99_ms"], fr["max_ms"]],
        ["POST sent -> event", fs["n"], fs["p50_ms"], fs["p90_ms"], fs["p99_ms"], fs["max_ms"]],
        ["POST latency", r["post_latency"]["n"], r["post_latency"]["p50_ms"], r["post_latency"]["p90_ms"],
         r["post_latency"]["p99_ms"], r["post_latency"]["max_ms"]],
    ], [f"fanout: {r['sockets_open']} sockets, {args.rate:g}/s", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"]))
    print(f"deliveries {r['deliveries']}/{r['deliveries_expected']} (missing {r['missing']}), "
          f"{r['deliveries_per_s']}/s; server CPU {r['server_cpu_cores']} cores, "
          f"socket client CPU {r['client_cpu_cores']} cores")
    figures = {"benchmark": "fanout", "rate": args.rate, "duration_s": args.duration, "workers": args.workers, **r}
    write_json(args.json, figures)
    return figures


if __name__ == "__main__":
    main()

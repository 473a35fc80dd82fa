"""The inbox page with 10,000 pending proposals in one inbox (and 10,000 decided), on PostgreSQL.

    .venv/bin/python -m benchmarks.inbox_page                      # 10,000 pending + 10,000 decided
    .venv/bin/python -m benchmarks.inbox_page --pending 5000 --requests 50

Target (performance issue): the inbox page answers in ≤ 150 ms with 10,000 pending (paginated).

1. ``benchmarks.inbox_page_data`` fills a fresh PostgreSQL database (``Bench``: uvicorn, ``--workers``
   workers): ``--pending`` pending and ``--decided`` decided proposals in the Platform inbox and a
   reviewer of it with a login session.
2. For each page below, ``--requests`` sequential GETs on one keep-alive connection as that reviewer
   (after 3 warm-ups), timed at the client (the server's whole answer); the size of the answer; and
   the server's CPU per render (all server processes, from ``/proc``).
"""
from __future__ import annotations

import argparse
import asyncio
import time

from benchmarks.harness.client import Conn
from benchmarks.harness.server import Bench, common_args, preflight
from benchmarks.harness.stats import cpu_seconds, latency_summary, table, write_json

PAGES = [  # (label, path relative to the inbox page, or absolute)
    ("pending, newest first", ""),
    ("pending, most urgent first", "?order=urgent"),
    ("pending, page 100", "?page=100"),
    ("pending, search + risk filter", "?q=svc-42&risk=high"),
    ("pending, overdue", "?deadline=overdue"),
    ("decided", "?status=decided"),
    ("all", "?status=all"),
    ("My work", "/my-work/"),
]


class PageBench(Bench):
    """``Bench`` whose served tree also has its static files collected (hashed names, as in production)
    before the server starts: its workers read the manifest once, at start-up."""

    def setup(self):
        self.env["STATIC_ROOT"] = str(self.tmp / "static")
        super().setup()
        self.manage("collectstatic", "--noinput")
        return self


async def _measure(bench: Bench, data: dict, args) -> list[dict]:
    conn = await Conn(bench.port).open()
    cookie = {"Cookie": f"sessionid={data['session']}", "Accept": "text/html"}
    base = f"/inboxes/{data['slug']}/"
    pids = bench.server_pids()
    results = []
    for label, rel in PAGES:
        path = rel if rel.startswith("/") else base + rel
        timings, sizes, bad = [], [], 0
        for i in range(3 + args.requests):
            if i == 3:
                cpu0 = cpu_seconds(pids)
            t = time.perf_counter()
            status, body = await conn.send_raw(conn.encode("GET", path, headers=cookie))
            ms = (time.perf_counter() - t) * 1000
            if status != 200:
                bad += 1
            elif i >= 3:
                timings.append(ms)
                sizes.append(len(body))
        cpu_ms = (cpu_seconds(pids) - cpu0) * 1000 / max(1, len(timings))
        results.append({"page": label, "path": path, **latency_summary(timings), "failed": bad,
                        "bytes": max(sizes or [0]), "server_cpu_ms": round(cpu_ms, 1)})
        print(f"[inbox_page] {label}: p50 {results[-1]['p50_ms']} ms", flush=True)
    await conn.close()
    return results


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inbox_page", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pending", type=int, default=10_000, help="pending proposals in the inbox (default 10,000)")
    parser.add_argument("--decided", type=int, default=10_000, help="decided proposals in the inbox (default 10,000)")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page (default 30)")
    common_args(parser)
    args = parser.parse_args(argv)
    preflight()
    try:
        with PageBench(args, agents=1) as bench:
            t = time.perf_counter()
            data = bench.django_module("benchmarks.inbox_page_data", "--pending", str(args.pending),
                                       "--decided", str(args.decided), timeout=900)
            print(f"[inbox_page] seeded {args.pending} pending + {args.decided} decided in "
                  f"{time.perf_counter() - t:.1f} s", flush=True)
            results = asyncio.run(_measure(bench, data, args))
            if any(r["failed"] for r in results):
                print("[inbox_page] server log errors:\n  " + "\n  ".join(bench.server_errors(8)), flush=True)
    except KeyboardInterrupt:
        print("\n[inbox_page] interrupted; server stopped and database dropped", flush=True)
        raise SystemExit(130) from None
    print()
    print(table([[r["page"], r["n"], r["p50_ms"], r["p90_ms"], r["p99_ms"], f"{r['bytes'] / 1024:.0f} KiB",
                  r["server_cpu_ms"], "≤ 150 ms" if i == 0 else ""] for i, r in enumerate(results)],
                ["inbox page", "n", "p50 ms", "p90 ms", "p99 ms", "size", "CPU ms", "target"]))
    figures = {"benchmark": "inbox_page", "pending": args.pending, "decided": args.decided,
               "workers": args.workers, "pages": results}
    write_json(args.json, figures)
    return figures


if __name__ == "__main__":
    main()

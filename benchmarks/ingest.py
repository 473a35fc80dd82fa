"""Ingest: proposals accepted per second, and latency, with 32 concurrent agents POSTing /api/v1/proposals.

    .venv/bin/python -m benchmarks.ingest                 # ASGI (uvicorn, 2 workers) and WSGI (gunicorn, 4)
    .venv/bin/python -m benchmarks.ingest --server asgi --duration 30 --profile

Every run first measures the bare baseline (``benchmarks.baseline``: Django + django-ninja, one token
look-up and one INSERT per POST, gunicorn with ``--wsgi-workers`` sync workers, the same load) and
prints each Orchestra server's rate as a share of it (``--no-baseline`` skips it): the ratio measured
in one run on one machine is the figure that counts, absolute rates vary with the machine's load.

Each server gets a fresh PostgreSQL database with ``--agents`` agents (default 32, one token each). The
load generator keeps ``--connections`` keep-alive connections (default 32) busy; request i on a
connection uses the next agent's token, so all agents post concurrently. After a ``--warmup`` run the
measured run lasts ``--duration`` seconds; with ``--profile`` a third run is recorded by py-spy on every
worker and summarised (where the CPU goes).

Load generator (``--generator``): ``wrk`` (default; C, 2 threads) or ``python`` (asyncio + uvloop,
raw HTTP/1.1). Both run on the same 2 cores as the server; their CPU use is reported.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.harness.client import PROPOSAL, Conn
from benchmarks.harness.profiling import py_spy_available, py_spy_record, summarize_profile
from benchmarks.harness.server import Bench, common_args, preflight
from benchmarks.harness.stats import cpu_seconds, latency_summary, self_cpu, table, write_json

WRK_LUA = r"""
local tokens = %(tokens)s
local body = %(body)s
local threads = {}
local nthreads = 0
function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
  table.insert(threads, thread)
end
function init(args)
  created = 0; other = 0; idx = (tid - 1) * 16
end
function request()
  idx = idx + 1
  return wrk.format("POST", "/api/v1/proposals",
    {["Authorization"] = "Bearer " .. tokens[(idx %% #tokens) + 1], ["Content-Type"] = "application/json",
     ["Accept"] = "application/json"}, body)
end
function response(status, headers, body)
  if status == 201 then created = created + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local c, o = 0, 0
  for _, t in ipairs(threads) do c = c + t:get("created"); o = o + t:get("other") end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"created":%%d,"non201":%%d,"socket_errors":%%d,"timeouts":%%d,' ..
    '"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d}\n',
    summary.requests, summary.duration, c, o, e.connect + e.read + e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def lua_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_wrk(bench: Bench, seconds: float, connections: int, threads: int) -> dict:
    script = bench.tmp / "ingest.lua"
    script.write_text(WRK_LUA % {
        "tokens": "{" + ", ".join(lua_string(t) for t in bench.agent_tokens) + "}",
        "body": lua_string(json.dumps(PROPOSAL)),
    })
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(["wrk", "-t", str(min(threads, connections)), "-c", str(connections),
                          "-d", f"{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script), bench.base],
                         capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout[-800:]} {out.stderr[-800:]}")
    r = json.loads(line[8:])
    dur = r["duration_us"] / 1e6
    return {
        "seconds": round(dur, 2), "requests": r["requests"], "created": r["created"], "non_201": r["non201"],
        "socket_errors": r["socket_errors"], "timeouts": r["timeouts"],
        "created_per_s": round(r["created"] / dur, 1),
        "p50_ms": r["p50_us"] / 1000, "p90_ms": r["p90_us"] / 1000, "p99_ms": r["p99_us"] / 1000,
        "max_ms": r["max_us"] / 1000,
        "generator_cpu_s": round((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 2),
    }


async def _python_load(bench: Bench, seconds: float, connections: int) -> dict:
    body = json.dumps(PROPOSAL).encode()
    tokens = bench.agent_tokens
    lat: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def worker(i: int):
        c = await Conn(bench.port).open()
        n = i
        try:
            while time.perf_counter() < deadline:
                raw = c.encode("POST", "/api/v1/proposals", tokens[n % len(tokens)], body)
                n += connections
                t = time.perf_counter()
                status, _ = await c.send_raw(raw)
                lat.append((time.perf_counter() - t) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            await c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(connections)))
    dur = time.perf_counter() - t0
    s = latency_summary(lat)
    created = statuses.get(201, 0)
    return {"seconds": round(dur, 2), "requests": len(lat), "created": created, "non_201": len(lat) - created,
            "statuses": statuses, "socket_errors": 0, "timeouts": 0, "created_per_s": round(created / dur, 1),
            "p50_ms": s["p50_ms"], "p90_ms": s["p90_ms"], "p99_ms": s["p99_ms"], "max_ms": s["max_ms"]}


def run_python(bench: Bench, seconds: float, connections: int) -> dict:
    try:
        import uvloop
        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    c0 = self_cpu()
    r = runner(_python_load(bench, seconds, connections))
    r["generator_cpu_s"] = round(self_cpu() - c0, 2)
    return r


def load(bench: Bench, args, seconds: float) -> dict:
    pids = bench.server_pids()
    cpu0, t0 = cpu_seconds(pids), time.monotonic()
    if args.generator == "wrk":
        r = run_wrk(bench, seconds, args.connections, args.threads)
    else:
        r = run_python(bench, seconds, args.connections)
    wall = time.monotonic() - t0
    cpu = cpu_seconds(pids) - cpu0
    r["server_cpu_s"] = round(cpu, 2)
    r["server_cpu_cores"] = round(cpu / wall, 2)
    r["server_cpu_ms_per_request"] = round(1000 * cpu / max(1, r["requests"]), 3)
    return r


def run_server(args, kind: str, *, baseline: bool = False) -> dict:
    workers = args.workers if kind == "asgi" else args.wsgi_workers
    preload = 0 if baseline else args.preload
    with Bench(args, server=kind, agents=args.agents, workers=workers, baseline=baseline, preload=preload,
               preload_pending=args.preload_pending) as bench:
        label = f"{kind} ({'uvicorn' if kind == 'asgi' else 'gunicorn sync'}, {workers} workers)"
        if baseline:
            label = f"bare Django-ninja, {label}"
        print(f"[ingest] {label}: warm-up {args.warmup:g} s", flush=True)
        load(bench, args, args.warmup)
        print(f"[ingest] {label}: measuring {args.duration:g} s with {args.connections} connections, "
              f"{len(bench.agent_tokens)} agents, generator {args.generator}", flush=True)
        r = load(bench, args, args.duration)
        r["server"] = label
        r["baseline"] = baseline
        r["worker_rss_mb"] = worker_rss_mb(bench.worker_pids())
        if baseline:
            rows, hist = int(bench.psql("select count(*) from baseline_row", bench.db)), 0
        else:
            rows = int(bench.psql("select count(*) from inbox_proposal", bench.db))
            hist = int(bench.psql("select count(*) from inbox_historicalproposal", bench.db))
        r["db_proposals"], r["db_history_rows"] = rows, hist
        print(f"[ingest] {label}: {r['created_per_s']} created/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
              f"non-201 {r['non_201']}, server CPU {r['server_cpu_ms_per_request']} ms/request "
              f"({r['server_cpu_cores']} cores), generator CPU {r['generator_cpu_s']} s; "
              f"DB rows {rows}, history rows {hist}", flush=True)
        if r["non_201"] or r["socket_errors"]:
            print("[ingest] server log errors:\n  " + "\n  ".join(bench.server_errors(8)), flush=True)
        if args.profile and not baseline:
            if not py_spy_available():
                print("[ingest] py-spy not installed: .venv/bin/pip install py-spy", flush=True)
            else:
                secs = args.profile_seconds
                outdir = Path(args.profile_dir) if args.profile_dir else bench.tmp
                outdir.mkdir(parents=True, exist_ok=True)
                procs = py_spy_record(bench.worker_pids(), secs, outdir)
                time.sleep(0.5)
                p = load(bench, args, secs)
                for proc in procs:
                    proc.wait(30)
                    err = proc.stderr.read().decode(errors="replace")
                    if proc.returncode:
                        print(f"[profile] py-spy: {err.strip()[-300:]}")
                files = sorted(outdir.glob("profile-*.txt"))
                summary = summarize_profile(files)
                r["profile"] = {"created_per_s_under_profiler": p["created_per_s"], "summary": summary,
                                "files": [str(f) for f in files] if args.profile_dir else []}
                print(f"[profile] {label}, {secs:g} s under py-spy ({p['created_per_s']} created/s):\n{summary}",
                      flush=True)
        return r


def worker_rss_mb(pids: list[int]) -> list[float]:
    """Resident memory (MiB) of each server worker, from /proc."""
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            out.append(round(kb / 1024, 1))
        except (OSError, StopIteration):
            continue
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=15, help="measured seconds (default 15)")
    parser.add_argument("--warmup", type=float, default=3, help="warm-up seconds (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--agents", type=int, default=32, help="agents, each with its own token (default 32)")
    parser.add_argument("--generator", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python",
                        help="load generator (default wrk if installed: apt-get install -y wrk)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--server", choices=["asgi", "wsgi", "both"], default="both",
                        help="asgi = uvicorn --workers N; wsgi = gunicorn sync workers (default both)")
    parser.add_argument("--wsgi-workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--preload", type=int, default=0,
                        help="proposals stored before the run, most decided (default 0; not for the baseline)")
    parser.add_argument("--preload-pending", type=int, default=10_000,
                        help="how many of the preloaded proposals are pending (default 10,000)")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false",
                        help="skip the bare Django-ninja baseline (measured first by default)")
    parser.add_argument("--profile", action="store_true", help="also profile the workers with py-spy")
    parser.add_argument("--profile-seconds", type=float, default=8, help="seconds under py-spy (default 8)")
    parser.add_argument("--profile-dir", help="keep py-spy's raw collapsed stacks in this directory")
    common_args(parser)
    args = parser.parse_args(argv)
    preflight()
    kinds = ["asgi", "wsgi"] if args.server == "both" else [args.server]
    have_gunicorn = not subprocess.run([sys.executable, "-c", "import gunicorn"], check=False).returncode
    if not have_gunicorn:
        print("[ingest] gunicorn not installed (.venv/bin/pip install gunicorn): skipping WSGI and the bare "
              "baseline", flush=True)
        kinds = [k for k in kinds if k != "wsgi"]
    results = []
    try:
        if args.baseline and have_gunicorn:
            results.append(run_server(args, "wsgi", baseline=True))
        for kind in kinds:
            results.append(run_server(args, kind))
    except KeyboardInterrupt:
        print("\n[ingest] interrupted; server stopped and database dropped", flush=True)
        raise SystemExit(130) from None
    base = next((r for r in results if r["baseline"]), None)
    for r in results:
        ok = base and base["created_per_s"]
        r["share_of_baseline"] = round(r["created_per_s"] / base["created_per_s"], 3) if ok else None
    print()
    print(table([[r["server"], r["created_per_s"],
                  "" if r["share_of_baseline"] is None else f"{r['share_of_baseline']:.0%}",
                  r["p50_ms"], r["p99_ms"], r["non_201"], r["server_cpu_ms_per_request"], r["generator_cpu_s"],
                  "/".join(str(m) for m in r["worker_rss_mb"])] for r in results],
                ["ingest: server", "created/s", "of bare", "p50 ms", "p99 ms", "non-201", "server CPU ms/req",
                 "gen CPU s", "worker RSS MiB"]))
    with open("/proc/loadavg") as f:
        print(f"load average at the end: {' '.join(f.read().split()[:3])}")
    figures = {"benchmark": "ingest", "generator": args.generator, "connections": args.connections,
               "agents": args.agents, "duration_s": args.duration, "cores": os.cpu_count(), "results": results}
    write_json(args.json, figures)
    return figures


if __name__ == "__main__":
    main()

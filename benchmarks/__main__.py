"""Run the benchmarks (ingest, fan-out, decision, governance overhead) one after another and print a summary table.

    .venv/bin/python -m benchmarks              # ~3 minutes on the 2-core machine
    .venv/bin/python -m benchmarks --quick      # shorter runs, for a smoke test
    .venv/bin/python -m benchmarks --profile    # ingest also profiled with py-spy

Each benchmark starts its own server on its own fresh database and drops it at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from benchmarks import decision, fanout, governance, ingest
from benchmarks.harness.server import preflight
from benchmarks.harness.stats import table


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    parser.add_argument("--profile", action="store_true", help="profile the ingest workers with py-spy")
    parser.add_argument("--src", default="HEAD", help="what to serve: HEAD (default) or a directory")
    parser.add_argument("--json", metavar="FILE", help="write every figure as JSON to FILE")
    parser.add_argument("--no-governance", action="store_true", help="skip the governance overhead benchmark")
    args = parser.parse_args(argv)
    preflight()
    common = ["--src", args.src]
    started = time.strftime("%Y-%m-%d %H:%M")
    load = os.getloadavg()[0]
    ing = ingest.main(common + (["--duration", "5", "--warmup", "2"] if args.quick else [])
                      + (["--profile"] if args.profile else []))
    fan = fanout.main(common + (["--duration", "6"] if args.quick else []))
    dec = decision.main(common + (["--proposals", "100"] if args.quick else []))
    gov = None if args.no_governance else governance.main(
        common + (["--requests", "150", "--warmup", "30", "--rounds", "1", "--iterations", "5000", "--calls", "50"]
                  if args.quick else []))
    rows = []
    for r in ing["results"]:
        rows.append([f"ingest {r['server']}", f"{r['created_per_s']} proposals/s",
                     f"p50 {r['p50_ms']:.1f} / p99 {r['p99_ms']:.1f} ms",
                     f"{r['server_cpu_ms_per_request']} ms CPU/req", ">= 1000/s"])
    fr = fan["from_post_return"]
    rows.append([f"fanout {fan['sockets_open']} sockets, {fan['rate']:g}/s",
                 f"{fan['deliveries']}/{fan['deliveries_expected']} delivered",
                 f"p50 {fr['p50_ms']:.1f} / p99 {fr['p99_ms']:.1f} ms", f"{fan['server_cpu_cores']} cores",
                 "p99 <= 100 ms"])
    for label, r in dec["runs"].items():
        rows.append([f"approve, {label}", f"{r['per_s']}/s", f"p50 {r['p50_ms']:.1f} / p99 {r['p99_ms']:.1f} ms",
                     f"{r['server_cpu_ms_per_request']} ms CPU/req", "p99 <= 50 ms"])
    rc = dec["race"]
    codes = " ".join(f"{k}x{v}" for k, v in sorted(rc["statuses"].items()))
    rows.append([f"race, {rc['racers']} approvals of one", codes,
                 "exactly once: " + ("holds" if rc["exactly_once"] else "BROKEN"), "", "1x200 + 49x409"])
    if gov:
        d = gov["delta"]
        rows.append(["governance: 200 policies + 10k guardian perms vs none",
                     f"CPU {d['cpu_ms_per_request']:+.2f} ms/req",
                     f"p50 {d['p50_ms']:+.2f} / p99 {d['p99_ms']:+.2f} ms", "", "p50 +<= 2 ms"])
    print(f"\nOrchestra benchmarks, {started}, {os.cpu_count()} cores, load average at start {load:.2f}\n")
    print(table(rows, ["benchmark", "throughput", "latency", "server cost", "goal"]))
    if args.json:
        Path(args.json).write_text(json.dumps({"started": started, "ingest": ing, "fanout": fan, "decision": dec,
                                               "governance": gov}, indent=2, default=str))


if __name__ == "__main__":
    main()

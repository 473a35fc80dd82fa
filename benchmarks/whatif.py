"""What-if: the ingest benchmark once per app variant (``benchmarks/experiments``), to rank optimisations.

    .venv/bin/python -m benchmarks.whatif                              # every patch alone, then all together
    .venv/bin/python -m benchmarks.whatif --variants token_cache,rules_cache+token_cache --server wsgi

Each variant gets its own fresh database and server. Compare ``server CPU ms/req`` first: on a shared
2-core machine it moves less than proposals/s when other processes compete for the cores.
"""
from __future__ import annotations

import argparse

from benchmarks import ingest
from benchmarks._harness import preflight, table, write_json
from benchmarks.experiments.patches import KNOWN

DEFAULT = ["", "token_cache", "rules_cache", "no_pending_count", "no_history", "no_whitenoise", "lean_middleware",
           "no_announce", "token_cache+rules_cache+no_pending_count+no_whitenoise"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.whatif", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", help="comma-separated variants, patches of one variant joined by '+' "
                                           f"(known: {', '.join(sorted(KNOWN))}); default: each alone, then a combo")
    parser.add_argument("--server", choices=["asgi", "wsgi"], default="asgi")
    parser.add_argument("--duration", default="10", help="measured seconds per variant (default 10)")
    parser.add_argument("--src", default="HEAD")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    preflight()
    variants = args.variants.split(",") if args.variants else DEFAULT
    rows, out = [], []
    for v in variants:
        patches = v.replace("+", ",")
        fig = ingest.main(["--server", args.server, "--duration", args.duration, "--warmup", "3", "--src", args.src]
                          + (["--patches", patches] if patches else []))
        r = fig["results"][0]
        out.append({"variant": v or "baseline", **r})
        rows.append([v or "baseline", r["created_per_s"], r["p50_ms"], r["p99_ms"], r["server_cpu_ms_per_request"]])
    print()
    print(table(rows, [f"what-if ({args.server})", "created/s", "p50 ms", "p99 ms", "server CPU ms/req"]))
    write_json(args.json, {"benchmark": "whatif", "server": args.server, "results": out})


if __name__ == "__main__":
    main()

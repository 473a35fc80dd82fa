"""Governance benchmark timings, inside Django (no HTTP): policy evaluation, the decision permission check
and the reviewer's proposal list, with their SQL query counts.

    python -m benchmarks.governance_timings --baseline --reviewer-inbox 7 [--iterations 20000] [--calls 300]
    python -m benchmarks.governance_timings --loaded --reviewer-inbox 7

Run by ``benchmarks.governance`` through ``Bench.django_module`` on the benchmark database, once per
configuration (after ``governance_data switch``); prints one JSON line (see :func:`timings`).
"""
from __future__ import annotations

import argparse
import statistics
import time
from decimal import Decimal

from benchmarks.harness.client import PROPOSAL
from benchmarks.harness.inproc import django_setup, emit


def timings(*, loaded: bool, iterations: int, calls: int, reviewer_inbox: int, repeats: int = 5) -> dict:
    """Time, for the benchmark agent's proposal (``PROPOSAL``) and one reviewer:

    - ``evaluate_us``: ``evaluate(facts, snapshot)``, µs per call, best of ``repeats`` × ``iterations``;
    - ``evaluate_with_version_read_us``: ``evaluate(facts)`` incl. the snapshot version read (a cache GET);
    - ``access_proposal`` and ``proposals_for_reviewer``: ``access_proposal(u, id, for_decision=True)`` and
      ``list(proposals_for_reviewer(u)[:50])`` over ``calls`` calls, each with the user re-read from the DB
      (cold permission caches, as a request sees it): ``{median_ms, p99_ms, queries, sql}``;
    - ``proposals_for_reviewer_warm_perm_cache_queries``: queries of the list once the user's permission
      cache is warm.

    The reviewer is gov-user-1 (20 inbox grants) with a proposal of ``reviewer_inbox`` when ``loaded``,
    else gov-baseline-reviewer (1 grant) with the own proposal ``bench:own``."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from governance.models import Agent
    from governance.policies import evaluate
    from governance.snapshot import current
    from inbox import permissions, selectors
    from inbox.models import Proposal
    from inbox.submission import facts_for

    out = {}
    agent = Agent.objects.select_related("domain").get(name="bench-agent-0")
    data = dict(PROPOSAL, cost_usd=Decimal(PROPOSAL["cost_usd"]))
    facts = facts_for(agent, data)
    snap = current()
    ev = evaluate(facts, snap)
    out["snapshot_policies"] = len(snap.policies)
    out["outcome"] = f"{ev.outcome} via {ev.policy_name or 'fallback'} (level {ev.level})"
    best = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(iterations):
            evaluate(facts, snap)
        best.append((time.perf_counter() - t) / iterations * 1e6)
    out["evaluate_us"] = round(min(best), 1)
    best = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(iterations // 10):
            evaluate(facts)
        best.append((time.perf_counter() - t) / (iterations // 10) * 1e6)
    out["evaluate_with_version_read_us"] = round(min(best), 1)

    User = get_user_model()
    if loaded:
        user = User.objects.get(username="gov-user-1")  # 10 direct grants + 10 through groups 1 and 6
        pid = Proposal.objects.filter(inbox_id=reviewer_inbox).values_list("pk", flat=True).first()
    else:
        user = User.objects.get(username="gov-baseline-reviewer")
        pid = Proposal.objects.get(resource="bench:own").pk
    out["reviewer_inboxes"] = permissions.inboxes_for(User.objects.get(pk=user.pk)).count()

    def bench(fn):
        users = [User.objects.get(pk=user.pk) for _ in range(calls + 1)]
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

    users = [User.objects.get(pk=user.pk) for _ in range(3)]
    for u in users:
        u.has_perm("governance.view_inbox")
    with CaptureQueriesContext(connection) as ctx:
        list(selectors.proposals_for_reviewer(users[0])[:50])
    out["proposals_for_reviewer_warm_perm_cache_queries"] = len(ctx)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.governance_timings", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--loaded", dest="loaded", action="store_true", help="the loaded configuration")
    which.add_argument("--baseline", dest="loaded", action="store_false", help="the baseline configuration")
    parser.add_argument("--reviewer-inbox", type=int, required=True,
                        help="an inbox gov-user-1 may see (from governance_data load)")
    parser.add_argument("--iterations", type=int, default=20000, help="evaluate() calls per timing (default 20000)")
    parser.add_argument("--calls", type=int, default=300, help="access/list calls timed (default 300)")
    parser.add_argument("--repeats", type=int, default=5, help="evaluate() timings, best one kept (default 5)")
    args = parser.parse_args(argv)
    django_setup()
    emit(timings(loaded=args.loaded, iterations=args.iterations, calls=args.calls,
                 reviewer_inbox=args.reviewer_inbox, repeats=args.repeats))


if __name__ == "__main__":
    main()

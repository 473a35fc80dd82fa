"""Audit trail at scale, on PostgreSQL: search, export, sealing, and what the audit event costs a decision.

    .venv/bin/python -m benchmarks.audit                       # 10,000,000 events (loading takes a while)
    .venv/bin/python -m benchmarks.audit --events 1000000 --export 1000000 --keep

1. A fresh database ``orch_bench_audit_<random>`` is migrated and ``--events`` audit events are bulk-loaded
   with COPY (20 domains, 500 agents, 40 users, every kind of event, two years of timestamps, free text
   in summary and reasoning), then ANALYZE.
2. Search: the first page (50 events, newest first) of typical searches through the same selector and
   serialisation as ``GET /api/v1/audit/events``, 15 runs each after one warm-up; p50 / max in ms.
3. Export: ``--export`` events streamed as JSON Lines through the API's generator, in a child process
   whose peak RSS (``ru_maxrss``) is reported next to its baseline after Django start-up.
4. Sealing: ``--seal`` events written by 4 threads, then ``audit_seal``; events per second.
5. Decision: ``--decisions`` proposals approved in-process with the audit trail on, and as many with the
   audit writes patched out; the p50 difference is what the audit event adds to a decision.
The database is dropped at the end unless ``--keep``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import secrets
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

WORDS = ("rollback", "deploy", "payments", "ledger", "cache", "invalidate", "canary", "error", "rate", "latency",
         "incident", "refund", "customer", "migration", "schema", "index", "replica", "failover", "certificate",
         "rotate", "token", "quota", "budget", "escalate", "approve", "reject", "frozen", "policy", "matrix",
         "auditor", "orchestrator", "review", "pager", "database", "redis", "queue", "webhook", "timeout")
KINDS = (["submission"] * 40 + ["vote"] * 25 + ["decision"] * 20 + ["escalation"] * 5 + ["expiry"] * 3
         + ["execution"] * 5 + ["permission_change", "policy_change"])
STATUSES = {"submission": ["pending", "approved", "refused"], "vote": ["approve", "reject", "edit"],
            "decision": ["approved", "rejected", "edited_and_approved"], "escalation": ["domain", "enterprise"],
            "expiry": ["expired"], "execution": ["succeeded", "failed", "partial"],
            "permission_change": ["granted", "revoked"], "policy_change": ["changed"]}


def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


LOAD_SQL = """
INSERT INTO governance_auditevent (id, timestamp, actor_type, actor_id, actor_name, action_type, status, domain,
    summary, details, classification, related_tasks, proposal_id, incident_id, policy_id, policy_version,
    trace_id, workflow, retention)
SELECT md5(g::text || 'e')::uuid, now() - make_interval(secs => g * 6.3),
       CASE WHEN k.human THEN 'user' ELSE 'agent' END, (g %% 1000)::text,
       CASE WHEN k.human THEN 'user-' || (g * 7 %% 40) ELSE 'agent-' || (g * 13 %% 500) END,
       k.kind, k.status, 'domain-' || (g * 11 %% 20), s1.text,
       jsonb_build_object('reasoning', s2.text, 'decision', k.status),
       CASE WHEN g %% 10 = 0 THEN 'sensitive' WHEN g %% 10 = 1 THEN 'public' ELSE 'internal' END,
       jsonb_build_array('INC-' || (g * 31 %% 100000)), md5(g::text || 'p')::uuid, '', NULL, NULL,
       md5(g::text || 't'), 'wf-' || (g * 17 %% 200000), 'standard'
FROM generate_series(%(start)s::bigint, %(stop)s::bigint) AS g
JOIN bench_sentences s1 ON s1.n = g * 7919 %% 5000
JOIN bench_sentences s2 ON s2.n = g * 104729 %% 5000
JOIN bench_kinds k ON k.n = g %% 100
"""


def load(conn, n: int, seed: int = 7, batch: int = 500_000) -> float:
    """Generate ``n`` events inside PostgreSQL (5,000 random sentences and a weighted mix of kinds, joined
    by arithmetic on the row number), ``batch`` per statement; returns seconds."""
    rng = random.Random(seed)
    start = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE bench_sentences (n int PRIMARY KEY, text text)")
        cur.executemany("INSERT INTO bench_sentences VALUES (%s, %s)",
                        [(i, sentence(rng, 8 if i % 2 else 12)) for i in range(5000)])
        cur.execute("CREATE TEMP TABLE bench_kinds (n int PRIMARY KEY, kind text, status text, human bool)")
        rows = []
        for i in range(100):
            kind = KINDS[i % len(KINDS)]
            human = kind in ("vote", "decision", "permission_change", "policy_change") or i % 10 == 0
            rows.append((i, kind, STATUSES[kind][i % len(STATUSES[kind])], human))
        cur.executemany("INSERT INTO bench_kinds VALUES (%s, %s, %s, %s)", rows)
        # bulk-load practice: drop the secondary indexes, load, build them again (far faster than
        # maintaining nine indexes row by row)
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'governance_auditevent' "
                    "AND indexname NOT LIKE '%%pkey'")
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        conn.commit()
        for first in range(1, n + 1, batch):
            cur.execute(LOAD_SQL, {"start": first, "stop": min(first + batch - 1, n)})
            conn.commit()
            print(f"  {min(first + batch - 1, n):,} events", flush=True)
        cur.execute("SET maintenance_work_mem = '1GB'")
        for name, definition in indexes:
            t = time.perf_counter()
            cur.execute(definition)
            conn.commit()
            print(f"  index {name} built in {time.perf_counter() - t:.0f} s", flush=True)
        cur.execute("ANALYZE governance_auditevent")
    conn.commit()
    return time.perf_counter() - start


def search_timings(runs: int = 15) -> list[list]:
    from governance.audit.export import event_json
    from governance.audit.selectors import AuditFilters, audit_events, audit_page

    now = datetime.now(UTC)
    cases = {
        "newest, no filter": AuditFilters(),
        "one domain": AuditFilters(domain="domain-3"),
        "one agent": AuditFilters(agent="agent-42"),
        "decisions in a domain": AuditFilters(domain="domain-7", action_type="decision"),
        "a user's decisions": AuditFilters(actor="user-5", action_type="decision"),
        "free text": AuditFilters(q="failover certificate"),
        "free text + domain": AuditFilters(q="refund", domain="domain-11"),
        "related task": AuditFilters(related_task="INC-4242"),
        "workflow": AuditFilters(workflow="wf-777"),
        "last 24 h, sensitive": AuditFilters(since=now - timedelta(days=1), classification="sensitive"),
        "a week a year ago": AuditFilters(since=now - timedelta(days=372), until=now - timedelta(days=365)),
    }
    rows = []
    for name, f in cases.items():
        ms = []
        for i in range(runs + 1):
            t = time.perf_counter()
            items, _ = audit_page(audit_events(None, f), cursor=None, limit=50)
            [event_json(e) for e in items]
            if i:
                ms.append((time.perf_counter() - t) * 1000)
        rows.append([name, len(items), f"{statistics.median(ms):.1f}", f"{max(ms):.1f}"])
    return rows


def export_child(limit: int) -> None:
    """Runs in a child process: stream ``limit`` events as JSON Lines to /dev/null; print RSS figures."""
    from governance.audit.export import _sync_stream
    from governance.audit.models import AuditEvent

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cutoff = AuditEvent.objects.order_by("-timestamp").values_list("timestamp", flat=True)[limit - 1]
    qs = AuditEvent.objects.filter(timestamp__gte=cutoff).order_by("-timestamp", "-id")
    t, size, lines = time.perf_counter(), 0, 0
    with open(os.devnull, "w") as sink:
        for part in _sync_stream(qs, "jsonl"):
            sink.write(part)
            size += len(part)
            lines += part.count("\n")
    print(json.dumps({"events": lines, "mb": round(size / 2**20), "seconds": round(time.perf_counter() - t, 1),
                      "rss_base_mb": round(base / 1024), "rss_peak_mb": round(
                          resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def sealing(n: int) -> dict:
    from django.db import close_old_connections, transaction

    from governance.audit.record import Entry, audit_record_many
    from governance.audit.seal import audit_seal

    audit_seal()

    def writer(count):
        for start in range(0, count, 100):
            with transaction.atomic():
                audit_record_many([Entry("decision", f"bench {start + i}") for i in range(100)])
        close_old_connections()

    threads = [threading.Thread(target=writer, args=(n // 4,)) for _ in range(4)]
    t = time.perf_counter()
    [th.start() for th in threads]
    [th.join() for th in threads]
    write_s = time.perf_counter() - t
    t = time.perf_counter()
    sealed = audit_seal()
    seal_s = time.perf_counter() - t
    return {"written": n, "write_per_s": round(n / write_s), "sealed": sealed, "seal_per_s": round(sealed / seal_s)}


def decisions(n: int) -> dict:
    from unittest import mock

    from django.contrib.auth.models import User

    from governance.services import agent_create, domain_get_or_create
    from inbox import audit, services

    domain = domain_get_or_create(name="Bench")
    agent, _ = agent_create(name=f"bench-{secrets.token_hex(3)}", domain=domain)
    reviewer = User.objects.create_superuser(f"bench-{secrets.token_hex(3)}", password="x")
    data = {"action": "bench.noop", "resource": "", "args": {"v": 1}, "summary": "bench", "reasoning": "r",
            "risk": "low", "confidence": 0.5, "cost_usd": 0, "classification": "internal", "related_tasks": []}

    def run(count):
        ps = [services.proposal_submit(agent=agent, data=dict(data))[0] for _ in range(count)]
        ms = []
        for p in ps:
            t = time.perf_counter()
            services.proposal_decide(proposal=p, reviewer=reviewer, verdict="approve")
            ms.append((time.perf_counter() - t) * 1000)
        return statistics.median(ms)

    run(20)
    with_audit, without = [], []
    for _ in range(3):  # interleaved rounds, so a change in the machine's load hits both alike
        with_audit.append(run(n // 3))
        with mock.patch.multiple(audit, voted=lambda *a, **k: None, decided=lambda *a, **k: None):
            without.append(run(n // 3))
    on, off = statistics.median(with_audit), statistics.median(without)
    return {"p50_with_ms": round(on, 2), "p50_without_ms": round(off, 2), "added_ms": round(on - off, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--export", type=int, default=1_000_000)
    parser.add_argument("--seal", type=int, default=20_000)
    parser.add_argument("--decisions", type=int, default=300)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--database", help="reuse this database (already loaded): skip create and load")
    parser.add_argument("--child-export", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    name = args.database or f"orch_bench_audit_{secrets.token_hex(3)}"
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
    if args.child_export:
        from benchmarks.harness.inproc import django_setup
        django_setup()
        export_child(args.child_export)
        return
    if not args.database:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"create database {name}"], check=True)
    try:
        from benchmarks.harness.inproc import django_setup
        django_setup()
        from django.core.management import call_command
        from django.db import connection
        if not args.database:
            call_command("migrate", verbosity=0)
            connection.ensure_connection()
            print(f"database {name}: loading {args.events:,} events …", flush=True)
            seconds = load(connection.connection, args.events)
            print(f"loaded in {seconds:.0f} s ({args.events / seconds:,.0f} events/s)")
        from benchmarks.harness.stats import table
        print("\nSearch, first page of 50, newest first (goal ≤ 100 ms):")
        print(table(search_timings(), ["search", "rows", "p50 ms", "max ms"]))
        if not args.skip_export:
            out = subprocess.run([sys.executable, "-m", "benchmarks.audit", "--database", name,
                                  "--child-export", str(args.export)], capture_output=True, text=True, check=True)
            print("\nExport (JSON Lines, streamed):", out.stdout.strip().splitlines()[-1])
        print("\nSealing (goal ≥ 1,000 events/s):", json.dumps(sealing(args.seal)))
        print("\nDecision p50 with and without the audit writes (goal: adds ≤ 1 ms):",
              json.dumps(decisions(args.decisions)))
    finally:
        if not args.keep and not args.database:
            from django.db import connections
            connections.close_all()
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                            f"drop database if exists {name} with (force)"], check=False)


if __name__ == "__main__":
    main()

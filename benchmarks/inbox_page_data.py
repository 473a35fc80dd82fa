"""Benchmark data for the inbox page, inside Django (``Bench.django_module``):

    python -m benchmarks.inbox_page_data --pending 10000 --decided 10000

Creates in bulk, in the Platform domain's default inbox, ``--pending`` pending proposals and
``--decided`` decided ones (all risks, 8 agents, a quarter without a deadline, some overdue, some
with an approval vote already in; decided ones approved or rejected by the reviewer), plus a reviewer
of the inbox with a login session. Prints one JSON line: ``{"session", "slug", "inbox_id"}``.
"""
from __future__ import annotations

import argparse
import random
from datetime import timedelta

from benchmarks.harness.inproc import django_setup, emit

RISKS = ["low", "medium", "high", "critical"]
ACTIONS = ["deploy.rollback", "deploy.scale", "db.migrate", "content.publish", "ticket.close", "flag.toggle"]


def seed(*, pending: int, decided: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from governance.models import Agent
    from governance.services import domain_get_or_create
    from inbox.models import Proposal, Vote

    rng = random.Random(11)
    domain = domain_get_or_create(name="Platform")
    inbox = domain.default_inbox
    agents = [Agent.objects.get_or_create(name=f"page-agent-{i}", domain=domain)[0] for i in range(8)]
    reviewer = get_user_model().objects.create_user(username="page-reviewer", password=None)
    reviewer.groups.add(inbox.reviewers)
    other = get_user_model().objects.create_user(username="page-other", password=None)
    other.groups.add(inbox.reviewers)
    now = timezone.now()

    def proposal(i: int, status: str) -> Proposal:
        risk = RISKS[i % 4]
        created = now - timedelta(seconds=rng.randint(1, 7 * 86400))
        sla = None if i % 4 == 3 else now + timedelta(minutes=rng.randint(-120, 48 * 60))
        done = status != "pending"
        return Proposal(
            agent=agents[i % len(agents)], inbox=inbox, action=ACTIONS[i % len(ACTIONS)],
            resource=f"service:svc-{i % 500}", args={"i": i}, risk=risk, confidence=rng.random(),
            summary=f"Proposal {i}: {ACTIONS[i % len(ACTIONS)]} on svc-{i % 500}, p99 {rng.randint(200, 4000)} ms",
            status=status, level="agent", sla_due_at=None if done else sla, created_at=created,
            expires_at=created + timedelta(days=8) if i % 7 == 0 else None,
            decided_by=reviewer if done else None, decided_at=created + timedelta(minutes=5) if done else None,
            quorum=2 if risk in ("high", "critical") else 1)

    made = []
    Proposal._meta.get_field("created_at").auto_now_add = False  # this process only: spread submissions over a week
    for n, status in ((pending, "pending"), (decided, None)):
        batch = []
        for i in range(n):
            batch.append(proposal(i, status or rng.choice(["approved", "rejected"])))
            if len(batch) == 2000:
                made += Proposal.objects.bulk_create(batch)
                batch = []
        made += Proposal.objects.bulk_create(batch)
    waiting = [p for p in made if p.status == "pending" and p.quorum == 2][: max(1, pending // 20)]
    Vote.objects.bulk_create([Vote(proposal=p, reviewer=other, verdict="approve") for p in waiting])
    s = SessionStore()
    s["_auth_user_id"] = str(reviewer.pk)
    s["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    s["_auth_user_hash"] = reviewer.get_session_auth_hash()
    s.create()
    from django.db import connection

    with connection.cursor() as c:
        c.execute("ANALYZE")
    return {"session": s.session_key, "slug": inbox.slug, "inbox_id": inbox.pk}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inbox_page_data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pending", type=int, default=10_000)
    parser.add_argument("--decided", type=int, default=10_000)
    args = parser.parse_args(argv)
    django_setup()
    emit(seed(pending=args.pending, decided=args.decided))


if __name__ == "__main__":
    main()

"""Benchmark set-up inside Django: further agents, and reviewer users with ready-made login sessions.

    python -m benchmarks.harness.seed --agents 31 --reviewers 200

Run by ``Bench.setup()`` in the served tree after ``migrate``, ``createsuperuser`` and ``create_agent
bench-agent-0`` (one Django start-up for all of them: ``create_agent`` makes one agent per call). Prints one
JSON line: ``{"agent_tokens": [str], "sessions": [session key], "reviewer_token": str | null,
"inbox_id": int}`` (agent tokens of bench-agent-1..N; the reviewers' session keys; the first reviewer's
API token; the Platform domain's default inbox).
"""
from __future__ import annotations

import argparse

from benchmarks.harness.inproc import django_setup, emit


def seed(*, agents: int, reviewers: int) -> dict:
    """Create agents ``bench-agent-1..agents`` in the Platform domain and ``reviewers`` users
    ``bench-reviewer-<i>`` in the "Platform reviewers" group (view + decide on the Platform inbox), each
    with a database session; the first reviewer also gets an API token named "bench"."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore

    from governance.models import Domain
    from governance.services import agent_create, domain_get_or_create
    from governance.tokens import user_token_create

    domain = domain_get_or_create(name="Platform")
    tokens = [agent_create(name=f"bench-agent-{i}", domain=domain)[1] for i in range(1, agents + 1)]
    User = get_user_model()
    group = Group.objects.get(name="Platform reviewers")  # granted view + decide on the Platform inbox
    sessions = []
    reviewer_token = None
    for i in range(reviewers):
        u = User.objects.create_user(username=f"bench-reviewer-{i}", password=None)
        u.groups.add(group)
        s = SessionStore()
        s["_auth_user_id"] = str(u.pk)
        s["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        s["_auth_user_hash"] = u.get_session_auth_hash()
        s.create()
        sessions.append(s.session_key)
        if reviewer_token is None:
            reviewer_token = user_token_create(user=u, name="bench")[1]
    return {"agent_tokens": tokens, "sessions": sessions, "reviewer_token": reviewer_token,
            "inbox_id": Domain.objects.get(name="Platform").default_inbox_id}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.harness.seed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=0, help="agents beyond bench-agent-0 (default 0)")
    parser.add_argument("--reviewers", type=int, default=0, help="reviewer users with sessions (default 0)")
    args = parser.parse_args(argv)
    django_setup()
    emit(seed(agents=args.agents, reviewers=args.reviewers))


if __name__ == "__main__":
    main()

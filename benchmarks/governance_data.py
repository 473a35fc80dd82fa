"""Governance benchmark data, inside Django: the *loaded* configuration's policies and guardian rows, and
switching between it and the *baseline*.

    python -m benchmarks.governance_data load --policies 200 --users 500
    python -m benchmarks.governance_data switch --loaded      # or --baseline

Run by ``benchmarks.governance`` through ``Bench.django_module`` (the served tree, the benchmark database);
each prints one JSON line. What the data holds and why: the docstring of ``benchmarks.governance``.
"""
from __future__ import annotations

import argparse
from decimal import Decimal

from benchmarks.harness.inproc import django_setup, emit


def load(*, policies: int, users: int) -> dict:
    """Add the *loaded* configuration's data (active): ``policies`` policies, ``users`` users with 10 direct
    inbox grants (view + decide) each, 50 groups with object permissions, 10 orchestrator grants, 100 more
    inboxes holding 2,000 proposals, a baseline reviewer and one own proposal. Returns counts, the winning
    policy and ``reviewer_inbox`` (an inbox gov-user-1 may see)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType
    from guardian.models import GroupObjectPermission, UserObjectPermission
    from simple_history.utils import bulk_create_with_history

    from governance.models import ActionCategory, ActionType, Agent, AgentGroup, Domain, Inbox, Policy
    from governance.snapshot import _bump
    from inbox.models import Proposal

    N_POLICIES, N_USERS = policies, users
    platform = Domain.objects.get(name="Platform")
    me = Agent.objects.get(name="bench-agent-0")
    others = [Agent.objects.create(name=f"gov-other-{k}", domain=platform, webhook_secret="x" * 64) for k in range(5)]
    # The matrix and action types are seeded by migration (both configurations): deploy.rollback is a
    # tactical approach, which the agent level can decide.
    deployment = ActionType.objects.get(name="deploy.rollback").category
    data_access = ActionCategory.objects.get(slug="quality_tradeoff")
    own_group = AgentGroup.objects.create(name="gov-release-bots")
    own_group.agents.add(me, others[0])
    other_group = AgentGroup.objects.create(name="gov-other-bots")
    other_group.agents.add(*others[1:])
    domains = [Domain.objects.create(name=f"Gov-{k}", slug=f"gov-{k}") for k in range(10)]

    # --- 200 policies; the benchmark proposal (Platform, deploy.rollback, high, internal, 0.40 USD) first
    # matches the one at index WIN (position 196): every earlier one fails on some condition.
    WIN = N_POLICIES - 5
    OUT = ["review", "escalate", "auto_approve", "forbid"]
    specs = []
    for i in range(N_POLICIES):
        s = dict(name=f"gov-policy-{i:03d}", priority=i + 1, outcome=OUT[i % 4], domain=platform,
                 action_pattern="deploy.*", escalate_to="domain" if OUT[i % 4] == "escalate" else "")
        kind = i % 10
        m2m = None
        if i == WIN or i > WIN and i % 2:  # the winner, and two later matching ones (one regulatory)
            s.update(outcome="review", inbox=platform.default_inbox, category=deployment, min_risk="medium",
                     max_risk="critical", classification="internal", min_cost_usd=Decimal("0.01"),
                     max_cost_usd=Decimal("10"), is_regulatory=i != WIN, escalate_to="")
            m2m = ("groups", [own_group])
        elif kind == 0:
            m2m = ("agents", others[:3])                          # agent condition: another agent
        elif kind == 1:
            m2m = ("groups", [other_group])                       # agent-group condition: other agents
        elif kind == 2:
            s["domain"] = domains[i % 10]                         # another domain
        elif kind == 3:
            s["action_pattern"] = "db.*"                          # action glob
        elif kind == 4:
            s["category"] = data_access                           # category
        elif kind == 5:
            s["min_risk"] = "critical"                            # risk lower bound
        elif kind == 6:
            s.update(action_pattern="deploy.roll*", max_risk="medium")  # risk upper bound
        elif kind == 7:
            s.update(action_pattern="*.rollback", classification="sensitive")
        elif kind == 8:
            s.update(classification="internal", min_cost_usd=Decimal("100"))
            m2m = ("agents", [me, others[0]])                     # own agent matches; fails on cost
        else:
            s.update(max_cost_usd=Decimal("0.10"), category=deployment, min_risk="low")
        specs.append((Policy(**s), m2m))
    bulk_create_with_history([p for p, _ in specs], Policy)
    by_name = {p.name: p for p in Policy.objects.filter(name__startswith="gov-policy-")}
    pa, pg = Policy.agents.through, Policy.agent_groups.through
    pa.objects.bulk_create([pa(policy_id=by_name[p.name].id, agent_id=a.id)
                            for p, m in specs if m and m[0] == "agents" for a in m[1]])
    pg.objects.bulk_create([pg(policy_id=by_name[p.name].id, agentgroup_id=g.id)
                            for p, m in specs if m and m[0] == "groups" for g in m[1]])

    # --- 100 inboxes, 500 users, 10,000 user object permissions, group permissions, orchestrators ---
    User = get_user_model()
    inboxes = Inbox.objects.bulk_create(
        [Inbox(slug=f"gov-inbox-{k}", name=f"Gov inbox {k}", domain=domains[k % 10]) for k in range(100)])
    users = User.objects.bulk_create([User(username=f"gov-user-{i}", password="!") for i in range(N_USERS)])
    groups = Group.objects.bulk_create([Group(name=f"gov-group-{k}") for k in range(50)])
    ct = ContentType.objects.get_for_model(Inbox)
    view = Permission.objects.get(content_type=ct, codename="view_inbox")
    decide = Permission.objects.get(content_type=ct, codename="decide_inbox")
    orch = Permission.objects.get(content_type__app_label="governance", codename="orchestrate_domain")
    dct = ContentType.objects.get_for_model(Domain)
    uop = [UserObjectPermission(user=u, permission=p, content_type=ct,
                                object_pk=str(inboxes[50 + (i + 5 * j) % 50].pk))
           for i, u in enumerate(users) for j in range(10) for p in (view, decide)]
    uop += [UserObjectPermission(user=users[i], permission=orch, content_type=dct,
                                 object_pk=str(domains[i // 50].pk))
            for i in range(0, N_USERS, 50)]
    UserObjectPermission.objects.bulk_create(uop, batch_size=2000)
    GroupObjectPermission.objects.bulk_create(
        [GroupObjectPermission(group=g, permission=p, content_type=ct, object_pk=str(inboxes[(k + j) % 50].pk))
         for k, g in enumerate(groups) for j in range(5) for p in (view, decide)])
    ug = User.groups.through
    ug.objects.bulk_create([ug(user_id=u.id, group_id=groups[(i + d) % 50].id)
                            for i, u in enumerate(users) for d in (0, 5)])
    Proposal.objects.bulk_create(
        [Proposal(agent=others[1], inbox=ib, action="db.query", resource=f"bench:list-{k}", args={},
                  summary="listed", risk="low", confidence=0.5, status="approved")
         for k, ib in enumerate(inboxes) for _ in range(20)],
        batch_size=1000)
    base = User.objects.create_user(username="gov-baseline-reviewer", password=None)
    base.groups.add(Group.objects.get(name="Platform reviewers"))
    Proposal.objects.create(agent=me, inbox=platform.default_inbox, action="deploy.rollback", resource="bench:own",
                            args={}, summary="own", risk="high", confidence=0.8, status="approved")
    _bump()
    return {"uop": UserObjectPermission.objects.count(), "gop": GroupObjectPermission.objects.count(),
            "policies": Policy.objects.filter(is_active=True).count(), "winner": f"gov-policy-{WIN:03d}",
            "winner_position": WIN + 1, "inboxes": Inbox.objects.count(),
            "proposals": Proposal.objects.count(), "reviewer_inbox": inboxes[1].pk}


def switch(*, loaded: bool) -> dict:
    """Switch to the *loaded* (``loaded=True``) or *baseline* configuration: the benchmark's policies active
    or not, its guardian rows restored from or parked in side tables ``bench_parked_<table>``; pending
    proposals expired (each segment starts alike), ``ANALYZE``, and the governance snapshot version bumped
    (every worker reloads). Returns ``{"policies": active count, "guardian_rows": user + group rows}``."""
    from django.db import connection
    from guardian.models import GroupObjectPermission, UserObjectPermission

    from governance.models import Policy
    from governance.snapshot import _bump

    with connection.cursor() as c:
        for table, who in (("guardian_userobjectpermission",
                            "user_id in (select id from auth_user where username like 'gov-user-%')"),
                           ("guardian_groupobjectpermission",
                            "group_id in (select id from auth_group where name like 'gov-group-%')")):
            c.execute(f"create table if not exists bench_parked_{table} (like {table})")
            if loaded:
                c.execute(f"insert into {table} select * from bench_parked_{table}")
                c.execute(f"delete from bench_parked_{table}")
            else:
                c.execute(f"insert into bench_parked_{table} select * from {table} where {who}")
                c.execute(f"delete from {table} where {who}")
        c.execute("update inbox_proposal set status = 'expired' where status = 'pending'")
        c.execute("analyze")
    Policy.objects.filter(name__startswith="gov-policy-").update(is_active=loaded)
    _bump()
    return {"policies": Policy.objects.filter(is_active=True).count(),
            "guardian_rows": UserObjectPermission.objects.count() + GroupObjectPermission.objects.count()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.governance_data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("load", help="create the loaded configuration's data (active)")
    p.add_argument("--policies", type=int, default=200)
    p.add_argument("--users", type=int, default=500)
    p = sub.add_parser("switch", help="switch to the loaded or the baseline configuration")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--loaded", dest="loaded", action="store_true")
    which.add_argument("--baseline", dest="loaded", action="store_false")
    args = parser.parse_args(argv)
    django_setup()
    if args.command == "load":
        emit(load(policies=args.policies, users=args.users))
    else:
        emit(switch(loaded=args.loaded))


if __name__ == "__main__":
    main()

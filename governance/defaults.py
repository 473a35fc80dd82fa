"""Default policies (seeded by ``manage.py seed_governance`` and the demo; editable in admin).

Each tuple: name, priority, match (field → value), outcome (field → value). Inboxes are named by slug.
Lower priority is tried first; see ``governance.policies`` for how a proposal is evaluated.
"""
from .models import Agent, Inbox, Policy
from .rulebook import policy_create

DEFAULT_POLICIES = [
    ("Intake agents never touch firewalls", 5,
     {"agents": ["intake-triage-bot"], "action_pattern": "firewall.*"}, {"outcome": "forbid"}),
    ("Critical risk goes to the domain orchestrator", 8,
     {"min_risk": "critical"}, {"outcome": "escalate", "escalate_to": "domain", "quorum": 2}),
    ("Big spend goes to the domain orchestrator", 9,
     {"min_cost_usd": "100"}, {"outcome": "escalate", "escalate_to": "domain"}),
    ("Sensitive data needs Legal", 10,
     {"classification": "sensitive"}, {"outcome": "review", "inbox": "legal", "is_regulatory": True}),
    ("External email goes to Legal", 11,
     {"action_pattern": "email.send_external"}, {"outcome": "review", "inbox": "legal", "is_regulatory": True}),
    ("Legal flags go to Legal", 15,
     {"action_pattern": "ticket.flag_legal"}, {"outcome": "review", "inbox": "legal"}),
    ("Editor sign-off before publishing", 20,
     {"action_pattern": "content.*"}, {"outcome": "review", "inbox": "content-editors"}),
    ("Firewall changes need two incident commanders", 25,
     {"action_pattern": "firewall.*"}, {"outcome": "review", "inbox": "incident-commanders", "quorum": 2}),
    ("Service restarts to incident commanders", 30,
     {"action_pattern": "service.restart"}, {"outcome": "review", "inbox": "incident-commanders"}),
    ("Deploys to platform reviewers", 35,
     {"action_pattern": "deploy.*"}, {"outcome": "review", "inbox": "platform-reviewers"}),
    ("Release holds go to the domain orchestrator", 40,  # quality trade-offs are the orchestrator's (matrix)
     {"action_pattern": "release.*"}, {"outcome": "escalate", "escalate_to": "domain"}),
    ("Confident low-risk bug tickets auto-approve", 45,
     {"action_pattern": "ticket.file_bug", "max_risk": "low"}, {"outcome": "auto_approve", "min_confidence": 0.8}),
    ("QA tickets to QA & release", 46,
     {"action_pattern": "ticket.file_bug"}, {"outcome": "review", "inbox": "qa-release"}),
    ("Confident low-risk, cheap ticket routing auto-approves", 50,
     {"action_pattern": "ticket.route", "max_risk": "low", "max_cost_usd": "1"},
     {"outcome": "auto_approve", "min_confidence": 0.85}),
    ("Ticket routing to support triage", 55,
     {"action_pattern": "ticket.*"}, {"outcome": "review", "inbox": "support-triage"}),
]


def seed_policies() -> int:
    """Create the default policies that do not exist yet (by name), through ``policy_create`` (history
    says "default policy (seeded)", by nobody); returns how many were created.
    Needs the inboxes and agents they name (``seed_demo`` creates them); a policy naming a missing inbox
    or agent is skipped, never created broader than written (an empty agent list would match every agent)."""
    created = 0
    for name, priority, match, outcome in DEFAULT_POLICIES:
        if Policy.objects.filter(name=name).exists():
            continue
        fields = {k: v for k, v in {**match, **outcome}.items() if k not in ("agents", "inbox")}
        if "inbox" in outcome:
            inbox = Inbox.objects.filter(slug=outcome["inbox"]).first()
            if inbox is None:
                continue
            fields["inbox"] = inbox
        names = match.get("agents", [])
        agents = list(Agent.objects.filter(name__in=names))
        if len(agents) != len(names):
            continue
        policy_create(by=None, reason="default policy (seeded)", name=name, priority=priority, agents=agents,
                      **fields)
        created += 1
    return created

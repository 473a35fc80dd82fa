"""Demo data: domains, role-scoped inboxes, routing rules, reviewers and agents. Safe to run twice."""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from governance.audit.alerts import alerts_acknowledge_all
from governance.defaults import seed_policies
from governance.models import ActionCategory, ActionType, Agent, Inbox
from governance.rulebook import action_type_save
from governance.services import (
    ENTERPRISE_GROUP,
    agent_create,
    domain_get_or_create,
    domain_orchestrator_grant,
    enterprise_inbox,
    global_role_grant,
    inbox_create,
)
from inbox import hooks
from inbox.demo.scenarios import DEMO_ACTION_TYPES

DEMO_PASSWORD = "orchestra-demo"

# slug, name, domain, description
INBOXES = [
    ("platform-reviewers", "Platform reviewers", "Platform", "Deploys, rollbacks, infrastructure changes."),
    ("incident-commanders", "Incident commanders", "Operations",
     "Service restarts and firewall changes in production."),
    ("legal", "Legal", "Product", "External communication and anything with a legal flag."),
    ("content-editors", "Content editors", "Product", "Articles and pages before they are published."),
    ("qa-release", "QA & release", "Platform", "Bug tickets from QA agents (release holds: Platform orchestrators)."),
    ("support-triage", "Support triage", "Operations", "Ticket routing from intake agents."),
]
# username, first name, groups (inbox reviewers), staff
USERS = [
    ("alice", "Alice", ["Platform reviewers", "QA & release"], False),
    ("bob", "Bob", ["Platform reviewers"], False),
    ("carol", "Carol", ["Incident commanders", "Support triage"], False),
    ("dan", "Dan", ["Legal", "Content editors"], False),
    ("olivia", "Olivia", ["Platform orchestrators", "Operations orchestrators", "Product orchestrators"], False),
    ("erin", "Erin", [ENTERPRISE_GROUP], False),
    ("audrey", "Audrey", [], False),
    ("admin", "Admin", [], True),
]
# name, domain, team
AGENTS = [
    ("intake-triage-bot", "Operations", "Support"),
    ("content-pipeline-bot", "Product", "Marketing"),
    ("qa-release-bot", "Platform", "Quality"),
    ("ops-handoff-bot", "Operations", "SRE"),
]


class Command(BaseCommand):
    help = "Create demo domains, inboxes, routing rules, reviewers (password 'orchestra-demo') and agents."

    @transaction.atomic
    def handle(self, **options):
        for slug, name, domain_name, description in INBOXES:
            domain = domain_get_or_create(name=domain_name)  # may create this very inbox as its default
            if not Inbox.objects.filter(slug=slug).exists():
                group, _ = Group.objects.get_or_create(name=name)
                inbox_create(slug=slug, name=name, domain=domain, reviewers=group, description=description)
        enterprise_inbox()
        User = get_user_model()
        for username, first, groups, staff in USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "email": f"{username}@example.com"}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.is_staff = user.is_superuser = staff
                user.save()
            # each domain's default inbox is reviewed by its domain's reviewers
            for group in groups:
                user.groups.add(Group.objects.get(name=group))
        for name, domain_name, team in AGENTS:
            if not Agent.objects.filter(name=name).exists():
                agent_create(name=name, domain=domain_get_or_create(name=domain_name), team=team)
        # audrey audits (read-only everywhere); olivia orchestrates the domains; erin sits on the board
        global_role_grant(user=User.objects.get(username="audrey"), role="audit")
        olivia = User.objects.get(username="olivia")
        for domain_name in ("Platform", "Operations", "Product"):
            domain_orchestrator_grant(user=olivia, domain=domain_get_or_create(name=domain_name))
        global_role_grant(user=User.objects.get(username="erin"), role="enterprise_governance")
        created = seed_policies()
        for name, (slug, description, schema) in DEMO_ACTION_TYPES.items():  # what only the board decides
            category = ActionCategory.objects.filter(slug=slug).first()  # the matrix's (migration), if kept
            if category is not None and not ActionType.objects.filter(name=name).exists():
                action_type_save(by=None, reason="demo action type (seeded)", name=name, description=description,
                                 category=category, args_schema=schema)
        for domain_name, usernames in [("Platform", ["alice", "bob"]), ("Operations", ["carol"]), ("Product", ["dan"])]:
            group = domain_get_or_create(name=domain_name).default_inbox.reviewers
            for username in usernames:
                User.objects.get(username=username).groups.add(group)
        # the grants above are the demo's set-up, all in the audit trail: nothing for olivia to look into
        alerts_acknowledge_all(by=User.objects.filter(username="admin").first())
        for extension in hooks.demos():  # the apps above the inbox add theirs (e.g. incidents)
            if extension.seed is not None:
                self.stdout.write(extension.seed())
        self.stdout.write(self.style.SUCCESS(
            f"Demo data ready ({created} new policies). Reviewers: alice, bob, carol, dan; orchestrator olivia; "
            f"board member erin; auditor audrey (password '{DEMO_PASSWORD}'); "
            f"admin / '{DEMO_PASSWORD}' for Django admin."
        ))

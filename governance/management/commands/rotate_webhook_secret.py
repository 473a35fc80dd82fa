from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from governance.models import Agent
from governance.services import agent_webhook_secret_rotate


class Command(BaseCommand):
    help = ("Give an agent a new webhook secret and print it (alone, on the last line). The old secret keeps "
            "signing callbacks, beside the new one, for the grace period, so the agent's receiver can move over.")

    def add_arguments(self, parser):
        parser.add_argument("agent", help="The agent's name")
        default_hours = settings.ORCHESTRA_WEBHOOK_SECRET_GRACE_SECONDS / 3600
        parser.add_argument("--grace-hours", type=float, default=default_hours,
                            help=f"Hours the old secret still signs (default {default_hours:g}, from "
                                 "ORCHESTRA_WEBHOOK_SECRET_GRACE_SECONDS; 0 = stop at once)")

    def handle(self, agent, grace_hours, **options):
        found = Agent.objects.filter(name=agent).first()
        if found is None:
            raise CommandError(f"No agent called {agent!r}.")
        if grace_hours < 0:
            raise CommandError("--grace-hours cannot be negative.")
        found = agent_webhook_secret_rotate(agent=found, by=None, grace_seconds=grace_hours * 3600)
        until = found.webhook_secret_previous_until
        self.stdout.write(f"Rotated the webhook secret of {found.name}. "
                          + (f"The old secret still signs until {until.isoformat(timespec='seconds')}."
                             if until else "The old secret no longer signs."))
        self.stdout.write("New webhook secret:")
        self.stdout.write(found.webhook_secret)

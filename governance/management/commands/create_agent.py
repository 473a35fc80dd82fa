from django.core.management.base import BaseCommand, CommandError

from governance.models import Agent
from governance.services import agent_create, domain_get_or_create


class Command(BaseCommand):
    help = "Create an agent and print its API token (alone, on the last line). The token is shown once."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--domain", required=True, help="Domain name (created with a default inbox if new)")
        parser.add_argument("--team", default="")

    def handle(self, name, domain, team, **options):
        if Agent.objects.filter(name=name).exists():
            raise CommandError(f"An agent called {name!r} already exists.")
        agent, token = agent_create(name=name, domain=domain_get_or_create(name=domain), team=team)
        self.stdout.write(f"Created agent {agent.name} in {agent.domain.name} (team {team or '—'}).")
        self.stdout.write(f"Webhook signing secret: {agent.webhook_secret}")
        self.stdout.write("API token (shown once; store it now):")
        self.stdout.write(token)

from django.core.management.base import BaseCommand

from governance.defaults import seed_policies


class Command(BaseCommand):
    help = "Create the default policies that are missing (the matrix and action types come with migrate)."

    def handle(self, **options):
        self.stdout.write(f"{seed_policies()} default policies created.")

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from governance.tokens import user_token_create


class Command(BaseCommand):
    help = "Create a personal API token for a reviewer and print it (alone, on the last line)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="A label for the token")

    def handle(self, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user called {username!r}.")
        _, token = user_token_create(user=user, name=name)
        self.stdout.write(f"Personal API token for {username} (shown once; store it now):")
        self.stdout.write(token)

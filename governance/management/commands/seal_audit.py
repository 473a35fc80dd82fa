"""``manage.py seal_audit``: seal the pending audit events now (the ``audit-seal`` schedule does it every minute)."""
from django.core.management.base import BaseCommand

from governance.audit.seal import audit_seal


class Command(BaseCommand):
    help = "Seal pending audit events into the hash chain."

    def handle(self, *args, **options):
        self.stdout.write(f"sealed {audit_seal()} events")

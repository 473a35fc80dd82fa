"""``manage.py verify_audit``: walk the sealed audit chain; exit 0 and say how many events were verified,
or name the first broken or missing link by event id and exit 1. ``--seal`` seals what is pending first."""
from django.core.management.base import BaseCommand, CommandError

from governance.audit.seal import audit_seal, audit_verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain (tamper evidence); non-zero exit at the first broken link."

    def add_arguments(self, parser):
        parser.add_argument("--seal", action="store_true", help="Seal pending events before verifying.")

    def handle(self, *args, seal=False, **options):
        if seal:
            self.stdout.write(f"sealed {audit_seal()} pending events")
        result = audit_verify()
        if not result.ok:
            where = f" (event {result.event_id})" if result.event_id else ""
            raise CommandError(f"audit chain BROKEN: {result.problem}{where}; "
                               f"{result.verified} events verified before it")
        self.stdout.write(self.style.SUCCESS(
            f"audit chain OK: {result.verified} events verified, {result.purged} purged by retention, "
            f"head at link {result.position}"))

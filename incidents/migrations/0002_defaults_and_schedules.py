"""The four severities with their default targets, responses and update cadence; the grouping window
(one hour); and the minute sweep (breached targets escalate, due status updates are reminded)."""
from django.db import migrations

HOUR = 3600
SEVERITIES = [
    # level, resolution target, response, status update every
    ("SEV-1", HOUR, "page_all", 30 * 60),
    ("SEV-2", 4 * HOUR, "page_commander", HOUR),
    ("SEV-3", 24 * HOUR, "page_commander", None),
    ("SEV-4", 7 * 24 * HOUR, "queue", None),
]


def forwards(apps, schema_editor):
    Severity = apps.get_model("incidents", "Severity")
    for level, target, response, every in SEVERITIES:
        Severity.objects.get_or_create(level=level, defaults={
            "target_seconds": target, "response": response, "update_every_seconds": every})
    apps.get_model("incidents", "IncidentSettings").objects.get_or_create(pk=1)
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        name="incidents-sweep",
        defaults={"func": "incidents.tasks.sweep", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0001_initial"),
        ("django_q", "0018_task_success_index"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

"""Audit trail set-up: the chain head, the default retention classes, policies' own version numbers,
the sealing and purge schedules, and (PostgreSQL) the full-text and related-task indexes the audit search uses."""
from django.db import migrations

FTS_INDEX = """CREATE INDEX IF NOT EXISTS audit_fulltext ON governance_auditevent
USING gin (to_tsvector('english'::regconfig, summary || ' ' || coalesce(details ->> 'reasoning', '')))"""
TASKS_INDEX = """CREATE INDEX IF NOT EXISTS audit_related_tasks ON governance_auditevent
USING gin (related_tasks jsonb_path_ops)"""


def forwards(apps, schema_editor):
    apps.get_model("governance", "AuditHead").objects.get_or_create(pk=1)
    RetentionClass = apps.get_model("governance", "RetentionClass")
    for name, days in (("standard", 90), ("significant", 365), ("compliance", 7 * 365)):
        RetentionClass.objects.get_or_create(name=name, defaults={"days": days})
    Policy = apps.get_model("governance", "Policy")
    for policy in Policy.objects.all():
        versions = apps.get_model("governance", "HistoricalPolicy").objects.filter(id=policy.pk).count()
        Policy.objects.filter(pk=policy.pk).update(version=max(versions, 1))
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(name="audit-seal", defaults={
        "func": "governance.tasks.audit_seal_task", "schedule_type": "I", "minutes": 1, "repeats": -1})
    Schedule.objects.get_or_create(name="audit-purge", defaults={
        "func": "governance.tasks.audit_purge_task", "schedule_type": "D", "repeats": -1})
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FTS_INDEX)
        schema_editor.execute(TASKS_INDEX)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS audit_fulltext")
        schema_editor.execute("DROP INDEX IF EXISTS audit_related_tasks")


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0003_audit_trail"),
        ("django_q", "0018_task_success_index"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]

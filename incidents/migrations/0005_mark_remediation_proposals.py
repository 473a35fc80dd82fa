"""Existing remediations' proposals get ``link_kind = "incident"`` (inbox 0008 adds the column): the
inbox then asks the incidents app about exactly those proposals, and no query is made for the others."""
from django.db import migrations


def mark(apps, schema_editor):
    Proposal = apps.get_model("inbox", "Proposal")
    Remediation = apps.get_model("incidents", "Remediation")
    Proposal.objects.filter(pk__in=Remediation.objects.values("proposal_id")).update(link_kind="incident")


def unmark(apps, schema_editor):
    apps.get_model("inbox", "Proposal").objects.filter(link_kind="incident").update(link_kind="")


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0004_verbose_names"),
        ("inbox", "0012_proposal_link_kind_and_pending_rivals_index"),
    ]
    operations = [migrations.RunPython(mark, unmark)]

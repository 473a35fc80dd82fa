from django.db import migrations


def forwards(apps, schema_editor):
    from governance.matrix import seed

    seed(apps)


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

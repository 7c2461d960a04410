"""Load the system templates shipped in templates_app/system_templates/ (data only).

Later changes to those files are picked up by `manage.py load_system_templates`, which `make run`
calls after migrating; it is idempotent, like this migration.
"""

from django.db import migrations

from templates_app.system import load_system_templates, unload_system_templates


def load(apps, schema_editor):
    load_system_templates(apps=apps)


def unload(apps, schema_editor):
    unload_system_templates(apps=apps)


class Migration(migrations.Migration):
    dependencies = [("templates_app", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]

"""The system's periodic tasks, as django-celery-beat rows so operators can see and tune them in the admin."""

import json

from django.db import migrations

# name -> (task, every seconds)
PERIODIC_TASKS = {
    "Reap executions whose worker is gone": ("executions.reap_executions", 10),
    "Reconcile the queues with PostgreSQL": ("executions.reconcile_queue", 5),
    "Prune old executions": ("executions.prune_executions", 3600),
}


def create_periodic_tasks(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, (task, every) in PERIODIC_TASKS.items():
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period="seconds")
        PeriodicTask.objects.update_or_create(
            name=name,
            defaults={"task": task, "interval": interval, "kwargs": json.dumps({}), "enabled": True},
        )


def remove_periodic_tasks(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=PERIODIC_TASKS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("executions", "0002_admission"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_periodic_tasks, remove_periodic_tasks)]

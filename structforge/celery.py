import os

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "structforge.settings")

app = Celery("structforge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _keep_worker_connection(**kwargs) -> None:
    # A task every few milliseconds: reconnecting for each would cost more than the task.
    from structforge.db import keep_connection

    keep_connection()

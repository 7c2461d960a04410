import os

from celery import Celery
from celery.signals import task_prerun, worker_init, worker_process_init

from structforge.heap import freeze_startup_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "structforge.settings")

app = Celery("structforge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _keep_worker_connection(**kwargs) -> None:
    # A task every few milliseconds: reconnecting for each would cost more than the task.
    from structforge.db import keep_connection

    keep_connection()


@worker_init.connect
def _freeze_before_forking(**kwargs) -> None:
    # Before the pool forks: the children inherit the frozen objects and share their pages.
    freeze_startup_objects()


@worker_process_init.connect
def _freeze_child_setup(**kwargs) -> None:
    freeze_startup_objects()

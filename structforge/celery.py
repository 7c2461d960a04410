import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "structforge.settings")

app = Celery("structforge")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Declared here rather than in settings so `celery -A structforge worker` needs no -Q flag.
app.conf.task_queues = (Queue("high"), Queue("normal"))
app.autodiscover_tasks()

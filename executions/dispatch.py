"""Putting an execution on its queue: `high` for manual and API runs, `normal` for the rest."""

from datetime import datetime

from django.conf import settings

from executions.models import Priority


def queue_for(priority: str) -> str:
    name = "high" if priority == Priority.HIGH else "normal"
    return f"{settings.STRUCTFORGE_QUEUE_PREFIX}{name}"


def enqueue(execution_id: int, *, priority: str, eta: datetime | None = None) -> None:
    """Send the run's id to a worker. Call only after the execution row is committed."""
    # Imported here: tasks imports the engine, which enqueues through this module.
    from executions.tasks import run_execution_task

    run_execution_task.apply_async(kwargs={"execution_id": execution_id}, queue=queue_for(priority), eta=eta)

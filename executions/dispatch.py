"""Putting an execution on its queue: `high` for manual and API runs, `normal` for the rest."""

import logging
from datetime import datetime

from django.conf import settings

from executions.models import Priority

logger = logging.getLogger(__name__)


def queue_for(priority: str) -> str:
    name = "high" if priority == Priority.HIGH else "normal"
    return f"{settings.STRUCTFORGE_QUEUE_PREFIX}{name}"


def enqueue(execution_id: int, *, priority: str, eta: datetime | None = None) -> bool:
    """Wake a worker for this run (at `eta` for a delayed one). Call only after the row is committed.

    The execution row is the outbox: if the broker is down the run is still accepted, and the
    reconciler wakes a worker for it once the broker is back. Returns whether the message went out.
    """
    # Imported here: tasks imports the engine, which enqueues through this module.
    from executions.tasks import run_execution_task

    try:
        run_execution_task.apply_async(
            kwargs={"execution_id": execution_id}, queue=queue_for(priority), eta=eta, retry=False
        )
    except Exception:  # any broker failure: kombu's OperationalError, redis errors, timeouts
        logger.warning("could not queue a wake-up for execution %s; the reconciler will", execution_id, exc_info=True)
        return False
    return True


# kombu's Redis transport keeps each queue as one list per priority step.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def queued_wakeups() -> int:
    """How many wake-ups wait in the broker's queues (0 when the broker cannot tell or is down)."""
    if not settings.REDIS_URL:
        return 0
    import redis

    names = [queue_for(priority) for priority in (Priority.HIGH, Priority.NORMAL)]
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        with client.pipeline() as pipe:
            for name in names:
                for suffix in _PRIORITY_SUFFIXES:
                    pipe.llen(f"{name}{suffix}")
            return sum(pipe.execute())
    except redis.RedisError:
        return 0

"""Putting wake-ups on the queues: `high` for manual and API runs, `normal` for the rest.

A wake-up names no work a worker must do; it tells a worker to ask admission control
(PostgreSQL) what may start. So a new pending run needs a wake-up only when none is already on
its way: each queue has a doorbell, a Redis key set by the submit that sends the wake-up and
cleared by the worker that takes it, before that worker looks for work. A run committed before
the clear is found by that look; one committed after it rings again. A burst of submissions
therefore costs a few messages instead of one each, and no run is left without a worker. If
the worker dies between taking the message and clearing the key, the key expires after
DOORBELL_TTL_S and the reconciler sends what is missing.
"""

import logging
import threading
import time
from datetime import datetime
from functools import cache

from django.conf import settings

from executions.models import Priority

logger = logging.getLogger(__name__)

DOORBELL_TTL_S = 5


def queue_for(priority: str) -> str:
    name = "high" if priority == Priority.HIGH else "normal"
    return f"{settings.STRUCTFORGE_QUEUE_PREFIX}{name}"


def enqueue(execution_id: int, *, priority: str, eta: datetime | None = None) -> bool:
    """Wake a worker for this run (at `eta` for a delayed one). Call only after the row is committed.

    The execution row is the outbox: if the broker is down the run is still accepted, and the
    reconciler wakes a worker for it once the broker is back. Returns whether the message went out.
    """
    return _send({"execution_id": execution_id}, priority=priority, eta=eta)


def wake_for_pending(priority: str) -> bool:
    """Make sure a worker looks for pending runs soon. Call only after the new run is committed.

    Sends a wake-up unless one sent for this queue has not been taken yet. Returns whether a
    wake-up is on its way.
    """
    doorbell = f"structforge:doorbell:{queue_for(priority)}"
    try:
        rung_now = _doorbells().ring(doorbell)
    except Exception:  # the broker's Redis is down: sending fails too, and says so
        rung_now = True
    return _send({"doorbell": doorbell}, priority=priority) if rung_now else True


def answer(doorbell: str) -> None:
    """Clear a doorbell: called by the worker that took its wake-up, before it looks for work."""
    try:
        _doorbells().clear(doorbell)
    except Exception:
        logger.warning("could not clear %s; it expires in %s s", doorbell, DOORBELL_TTL_S, exc_info=True)


class _RedisDoorbells:
    """Doorbells in the broker's Redis, so that losing the queue also loses the doorbells."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def ring(self, name: str) -> bool:
        return bool(self.client.set(name, 1, nx=True, ex=DOORBELL_TTL_S))

    def clear(self, name: str) -> None:
        self.client.delete(name)


class _MemoryDoorbells:
    """The in-memory broker (standalone) lives in this process, so its doorbells can too."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rung_at: dict[str, float] = {}

    def ring(self, name: str) -> bool:
        now = time.monotonic()
        with self.lock:
            if now - self.rung_at.get(name, -DOORBELL_TTL_S) < DOORBELL_TTL_S:
                return False
            self.rung_at[name] = now
            return True

    def clear(self, name: str) -> None:
        with self.lock:
            self.rung_at.pop(name, None)


@cache
def _doorbells_at(url: str) -> _RedisDoorbells | _MemoryDoorbells:
    return _RedisDoorbells(url) if url.startswith("redis") else _MemoryDoorbells()


def _doorbells() -> _RedisDoorbells | _MemoryDoorbells:
    return _doorbells_at(settings.CELERY_BROKER_URL)


def _send(kwargs: dict, *, priority: str, eta: datetime | None = None) -> bool:
    # Imported here: tasks imports the engine, which enqueues through this module.
    from executions.tasks import run_execution_task

    try:
        run_execution_task.apply_async(kwargs=kwargs, queue=queue_for(priority), eta=eta, retry=False)
    except Exception:  # any broker failure: kombu's OperationalError, redis errors, timeouts
        logger.warning("could not queue a wake-up (%s); the reconciler will", kwargs, exc_info=True)
        return False
    return True


# kombu's Redis transport keeps each queue as one list per priority step.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def queued_wakeups() -> int:
    """How many wake-ups wait in the broker's queues (0 when the broker cannot tell or is down)."""
    doorbells = _doorbells()
    if not isinstance(doorbells, _RedisDoorbells):
        return 0
    import redis

    names = [queue_for(priority) for priority in (Priority.HIGH, Priority.NORMAL)]
    try:
        with doorbells.client.pipeline() as pipe:
            for name in names:
                for suffix in _PRIORITY_SUFFIXES:
                    pipe.llen(f"{name}{suffix}")
            return sum(pipe.execute())
    except redis.RedisError:
        return 0

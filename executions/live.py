"""Telling a waiting caller that an execution ended, across processes.

A synchronous run waits here for its execution to end. With Redis, the worker pushes to a
short-lived list the waiter blocks on (BLPOP), so the push may even come before the wait.
Without Redis (standalone), worker and web share one process and an in-memory registry.
"""

import asyncio
import threading
import time

from django.conf import settings

from executions.models import Execution
from executions.signals import execution_finished

FINISHED_KEY_TTL_S = 120
_IN_PROCESS_POLL_S = 0.01

_finished_in_process: dict[int, float] = {}
_finished_lock = threading.Lock()


def _key(execution_id: int) -> str:
    return f"structforge:execution:{execution_id}:finished"


def _redis_client():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def notify_finished(execution_id: int) -> None:
    """Wake whoever waits for this execution. Call after the final state is committed."""
    if settings.REDIS_URL:
        client = _redis_client()
        with client.pipeline() as pipe:
            pipe.rpush(_key(execution_id), 1)
            pipe.expire(_key(execution_id), FINISHED_KEY_TTL_S)
            pipe.execute()
        return
    now = time.monotonic()
    with _finished_lock:
        _finished_in_process[execution_id] = now
        for stale in [key for key, at in _finished_in_process.items() if now - at > FINISHED_KEY_TTL_S]:
            del _finished_in_process[stale]


async def wait_finished(execution_id: int, timeout_s: float) -> bool:
    """True once the execution ended, False when `timeout_s` passed first."""
    if settings.REDIS_URL:
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
        try:
            return await client.blpop([_key(execution_id)], timeout=timeout_s) is not None
        finally:
            await client.aclose()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with _finished_lock:
            if execution_id in _finished_in_process:
                return True
        await asyncio.sleep(_IN_PROCESS_POLL_S)
    return False


def announce_finished(execution_id: int, status: str) -> None:
    """Wake a synchronous caller and tell other apps (scheduling, …) that the run ended."""
    notify_finished(execution_id)
    execution_finished.send(sender=Execution, execution_id=execution_id, status=status)


def _send(group: str, event: dict) -> None:
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    async_to_sync(get_channel_layer().group_send)(group, {"type": "execution.event", "event": event})


def execution_group(execution_id: int) -> str:
    return f"execution-{execution_id}"


def user_group(user_id: int) -> str:
    return f"user-{user_id}-executions"


def publish_execution(*, execution_id: int, owner_id: int, status: str, **fields) -> None:
    """An execution-level change (status, waiting reason, error…), after it was committed."""
    event = {"type": "execution", "execution_id": execution_id, "status": status, **fields}
    _send(execution_group(execution_id), event)
    _send(user_group(owner_id), event)


def publish_nodes(*, execution_id: int, owner_id: int, nodes: list[dict], finished: int, total: int) -> None:
    """Node changes just written, with the run's progress (finished / total nodes)."""
    for node in nodes:
        event = {
            "type": "node",
            "execution_id": execution_id,
            **node,
            "progress": {"finished": finished, "total": total},
        }
        _send(execution_group(execution_id), event)

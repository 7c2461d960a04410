"""Putting wake-ups on the queues: `high` for manual and API runs, `normal` for the rest.

A wake-up names no work a worker must do; it tells a worker to ask admission control
(PostgreSQL) what may start. So a new pending run needs a wake-up only when none is already on
its way: each queue has a doorbell, a Redis key set by the submit that sends the wake-up and
cleared by the worker that takes it, before that worker looks for work. A run committed before
the clear is found by that look; one committed after it rings again. A burst of submissions
therefore costs a few messages instead of one each, and no run is left without a worker. If
the worker dies between taking the message and clearing the key, the key expires after
DOORBELL_TTL_S and the reconciler sends what is missing.

A worker process that finds nothing to run waits a little before its wake-up ends (`linger`):
it lists itself as idle and blocks on an inbox of its own. A submit that finds an idle process
takes it off the list and drops a nudge in its inbox, in the same script and round trip as the
ring; only when no process is idle does it ring the doorbell. So under a steady flow of runs most
of them cost no Celery message, no hand-over from the worker's consumer to its pool, and no
acknowledgement. A nudged process looks for work before anything else, and one whose wait ends
without a nudge leaves the list in one atomic step that also tells it whether a nudge came just
then; so every run committed before its submit's script ran is found by a look made after it.
"""

import logging
import threading
import time
import uuid
from datetime import datetime
from functools import cache

from django.conf import settings

from executions.models import Priority

logger = logging.getLogger(__name__)

DOORBELL_TTL_S = 5
CLIENT_NAME = "structforge-dispatch"
# How long past its wait an idle process stays listed: the margin for its reply to arrive. A
# process that died while listed is skipped once this has passed (until then, nudges sent to it
# are lost, and the reconciler wakes a worker for their runs).
IDLE_MARGIN_S = 1.0
# The longest one BLPOP waits, well within the client's socket timeout (a longer linger loops).
MAX_WAIT_S = 1.0
# A nudge nobody took (its process died) is deleted after this long.
INBOX_TTL_S = 30


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

    Nudges an idle worker process if there is one, else sends a wake-up unless one sent for this
    queue has not been taken yet. Returns whether a look is on its way.
    """
    doorbell = f"structforge:doorbell:{queue_for(priority)}"
    try:
        rung_now = _doorbells().ring(doorbell)
    except Exception:  # the broker's Redis is down: sending fails too, and says so
        rung_now = True
    return _send({"doorbell": doorbell}, priority=priority) if rung_now else True


def wait_for_nudge(until: float) -> bool:
    """As an idle worker process, wait until `until` (`time.monotonic()`) for a submit to nudge it.

    Returns whether one did; False at once where the broker is in-process (standalone), and when
    the broker cannot be reached.
    """
    doorbells = _doorbells()
    if not isinstance(doorbells, _RedisDoorbells):
        return False
    token = uuid.uuid4().hex
    while (left := until - time.monotonic()) > 0:
        try:
            if doorbells.wait(token, timeout_s=left):
                return True
        except Exception:
            logger.warning("could not wait for runs on the broker; the wake-up ends", exc_info=True)
            return False
    return False


def idle_workers() -> int:
    """How many worker processes wait for a nudge now (0 where the broker cannot tell)."""
    doorbells = _doorbells()
    if not isinstance(doorbells, _RedisDoorbells):
        return 0
    return doorbells.idle_count()


def _idle_key() -> str:
    # One list per deployment, not per queue: a nudged process asks admission, which serves both.
    return f"structforge:idle:{settings.STRUCTFORGE_QUEUE_PREFIX}"


def _inbox_prefix() -> str:
    return f"structforge:inbox:{settings.STRUCTFORGE_QUEUE_PREFIX}"


def answer(doorbell: str) -> None:
    """Clear a doorbell: called by the worker that took its wake-up, before it looks for work."""
    try:
        _doorbells().clear(doorbell)
    except Exception:
        logger.warning("could not clear %s; it expires in %s s", doorbell, DOORBELL_TTL_S, exc_info=True)


# Every script reads Redis's clock, so the processes' own clocks never need to agree.
_NOW = "local clock = redis.call('TIME') local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000 "

# KEYS: the idle list, the doorbell. ARGV: the doorbell's TTL, the inbox key prefix, the inbox TTL.
# Returns 1 when the caller must send the wake-up.
_RING = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local idle = redis.call('ZPOPMIN', KEYS[1])
if idle[1] then
    local inbox = ARGV[2] .. idle[1]
    redis.call('RPUSH', inbox, 1)
    redis.call('EXPIRE', inbox, ARGV[3])
    return 0
end
if redis.call('SET', KEYS[2], 1, 'NX', 'EX', ARGV[1]) then return 1 end
return 0
"""
)
# KEYS: the idle list. ARGV: the token, how long to stay listed.
_LIST_IDLE = _NOW + "redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])"
# KEYS: the idle list. Returns how many processes are listed and not expired.
_COUNT_IDLE = _NOW + "return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')"
# KEYS: the idle list, the inbox. ARGV: the token. Returns 1 when a nudge came after all.
_UNLIST_IDLE = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('LPOP', KEYS[2]) then return 1 end
return 0
"""


class _RedisDoorbells:
    """Doorbells in the broker's Redis, so that losing the queue also loses the doorbells."""

    def __init__(self, url: str) -> None:
        import redis

        # Named, so that `CLIENT LIST` tells the idle processes' blocked reads from other ones.
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, client_name=CLIENT_NAME)
        self._ring = self.client.register_script(_RING)
        self._unlist_idle = self.client.register_script(_UNLIST_IDLE)
        self._count_idle = self.client.register_script(_COUNT_IDLE)

    def ring(self, name: str) -> bool:
        return bool(self._ring(keys=[_idle_key(), name], args=[DOORBELL_TTL_S, _inbox_prefix(), INBOX_TTL_S]))

    def wait(self, token: str, *, timeout_s: float) -> bool:
        """List this process as idle and wait up to `timeout_s` for a nudge; whether one came."""
        idle, inbox = _idle_key(), _inbox_prefix() + token
        # A wait shorter than the socket's timeout; BLPOP's is in seconds, and 0 would wait for ever.
        timeout_s = min(max(round(timeout_s, 3), 0.001), MAX_WAIT_S)
        with self.client.pipeline(transaction=False) as pipe:
            # EVAL, not EVALSHA: a registered script in a pipeline costs a SCRIPT EXISTS round trip.
            pipe.eval(_LIST_IDLE, 1, idle, token, timeout_s + IDLE_MARGIN_S)
            pipe.blpop([inbox], timeout=timeout_s)
            _, popped = pipe.execute()
        return popped is not None or bool(self._unlist_idle(keys=[idle, inbox], args=[token]))

    def idle_count(self) -> int:
        import redis

        try:
            return int(self._count_idle(keys=[_idle_key()]))
        except redis.RedisError:
            return 0

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

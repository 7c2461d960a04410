"""Live status of executions: waking synchronous callers, the current state of each run, and the
events pushed to WebSocket clients.

Finished runs. A synchronous run waits here for its execution to end. With Redis, the step that
records the run's end in its live state (below) also pushes to a short-lived list the waiter
blocks on (BLPOP), so the push may even come before the wait, and a run costs no round trip of
its own for it. Without Redis (standalone), worker and web share one process and an in-memory
registry.

Live state and events. The runner calls `publish_execution` / `publish_nodes` after each change
it committed to PostgreSQL. Those calls only put the change on an in-process queue: one
publisher thread per process takes them in order, merges them into the run's live state (a Redis
hash, or an in-process dict in standalone), numbers them with the run's `seq` and sends them to
the execution's Channels group (execution events also to the owner's group). The state and the
`seq` change in one atomic step (a Lua script), and `seq` is shared by every process and every
attempt of the run. With channels_redis's pub/sub layer on the same Redis (the production
setting), that script also publishes the numbered events, so a batch of changes costs one
round trip in all; other layers get them through `group_send`. Nothing here raises into the
runner: a broken or slow Redis costs events, never a run (a client that sees a gap in `seq` asks
for a snapshot, built from PostgreSQL).

PostgreSQL stays the truth. The live state is written after the commit it describes, so it is
never ahead of the database; it adds what the database does not hold (progress, why a pending
run waits) and lets a snapshot say which `seq` it covers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import msgpack
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from executions.models import (
    ENDED_NODE_STATUSES,
    FINISHED_EXECUTION_STATUSES,
    Execution,
    ExecutionStatus,
    NodeRun,
    NodeRunStatus,
)
from executions.signals import execution_finished
from structforge import groups as channel_groups

logger = logging.getLogger(__name__)

FINISHED_KEY_TTL_S = 120
_IN_PROCESS_POLL_S = 0.01
# A running execution's state lives as long as the run may (a parked run can wait for days);
# once the run ended it is kept a little while for late readers, then PostgreSQL alone answers.
LIVE_STATE_TTL_S = 7 * 24 * 3600
LIVE_STATE_ENDED_TTL_S = 600
# Changes waiting for the publisher beyond this are dropped (Redis down for long): clients resync.
PUBLISH_QUEUE_LIMIT = 10_000
DELIVERY_TIMEOUT_S = 5.0
_REDIS_TIMEOUT_S = 2.0
_ERROR_LOG_INTERVAL_S = 30.0
# After a failure the publisher drops changes for this long instead of waiting on Redis timeouts
# for each: a run going on at full speed would otherwise fill the queue with changes to drop.
_FAILURE_PAUSE_S = 1.0
_BATCH_LIMIT = 200
_ENDED_HERE_LIMIT = 10_000

# An execution's status only moves forward: a late `pending` (the web process announcing why a run
# waits) must not overwrite the `running` a worker published first, and a run ends only once.
_ENDED_RANK = 3
_RANK = {
    ExecutionStatus.PENDING: 1,
    ExecutionStatus.RUNNING: 2,
    **dict.fromkeys(FINISHED_EXECUTION_STATUSES, _ENDED_RANK),
}


# --- a synchronous caller waiting for the end -------------------------------------------------------

_finished_in_process: dict[int, float] = {}
_finished_lock = threading.Lock()


def _key(execution_id: int) -> str:
    return f"structforge:execution:{execution_id}:finished"


def _finished_here(execution_id: int) -> None:
    """Wake whoever waits in this process for this execution (standalone, no Redis)."""
    now = time.monotonic()
    with _finished_lock:
        _finished_in_process[execution_id] = now
        for stale in [key for key, at in _finished_in_process.items() if now - at > FINISHED_KEY_TTL_S]:
            del _finished_in_process[stale]


async def wait_finished(execution_id: int, timeout_s: float) -> bool:
    """True once the execution ended, False when `timeout_s` passed first."""
    if settings.REDIS_URL:
        import redis.asyncio

        # The read must outlast the blocking pop: redis-py 8 gives up on any read after 5 s by default.
        client = redis.asyncio.Redis.from_url(settings.REDIS_URL, socket_timeout=timeout_s + _REDIS_TIMEOUT_S)
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


def announce_finished(execution_id: int, status: str, *, trigger: str | None = None) -> None:
    """Tell other apps (scheduling, …) that the run ended, and make sure its end is published.

    `trigger`, when the caller knows it, saves receivers that care about one kind of run a query.

    The end, once in the live state, wakes a synchronous caller. When nobody published it (a
    pending run cancelled, a run given up after lost workers), the publisher reads it back from
    PostgreSQL. Should the end never reach the live state (Redis down), the caller's wait times
    out and it answers 202: the run itself is over and committed.
    """
    _publisher.submit(_Ended(execution_id))
    execution_finished.send(sender=Execution, execution_id=execution_id, status=status, trigger=trigger)


# --- groups and publishing ------------------------------------------------------------------------------


def execution_group(execution_id: int) -> str:
    return f"execution-{execution_id}"


def user_group(user_id: int) -> str:
    return f"user-{user_id}-executions"


def publish_execution(*, execution_id: int, owner_id: int, status: str, **fields) -> None:
    """An execution-level change (status, waiting reason, error…), after it was committed.

    Never raises and never blocks: the change is queued for this process's publisher thread.
    """
    _publisher.submit(_Update(execution_id, owner_id, execution={"status": str(status), **fields}))


def publish_nodes(*, execution_id: int, owner_id: int, nodes: list[dict], finished: int, total: int) -> None:
    """Node changes just written, with the run's progress (finished / total nodes)."""
    if nodes:
        progress = {"finished": finished, "total": total}
        _publisher.submit(_Update(execution_id, owner_id, nodes=[dict(node) for node in nodes], progress=progress))


def live_state(execution_id: int) -> dict | None:
    """The run's current live state, or None when there is none (ended long ago, Redis down).

    `{"seq", "execution": {"status", …fields last published} | None, "progress": {"finished",
    "total"} | None, "nodes": {node_id: {"node_id", "status", "attempt", "error", "started_at",
    "finished_at", "log"}}}` (node fields only as far as published).
    """
    try:
        raw = _store().read(execution_id)
    except Exception:
        logger.warning("could not read the live state of execution %s", execution_id, exc_info=True)
        return None
    return _parse_state(raw) if raw else None


def bind_loop(loop: asyncio.AbstractEventLoop) -> None:
    """The event loop of the web server, for channel layers that live in it (in-memory, standalone).

    Consumers call this when a client connects: until then nobody can be in a group to hear.
    """
    global _web_loop
    _web_loop = loop


def flush(timeout_s: float = 5.0) -> bool:
    """Wait until this process's publisher has handled everything queued so far (tests, shutdown)."""
    return _publisher.drain(timeout_s)


# --- the state store: Redis, or this process ---------------------------------------------------------

# KEYS[1] the run's hash, KEYS[2] the list a synchronous caller waits on. ARGV: rank (0 for
# node changes), events, ttl while running, ttl once ended, ttl of the list, the number of
# field/value pairs, the pairs; then, to publish the events, the number of channels, the
# channels, the message's bytes up to its events and each event's bytes up to its seq (see
# _Publication). Returns the seq of the last event, or 0 when the change is stale. The change
# that ends the run (only one can) also wakes the caller.
_APPLY_LUA = """
local current = tonumber(redis.call('HGET', KEYS[1], 'rank') or '0')
local rank = tonumber(ARGV[1])
if rank > 0 then
  if rank < current or (rank == 3 and current == 3) then
    return 0
  end
  redis.call('HSET', KEYS[1], 'rank', rank)
  current = rank
  if rank == 3 then
    redis.call('RPUSH', KEYS[2], 1)
    redis.call('EXPIRE', KEYS[2], tonumber(ARGV[5]))
  end
end
local channels_at = 7 + 2 * tonumber(ARGV[6])
for i = 7, channels_at - 1, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
local count = tonumber(ARGV[2])
local seq = redis.call('HINCRBY', KEYS[1], 'seq', count)
if current == 3 then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
else
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
end
local channels = tonumber(ARGV[channels_at] or '0')
if channels > 0 then
  local head_at = channels_at + channels + 1
  local parts = {ARGV[head_at]}
  for i = 1, count do
    parts[2 * i] = ARGV[head_at + i]
    parts[2 * i + 1] = cmsgpack.pack(seq - count + i)
  end
  local message = table.concat(parts)
  for i = 1, channels do
    redis.call('PUBLISH', ARGV[channels_at + i], message)
  end
end
return seq
"""


@dataclass
class _Publication:
    """A change's events as one message for the channel layer's subscribers, in msgpack bytes
    with each event's `seq` left out: the script numbers them and publishes the message, so that
    the state, the numbers and the message cost one round trip.

    `head` is the message `{"type": "execution.events", "events": [...]}` up to its list's
    items; `events` holds each event as a map with one entry more than it has, up to that last
    entry's value (the key `seq` written, its number not)."""

    channels: list[str]
    head: bytes
    events: list[bytes]


@dataclass
class _StateChange:
    execution_id: int
    rank: int  # 0 for node changes, else the execution status's rank
    count: int  # events it numbers
    fields: dict[str, str]
    publication: _Publication | None = None


def _state_key(execution_id: int) -> str:
    return f"structforge:execution:{execution_id}:live"


class _RedisStore:
    def __init__(self, url: str) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # Fail fast: a change that cannot be stored now is dropped, never waited for.
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=_REDIS_TIMEOUT_S,
            socket_connect_timeout=_REDIS_TIMEOUT_S,
            retry=Retry(NoBackoff(), 1),
            decode_responses=True,
        )
        self.sha: str | None = None

    def apply_many(self, changes: list[_StateChange]) -> list[int]:
        """Apply the changes in order, in one round trip; the seq of each one's last event (0: stale)."""
        from redis.exceptions import NoScriptError

        for attempt in (1, 2):
            if self.sha is None:
                self.sha = self.client.script_load(_APPLY_LUA)
            with self.client.pipeline(transaction=False) as pipe:
                for change in changes:
                    args: list[Any] = [change.rank, change.count, LIVE_STATE_TTL_S, LIVE_STATE_ENDED_TTL_S]
                    args += [FINISHED_KEY_TTL_S, len(change.fields)]
                    for name, value in change.fields.items():
                        args += [name, value]
                    if (publication := change.publication) is not None:
                        args += [len(publication.channels), *publication.channels, publication.head]
                        args += publication.events
                    keys = (_state_key(change.execution_id), _key(change.execution_id))
                    pipe.evalsha(self.sha, len(keys), *keys, *args)
                try:
                    return [int(seq) for seq in pipe.execute()]
                except NoScriptError:
                    # Redis restarted or its scripts were flushed: every call failed alike, none applied.
                    self.sha = None
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def rank(self, execution_id: int) -> int:
        return int(self.client.hget(_state_key(execution_id), "rank") or 0)

    def read(self, execution_id: int) -> dict[str, str]:
        return self.client.hgetall(_state_key(execution_id))


class _MemoryStore:
    """The same semantics as the Lua script, for one process (standalone)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.states: dict[int, dict[str, str]] = {}
        self.expires: dict[int, float] = {}
        self.next_purge = 0.0

    def apply_many(self, changes: list[_StateChange]) -> list[int]:
        return [self._apply(change) for change in changes]

    def _apply(self, change: _StateChange) -> int:
        now = time.monotonic()
        with self.lock:
            self._expire(now)
            state = self.states.setdefault(change.execution_id, {})
            current = int(state.get("rank", 0))
            if change.rank:
                if change.rank < current or change.rank == current == _ENDED_RANK:
                    return 0
                state["rank"] = str(change.rank)
                current = change.rank
                if current == _ENDED_RANK:
                    _finished_here(change.execution_id)
            state.update(change.fields)
            seq = int(state.get("seq", 0)) + change.count
            state["seq"] = str(seq)
            ttl = LIVE_STATE_ENDED_TTL_S if current == _ENDED_RANK else LIVE_STATE_TTL_S
            self.expires[change.execution_id] = now + ttl
            return seq

    def rank(self, execution_id: int) -> int:
        return int(self.read(execution_id).get("rank", 0))

    def read(self, execution_id: int) -> dict[str, str]:
        with self.lock:
            self._expire(time.monotonic())
            return dict(self.states.get(execution_id, {}))

    def _expire(self, now: float) -> None:
        if now < self.next_purge:
            return
        self.next_purge = now + 1.0
        for execution_id in [key for key, at in self.expires.items() if at <= now]:
            del self.expires[execution_id]
            self.states.pop(execution_id, None)


_redis_stores: dict[str, _RedisStore] = {}
_memory_store = _MemoryStore()


def _store() -> _RedisStore | _MemoryStore:
    url = settings.REDIS_URL
    if not url:
        return _memory_store
    store = _redis_stores.get(url)
    if store is None:
        store = _redis_stores[url] = _RedisStore(url)
    return store


def _encode(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"))


def _parse_state(raw: dict[str, str]) -> dict:
    nodes: dict[str, dict] = {}
    for name, value in raw.items():
        if name.startswith("node:"):
            node_id, attribute = name[len("node:") :].rsplit(":", 1)
            nodes.setdefault(node_id, {"node_id": node_id})[attribute] = json.loads(value)
    return {
        "seq": int(raw.get("seq", 0)),
        "execution": json.loads(raw["execution"]) if "execution" in raw else None,
        "progress": json.loads(raw["progress"]) if "progress" in raw else None,
        "nodes": nodes,
    }


# --- the publisher thread ----------------------------------------------------------------------------------


@dataclass
class _Update:
    execution_id: int
    owner_id: int
    execution: dict | None = None
    nodes: list[dict] = field(default_factory=list)
    progress: dict | None = None


@dataclass
class _Ended:
    execution_id: int


_web_loop: asyncio.AbstractEventLoop | None = None


# The channel-layer message type of live events: consumers handle it in `execution_events`.
_EVENTS_MESSAGE = "execution.events"


def _message(events: list[dict]) -> dict:
    return {"type": _EVENTS_MESSAGE, "events": events}


async def _group_send(layer, messages: dict[str, list[dict]]) -> None:
    # One message per group keeps each group's events in order; the groups go out together.
    await asyncio.gather(*(layer.group_send(group, _message(events)) for group, events in messages.items()))


class _Publisher:
    """One thread per process takes queued changes in order: state, seq, then the groups.

    Started on first use and again in a forked child (Celery's prefork pool), which inherits
    the parent's objects but not its threads.
    """

    def __init__(self) -> None:
        self._reset()
        self._last_error_log = 0.0
        self._errors = 0
        self._paused_until: dict[str, float] = {}  # by REDIS_URL
        self._ended_here: dict[int, bool] = {}  # runs whose end this process published (insertion-ordered)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._queue: queue.Queue | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def submit(self, item: _Update | _Ended) -> None:
        try:
            self._running_queue().put_nowait(item)
        except queue.Full:
            self._log_error("the live publisher is behind; a change was dropped", exc_info=False)
        except Exception:
            self._log_error("could not queue a live change")

    def drain(self, timeout_s: float) -> bool:
        if self._pid != os.getpid() or self._queue is None:
            return True
        done = threading.Event()
        try:
            self._queue.put(done, timeout=timeout_s)
        except queue.Full:
            return False
        return done.wait(timeout_s)

    def _running_queue(self) -> queue.Queue:
        pid = os.getpid()
        if self._pid != pid:
            with self._lock:
                if self._pid != pid:
                    self._queue = queue.Queue(maxsize=PUBLISH_QUEUE_LIMIT)
                    thread = threading.Thread(target=self._run, args=(self._queue,), name="live-publisher", daemon=True)
                    thread.start()
                    self._pid = pid
        return self._queue

    def _run(self, items: queue.Queue) -> None:
        # The channel layer's connections belong to the event loop that opened them: one loop,
        # owned by this thread, for all of them.
        self._loop = asyncio.new_event_loop()
        while True:
            # Whatever queued up while the last batch went out goes out together: one round trip
            # for the state of all of it, one channel-layer message per group.
            batch = [items.get()]
            while len(batch) < _BATCH_LIMIT:
                try:
                    batch.append(items.get_nowait())
                except queue.Empty:
                    break
            changes: list[_Update | _Ended] = []
            for item in batch:
                if isinstance(item, threading.Event):
                    self._publish_batch(changes)  # everything queued before the marker is out first
                    changes = []
                    item.set()
                else:
                    changes.append(item)
            self._publish_batch(changes)

    def _publish_batch(self, items: list[_Update | _Ended]) -> None:
        if not items:
            return
        url = settings.REDIS_URL
        if time.monotonic() < self._paused_until.get(url, 0.0):
            self._log_error(f"{len(items)} live changes dropped after a failure", exc_info=False)
            return
        updates: list[_Update] = []
        for item in items:
            try:
                updates += self._expand(item)
            except Exception:
                self._log_error(f"could not complete a live change of execution {item.execution_id}")
        try:
            self._publish(updates)
        except Exception:
            self._paused_until[url] = time.monotonic() + _FAILURE_PAUSE_S
            self._log_error(f"could not publish {len(updates)} live changes")

    def _log_error(self, message: str, *, exc_info: bool = True) -> None:
        # Redis down means every change fails: one line now and then, not one per change.
        self._errors += 1
        now = time.monotonic()
        if now - self._last_error_log >= _ERROR_LOG_INTERVAL_S:
            logger.warning(
                "%s (%d live changes failed since the last report)", message, self._errors, exc_info=exc_info
            )
            self._last_error_log, self._errors = now, 0

    def _expand(self, item: _Update | _Ended) -> list[_Update]:
        """The updates an item stands for, with what PostgreSQL knows and the runner did not say."""
        if isinstance(item, _Ended):
            if self._ended_here.pop(item.execution_id, False) or _store().rank(item.execution_id) >= _ENDED_RANK:
                return []  # the runner published the end (the usual case)
            return self._end_from_database(item.execution_id)
        updates = [item]
        status = (item.execution or {}).get("status")
        if status in FINISHED_EXECUTION_STATUSES:
            self._ended_here[item.execution_id] = True
            while len(self._ended_here) > _ENDED_HERE_LIMIT:
                del self._ended_here[next(iter(self._ended_here))]
        if status in (ExecutionStatus.FAILED, ExecutionStatus.CANCELLED):
            # Ending a run cancels its unfinished nodes in the same transaction; the runner does
            # not list them, so they are read back and told before the end itself.
            updates[:0] = self._cancelled_nodes(item.execution_id, item.owner_id)
        return updates

    def _publish(self, updates: list[_Update]) -> None:
        prepared = [_prepare(update) for update in updates]
        store = _store()
        target = channel_groups.pubsub_target()
        if isinstance(store, _RedisStore) and target is not None and target.redis_url == settings.REDIS_URL:
            # The usual case: the script that stores each change also publishes its events.
            for change, events, groups in prepared:
                change.publication = _publication(events, [target.channel(group) for group in groups])
            store.apply_many([change for change, _, _ in prepared])
            return
        lasts = store.apply_many([change for change, _, _ in prepared]) if prepared else []
        messages: dict[str, list[dict]] = {}
        for (_, events, groups), last in zip(prepared, lasts, strict=True):
            if not last:
                continue  # an older status than the one already published: not news
            for offset, event in enumerate(events):
                event["seq"] = last - len(events) + 1 + offset
            for group in groups:
                messages.setdefault(group, []).extend(events)
        if messages:
            self._deliver(messages)

    def _deliver(self, messages: dict[str, list[dict]]) -> None:
        from channels.layers import InMemoryChannelLayer, get_channel_layer

        layer = get_channel_layer()
        if layer is None:
            return
        if isinstance(layer, InMemoryChannelLayer):
            # Not thread-safe: it lives in the web server's loop, so the send runs there.
            loop = _web_loop
            if loop is None or not loop.is_running():
                return  # no client has connected to this process: nobody to tell
            asyncio.run_coroutine_threadsafe(_group_send(layer, messages), loop).result(DELIVERY_TIMEOUT_S)
            return
        self._loop.run_until_complete(asyncio.wait_for(_group_send(layer, messages), DELIVERY_TIMEOUT_S))

    def _cancelled_nodes(self, execution_id: int, owner_id: int) -> list[_Update]:
        from django.db import connection

        try:
            rows = list(
                NodeRun.objects.filter(execution_id=execution_id).values_list("node_id", "status", "finished_at")
            )
        finally:
            connection.close()  # this thread reads rarely: no connection kept open
        cancelled = [
            {"node_id": node_id, "status": status, "finished_at": finished_at}
            for node_id, status, finished_at in rows
            if status == NodeRunStatus.CANCELLED
        ]
        if not cancelled:
            return []
        finished = sum(1 for _, status, _ in rows if status in ENDED_NODE_STATUSES)
        progress = {"finished": finished, "total": len(rows)}
        return [_Update(execution_id, owner_id, nodes=_jsonable(cancelled), progress=progress)]

    def _end_from_database(self, execution_id: int) -> list[_Update]:
        """The end of a run nobody published (a pending run cancelled, a run given up), read back."""
        from django.db import connection

        try:
            row = Execution.objects.filter(pk=execution_id).values("owner_id", "status", "error", "error_node").first()
        finally:
            connection.close()
        if row is None or row["status"] not in FINISHED_EXECUTION_STATUSES:
            return []
        owner_id = row.pop("owner_id")
        return self._expand(_Update(execution_id, owner_id, execution=row))


def _prepare(update: _Update) -> tuple[_StateChange, list[dict], list[str]]:
    """The state change, the events (numbered once the state is applied) and their groups."""
    execution_id = update.execution_id
    if update.execution is not None:
        rank = _RANK.get(update.execution["status"], 0)
        fields = {"execution": _encode(update.execution)}
        events = [{"type": "execution", "execution_id": execution_id, **update.execution}]
        groups = [execution_group(execution_id), user_group(update.owner_id)]
    else:
        rank = 0
        fields = {"progress": _encode(update.progress)}
        for node in update.nodes:
            for name, value in node.items():
                if name != "node_id":
                    fields[f"node:{node['node_id']}:{name}"] = _encode(value)
        events = [
            {"type": "node", "execution_id": execution_id, **node, "progress": progress}
            for node, progress in zip(update.nodes, _progress_by_node(update), strict=True)
        ]
        groups = [execution_group(execution_id)]
    return _StateChange(execution_id, rank, len(events), fields), events, groups


def _publication(events: list[dict], channels: list[str]) -> _Publication:
    packer = msgpack.Packer()
    head = b"".join(
        [
            packer.pack_map_header(2),
            packer.pack("type"),
            packer.pack(_EVENTS_MESSAGE),
            packer.pack("events"),
            packer.pack_array_header(len(events)),
        ]
    )
    return _Publication(
        channels=channels,
        head=head,
        events=[
            b"".join(
                [
                    packer.pack_map_header(len(event) + 1),
                    *(packer.pack(name) + packer.pack(value) for name, value in event.items()),
                    packer.pack("seq"),
                ]
            )
            for event in events
        ],
    )


def _progress_by_node(update: _Update) -> list[dict | None]:
    """Each node event's progress as of that change: a batch holds several nodes that ended in turn."""
    if update.progress is None:
        return [None] * len(update.nodes)
    ended = [node["status"] in ENDED_NODE_STATUSES for node in update.nodes]
    finished = update.progress["finished"] - sum(ended)
    progress = []
    for node_ended in ended:
        finished += node_ended
        progress.append({**update.progress, "finished": finished})
    return progress


def _jsonable(nodes: list[dict]) -> list[dict]:
    return json.loads(_encode(nodes))


_publisher = _Publisher()
# A child forked while another thread held the lock would wait on it forever.
os.register_at_fork(after_in_child=_publisher._reset)

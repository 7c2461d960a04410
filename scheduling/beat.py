"""The Celery Beat scheduler: django-celery-beat's DatabaseScheduler, plus a timing wheel for user schedules.

`celery -A structforge beat` loads `StructForgeScheduler` (CELERY_BEAT_SCHEDULER). System
periodic tasks stay `PeriodicTask` rows, editable in the admin, and run exactly as the stock
scheduler runs them. User schedules (`ScheduledTask`) never become periodic tasks: they sit in
a timing wheel keyed on their planned fire time (`UserSchedules`), so a tick costs the same
with ten schedules or a hundred thousand:

- start-up reads (id, fire_at) of the enabled schedules once;
- every STRUCTFORGE_SCHEDULER_SYNC_S it reads the rows whose `updated_at` moved (an index
  range scan that is empty most of the time), so a change is honoured within a second;
- every STRUCTFORGE_SCHEDULER_SWEEP_S it re-reads the table in batches of SWEEP_BATCH ids, a
  backstop for a change whose transaction committed later than the sync could see;
- due timers are fired in batches through `services.schedules_fire`, which claims each
  occurrence with a conditional update (two beats running by mistake never fire one occurrence
  twice) and hands the fired occurrences to the workers, which create their executions.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.db.utils import DatabaseError, InterfaceError
from django.utils import timezone
from django_celery_beat.schedulers import DatabaseScheduler

from scheduling import heartbeat, services
from scheduling.models import ScheduledTask
from scheduling.wheel import TimingWheel
from structforge.db import keep_connection

logger = logging.getLogger(__name__)

# A change whose transaction committed up to this long after it was written is still seen by the
# next sync (each sync re-reads the rows changed this recently; re-reading a row is harmless).
SYNC_LOOKBACK_S = 5.0
SWEEP_BATCH = 2000
HEARTBEAT_EVERY_S = 2.0
RECONCILE_EVERY_S = 10.0
PRUNE_EVERY_S = 3600.0
# Longest stretch spent firing before the loop lets syncs and system tasks have their turn.
FIRE_BUDGET_S = 0.5
# Due schedules claimed per transaction.
FIRE_BATCH = 100
# How long to wait before trying the database again after it failed.
DATABASE_RETRY_S = 1.0


def _ts(value: datetime) -> float:
    return value.timestamp()


class UserSchedules:
    """The wheel of user schedules and everything that keeps it in step with the database."""

    def __init__(self, *, now: datetime) -> None:
        self.wheel = TimingWheel(now=_ts(now))
        self.high_water: datetime | None = None
        self.sweep_after: int | None = None  # last id swept in the current sweep; None: no sweep running
        start = _ts(now)
        self.next_sync = start
        self.next_sweep = start + settings.STRUCTFORGE_SCHEDULER_SWEEP_S
        self.next_reconcile = start + RECONCILE_EVERY_S
        self.next_prune = start + PRUNE_EVERY_S
        self.next_heartbeat = start
        self.fired = 0  # due schedules this process has looked at
        self.loaded = False

    # --- reading the database ------------------------------------------------------------------------

    def _apply(self, pk: int, enabled: bool, fire_at: datetime | None) -> None:
        if enabled and fire_at is not None:
            self.wheel.add(pk, _ts(fire_at))
        else:
            self.wheel.remove(pk)

    def load(self, now: datetime) -> int:
        """Fill the wheel from scratch: one pass over the enabled schedules, (id, fire_at) only."""
        # Read the high-water mark first: what changes during the load is read again by the next sync.
        self.high_water = ScheduledTask.objects.aggregate(latest=Max("updated_at"))["latest"] or now
        self.wheel.clear()
        rows = ScheduledTask.objects.filter(enabled=True, fire_at__isnull=False).values_list("pk", "fire_at")
        for pk, fire_at in rows.iterator(chunk_size=10_000):
            self.wheel.add(pk, _ts(fire_at))
        self.loaded = True
        self.next_sync = self._next_sync_at(now)
        logger.info("scheduler loaded %s enabled schedules", len(self.wheel))
        return len(self.wheel)

    def sync(self, now: datetime) -> int:
        """Read the schedules changed since the last sync (indexed on updated_at): everything newer
        than the newest change seen, and everything of the last SYNC_LOOKBACK_S, so that a change
        whose transaction committed a little after a later one was read is still seen. Nothing
        else: a quiet table costs an empty index range."""
        since = min(self.high_water, now - timedelta(seconds=SYNC_LOOKBACK_S))
        rows = ScheduledTask.objects.filter(updated_at__gt=since).values_list("pk", "enabled", "fire_at", "updated_at")
        count = 0
        for pk, enabled, fire_at, updated_at in rows:
            self._apply(pk, enabled, fire_at)
            self.high_water = max(self.high_water, updated_at)
            count += 1
        self.next_sync = self._next_sync_at(now)
        return count

    def _next_sync_at(self, now: datetime) -> float:
        # On a grid of SYNC_S, so that syncs share their wakes with the whole-second fires.
        period = settings.STRUCTFORGE_SCHEDULER_SYNC_S
        return (math.floor(_ts(now) / period) + 1) * period

    def sweep_step(self, now: datetime) -> None:
        """One batch of the periodic full re-read: a backstop, one batch per tick so that it never
        holds up a fire."""
        if self.sweep_after is None:
            if _ts(now) < self.next_sweep:
                return
            self.sweep_after = 0
        rows = list(
            ScheduledTask.objects.filter(pk__gt=self.sweep_after)
            .order_by("pk")
            .values_list("pk", "enabled", "fire_at")[:SWEEP_BATCH]
        )
        for pk, enabled, fire_at in rows:
            self._apply(pk, enabled, fire_at)
        if len(rows) < SWEEP_BATCH:
            self.sweep_after = None
            self.next_sweep = _ts(now) + settings.STRUCTFORGE_SCHEDULER_SWEEP_S
        else:
            self.sweep_after = rows[-1][0]

    # --- firing --------------------------------------------------------------------------------------

    def fire_due(self, now: datetime, *, budget_s: float = FIRE_BUDGET_S) -> int:
        """Fire what is due at `now`, FIRE_BATCH schedules per transaction; stop after `budget_s`
        of work (the rest stays due for the next tick). Returns how many schedules it looked at."""
        started = timezone.now()
        due = self.wheel.pop_due(_ts(now))
        for offset in range(0, len(due), FIRE_BATCH):
            if offset and (timezone.now() - started).total_seconds() > budget_s:
                for at, later in due[offset:]:
                    self.wheel.add(later, at)
                return offset
            batch = [pk for _, pk in due[offset : offset + FIRE_BATCH]]
            try:
                planned = services.schedules_fire(schedule_ids=batch, now=max(now, timezone.now()))
            except (DatabaseError, InterfaceError):
                # Nothing of this batch was claimed: keep it and the rest due for the next try.
                for at, later in due[offset:]:
                    self.wheel.add(later, at)
                raise
            for pk, fire_at in planned.items():
                if fire_at is not None:
                    self.wheel.add(pk, _ts(fire_at))
        self.fired += len(due)
        return len(due)

    # --- the loop ------------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> float:
        """Do whatever is due; return how many seconds until something else is."""
        now = now or timezone.now()
        ts = _ts(now)
        if ts >= self.next_heartbeat:
            self._heartbeat(ts)
        try:
            if not self.loaded:
                self.load(now)
            # Fire first: what is due now waits for nothing (the claim re-reads each row anyway).
            # Then read changes, and fire again what they made due.
            self.fire_due(now)
            if ts >= self.next_sync:
                self.sync(now)
                self.fire_due(now)
            self.sweep_step(now)
            if ts >= self.next_reconcile:
                self.next_reconcile = ts + RECONCILE_EVERY_S
                services.schedules_reconcile(now=now)
            if ts >= self.next_prune:
                self.next_prune = ts + PRUNE_EVERY_S
                services.schedule_fires_prune(now=now)
        except (DatabaseError, InterfaceError):
            logger.exception("the scheduler could not reach the database; trying again shortly")
            # A broken connection is dropped; the next query opens a new one.
            if connection.connection is not None and not connection.is_usable():
                connection.close()
            return DATABASE_RETRY_S
        return self.wait_s(timezone.now())

    def wait_s(self, now: datetime) -> float:
        # (The heartbeat rides on these wakes: there is one at least every SYNC_S.)
        ts = _ts(now)
        wakes = [self.next_sync]
        next_timer = self.wheel.next_time(ts)
        if next_timer is not None:
            wakes.append(next_timer)
        return max(0.0, min(wakes) - ts)

    def _heartbeat(self, ts: float) -> None:
        self.next_heartbeat = ts + HEARTBEAT_EVERY_S
        try:
            heartbeat.beat()
        except Exception:  # the cache being down must not stop the firing
            logger.warning("the scheduler could not write its heartbeat", exc_info=True)


class StructForgeScheduler(DatabaseScheduler):
    """DatabaseScheduler for system periodic tasks, plus `UserSchedules` for user schedules."""

    def __init__(self, *args, **kwargs) -> None:
        self.user_schedules: UserSchedules | None = None
        self._system_next = 0.0  # (monotonic) when DatabaseScheduler wants its next tick
        self._ticking = False
        super().__init__(*args, **kwargs)

    def setup_schedule(self) -> None:
        super().setup_schedule()
        # DatabaseScheduler closes "old" connections on every tick.
        keep_connection()
        self.user_schedules = UserSchedules(now=timezone.now())

    def tick(self, *args, **kwargs) -> float:
        self._ticking = True
        try:
            user_wait = self.user_schedules.tick() if self.user_schedules is not None else self.max_interval
            # DatabaseScheduler ticks when it asked to (its next due task, at most max_interval
            # away), as under stock beat, not at every wake of the wheel.
            if time.monotonic() >= self._system_next:
                system_wait = super().tick(*args, **kwargs)
                self._system_next = time.monotonic() + (system_wait if system_wait is not None else self.max_interval)
        finally:
            self._ticking = False
        return max(0.0, min(user_wait, self._system_next - time.monotonic()))

    def sync(self) -> None:
        if self._ticking:
            # Called by celery beat's SIGTERM handler in the middle of a tick, possibly inside a
            # database call: a query now would wait forever for the connection that call holds.
            # The SystemExit that follows unwinds the tick, and beat syncs again on its way out.
            return
        super().sync()


def start_in_process_beat():
    """Run beat in a daemon thread of this process (the standalone mode); return its service."""
    from celery.beat import EmbeddedService

    from structforge.celery import app

    service = EmbeddedService(app, thread=True, scheduler_cls=settings.CELERY_BEAT_SCHEDULER)
    service.start()
    _in_process.append(service)
    return service


_in_process: list = []

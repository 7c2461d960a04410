"""The beat scheduler at 1,000 / 10,000 / 100,000 schedules, against django-celery-beat's stock one.

Run: .venv/bin/python bench/scheduler.py [--sizes 1000,10000,100000] [--rate 20] [--window 60]

For each size, two runs, one after the other (so they do not compete for the CPUs):

- **timing wheel**: `celery -A structforge beat` with StructForgeScheduler (the settings), and N
  `ScheduledTask`s, each a 6-field cron expression that fires daily at its own second;
- **stock**: `celery -A structforge beat -S django_celery_beat.schedulers:DatabaseScheduler` and
  the same N instants as `PeriodicTask`s on a `ClockedSchedule` (one-off), the stock's only
  schedule with second precision.

Layout: one schedule is due the moment beat starts (time to first fire); the others are due at
`--rate` per second from `--warmup` seconds after the start, so they are spread over the next
N / rate seconds (minutes to hours). Lateness (actual fire - due) is measured for the fires due
in the `--window` seconds after the warm-up; CPU (user + system, /proc) over the same window,
divided by the fires in it; memory is beat's peak RSS. The beat processes are stopped after the
window, so a run is bounded whatever the size. No worker runs: the scheduler only fires (the
timing wheel's fires wait for a worker to create their executions). Fire time is the fire's
`fired_at`, the claim (timing wheel), and the moment the periodic task's message appears in
the queue, watched every 10 ms (stock; its own `last_run_at` is only written when it stops, and
celery beat's SIGTERM handler, which does that, can deadlock in a database call).

Uses its own database (structforge_bench_sched, created and migrated when missing), Redis
database 12 and queue prefix `bench-sched-`; override with BENCH_DATABASE_URL / BENCH_REDIS_URL.
Prints tables (recorded in docs/benchmarks.md); asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/structforge_bench_sched")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
QUEUE_PREFIX = "bench-sched-"
BENCH_ENV = {
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "STRUCTFORGE_QUEUE_PREFIX": QUEUE_PREFIX,
    "DJANGO_SETTINGS_MODULE": "structforge.settings",
    "LOG_LEVEL": "WARNING",
    # Thousands of runs a day from a few owners: lift the daily quota out of the way.
    "STRUCTFORGE_USER_MAX_EXECUTIONS_PER_DAY": "100000000",
    # Persistent connections for both (the default, 0, suits web requests): the stock scheduler
    # would otherwise reconnect on every tick, which is not what is being compared.
    "DATABASE_CONN_MAX_AGE": "600",
    "PYTHONUNBUFFERED": "1",
}
os.environ.update(BENCH_ENV)
STOCK = "django_celery_beat.schedulers:DatabaseScheduler"
OWNERS = 20
WORKFLOWS_PER_OWNER = 5
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def ensure_database() -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(DATABASE_URL)
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        name = parts.path.lstrip("/")
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


ensure_database()

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django_celery_beat.models import ClockedSchedule, PeriodicTask, PeriodicTasks  # noqa: E402

from scheduling.models import ScheduledTask, ScheduleFire  # noqa: E402
from workflows.models import Workflow, WorkflowVersion  # noqa: E402

# --- data -----------------------------------------------------------------------------------------


def workflows() -> list[Workflow]:
    """OWNERS users with WORKFLOWS_PER_OWNER one-node workflows each (made once, kept)."""
    existing = list(Workflow.objects.filter(name__startswith="bench-sched-").order_by("id"))
    if len(existing) == OWNERS * WORKFLOWS_PER_OWNER:
        return existing
    made = []
    for owner_index in range(OWNERS):
        owner, _ = get_user_model().objects.get_or_create(username=f"bench-sched-{owner_index}")
        for index in range(WORKFLOWS_PER_OWNER):
            definition = {"nodes": [{"id": "tick", "type": "noop"}], "edges": [], "settings": {}}
            workflow = Workflow.objects.create(
                owner=owner, name=f"bench-sched-{owner_index}-{index}", definition=definition, version=1
            )
            WorkflowVersion.objects.create(workflow=workflow, number=1, definition=definition, created_by=owner)
            made.append(workflow)
    return made


def clear() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE scheduling_schedulefire, scheduling_scheduledtask, executions_noderun, executions_execution"
        )
        # In SQL: the ORM would send a delete signal, hence an UPDATE, per periodic task.
        cursor.execute("DELETE FROM django_celery_beat_periodictask WHERE name LIKE 'bench %'")
        cursor.execute(
            "DELETE FROM django_celery_beat_clockedschedule WHERE id NOT IN "
            "(SELECT clocked_id FROM django_celery_beat_periodictask WHERE clocked_id IS NOT NULL)"
        )
    PeriodicTasks.update_changed()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def due_times(n: int, start: datetime, *, rate: float, warmup_s: float) -> list[datetime]:
    """One due at `start`, the rest `rate` a second from `start + warmup_s`. Cron has second
    precision, so each second's share is due at the same whole second, as real schedules are."""
    return [start] + [start + timedelta(seconds=int(warmup_s + (index - 1) / rate)) for index in range(1, n)]


def insert_wheel_schedules(times: list[datetime], pool: list[Workflow]) -> None:
    rows = [
        ScheduledTask(
            workflow=pool[index % len(pool)],
            kind="cron",
            # Daily at this exact second (tomorrow's run is outside the run).
            cron_expression=f"{due.second} {due.minute} {due.hour} * * *",
            timezone="UTC",
            next_run_time=due,
            fire_at=due,
        )
        for index, due in enumerate(times)
    ]
    ScheduledTask.objects.bulk_create(rows, batch_size=5000)


def insert_stock_tasks(times: list[datetime]) -> None:
    clocks = ClockedSchedule.objects.bulk_create([ClockedSchedule(clocked_time=due) for due in times], batch_size=5000)
    PeriodicTask.objects.bulk_create(
        [
            PeriodicTask(
                name=f"bench {index}",
                task="bench.scheduler.tick",
                clocked=clock,
                one_off=True,
                queue=f"{QUEUE_PREFIX}normal",
            )
            for index, clock in enumerate(clocks)
        ],
        batch_size=5000,
    )
    PeriodicTasks.update_changed()  # bulk_create sends no signal


# --- the beat process ---------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def memory_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


class QueueWatcher(threading.Thread):
    """When each `bench N` periodic task's message lands in the queue: the stock scheduler's fire time."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        import redis

        self.client = redis.Redis.from_url(REDIS_URL)
        self.queue = f"{QUEUE_PREFIX}normal"
        self.times: dict[int, datetime] = {}
        self.done = threading.Event()

    def run(self) -> None:
        seen = 0
        while not self.done.is_set():
            length = self.client.llen(self.queue)
            if length > seen:
                now = datetime.now(UTC)
                # Messages are pushed at the head: counted from the tail, the new ones keep their place.
                for raw in self.client.lrange(self.queue, -length, -(seen + 1)):
                    name = json.loads(raw)["headers"].get("periodic_task_name") or ""
                    if name.startswith("bench "):
                        self.times.setdefault(int(name.split()[1]), now)
                seen = length
            self.done.wait(0.01)


class Beat:
    def __init__(self, scheduler: str | None) -> None:
        self.log_path = (
            Path(tempfile.gettempdir())
            / f"structforge-bench-beat-{os.getpid()}-{'stock' if scheduler else 'wheel'}.log"
        )
        command = [sys.executable, "-m", "celery", "-A", "structforge", "beat", "--loglevel=WARNING"]
        if scheduler:
            command.append(f"--scheduler={scheduler}")
        self.log = self.log_path.open("w")
        self.started = datetime.now(UTC)
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **BENCH_ENV},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self, *, kill: bool = False) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


@dataclass
class Result:
    scheduler: str
    size: int
    fires: int
    lateness: list[float]
    cpu_per_fire_ms: float
    cpu_startup_s: float
    peak_mb: float
    first_fire_s: float | None
    insert_s: float


def fire_times_wheel(start: datetime) -> tuple[dict[datetime, list[float]], float | None]:
    """Lateness by due time, and seconds from start-up to the first fire."""
    rows = ScheduleFire.objects.values_list("due_at", "fired_at")
    late: dict[datetime, list[float]] = {}
    first = None
    for due, fired in rows:
        late.setdefault(due, []).append((fired - due).total_seconds())
        first = fired if first is None or fired < first else first
    return late, (first - start).total_seconds() if first else None


def fire_times_stock(start: datetime, times: list[datetime], seen: dict[int, datetime]):
    late: dict[datetime, list[float]] = {}
    for index, fired in seen.items():
        late.setdefault(times[index], []).append((fired - times[index]).total_seconds())
    first = min(seen.values(), default=None)
    return late, (first - start).total_seconds() if first else None


def run(kind: str, size: int, pool: list[Workflow], *, rate: float, warmup_s: float, window_s: float) -> Result:
    clear()
    estimate_s = 5 + size * (0.0002 if kind == "wheel" else 0.0006)
    start = (datetime.now(UTC) + timedelta(seconds=estimate_s)).replace(microsecond=0)
    times = due_times(size, start, rate=rate, warmup_s=warmup_s)
    began = time.monotonic()
    if kind == "wheel":
        insert_wheel_schedules(times, pool)
    else:
        insert_stock_tasks(times)
    insert_s = time.monotonic() - began
    time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()))

    watcher = QueueWatcher()
    if kind == "stock":
        watcher.start()
    beat = Beat(None if kind == "wheel" else STOCK)
    window_start = start + timedelta(seconds=warmup_s)
    window_end = window_start + timedelta(seconds=window_s)
    try:
        time.sleep(max(0.0, (window_start - datetime.now(UTC)).total_seconds()))
        cpu_before = cpu_seconds(beat.process.pid)
        time.sleep(max(0.0, (window_end - datetime.now(UTC)).total_seconds()))
        # Fires due at the end of the window get a moment to happen.
        time.sleep(2)
        cpu_after = cpu_seconds(beat.process.pid)
        peak_mb = memory_mb(beat.process.pid, "VmHWM")
    finally:
        # The watcher has the stock scheduler's fires already: no need to wait for its shutdown.
        beat.stop(kill=kind == "stock")
        watcher.done.set()

    if kind == "wheel":
        late, first = fire_times_wheel(beat.started)
    else:
        late, first = fire_times_stock(beat.started, times, watcher.times)
    measured = [value for due, values in late.items() for value in values if window_start <= due < window_end]
    fired = len(measured)
    missing = max(sum(1 for due in times if window_start <= due < window_end) - fired, 0)
    # A fire that did not happen by the end counts as late as the whole window: never better.
    measured += [window_s + 2.0] * missing
    return Result(
        scheduler="timing wheel" if kind == "wheel" else "stock DatabaseScheduler",
        size=size,
        fires=fired,
        lateness=measured,
        cpu_per_fire_ms=(cpu_after - cpu_before) / max(fired, 1) * 1000,
        cpu_startup_s=cpu_before,
        peak_mb=peak_mb,
        first_fire_s=first,
        insert_s=insert_s,
    )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def table(results: list[Result], due_per_window: dict[int, int]) -> str:
    headers = [
        "schedules",
        "scheduler",
        "fired/due",
        "late p50 ms",
        "p99 ms",
        "max ms",
        "CPU ms/fire",
        "start CPU s",
        "peak RSS MB",
        "first fire s",
    ]
    rows = []
    for result in results:
        lateness = [value * 1000 for value in result.lateness] or [float("nan")]
        rows.append(
            [
                f"{result.size:,}",
                result.scheduler,
                f"{result.fires}/{due_per_window[result.size]}",
                f"{percentile(lateness, 0.5):,.0f}",
                f"{percentile(lateness, 0.99):,.0f}",
                f"{max(lateness):,.0f}",
                f"{result.cpu_per_fire_ms:,.2f}",
                f"{result.cpu_startup_s:,.1f}",
                f"{result.peak_mb:,.0f}",
                "-" if result.first_fire_s is None else f"{result.first_fire_s:,.2f}",
            ]
        )
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = [
        "  ".join(f"{h:>{w}}" if i != 1 else f"{h:<{w}}" for i, (h, w) in enumerate(zip(headers, widths, strict=True)))
    ]
    lines.append("-" * len(lines[0]))
    for row in rows:
        lines.append(
            "  ".join(f"{c:>{w}}" if i != 1 else f"{c:<{w}}" for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--rate", type=float, default=20.0, help="fires per second after the warm-up")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds from start-up to the measured window")
    parser.add_argument("--window", type=float, default=60.0, help="seconds of fires measured")
    parser.add_argument("--only", choices=["wheel", "stock"], help="run one scheduler only")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]

    call_command("migrate", interactive=False, verbosity=0)
    pool = workflows()
    load = os.getloadavg()
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load {load[0]:.2f}; rate {options.rate:g}/s, warm-up {options.warmup:g} s, window {options.window:g} s"
    )
    results, due_per_window = [], {}
    kinds = [options.only] if options.only else ["wheel", "stock"]
    try:
        for size in sizes:
            due_per_window[size] = min(size - 1, int(options.window * options.rate))
            for kind in kinds:
                result = run(kind, size, pool, rate=options.rate, warmup_s=options.warmup, window_s=options.window)
                results.append(result)
                print(
                    f"  {size:>7,} {result.scheduler:<24} inserted in {result.insert_s:5.1f} s, "
                    f"{result.fires} fires measured",
                    flush=True,
                )
    finally:
        print()
        print(table(results, due_per_window))
        clear()
    by_size: dict[int, dict[str, Result]] = {}
    for result in results:
        by_size.setdefault(result.size, {})[result.scheduler] = result
    print()
    for size, pair in by_size.items():
        if len(pair) == 2:
            wheel, stock = pair["timing wheel"], pair["stock DatabaseScheduler"]
            ratio = stock.cpu_per_fire_ms / wheel.cpu_per_fire_ms if wheel.cpu_per_fire_ms else float("inf")
            print(f"{size:>7,} schedules: the stock scheduler spends {ratio:,.1f} x the CPU per fire")


if __name__ == "__main__":
    main()

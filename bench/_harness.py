"""Shared helpers for benchmarks that need the real services: their own PostgreSQL database,
their own Redis database and queue prefix, and real `celery -A structforge worker` processes.

Import this module before anything from Django and call `setup()` first: the environment it
sets (DATABASE_URL, REDIS_URL, STRUCTFORGE_QUEUE_PREFIX) is read when the settings load, by this
process and by the workers it starts, so a benchmark never touches anyone else's data or work.
"""

from __future__ import annotations

import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Overridable from the environment, never taken from DATABASE_URL / REDIS_URL: `make test` and
# `make bench` export those for the test database, which a benchmark must leave alone.
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/structforge_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
DEFAULT_QUEUE_PREFIX = "bench-"


def setup(*, migrate: bool = True, reset: bool = False) -> None:
    """Point this process at the benchmark database, Redis and queues, then start Django.

    `reset` drops the benchmark database first (when migrations it had applied were rewritten).
    """
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    # The raw-Celery baselines wait for their tasks' results (StructForge's own tasks have none).
    os.environ["STRUCTFORGE_CELERY_RESULT_BACKEND"] = os.environ["REDIS_URL"]
    os.environ["STRUCTFORGE_QUEUE_PREFIX"] = os.environ.get("BENCH_QUEUE_PREFIX", DEFAULT_QUEUE_PREFIX)
    os.environ["DJANGO_SETTINGS_MODULE"] = "structforge.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    ensure_database(database_url, reset=reset)

    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)


def ensure_database(database_url: str, *, reset: bool = False) -> None:
    """Create the database named in `database_url` when it does not exist yet (or drop it first)."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not name.startswith("structforge_bench"):
        raise ValueError(f"refusing to manage database {name!r}: benchmark databases are named structforge_bench*")
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        if reset:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def psycopg_url() -> str:
    """DATABASE_URL in the form psycopg accepts (after `setup()`)."""
    return urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(scheme="postgresql"))


# --- workers -------------------------------------------------------------------------------------


class Worker:
    """`python -m celery -A structforge worker` in its own process group, on the benchmark's
    database, Redis and queues. Use as a context manager; `stop()` is also safe to call twice."""

    def __init__(
        self,
        *,
        concurrency: int = 1,
        include: tuple[str, ...] = (),
        loglevel: str = "WARNING",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.name = f"bench-{uuid.uuid4().hex[:8]}"
        self.hostname = f"{self.name}@{socket.gethostname()}"
        self.log_path = Path(tempfile.gettempdir()) / f"structforge-{self.name}.log"
        self.command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "structforge",
            "worker",
            f"--hostname={self.hostname}",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            f"--loglevel={loglevel}",
        ]
        if include:
            self.command.append(f"--include={','.join(include)}")
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
        self.process: subprocess.Popen | None = None
        self._log_file = None

    def start(self, timeout_s: float = 60) -> Worker:
        from structforge.celery import app

        self._log_file = self.log_path.open("w")
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _live_workers.append(self)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.process.poll() is None:
            # A control ping works at any log level, unlike waiting for the INFO line " ready.".
            if app.control.ping(destination=[self.hostname], timeout=0.5):
                return self
        log = self.log()[-3000:]
        self.stop()
        raise RuntimeError(f"worker {self.name} did not start (log {self.log_path}):\n{log}")

    def log(self, since: int = 0) -> str:
        """The worker's output from byte `since` on (see `log_size`)."""
        with self.log_path.open("rb") as log:
            log.seek(since)
            return log.read().decode(errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self._log_file is not None and not self._log_file.closed:
            self._log_file.close()
        if self in _live_workers:
            _live_workers.remove(self)

    def __enter__(self) -> Worker:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


_live_workers: list[Worker] = []


def stop_workers_on_signals() -> None:
    """SIGTERM / SIGHUP end the benchmark like Ctrl-C does, so `finally` blocks stop the workers."""

    def _interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)


def stop_all_workers() -> None:
    for worker in list(_live_workers):
        worker.stop()


# --- numbers -------------------------------------------------------------------------------------


def wait_for(condition, timeout_s: float = 60) -> None:
    """Poll `condition()` every 50 ms until it holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition did not hold in time")
        time.sleep(0.05)


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `fraction` of values at or below it."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil without importing math
    return ordered[int(rank) - 1]


def table(headers: list[str], rows: list[list[str]], *, align: str | None = None) -> str:
    """A plain-text table; `align` holds one '<' or '>' per column (default: first left, rest right)."""
    align = align or "<" + ">" * (len(headers) - 1)
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = ["  ".join(f"{h:{a}{w}}" for h, a, w in zip(headers, align, widths, strict=True))]
    lines.append("-" * len(lines[0]))
    for row in rows:
        lines.append("  ".join(f"{str(c):{a}{w}}" for c, a, w in zip(row, align, widths, strict=True)))
    return "\n".join(lines)


# --- the machine ---------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """What the numbers were measured on (call after `setup()`)."""
    import celery
    import django
    import psycopg
    import redis
    from django.conf import settings
    from django.db import connection

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        synchronous_commit = cursor.fetchone()[0]
        cursor.execute("SHOW fsync")
        fsync = cursor.fetchone()[0]
    redis_version = redis.Redis.from_url(settings.REDIS_URL).info("server")["redis_version"]
    load = os.getloadavg()
    commit = (
        os.environ.get("BENCH_COMMIT")
        or subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    )
    return {
        "commit": commit or "unknown",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "postgresql": f"{pg_version} (fsync {fsync}, synchronous_commit {synchronous_commit})",
        "redis": redis_version,
        "versions": f"Django {django.__version__}, Celery {celery.__version__}, psycopg {psycopg.__version__}, "
        f"redis-py {redis.__version__}",
        "load average": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    }


def _processes() -> dict[int, tuple[int, float, str]]:
    """Every process: pid -> (parent pid, CPU seconds used (user + system), command line)."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it ended meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()
        found[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks, command)
    return found


def cpu_seconds(*, trees: dict[str, list[int]], commands: dict[str, str]) -> dict[str, dict[int, float]]:
    """CPU seconds used so far, by role and process: the process trees rooted at the given pids (a
    Celery worker and its pool processes), and every process whose command line contains the given
    text (PostgreSQL's backends, Redis). Take it before and after; `cpu_used` subtracts."""
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    used: dict[str, dict[int, float]] = {}
    for role, roots in trees.items():
        used[role], frontier = {}, list(roots)
        while frontier:
            pid = frontier.pop()
            if pid in processes:
                used[role][pid] = processes[pid][1]
                frontier.extend(children.get(pid, ()))
    for role, text in commands.items():
        used[role] = {pid: cpu for pid, (_, cpu, command) in processes.items() if text in command}
    return used


def run_cpu_seconds(*, trees: dict[str, list[int]], this_process: str) -> dict[str, dict[int, float]]:
    """`cpu_seconds` of the given process trees, of PostgreSQL's and Redis's processes, and of
    this process (under the role `this_process`), in that order."""
    used = cpu_seconds(trees=trees, commands={"PostgreSQL": "postgres", "Redis": "redis-server"})
    times = os.times()
    used[this_process] = {os.getpid(): times.user + times.system}
    return used


def cpu_used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """Seconds used between two `cpu_seconds` readings, by role. A process that ended in between
    is left out (its time went with it); one that started counts from zero."""
    return {
        role: sum(cpu - before.get(role, {}).get(pid, 0.0) for pid, cpu in processes.items())
        for role, processes in after.items()
    }


HISTORY_USER = "bench-history"
HISTORY_RUNS = 50_000


def ensure_history() -> None:
    """Give the tables the finished runs of a deployment that has been running a while, once.

    On emptied tables every backend plans for an empty table, and keeps those plans while the
    window's runs pile up: PostgreSQL's own foreign-key checks (prepared once per connection)
    and the prepared admission and end-of-run statements then read every row of the executions
    and node-run tables by sequential scan, up to thousands of rows for each run.
    """
    from django.contrib.auth import get_user_model
    from django.db import connection

    from executions.models import Execution, ExecutionStatus, NodeRun, NodeRunStatus, Priority, Trigger
    from workflows.models import Workflow

    user, _ = get_user_model().objects.get_or_create(username=HISTORY_USER)
    have = Execution.objects.filter(owner=user).count()
    if have >= HISTORY_RUNS:
        return
    workflow = Workflow.objects.filter(owner=user).first() or Workflow.objects.create(
        owner=user, name="history", definition={"nodes": [], "edges": []}
    )
    model = Execution(
        workflow=workflow,
        owner=user,
        workflow_version=1,
        definition=workflow.definition,
        trigger=Trigger.WEBHOOK,
        priority=Priority.NORMAL,
        status=ExecutionStatus.SUCCESS,
        attempt=1,
    )
    model.save()
    columns = ", ".join(f.column for f in Execution._meta.concrete_fields if not f.primary_key)
    node_columns = ", ".join(f.column for f in NodeRun._meta.concrete_fields if f.column not in ("id", "execution_id"))
    NodeRun.objects.bulk_create(
        [
            NodeRun(execution=model, node_id=name, node_type="noop", position=i, status=NodeRunStatus.SUCCESS)
            for i, name in enumerate("abc")
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH copies AS (INSERT INTO executions_execution ({columns}) SELECT {columns} FROM executions_execution, "
            "generate_series(2, %s) WHERE id = %s RETURNING id) "
            f"INSERT INTO executions_noderun (execution_id, {node_columns}) SELECT copies.id, {node_columns} "
            "FROM copies, executions_noderun WHERE executions_noderun.execution_id = %s",
            [HISTORY_RUNS - have, model.pk, model.pk],
        )


def clear_executions(users) -> None:
    """Delete these users' executions and their daily counts (a day of benchmarks passes the
    default quota), and vacuum the tables every run writes to; the history of `ensure_history`
    stays.

    This machine's PostgreSQL runs without autovacuum, so each run's dead row versions (its
    status changes, the owner's daily count, its admission turn) would stay for good, and every
    later query would wade through more of them: a window would measure the windows before it.
    """
    from django.db import connection

    ensure_history()
    with connection.cursor() as cursor:
        ids = [user.pk for user in users]
        cursor.execute(
            "DELETE FROM executions_noderun WHERE execution_id IN "
            "(SELECT id FROM executions_execution WHERE owner_id = ANY(%s))",
            [ids],
        )
        cursor.execute("DELETE FROM executions_execution WHERE owner_id = ANY(%s)", [ids])
        cursor.execute("DELETE FROM executions_dailyusage WHERE owner_id = ANY(%s)", [ids])
        cursor.execute(
            "VACUUM ANALYZE executions_execution, executions_noderun, executions_dailyusage, executions_admissionturn"
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WebServer:
    """`daphne structforge.asgi:application` on a free port, with this process's environment
    (or, with `server="uvicorn"`, `uvicorn structforge.asgi:application`)."""

    def __init__(self, *, name: str = "web", server: str = "daphne", processes: int = 1) -> None:
        self.port = free_port()
        self.server = server
        self.processes = processes  # uvicorn only: `--workers`
        self.log_path = Path(tempfile.gettempdir()) / f"structforge-bench-{name}-{self.port}.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> WebServer:
        if self.server == "uvicorn":
            command = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(self.port)]
            command += ["--no-access-log", "--log-level", "warning"]
            if self.processes > 1:
                command += ["--workers", str(self.processes)]
        else:
            if self.processes > 1:
                raise ValueError("several web processes: use uvicorn")
            command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)]
        command.append("structforge.asgi:application")
        self.log_file = self.log_path.open("w")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                httpx.get(f"{self.url}/healthz", timeout=2)
                return self
            except httpx.TransportError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"{self.server} did not start: {self.log_path.read_text()[-2000:]}")

    def __exit__(self, *exc_info) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log_file.close()

"""Real Celery worker processes for integration tests, on the test database and Redis."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

from executions.models import Execution

ROOT = Path(__file__).resolve().parent.parent
# Short enough that a killed worker's run is picked up within seconds in a test.
FAST_RECOVERY_ENV = {
    "STRUCTFORGE_HEARTBEAT_S": "0.5",
    "STRUCTFORGE_HEARTBEAT_STALE_S": "3",
    "STRUCTFORGE_BROKER_VISIBILITY_TIMEOUT_S": "4",
    "STRUCTFORGE_BROKER_RESTORE_INTERVAL_S": "1",
    "STRUCTFORGE_BROKER_RESTORE_THROTTLE": "1",
    # Delays longer than this park the run, so parking is tested with short delays.
    "STRUCTFORGE_PARK_THRESHOLD_S": "1",
    # The tests' HTTP servers listen on loopback.
    "STRUCTFORGE_HTTP_ALLOWED_NETWORKS": "127.0.0.0/8",
}


def database_url() -> str:
    params = connection.settings_dict
    return f"postgres://{params['USER']}@{params['HOST']}:{params['PORT']}/{params['NAME']}"


class CeleryProcess:
    """`celery -A structforge <command>` in its own process group, on the test database and Redis,
    started and killed only by the test that owns it; ready once its log shows `ready_marker`."""

    ready_marker = ""

    def __init__(self, *, name: str, log_dir: Path, arguments: list[str], extra_env: dict[str, str]) -> None:
        self.name = name
        self.log_path = log_dir / f"{self.name}.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }
        command = [sys.executable, "-m", "celery", "-A", "structforge", *arguments]
        self.log_file = self.log_path.open("w")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout_s: float = 60):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.ready_marker in self.log():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start:\n{self.log()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the process and its children: no chance to ack, requeue or clean up."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.log_file.close()

    def stop(self) -> None:
        stop_process_group(self.process)
        self.log_file.close()

    def log(self) -> str:
        return self.log_path.read_text()

    def alive(self) -> bool:
        """Whether the main process is still running (it did not crash or exit)."""
        return self.process.poll() is None


class WorkerProcess(CeleryProcess):
    """A real `celery worker` with the fast recovery settings of the tests."""

    ready_marker = " ready."

    def __init__(self, *, log_dir: Path, concurrency: int = 2, extra_env: dict[str, str] | None = None) -> None:
        name = f"test-{uuid.uuid4().hex[:8]}"
        arguments = [
            "worker",
            f"--hostname={name}@%h",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        ]
        super().__init__(
            name=name, log_dir=log_dir, arguments=arguments, extra_env={**FAST_RECOVERY_ENV, **(extra_env or {})}
        )


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM a process started in a session of its own, and its children; SIGKILL them if they
    have not ended 15 s later."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_for(execution: Execution, *statuses: str, timeout_s: float = 30) -> Execution:
    """Poll the database until the execution reaches one of `statuses`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        execution.refresh_from_db()
        if execution.status in statuses:
            return execution
        time.sleep(0.05)
    raise AssertionError(f"execution {execution.pk} is {execution.status}, not {statuses} after {timeout_s} s")


def wait_until(condition, timeout_s: float = 30) -> None:
    """Poll `condition()` until it is true."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout_s} s")

"""Private Redis and PostgreSQL servers for the fault tests, and Django run in a subprocess.

Each server is started on a spare port in a temporary folder by the test that uses it, and only
that server is ever stopped, killed or removed: the machine's own services are never touched.
The test process's own Celery app and database connection point at the machine's services, so
whatever must talk to a private server runs in a subprocess (`django_shell`) or a worker.
"""

import glob
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from tests.workers import ROOT, free_port


def django_shell(code: str, env: dict[str, str], timeout_s: float = 120) -> Any:
    """Run `code` in `manage.py shell` with `env` added to this process's environment.

    Returns the JSON value of the last line the code printed.
    """
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if result.returncode != 0 or not lines:
        raise AssertionError(f"manage.py shell failed ({result.returncode}):\n{result.stdout}\n{result.stderr[-5000:]}")
    return json.loads(lines[-1])


class PrivateRedis:
    """`redis-server` in a subprocess of the test: no persistence, so a restart comes back empty."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed: the Redis fault tests start their own server")
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout_s: float = 20) -> "PrivateRedis":
        """Start the server (again, on the same port) and wait until it answers."""
        self.starts += 1
        options = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "save": "",  # no snapshots and no append-only file: a restart comes back empty
            "appendonly": "no",
            "daemonize": "no",
            "dir": str(self.directory),
        }
        with (self.directory / f"redis-{self.starts}.log").open("w") as log:
            self.process = subprocess.Popen(
                [self.binary, *(arg for name, value in options.items() for arg in (f"--{name}", value))],
                cwd=self.directory,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.ping():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}:\n{self.log()}")

    def ping(self) -> bool:
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL the server: a crash, with nothing saved (there is nothing to save)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        return (self.directory / f"redis-{self.starts}.log").read_text()


def _postgres_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin folder that has initdb and pg_ctl."""

    def version(path: str) -> tuple[int, ...]:
        name = Path(path).parent.name
        return tuple(int(part) for part in name.split(".") if part.isdigit())

    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if all(os.access(Path(candidate) / tool, os.X_OK) for tool in ("initdb", "pg_ctl")):
            return Path(candidate)
    return None


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, in a temporary folder, on a spare port.

    initdb and pg_ctl refuse to run as root: as root they run as the `postgres` user, which
    owns the folder. Authentication is `trust`, for loopback only.
    """

    def __init__(self) -> None:
        bin_dir = _postgres_bin_dir()
        if bin_dir is None:
            pytest.skip("PostgreSQL's initdb/pg_ctl are not installed: the PostgreSQL fault tests start their own")
        self.bin_dir = bin_dir
        self.run_as: list[str] = []
        owner = None
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                owner = None
            if runuser is None or owner is None:
                pytest.skip("running as root without runuser or a postgres user: initdb refuses to run as root")
            self.run_as = [runuser, "-u", "postgres", "--"]
        # Not under pytest's tmp_path: its parents are private to root, so postgres could not enter.
        self.directory = Path(tempfile.mkdtemp(prefix="structforge-chaos-pg-"))
        if owner is not None:
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
        self.data = self.directory / "data"
        self.log_path = self.directory / "postgres.log"
        self.port = free_port()
        self.initialised = False

    def _run(self, tool: str, *args: str, timeout_s: float = 120) -> None:
        command = [*self.run_as, str(self.bin_dir / tool), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stdout}\n{result.stderr}\n{self.log()}")

    def init(self) -> "PrivatePostgres":
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        self.initialised = True
        return self

    def start(self) -> "PrivatePostgres":
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-w", "-t", "60", "-o", options, "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", mode, "stop")

    def running(self) -> bool:
        if not self.initialised:
            return False
        command = [*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "status"]
        return subprocess.run(command, capture_output=True, timeout=30).returncode == 0

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        """Stop the cluster at once if it still runs, and delete its folder."""
        try:
            if self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

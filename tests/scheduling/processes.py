"""`celery -A structforge beat` in a subprocess, on the test database and Redis, like tests/workers.py."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings

from tests.workers import ROOT, database_url


class BeatProcess:
    """A real beat, with the scheduler class the settings name; started and stopped by its test."""

    def __init__(self, *, log_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.name = f"beat-{uuid.uuid4().hex[:8]}"
        self.log_path = log_dir / f"{self.name}.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
            **(extra_env or {}),
        }
        command = [sys.executable, "-m", "celery", "-A", "structforge", "beat", "--loglevel=INFO"]
        self.log_file = self.log_path.open("w")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout_s: float = 60) -> "BeatProcess":
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if "scheduler loaded" in self.log():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"beat {self.name} did not start:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log_file.close()

    def log(self) -> str:
        return self.log_path.read_text()

"""`celery -A structforge beat` in a subprocess, on the test database and Redis, like tests/workers.py."""

import uuid
from pathlib import Path

from tests.workers import CeleryProcess


class BeatProcess(CeleryProcess):
    """A real beat, with the scheduler class the settings name; started and stopped by its test."""

    ready_marker = "scheduler loaded"

    def __init__(self, *, log_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        super().__init__(
            name=f"beat-{uuid.uuid4().hex[:8]}",
            log_dir=log_dir,
            arguments=["beat", "--loglevel=INFO"],
            extra_env={"LOG_LEVEL": "INFO", **(extra_env or {})},
        )

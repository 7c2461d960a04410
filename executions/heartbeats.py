"""Proof of life for every run this process is running, from one thread per process.

A run that stops being heartbeated is taken over by another worker after
STRUCTFORGE_HEARTBEAT_STALE_S (`checkpoints.claim_resumable`). One long-lived thread beats for
all of this process's runs, every STRUCTFORGE_HEARTBEAT_S: a thread started per run would cost
more than a short run itself. The same beat tells a run that it was taken over (`lost`) or that
someone asked to cancel it (`cancel`).
"""

import logging
import os
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from executions import checkpoints
from executions.checkpoints import Claim
from structforge.db import keep_connection

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Watched:
    lost: threading.Event
    cancel: threading.Event


class _Heartbeats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[Claim, _Watched] = {}
        self._pid: int | None = None

    def watch(self, claim: Claim, *, lost: threading.Event, cancel: threading.Event) -> None:
        with self._lock:
            self._runs[claim] = _Watched(lost, cancel)
            if self._pid != os.getpid():
                # First run in this process (a forked pool process inherits objects, not threads).
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="heartbeats", daemon=True).start()

    def unwatch(self, claim: Claim) -> None:
        with self._lock:
            self._runs.pop(claim, None)

    def _run(self) -> None:
        while True:
            time.sleep(settings.STRUCTFORGE_HEARTBEAT_S)
            with self._lock:
                runs = list(self._runs.items())
            if not runs:
                # Nothing to beat for: give the connection back rather than hold it idle.
                connection.close()
                continue
            keep_connection()
            for claim, watched in runs:
                try:
                    ours, cancel = checkpoints.heartbeat(claim)
                except Exception:  # the database is gone for longer than the retries: try next time
                    logger.warning("could not heartbeat execution %s", claim.execution_id, exc_info=True)
                    continue
                if not ours:
                    watched.lost.set()
                elif cancel:
                    watched.cancel.set()


heartbeats = _Heartbeats()

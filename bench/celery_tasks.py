"""Plain Celery tasks that benchmarks compare the engine against, and an optional profiler.

Loaded by the benchmark's worker with `--include=bench.celery_tasks`; never by the product.
With BENCH_PROFILE_DIR set in the worker's environment, each pool process profiles the
`executions.run_execution` tasks it runs and writes the accumulated cProfile stats to
`<dir>/worker-<pid>.prof` after each of them.
"""

import cProfile
import os
import time
from pathlib import Path
from typing import Any

from celery import shared_task
from celery.signals import task_postrun, task_prerun


@shared_task(name="bench.noop")
def noop(value: Any = None) -> Any:
    """Does nothing and passes its argument on (in a chain, the previous task's result)."""
    return value


PROFILE_DIR = os.environ.get("BENCH_PROFILE_DIR")
PROFILED_TASK = "executions.run_execution"
_profiler: cProfile.Profile | None = None


if PROFILE_DIR:

    @task_prerun.connect(dispatch_uid="bench-profile-start")
    def _start_profile(task=None, **kwargs) -> None:
        global _profiler
        if task is not None and task.name == PROFILED_TASK:
            # CPU time, not wall time: what the worker spends, not what it waits for.
            _profiler = _profiler or cProfile.Profile(time.process_time)
            _profiler.enable()

    @task_postrun.connect(dispatch_uid="bench-profile-stop")
    def _stop_profile(task=None, **kwargs) -> None:
        if _profiler is not None and task is not None and task.name == PROFILED_TASK:
            _profiler.disable()
            _profiler.dump_stats(Path(PROFILE_DIR) / f"worker-{os.getpid()}.prof")

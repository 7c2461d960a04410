"""A Celery worker inside the current process, for the standalone mode (in-memory broker)."""

import socket
import threading

from celery.apps.worker import Worker  # noqa: F401  (imports the worker's bootsteps)

from structforge.celery import app

_workers: list = []


def start_in_process_worker(*, concurrency: int = 4):
    """Start a worker consuming both queues in a daemon thread and return its controller."""
    controller = app.WorkController(
        pool_cls="threads",
        concurrency=concurrency,
        queues=[queue.name for queue in app.conf.task_queues],
        hostname=f"standalone@{socket.gethostname()}",
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        loglevel="INFO",
    )
    thread = threading.Thread(target=controller.start, name="celery-worker", daemon=True)
    thread.start()
    _workers.append(thread)
    return controller


def in_process_workers() -> int:
    return sum(1 for thread in _workers if thread.is_alive())

"""WebSocket latency under load: from a node's state change being committed by a worker to a
WebSocket client receiving it, while about 100 workflows per second run.

Run: .venv/bin/python bench/ws_latency.py [--rates 10,100] [--seconds 30] [--probes 5] [--workers 2]
     [--concurrency 2] [--server uvicorn|daphne] [--connect-storm 40] [--reset-db]

Uses the benchmark database, Redis database and queue prefix of bench/_harness.py, a real
`uvicorn` (or `--server daphne`) serving `structforge.asgi:application` and real
`celery -A structforge worker` processes.

- Load: a 3-node `noop` chain submitted with `execution_start` (trigger webhook, normal queue)
  at each of `--rates` per second for `--seconds`, by a user of its own, from a process of its
  own (so that its CPU does not delay the probes' clock readings). What the workers do not
  start within the window is cancelled before the next rate.
- Probes: `--probes` per second, a user of their own starts a 3-node chain through the API
  (`POST …/run/` with `delay_s`, high queue) due half a second later, connects to
  `/ws/executions/{id}/?token=…` before it starts, and reads until the server closes the socket
  after the final state.
- Latency of one node event: the client's clock when the frame arrived minus the event's
  `finished_at`, which the worker takes just before the checkpoint that commits it (the same
  machine, so the same clock). It covers the commit, the publisher thread (Redis state + seq),
  the channel layer, the web server and the client.

- CPU per run during each window, by process (the load's, the workers' trees, the web server's,
  PostgreSQL's, Redis's and the probes'), over the load's and the probes' runs.

- With `--connect-storm N`: N clients open a socket at once, each to a pending run of its own;
  milliseconds from opening to the snapshot (median, max), three times.

Nothing asserts: it prints a table, recorded in docs/benchmarks.md ("WebSocket latency").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _harness

# The environment must be set before Django's settings load, so before argparse runs.
# The load process is spawned with this process's argv: only this one resets the database.
_harness.setup(reset="--reset-db" in sys.argv and __name__ == "__main__")

import httpx  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from knox.models import AuthToken  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from executions.models import Execution, ExecutionStatus, Trigger  # noqa: E402
from executions.services import execution_start  # noqa: E402
from structforge.heap import freeze_startup_objects  # noqa: E402
from workflows.models import Workflow  # noqa: E402
from workflows.services import workflow_create  # noqa: E402

LOAD_USER = "bench-ws-load"
PROBE_USER = "bench-ws-probe"
PROBE_DELAY_S = 0.5  # time for the probe's socket to connect before its run is due
TIMEOUT_S = 120.0
CHAIN = {
    "nodes": [{"id": "a", "type": "noop"}, {"id": "b", "type": "noop"}, {"id": "c", "type": "noop"}],
    "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "c"}],
    "settings": {},
}


def fresh_user(username: str):
    user, _ = get_user_model().objects.get_or_create(username=username)
    # Earlier runs' executions would only slow the database down.
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM executions_noderun WHERE execution_id IN "
            "(SELECT id FROM executions_execution WHERE owner_id = %s)",
            [user.pk],
        )
        cursor.execute("DELETE FROM executions_execution WHERE owner_id = %s", [user.pk])
    return user


def chain_workflow(user) -> Workflow:
    for workflow in Workflow.objects.filter(owner=user, name="ws chain").order_by("pk"):
        if workflow.definition == CHAIN:
            return workflow
    return workflow_create(owner=user, name="ws chain", definition=CHAIN)


def submit_load(workflow_id: int, rate: float, seconds: float, ready, go) -> None:
    """`rate` runs a second, on schedule: a late submission is not made up by a burst.

    Runs in a process of its own: in the probes' process, its CPU (and the GIL) would delay the
    moment a probe reads the clock for a frame that has arrived, and count that as latency.
    """
    workflow = Workflow.objects.get(pk=workflow_id)
    freeze_startup_objects()  # a full collection would stall the load for about 100 ms
    ready.set()
    go.wait()
    started = time.monotonic()
    for index in range(int(rate * seconds)):
        due = started + index / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        execution_start(workflow=workflow, trigger=Trigger.WEBHOOK, triggered_by=None)


async def probe(web: _harness.WebServer, client: httpx.AsyncClient, workflow: Workflow, token: str, latencies) -> str:
    # Started through the API, so this process only waits on sockets: a run started here would
    # hold the GIL while frames arrive and delay the clock readings of other probes.
    accepted = await client.post(
        f"{web.url}/api/v1/workflows/{workflow.pk}/run/", json={"mode": "async", "delay_s": PROBE_DELAY_S}
    )
    accepted.raise_for_status()
    url = f"ws://127.0.0.1:{web.port}{accepted.json()['ws']}?token={token}"
    measured = []
    async with connect(url, origin=web.url, proxy=None, open_timeout=TIMEOUT_S) as ws:
        async for frame in ws:
            arrived = time.time()
            message = json.loads(frame)
            if message["type"] == "snapshot" and message["execution"]["status"] != ExecutionStatus.PENDING:
                return "late"  # the run started before the socket was ready: not a clean sample
            if message["type"] == "node" and message.get("finished_at"):
                finished_at = datetime.fromisoformat(message["finished_at"]).timestamp()
                measured.append((arrived - finished_at) * 1000)
    latencies.extend(measured)
    return "measured"


async def run_probes(web, workflow, token, rate: float, seconds: float, latencies) -> dict[str, int]:
    """`rate` probes a second on average, at random moments (a Poisson process): at a fixed
    interval that divides PROBE_DELAY_S, every probe would connect just as an earlier one's
    events arrive, and measure that coincidence rather than the latency."""
    tasks = []
    arrivals = random.Random(7)
    due = time.monotonic()
    async with httpx.AsyncClient(headers={"Authorization": f"Token {token}"}, timeout=TIMEOUT_S) as client:
        for _ in range(int(rate * seconds)):
            due += arrivals.expovariate(rate)
            pause = due - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            tasks.append(
                asyncio.create_task(asyncio.wait_for(probe(web, client, workflow, token, latencies), TIMEOUT_S))
            )
        outcomes: dict[str, int] = {}
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            key = result if isinstance(result, str) else type(result).__name__
            outcomes[key] = outcomes.get(key, 0) + 1
    return outcomes


def stop_load(user) -> None:
    """Cancel the load's runs that have not started (a rate above what the workers sustain leaves a
    backlog) and wait for the running ones, so the next rate starts from an idle system."""
    Execution.objects.filter(owner=user, status=ExecutionStatus.PENDING).update(
        status=ExecutionStatus.CANCELLED, finished_at=timezone.now()
    )
    deadline = time.monotonic() + TIMEOUT_S
    while Execution.objects.filter(owner=user, status=ExecutionStatus.RUNNING).exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the load's running executions did not end")
        time.sleep(0.2)


def cpu_now(web, workers, loader) -> dict[str, dict[int, float]]:
    return _harness.run_cpu_seconds(
        trees={"load": [loader.pid], "workers": [w.process.pid for w in workers], "web": [web.process.pid]},
        this_process="probes",
    )


def measure(web, workers, args, rate: float, users, workflows, token) -> tuple[list[str], list[str]]:
    """One window at `rate`: its latency row and its row of CPU per finished run."""
    load_user, _ = users
    load_workflow, probe_workflow = workflows
    _harness.clear_executions(users)
    latencies: list[float] = []
    spawn = multiprocessing.get_context("spawn")
    ready, go = spawn.Event(), spawn.Event()
    loader = spawn.Process(target=submit_load, args=(load_workflow.pk, rate, args.seconds, ready, go), daemon=True)
    loader.start()
    if not ready.wait(TIMEOUT_S):
        raise RuntimeError("the load process did not start")
    # The probes' own full collections (about 100 ms with Django loaded) would count as latency.
    freeze_startup_objects()
    window_start = timezone.now()
    cpu_before = cpu_now(web, workers, loader)
    go.set()
    outcomes = asyncio.run(run_probes(web, probe_workflow, token, args.probes, args.seconds, latencies))
    cpu_used = _harness.cpu_used(cpu_before, cpu_now(web, workers, loader))
    loader.join()
    window_end = window_start + timedelta(seconds=args.seconds)
    finished = Execution.objects.filter(
        owner=load_user, status=ExecutionStatus.SUCCESS, finished_at__gte=window_start, finished_at__lt=window_end
    ).count()
    stop_load(load_user)
    print(f"rate {rate:g}/s: probes {outcomes}", flush=True)
    # Every run of the window, the probes' too (the load's last ones may still be running).
    runs = max(1, finished + outcomes.get("measured", 0))
    cpu_cells = [f"{seconds / runs * 1000:.2f}" for seconds in cpu_used.values()]
    cpu_row = [f"{rate:g}", *cpu_cells, f"{sum(cpu_used.values()) / runs * 1000:.2f}"]
    return [f"{rate:g}", f"{finished / args.seconds:.0f}", *_distribution(latencies)], cpu_row


def _distribution(values: list[float]) -> list[str]:
    """Count, p50, p90, p99 and max of `values`, as table cells."""
    if not values:
        return ["0", "-", "-", "-", "-"]
    cells = [f"{_harness.percentile(values, fraction):.1f}" for fraction in (0.5, 0.9, 0.99)]
    return [str(len(values)), *cells, f"{max(values):.1f}"]


async def _time_to_snapshot(web: _harness.WebServer, execution_id: int, token: str) -> float:
    started = time.perf_counter()
    url = f"ws://127.0.0.1:{web.port}/ws/executions/{execution_id}/?token={token}"
    async with connect(url, origin=web.url, proxy=None, open_timeout=TIMEOUT_S) as ws:
        await ws.recv()
        return (time.perf_counter() - started) * 1000


def connect_storm(web: _harness.WebServer, workflow: Workflow, user, token: str, sockets: int) -> list[str]:
    """`sockets` clients connect at once, each to a pending run of its own (no worker takes
    them: they were never queued): milliseconds from opening the socket to its snapshot."""
    with mock.patch("executions.dispatch.wake_for_pending"), mock.patch("executions.dispatch.enqueue"):
        ids = [execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=user).pk for _ in range(sockets)]

    async def storm() -> list[float]:
        return list(await asyncio.gather(*(_time_to_snapshot(web, pk, token) for pk in ids)))

    asyncio.run(storm())  # warm-up
    rows = []
    for attempt in range(1, 4):
        times = sorted(asyncio.run(storm()))
        rows.append([str(attempt), f"{_harness.percentile(times, 0.5):.0f}", f"{times[-1]:.0f}"])
    Execution.objects.filter(pk__in=ids).update(status=ExecutionStatus.CANCELLED, finished_at=timezone.now())
    return [
        f"{sockets} sockets opened at once, time from opening to the snapshot",
        _harness.table(["attempt", "median ms", "max ms"], rows, align=">>>"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--rates", default="10,100", help="load workflows submitted per second, one window each (comma-separated)"
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each window")
    parser.add_argument("--probes", type=float, default=5.0, help="watched workflows started per second")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=2, help="pool processes per worker")
    parser.add_argument("--server", choices=["daphne", "uvicorn"], default="uvicorn", help="the ASGI server")
    parser.add_argument("--connect-storm", type=int, default=0, help="also: this many sockets opened at once")
    parser.add_argument("--reset-db", action="store_true")
    args = parser.parse_args()
    rates = [float(rate) for rate in args.rates.split(",")]

    _harness.stop_workers_on_signals()
    users = (fresh_user(LOAD_USER), fresh_user(PROBE_USER))
    workflows = (chain_workflow(users[0]), chain_workflow(users[1]))
    AuthToken.objects.filter(user=users[1]).delete()
    _, token = AuthToken.objects.create(user=users[1])
    machine = _harness.machine()

    workers = [_harness.Worker(concurrency=args.concurrency) for _ in range(args.workers)]
    rows, cpu_rows = [], []
    try:
        for worker in workers:
            worker.start()
        with _harness.WebServer(name="ws", server=args.server) as web:
            # A warm-up probe: the web server and the workers load everything on first use.
            asyncio.run(run_probes(web, workflows[1], token, 1, 1, []))
            for rate in rates:
                row, cpu_row = measure(web, workers, args, rate, users, workflows, token)
                rows.append(row)
                cpu_rows.append(cpu_row)
            storm = connect_storm(web, workflows[1], users[1], token, args.connect_storm) if args.connect_storm else []
    finally:
        _harness.stop_all_workers()

    print()
    for name, value in machine.items():
        print(f"{name:>13}: {value}")
    print(
        f"\n{args.seconds:g} s per rate, {args.probes:g} watched runs/s, "
        f"{args.workers} worker(s) x {args.concurrency} processes\n"
    )
    headers = ["offered/s", "finished/s", "node events", "p50 ms", "p90 ms", "p99 ms", "max ms"]
    print(_harness.table(headers, rows, align=">" * len(headers)))
    cpu_headers = ["offered/s", "load", "workers", "web", "PostgreSQL", "Redis", "probes", "all"]
    print("\nCPU ms per run during the window (the load's and the probes' runs), by process")
    print(_harness.table(cpu_headers, cpu_rows, align=">" * len(cpu_headers)))
    if storm:
        print("\n" + "\n".join(storm))


if __name__ == "__main__":
    main()

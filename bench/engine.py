"""The execution engine against plain Celery, on the machine's PostgreSQL and Redis, with a real worker.

Run: .venv/bin/python bench/engine.py [--quick] [--profile] [--reset-db]

Uses its own database (structforge_bench, created and migrated when missing), Redis database 11
and queue prefix `bench-` (bench/_harness.py), in this process and in the `celery -A structforge
worker` processes it starts, so it never touches other work. Cases (issue 3):

1. Runner overhead per node: a 1,000-node chain and a 1 -> 1,000 -> 1 fan-out run by the worker,
   minus a plain loop calling the same node run function, per node, against one single-row
   INSERT+COMMIT; and one node checkpoint (`checkpoints.write_nodes`) against that commit.
2. A 40-node chain, submitted with `execution_start` (trigger api) until the worker's end push
   reaches `executions.live.wait_finished`, against a Celery chain of 40 no-op tasks.
3. A 1 -> 100 -> 1 fan-out/fan-in against a Celery chord of 100 no-ops into one, with one and
   with two worker processes.
4. A 1-node workflow, trigger -> success, against a Celery no-op round trip (median and p95).

Both sides go to the same queue (`bench-high`, where API runs go) of the same worker. Every shape
runs once before timing (a worker plans a version the first time it runs it), and the two sides
alternate run by run. Nothing asserts: it prints tables, recorded in docs/benchmarks.md.
`--profile` adds cProfile listings of an in-process run and of the worker's runs.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import glob
import io
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _harness

# The environment must be set before Django's settings load, so before argparse runs.
_harness.setup(reset="--reset-db" in sys.argv)

import psycopg  # noqa: E402
from celery import chain, chord  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.celery_tasks import noop as celery_noop  # noqa: E402
from executions import checkpoints, dispatch, live  # noqa: E402
from executions import engine as sf_engine  # noqa: E402
from executions.checkpoints import Claim, NodeChange  # noqa: E402
from executions.context import RunContext  # noqa: E402
from executions.models import Execution, ExecutionStatus, NodeRun, NodeRunStatus, Priority, Trigger  # noqa: E402
from executions.services import execution_start  # noqa: E402
from structforge.celery import app  # noqa: E402
from workflows.models import Workflow  # noqa: E402
from workflows.nodes import NODE_TYPES  # noqa: E402
from workflows.services import workflow_create  # noqa: E402

BENCH_USER = "bench-engine"
QUEUE = dispatch.queue_for(Priority.HIGH)  # where API runs go; the Celery baselines go there too
TIMEOUT_S = 300.0
BIG = 1_000
CHAIN = 40
FAN = 100
# A chain of `noop` nodes nests every parent's output one level deeper in the next node's (noop
# passes its input on), so the chain of case 1 is made of `set` nodes with a constant output.
SET_PARAMS = {"values": {"ok": True}}


@dataclass(frozen=True)
class Repetitions:
    big: int = 5
    chain: int = 20
    fan: int = 15
    latency: int = 50
    commits: int = 1_000
    checkpoints: int = 1_000


QUICK = Repetitions(big=2, chain=5, fan=5, latency=15, commits=300, checkpoints=300)


# --- definitions -------------------------------------------------------------------------------


def _node(node_id: str, node_type: str) -> dict:
    node = {"id": node_id, "type": node_type}
    if node_type == "set":
        node["params"] = SET_PARAMS
    return node


def chain_definition(count: int, node_type: str = "noop") -> dict:
    ids = [f"n{i}" for i in range(count)]
    return {
        "nodes": [_node(node_id, node_type) for node_id in ids],
        "edges": [{"source": a, "target": b} for a, b in pairwise(ids)],
        "settings": {},
    }


def fan_definition(width: int, node_type: str = "noop") -> dict:
    """start -> m0 … m(width-1) -> end."""
    middles = [f"m{i}" for i in range(width)]
    edges = [{"source": "start", "target": m} for m in middles] + [{"source": m, "target": "end"} for m in middles]
    return {
        "nodes": [_node("start", node_type), *(_node(m, node_type) for m in middles), _node("end", node_type)],
        "edges": edges,
        "settings": {},
    }


def bench_user():
    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
    # Earlier runs' executions would only slow the database down. Plain SQL: only these two
    # tables are touched, whatever other apps hang off executions and workflows.
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM executions_noderun WHERE execution_id IN "
            "(SELECT id FROM executions_execution WHERE owner_id = %s)",
            [user.pk],
        )
        cursor.execute("DELETE FROM executions_execution WHERE owner_id = %s", [user.pk])
        cursor.execute("VACUUM ANALYZE executions_execution, executions_noderun")
    return user


def bench_workflow(user, name: str, definition: dict) -> Workflow:
    """The bench user's workflow of that name and definition, created once and kept for later runs."""
    for workflow in Workflow.objects.filter(owner=user, name=name).order_by("pk"):
        if workflow.definition == definition and workflow.version == 1:
            return workflow
    return workflow_create(owner=user, name=name, definition=definition)


# --- running workflows -------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One execution through the worker. Times in ms since execution_start was called; the
    execution's own timestamps are written by the worker (same machine, same clock)."""

    status: str
    returned_ms: float  # execution_start returned: rows written and committed, worker woken
    claimed_ms: float  # started_at: a worker took the run
    finished_ms: float  # finished_at: the end state committed
    wall_ms: float  # the end push received here, as a sync API caller would (live.wait_finished)
    error: str = ""

    @property
    def engine_ms(self) -> float:
        return self.finished_ms - self.claimed_ms


class WorkerCrashed(Exception):
    pass


class WorkflowRuns:
    """Submits executions as the API does and waits for their end as a sync API run does."""

    def __init__(self, user, worker: _harness.Worker) -> None:
        self.user = user
        self.worker = worker
        self.loop = asyncio.new_event_loop()

    def close(self) -> None:
        self.loop.close()

    def run(self, workflow: Workflow) -> Run:
        log_from = self.worker.log_size()
        called_at, started = timezone.now(), time.perf_counter()
        execution = execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=self.user)
        returned = time.perf_counter()
        self._wait(execution.pk, log_from)
        ended = time.perf_counter()
        row = Execution.objects.values("status", "started_at", "finished_at", "error").get(pk=execution.pk)
        return Run(
            status=row["status"],
            returned_ms=(returned - started) * 1000,
            claimed_ms=_ms_between(called_at, row["started_at"]),
            finished_ms=_ms_between(called_at, row["finished_at"]),
            wall_ms=(ended - started) * 1000,
            error=row["error"],
        )

    def _wait(self, execution_id: int, log_from: int) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        # Short waits in a loop, so that a task that crashed (no end push will ever come) is
        # noticed in the worker's log; a push ends the current wait at once.
        while not self.loop.run_until_complete(live.wait_finished(execution_id, 0.5)):
            log = self.worker.log(log_from)
            if "raised unexpected" in log:
                raise WorkerCrashed(log[log.index("raised unexpected") :][:2000])
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_id} did not finish in {TIMEOUT_S:g} s")


def _ms_between(earlier, later) -> float:
    return (later - earlier).total_seconds() * 1000 if earlier and later else float("nan")


def succeeded(run: Run) -> Run:
    if run.status != ExecutionStatus.SUCCESS:
        raise RuntimeError(f"a benchmark run ended {run.status}: {run.error}")
    return run


@contextmanager
def not_queued():
    """For in-process runs: the execution is run here and never sent to a worker."""
    with mock.patch("executions.dispatch.enqueue"), mock.patch("executions.dispatch.wake_for_pending"):
        yield


def start_here(user, workflow: Workflow) -> Execution:
    with not_queued():
        return execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=user)


def claim_here(execution_id: int) -> Claim:
    """Take a pending execution for this process, as a worker would."""
    if hasattr(checkpoints, "claim"):  # engines that claim the execution a message names
        claim = checkpoints.claim(execution_id)
    else:  # engines with admission control: the worker asks which run to start
        from executions import admission

        claim = admission.admit_next()
    if claim is None or claim.execution_id != execution_id:
        raise RuntimeError(f"could not claim execution {execution_id} in this process (got {claim})")
    return claim


def run_here(execution_id: int) -> None:
    """Claim and run one execution in this process (no worker, no message)."""
    sf_engine.Runner(claim_here(execution_id)).run()


# --- Celery baselines ---------------------------------------------------------------------------


def _task(*args):
    return celery_noop.s(*args).set(queue=QUEUE)


def celery_chain_ms(count: int) -> float:
    """Each task gets the previous one's result, as each node gets its parent's output."""
    workflow = chain(_task({}), *(_task() for _ in range(count - 1)))
    started = time.perf_counter()
    workflow.apply_async().get(timeout=TIMEOUT_S)
    return (time.perf_counter() - started) * 1000


def celery_chord_ms(width: int) -> float:
    workflow = chord([_task({}) for _ in range(width)], _task())
    started = time.perf_counter()
    workflow.apply_async().get(timeout=TIMEOUT_S)
    return (time.perf_counter() - started) * 1000


def celery_round_trip_ms() -> float:
    started = time.perf_counter()
    celery_noop.apply_async(({},), queue=QUEUE).get(timeout=TIMEOUT_S)
    return (time.perf_counter() - started) * 1000


def interleaved(repetitions: int, ours: Callable[[], Run], theirs: Callable[[], float]):
    """Alternate the two sides so that drift in the machine's load hits both alike."""
    mine, baseline = [], []
    for _ in range(repetitions):
        mine.append(succeeded(ours()))
        # A worker process lingering for more runs would hold Celery's task back.
        _harness.wait_for(lambda: dispatch.idle_workers() == 0)
        baseline.append(theirs())
    return mine, baseline


# --- in-process measurements ----------------------------------------------------------------------


def insert_commit_ms(repetitions: int) -> list[float]:
    """One single-row INSERT, committed (autocommit), on a scratch table of the bench database."""
    timings = []
    with psycopg.connect(_harness.psycopg_url(), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_commit_scratch (id bigserial PRIMARY KEY, payload text)")
        conn.execute("TRUNCATE bench_commit_scratch")
        for _ in range(20):
            conn.execute("INSERT INTO bench_commit_scratch (payload) VALUES (%s)", ["warm-up"])
        for _ in range(repetitions):
            started = time.perf_counter()
            conn.execute("INSERT INTO bench_commit_scratch (payload) VALUES (%s)", ["payload"])
            timings.append((time.perf_counter() - started) * 1000)
    return timings


class SqlTimer:
    """A `connection.execute_wrapper` that counts statements by kind and table, and times them."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.ms = 0.0
        self.in_write_nodes = False
        self.write_nodes_sql_ms = 0.0

    def __call__(self, execute, sql, params, many, context):
        words = sql.split()
        table = next((word.split(".")[0].strip('"') for word in words if word.startswith('"executions_')), "")
        self.counts[f"{words[0]} {table}".strip()] += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            self.ms += elapsed
            if self.in_write_nodes:
                self.write_nodes_sql_ms += elapsed


def checkpoint_ms(user, repetitions: int) -> tuple[list[float], list[float]]:
    """`checkpoints.write_nodes` for one inline node (its start and end merged, as the engine
    writes them): total time, and the part spent in the database driver, per call."""
    execution = start_here(user, bench_workflow(user, "checkpoint probe", chain_definition(1)))
    claim = claim_here(execution.pk)
    totals, in_driver = [], []
    for index in range(20 + repetitions):
        now = timezone.now()
        change = NodeChange(
            "n0",
            NodeRunStatus.SUCCESS,
            attempt=1,
            input={},
            output={},
            set_output=True,
            error="",
            log=["passing on the output of 0 parent(s)"],
            started_at=now,
            finished_at=now,
        )
        timer = SqlTimer()
        with connection.execute_wrapper(timer):
            started = time.perf_counter()
            checkpoints.write_nodes(claim, [change])
            elapsed = (time.perf_counter() - started) * 1000
        if index >= 20:
            totals.append(elapsed)
            in_driver.append(timer.ms)
    checkpoints.finish(claim, status=ExecutionStatus.SUCCESS, output={})
    return totals, in_driver


def loop_ms(node_type: str, count: int, node_params: dict | None = None) -> float:
    """The floor: the node type's run function called `count` times in a plain loop (best of 5)."""
    kind = NODE_TYPES[node_type]
    params = kind.params.model_validate(node_params or {})
    context = RunContext(
        execution_id=0,
        node_id="n",
        input={},
        lines=[],
        stop=None,
        resume_at=None,
        run_subworkflow=lambda **kwargs: None,
    )
    best = float("inf")
    for _ in range(5):
        context.lines.clear()
        started = time.perf_counter()
        for _ in range(count):
            kind.run(params, context)
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


@dataclass
class InProcess:
    nodes: int
    total_ms: float
    write_nodes_ms: float  # in checkpoints.write_nodes, its SQL included
    write_nodes_sql_ms: float  # in the database driver, within write_nodes
    sql_ms: float  # in the database driver, every statement
    queries: Counter


def in_process(user, workflow: Workflow, nodes: int) -> InProcess:
    """One execution claimed and run in this process, its statements counted and timed."""
    execution = start_here(user, workflow)
    timer = SqlTimer()
    in_write_nodes = [0.0]
    real_write_nodes = checkpoints.write_nodes

    def write_nodes(*args, **kwargs):
        started = time.perf_counter()
        timer.in_write_nodes = True
        try:
            return real_write_nodes(*args, **kwargs)
        finally:
            timer.in_write_nodes = False
            in_write_nodes[0] += (time.perf_counter() - started) * 1000

    with mock.patch.object(checkpoints, "write_nodes", write_nodes), connection.execute_wrapper(timer):
        started = time.perf_counter()
        run_here(execution.pk)
        total = (time.perf_counter() - started) * 1000
    status = Execution.objects.values_list("status", flat=True).get(pk=execution.pk)
    if status != ExecutionStatus.SUCCESS:
        raise RuntimeError(f"an in-process run ended {status}")
    return InProcess(nodes, total, in_write_nodes[0], timer.write_nodes_sql_ms, timer.ms, timer.counts)


def profile_in_process(user, workflow: Workflow) -> str:
    execution = start_here(user, workflow)
    profiler = cProfile.Profile()
    profiler.enable()
    run_here(execution.pk)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(30)
    return out.getvalue()


def profile_worker(user, workflows: list[Workflow], repetitions: int) -> str:
    """cProfile inside a worker's pool process, over `repetitions` runs of each workflow
    (bench/celery_tasks.py profiles the executions.run_execution tasks when BENCH_PROFILE_DIR is set)."""
    with tempfile.TemporaryDirectory(prefix="structforge-bench-profile-") as directory:
        worker = _harness.Worker(
            concurrency=1, include=("bench.celery_tasks",), extra_env={"BENCH_PROFILE_DIR": directory}
        )
        with worker:
            runs = WorkflowRuns(user, worker)
            for workflow in workflows:
                for _ in range(repetitions):
                    succeeded(runs.run(workflow))
            runs.close()
        out = io.StringIO()
        stats = pstats.Stats(*glob.glob(os.path.join(directory, "*.prof")), stream=out).strip_dirs()
        stats.sort_stats("cumulative").print_stats(40)
    return out.getvalue()


# --- the benchmark ---------------------------------------------------------------------------------


@dataclass
class BigShape:
    label: str
    workflow: Workflow
    nodes: int
    loop_ms: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run, not for the record)")
    parser.add_argument("--profile", action="store_true", help="also print cProfile listings (after the timings)")
    parser.add_argument("--reset-db", action="store_true", help="drop and recreate the benchmark database first")
    args = parser.parse_args()
    reps = QUICK if args.quick else Repetitions()
    _harness.stop_workers_on_signals()

    machine = _harness.machine()
    user = bench_user()
    app.control.purge()  # leftovers of an interrupted run, on the bench queues only

    def workflow(name: str, definition: dict) -> Workflow:
        return bench_workflow(user, name, definition)

    big = [
        BigShape(
            f"chain of {BIG:,} set",
            workflow(f"set chain {BIG}", chain_definition(BIG, "set")),
            BIG,
            loop_ms("set", BIG, SET_PARAMS),
        ),
        BigShape(
            f"fan-out 1 → {BIG:,} → 1 noop",
            workflow(f"fan 1-{BIG}-1", fan_definition(BIG)),
            BIG + 2,
            loop_ms("noop", BIG + 2),
        ),
    ]
    noop_chain = workflow(f"noop chain {BIG}", chain_definition(BIG))
    chain40 = workflow(f"chain {CHAIN}", chain_definition(CHAIN))
    fan100 = workflow(f"fan 1-{FAN}-1", fan_definition(FAN))
    single = workflow("one node", chain_definition(1))
    small = {n: workflow(f"set chain {n}", chain_definition(n, "set")) for n in (10, 110)}

    # In this process, before any worker runs.
    progress("INSERT+COMMIT and node checkpoints")
    commit = insert_commit_ms(reps.commits)
    checkpoint_total, checkpoint_driver = checkpoint_ms(user, reps.checkpoints)
    progress("in-process runs")
    inproc = {}
    for shape in big:
        in_process(user, shape.workflow, shape.nodes)  # plans the version in this process
        inproc[shape.label] = in_process(user, shape.workflow, shape.nodes)
    statements = {}
    for n, flow in small.items():
        in_process(user, flow, n)
        statements[n] = in_process(user, flow, n).queries

    results: dict = {}
    try:
        progress("worker, concurrency 1")
        with _harness.Worker(concurrency=1, include=("bench.celery_tasks",)) as worker:
            runs = WorkflowRuns(user, worker)
            for flow in [shape.workflow for shape in big] + [chain40, fan100, single]:
                succeeded(runs.run(flow))
            for _ in range(3):
                celery_chain_ms(CHAIN), celery_chord_ms(FAN), celery_round_trip_ms()

            progress(f"case 1: {BIG:,}-node shapes × {reps.big}")
            results["big"] = {
                shape.label: [succeeded(runs.run(shape.workflow)) for _ in range(reps.big)] for shape in big
            }
            progress(f"case 2: {CHAIN}-node chain × {reps.chain}")
            results["chain"] = interleaved(reps.chain, lambda: runs.run(chain40), lambda: celery_chain_ms(CHAIN))
            progress(f"case 3: 1 → {FAN} → 1 × {reps.fan}")
            results["fan1"] = interleaved(reps.fan, lambda: runs.run(fan100), lambda: celery_chord_ms(FAN))
            progress(f"case 4: one node × {reps.latency}")
            results["single"] = interleaved(reps.latency, lambda: runs.run(single), celery_round_trip_ms)
            progress(f"a {BIG:,}-node noop chain, once")
            results["noop_chain"] = noop_chain_outcome(runs, noop_chain)
            runs.close()
            results["worker_errors"] = worker.log().count("ERROR/")

        progress("worker, concurrency 2")
        with _harness.Worker(concurrency=2, include=("bench.celery_tasks",)) as worker:
            runs = WorkflowRuns(user, worker)
            succeeded(runs.run(fan100))
            for _ in range(3):
                celery_chord_ms(FAN)
            progress(f"case 3 with 2 processes: 1 → {FAN} → 1 × {reps.fan}")
            results["fan2"] = interleaved(reps.fan, lambda: runs.run(fan100), lambda: celery_chord_ms(FAN))
            runs.close()

        profiles = []
        if args.profile:
            progress("profiles")
            profiles.append(
                (f"one in-process run of the {BIG:,}-node set chain", profile_in_process(user, big[0].workflow))
            )
            profiles.append(
                (
                    f"a worker's pool process, 30 runs each of the 1-node workflow and the {CHAIN}-node chain",
                    profile_worker(user, [single, chain40], 30),
                )
            )
    finally:
        _harness.stop_all_workers()

    machine["load average after"] = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    report(machine, reps, commit, checkpoint_total, checkpoint_driver, big, inproc, statements, results)
    for title, text in profiles:
        print(f"\ncProfile: {title}\n{text}")


def noop_chain_outcome(runs: WorkflowRuns, noop_chain: Workflow) -> str:
    try:
        run = runs.run(noop_chain)
    except WorkerCrashed as crash:
        done = NodeRun.objects.filter(execution__workflow=noop_chain, status=NodeRunStatus.SUCCESS).count()
        # Nothing would ever resume the crashed run: close it, in the bench database only.
        Execution.objects.filter(workflow=noop_chain, status=ExecutionStatus.RUNNING).update(
            status=ExecutionStatus.FAILED, error="bench: the worker's task crashed", finished_at=timezone.now()
        )
        reason = str(crash).splitlines()[0].removeprefix("raised unexpected: ")
        return f"the worker's task crashed after {done} nodes: {reason[:100]}"
    return f"{run.status} in {run.engine_ms:,.0f} ms (engine), {run.wall_ms:,.0f} ms (wall)"


# --- the report ----------------------------------------------------------------------------------------


def med(values: list[float]) -> float:
    return _harness.median(values)


def ms(value: float) -> str:
    return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"


def progress(message: str) -> None:
    print(f"… {message}", file=sys.stderr, flush=True)


def report(machine, reps, commit, checkpoint_total, checkpoint_driver, big, inproc, statements, results) -> None:
    print("Machine: " + "; ".join(f"{key} {value}" for key, value in machine.items()))
    print(f"Repetitions: {reps}\n")
    commit_ms = med(commit)

    print("Case 1: runner overhead per node (worker, concurrency 1; medians)")
    rows, per_node = [], {}
    for shape in big:
        runs = results["big"][shape.label]
        engine, wall = med([r.engine_ms for r in runs]), med([r.wall_ms for r in runs])
        per_node[shape.label] = (engine - shape.loop_ms) / shape.nodes
        rows.append(
            [
                shape.label,
                ms(engine),
                ms(wall),
                f"{shape.loop_ms:.2f}",
                f"{per_node[shape.label]:.3f}",
                f"{(wall - shape.loop_ms) / shape.nodes:.3f}",
                f"{per_node[shape.label] / commit_ms:.1f}",
            ]
        )
    print(_harness.table(["shape", "engine ms", "wall ms", "loop ms", "ms/node", "wall ms/node", "× commit"], rows))
    print(
        "  engine = finished_at − started_at (written by the worker); wall = execution_start → end push received;\n"
        "  loop = the node type's run function called in a plain loop; ms/node = (engine − loop) / nodes.\n"
        f"  INSERT+COMMIT: median {commit_ms:.3f} ms, p95 {_harness.percentile(commit, 0.95):.3f} ms "
        f"({len(commit)} runs). One node checkpoint (write_nodes): median {med(checkpoint_total):.3f} ms, "
        f"{med(checkpoint_driver):.3f} ms of it in the database driver.\n"
        f"  A chain of {BIG:,} noop nodes: {results['noop_chain']}\n"
    )

    print("Where a node's time goes (one execution claimed and run in this process, no worker; ms per node)")
    rows = []
    for shape in big:
        run = inproc[shape.label]
        rows.append(
            [
                shape.label,
                f"{run.total_ms / run.nodes:.3f}",
                f"{(run.write_nodes_ms - run.write_nodes_sql_ms) / run.nodes:.3f}",
                f"{run.write_nodes_sql_ms / run.nodes:.3f}",
                f"{(run.sql_ms - run.write_nodes_sql_ms) / run.nodes:.3f}",
                f"{(run.total_ms - run.write_nodes_ms - run.sql_ms + run.write_nodes_sql_ms) / run.nodes:.3f}",
                f"{sum(run.queries.values()) / run.nodes:.2f}",
            ]
        )
    print(
        _harness.table(
            ["shape", "total", "write_nodes (Python)", "its SQL", "other SQL", "rest", "statements/node"], rows
        )
    )
    fixed, marginal = statements[10], statements[110] - statements[10]
    print(
        f"  SQL statements, 10-node set chain: {sum(fixed.values())} ("
        + ", ".join(f"{count} {kind}" for kind, count in fixed.most_common())
        + f");\n  each further node: {sum(marginal.values()) / 100:.2f} ("
        + ", ".join(f"{count / 100:.2f} {kind}" for kind, count in marginal.most_common())
        + ").\n"
    )

    def row(case, mine, base, target, met):
        ratio = mine / base
        return [case, ms(mine), ms(base), f"{ratio:.2f}", target, "yes" if met(ratio) else "NO"]

    rows = [
        row(f"1. overhead/node, {shape.label}", per_node[shape.label], commit_ms, "≤ 3 × commit", lambda r: r <= 3)
        for shape in big
    ]
    rows.append(
        row("1. one node checkpoint (write_nodes)", med(checkpoint_total), commit_ms, "≤ 3 × commit", lambda r: r <= 3)
    )
    mine, base = results["chain"]
    rows.append(row(f"2. chain of {CHAIN}", med([r.wall_ms for r in mine]), med(base), "< 1 × chain", lambda r: r < 1))
    for key, processes in (("fan1", 1), ("fan2", 2)):
        mine, base = results[key]
        rows.append(
            row(
                f"3. 1 → {FAN} → 1, {processes} process{'es' if processes > 1 else ''}",
                med([r.wall_ms for r in mine]),
                med(base),
                "≤ 1.5 × chord",
                lambda r: r <= 1.5,
            )
        )
    mine, base = results["single"]
    walls = [r.wall_ms for r in mine]
    rows.append(row("4. one node, median", med(walls), med(base), "≤ 3 × round trip", lambda r: r <= 3))
    rows.append(
        row(
            "4. one node, p95",
            _harness.percentile(walls, 0.95),
            _harness.percentile(base, 0.95),
            "≤ 3 × round trip",
            lambda r: r <= 3,
        )
    )
    print("Summary (case 1 per node; cases 2-4 from submit to the observed end; medians unless p95)")
    print(_harness.table(["case", "StructForge ms", "baseline ms", "ratio", "target", "met?"], rows, align="<>>><<"))
    print(
        "  baselines: 1 = one single-row INSERT+COMMIT; 2 = Celery chain of 40 no-op tasks; 3 = Celery chord of\n"
        "  100 no-ops into one; 4 = one no-op task, apply_async().get(). Same broker, result backend, worker, queue.\n"
    )

    print("Where the wall time goes (ms since execution_start was called; medians)")
    rows = []
    for key, label in (("chain", f"chain of {CHAIN}"), ("fan1", f"1 → {FAN} → 1"), ("single", "one node")):
        mine = results[key][0]
        rows.append(
            [label]
            + [
                f"{med([getattr(r, name) for r in mine]):.1f}"
                for name in ("returned_ms", "claimed_ms", "finished_ms", "wall_ms", "engine_ms")
            ]
        )
    print(_harness.table(["workflow", "call returned", "claimed", "finished", "end seen", "engine"], rows))
    print(
        "  call returned = execution_start done (rows, commit, wake-up message); claimed = started_at;\n"
        "  finished = finished_at; end seen = the end push received here; engine = finished − claimed."
    )
    if results.get("worker_errors"):
        print(f"  The worker logged {results['worker_errors']} ERROR line(s).")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        _harness.stop_all_workers()
        print("interrupted; workers stopped", file=sys.stderr)
        sys.exit(130)

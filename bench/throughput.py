"""Throughput of one-node runs through the API against raw Celery, queue wait, and the cost of admission.

Run: .venv/bin/python bench/throughput.py [--runs 1000] [--rounds 1] [--max-running 8] [--in-process]
     [--server daphne|uvicorn] [--web-processes 1] [--client lean|httpx] [--profile] [--skip-admission]
     [--skip-floor] [--reset-db]

Uses bench/_harness.py with a database, Redis database and queue prefix of its own
(structforge_bench_tp, Redis 14, `bench-tp-`; BENCH_* variables override them), so it can run
while other benchmarks run. Issue 4's cases except the WebSocket one (bench/ws_latency.py):

1. `--runs` one-node `noop` workflows submitted at once through `POST /api/v1/workflows/{id}/run/`
   (knox token, 16 requests in flight on keep-alive connections) to a real uvicorn (or daphne),
   drained to `success` by two
   `celery -A structforge worker --concurrency=1` processes with STRUCTFORGE_MAX_RUNNING set:
   runs/s from the first submit to the last `finished_at`. Against `--runs` raw Celery no-op
   tasks (bench.noop, a group, results in Redis) on the same broker, queue and workers, from the
   first send to the last result. `--in-process` submits with `execution_start` instead of HTTP.
   "ratio" divides the drain rates; "CPU ratio" divides the CPU of all processes per Celery
   no-op by that per run, which is what the ratio would be if both drains were bound by the CPU.
2. Queue wait of those runs: started_at - created_at, p50 / p99 / max.
3. `admission.admit_next()` in this process against N pending executions spread over W
   workflows of W users (no worker running): median µs and queries per admission. Each admitted
   run is put back to pending (untimed), so N stays constant.

4. The web process's CPU per request for requests that start no run (a 404 through the
   middleware, an authenticated API read), against the run request's in case 1: what any
   request costs before the run's own work.

The requests come from bench/_loadgen.py, a lean client whose CPU per request is a fraction of
httpx's (`--client httpx` for the old one): the load generator shares the server's two cores.

Nothing asserts: it prints tables, recorded in docs/benchmarks.md ("Throughput and admission").
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/structforge_bench_tp")
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("BENCH_QUEUE_PREFIX", "bench-tp-")

from bench import _harness, _loadgen

# The environment must be set before Django's settings load, so before argparse runs.
_harness.setup(reset="--reset-db" in sys.argv)

import httpx  # noqa: E402
from celery import group  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Max, Min  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from knox.models import AuthToken  # noqa: E402

from bench.celery_tasks import noop as celery_noop  # noqa: E402
from executions import admission, dispatch  # noqa: E402
from executions.models import Execution, ExecutionStatus, Priority, Trigger  # noqa: E402
from executions.services import execution_start  # noqa: E402
from structforge.celery import app  # noqa: E402
from workflows.models import Workflow  # noqa: E402
from workflows.services import workflow_create  # noqa: E402

USER = "bench-tp"
QUEUE = dispatch.queue_for(Priority.HIGH)  # where API runs go; the Celery baseline goes there too
ONE_NODE = {"nodes": [{"id": "a", "type": "noop"}], "edges": [], "settings": {}}
IN_FLIGHT = 16
TIMEOUT_S = 600.0
CLIENT = "lean"  # --client
SUBMIT_PROFILE: cProfile.Profile | None = None  # with --profile --in-process: execution_start
FINISHED = [ExecutionStatus.SUCCESS, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED]


def user_named(username: str):
    user, _ = get_user_model().objects.get_or_create(username=username)
    return user


def workflow_of(user, name: str = "one node") -> Workflow:
    for workflow in Workflow.objects.filter(owner=user, name=name).order_by("pk"):
        if workflow.definition == ONE_NODE and workflow.version == 1:
            return workflow
    return workflow_create(owner=user, name=name, definition=ONE_NODE)


# --- case 1 and 2 --------------------------------------------------------------------------------


async def _httpx_send_all(method: str, url: str, token: str, count: int) -> list[int]:
    statuses: list[int] = []
    semaphore = asyncio.Semaphore(IN_FLIGHT)
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    body = {"json": {}} if method == "POST" else {}
    async with httpx.AsyncClient(headers={"Authorization": f"Token {token}"}, limits=limits, timeout=120) as client:

        async def one() -> None:
            async with semaphore:
                response = await client.request(method, url, **body)
                statuses.append(response.status_code)

        await asyncio.gather(*(one() for _ in range(count)))
    return statuses


def _send_all(method: str, url: str, token: str, count: int) -> list[int]:
    if CLIENT == "httpx":
        return asyncio.run(_httpx_send_all(method, url, token, count))
    return _loadgen.send_all(
        method,
        url,
        count=count,
        in_flight=IN_FLIGHT,
        headers={"Authorization": f"Token {token}"},
        json_body={} if method == "POST" else None,
    )


def submit(workflow: Workflow, user, count: int, web: _harness.WebServer | None, token: str) -> tuple[float, dict]:
    """Submit `count` runs; returns seconds spent submitting and the HTTP status counts."""
    started = time.perf_counter()
    statuses: dict = {}
    if web is None:
        if SUBMIT_PROFILE is not None:
            SUBMIT_PROFILE.enable()
        for _ in range(count):
            execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=user)
        if SUBMIT_PROFILE is not None:
            SUBMIT_PROFILE.disable()
        statuses["in-process"] = count
    else:
        for code in _send_all("POST", f"{web.url}/api/v1/workflows/{workflow.pk}/run/", token, count):
            statuses[code] = statuses.get(code, 0) + 1
    return time.perf_counter() - started, statuses


def drain(workflow: Workflow, after_pk: int, count: int, workers: list[_harness.Worker]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    runs = Execution.objects.filter(workflow=workflow, pk__gt=after_pk)
    while time.monotonic() < deadline:
        if runs.filter(status__in=FINISHED).count() >= count:
            return
        for worker in workers:
            if worker.process.poll() is not None:
                raise RuntimeError(f"worker died: {worker.log()[-2000:]}")
        time.sleep(0.05)
    raise TimeoutError(f"{runs.exclude(status__in=FINISHED).count()} runs not finished after {TIMEOUT_S}s")


def cpu_now(web, workers) -> dict[str, dict[int, float]]:
    return _harness.run_cpu_seconds(
        trees={"web": [web.process.pid] if web else [], "workers": [w.process.pid for w in workers]},
        this_process="submitter" if web else "submitter (execution_start)",
    )


def api_round(workflow, user, count, web, token, workers) -> dict:
    after_pk = Execution.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    first_submit = timezone.now()
    cpu_before = cpu_now(web, workers)
    submit_s, statuses = submit(workflow, user, count, web, token)
    accepted = statuses.get(202, 0) + statuses.get("in-process", 0)
    drain(workflow, after_pk, accepted, workers)
    cpu_after = cpu_now(web, workers)
    runs = Execution.objects.filter(workflow=workflow, pk__gt=after_pk)
    span = runs.aggregate(last=Max("finished_at"), first_start=Min("started_at"))
    by_status: dict = {}
    for status in runs.values_list("status", flat=True):
        by_status[status] = by_status.get(status, 0) + 1
    waits = [
        (started - created).total_seconds() * 1000
        for created, started in runs.values_list("created_at", "started_at")
        if started is not None
    ]
    elapsed = (span["last"] - first_submit).total_seconds()
    return {
        "count": accepted,
        "elapsed_s": elapsed,
        "rate": accepted / elapsed,
        "submit_s": submit_s,
        "statuses": statuses,
        "by_status": by_status,
        "waits": waits,
        "cpu_ms": {
            role: seconds / max(accepted, 1) * 1000
            for role, seconds in _harness.cpu_used(cpu_before, cpu_after).items()
        },
    }


def celery_round(count: int, workers: list[_harness.Worker]) -> dict:
    # A worker process lingering after the runs of an API round would hold back the first no-ops.
    _harness.wait_for(lambda: dispatch.idle_workers() == 0)
    cpu_before = cpu_now(None, workers)
    started = time.perf_counter()
    result = group(celery_noop.s(i).set(queue=QUEUE) for i in range(count)).apply_async()
    sent = time.perf_counter()
    result.get(timeout=TIMEOUT_S)
    elapsed = time.perf_counter() - started
    cpu_ms = {
        role: seconds / count * 1000 for role, seconds in _harness.cpu_used(cpu_before, cpu_now(None, workers)).items()
    }
    result.forget()
    return {"count": count, "elapsed_s": elapsed, "rate": count / elapsed, "submit_s": sent - started, "cpu_ms": cpu_ms}


def throughput(args) -> list[str]:
    user = user_named(USER)
    _harness.clear_executions([user])
    workflow = workflow_of(user)
    AuthToken.objects.filter(user=user).delete()
    _, token = AuthToken.objects.create(user=user)
    app.control.purge()  # wake-ups left over from an interrupted run of this benchmark
    profile_dir = tempfile.mkdtemp(prefix="structforge-tp-prof-") if args.profile else None
    worker_env = {"STRUCTFORGE_MAX_RUNNING": str(args.max_running)}
    if profile_dir:
        worker_env["BENCH_PROFILE_DIR"] = profile_dir
    out: list[str] = []
    workers = [_harness.Worker(concurrency=1, include=("bench.celery_tasks",), extra_env=worker_env) for _ in range(2)]
    web = None if args.in_process else _harness.WebServer(name="tp", server=args.server, processes=args.web_processes)
    try:
        for worker in workers:
            worker.start()
        if web is not None:
            web.__enter__()
        # Warm-up: both sides load code, plan the version, open connections.
        api_round(workflow, user, 40, web, token, workers)
        celery_round(100, workers)
        api_rows, celery_rows, waits = [], [], []
        for _ in range(args.rounds):
            c = celery_round(args.runs, workers)
            a = api_round(workflow, user, args.runs, web, token, workers)
            celery_rows.append(c)
            api_rows.append(a)
            waits.extend(a["waits"])
            print(
                f"  round: celery {c['rate']:.0f}/s, api {a['rate']:.0f}/s {a['by_status']} {a['statuses']}", flush=True
            )
    finally:
        if web is not None:
            web.__exit__()
        for worker in workers:
            worker.stop()
    how = (
        "in-process execution_start"
        if args.in_process
        else f"HTTP POST via {args.server} x {args.web_processes} process(es), {IN_FLIGHT} in flight"
    )
    rows = []
    for i, (a, c) in enumerate(zip(api_rows, celery_rows, strict=True), 1):
        rows.append(
            [
                str(i),
                f"{a['rate']:.0f}",
                f"{a['elapsed_s']:.2f}",
                f"{a['count'] / a['submit_s']:.0f}",
                f"{c['rate']:.0f}",
                f"{c['elapsed_s']:.2f}",
                f"{a['rate'] / c['rate'] * 100:.0f} %",
                f"{sum(c['cpu_ms'].values()) / sum(a['cpu_ms'].values()) * 100:.0f} %",
                " ".join(f"{k}={v}" for k, v in sorted(a["by_status"].items()))
                + " (HTTP "
                + " ".join(f"{k}={v}" for k, v in a["statuses"].items())
                + ")",
            ]
        )
    out.append(
        f"1. {args.runs} one-node runs ({how}) vs {args.runs} raw Celery no-ops; 2 workers x concurrency 1, "
        f"STRUCTFORGE_MAX_RUNNING={args.max_running}"
    )
    # The ratio of drain rates moves with the machine's speed and the baseline's mood (it is
    # bimodal here); the ratio of CPU spent per task, a Celery no-op's to a run's, does not.
    out.append(
        _harness.table(
            ["round", "runs/s", "runs s", "submit/s", "celery/s", "celery s", "ratio", "CPU ratio", "final states"],
            rows,
            align="<>>>>>>><",
        )
    )
    out.append("")
    out.append(f"2. Queue wait (started_at - created_at) of those {len(waits)} runs")
    out.append(
        _harness.table(
            ["p50 ms", "p90 ms", "p99 ms", "max ms"],
            [
                [
                    f"{_harness.percentile(waits, 0.5):.0f}",
                    f"{_harness.percentile(waits, 0.9):.0f}",
                    f"{_harness.percentile(waits, 0.99):.0f}",
                    f"{max(waits):.0f}",
                ]
            ],
            align=">>>>",
        )
    )
    out.append("")
    out.append("1b. CPU per run (user + system), by process, over the submit and the drain; and per raw Celery no-op")
    roles = list(api_rows[0]["cpu_ms"])

    def cpu_row(label: str, cpu_ms: dict[str, float]) -> list[str]:
        # The raw Celery rounds have no web process, and their submitter is this process.
        by_role = {"submitter": cpu_ms.get("submitter (execution_start)", 0.0), **cpu_ms}
        return [label, *[f"{by_role.get(role, 0.0):.2f}" for role in roles], f"{sum(cpu_ms.values()):.2f}"]

    out.append(
        _harness.table(
            ["round", *[f"{role} ms" for role in roles], "total ms"],
            [cpu_row(f"{i} runs", a["cpu_ms"]) for i, a in enumerate(api_rows, 1)]
            + [cpu_row(f"{i} celery", c["cpu_ms"]) for i, c in enumerate(celery_rows, 1)],
            align="<" + ">" * (len(roles) + 1),
        )
    )
    if SUBMIT_PROFILE is not None:
        stream = io.StringIO()
        pstats.Stats(SUBMIT_PROFILE, stream=stream).sort_stats("cumulative").print_stats(30)
        out.append("execution_start profile (in-process submits, cumulative, top 30):")
        out.append(stream.getvalue())
    if profile_dir:
        out.append("")
        out.append("Worker profile (executions.run_execution, both workers, cumulative, top 25):")
        stream = io.StringIO()
        stats = None
        for path in glob.glob(os.path.join(profile_dir, "*.prof")):
            try:  # a worker stopped while dumping leaves a truncated file
                stats = pstats.Stats(path, stream=stream) if stats is None else stats.add(path)
            except (EOFError, ValueError):
                out.append(f"(skipped truncated {path})")
        if stats is not None:
            stats.sort_stats("cumulative").print_stats(25)
            stats.sort_stats("tottime").print_stats(15)
            out.append(stream.getvalue())
    _harness.clear_executions([user])
    return out


# --- case 3 --------------------------------------------------------------------------------------


def pending_rows(workflows: list[Workflow], count: int) -> None:
    Execution.objects.bulk_create(
        [
            Execution(
                workflow=workflows[i % len(workflows)],
                owner_id=workflows[i % len(workflows)].owner_id,
                workflow_version=1,
                definition=ONE_NODE,
                trigger=Trigger.API,
                priority=Priority.HIGH,
                input={},
            )
            for i in range(count)
        ],
        batch_size=1000,
    )


def admission_cost(args) -> list[str]:
    shapes = [(1, 1), (100, 1), (100, 10), (1_000, 1), (1_000, 10), (1_000, 100)]
    users = [user_named(f"bench-tp-adm-{i}") for i in range(100)]
    workflows = [workflow_of(user, "admission") for user in users]
    rows = []
    profiler = cProfile.Profile() if args.profile else None
    for pending, spread in shapes:
        _harness.clear_executions(users)
        pending_rows(workflows[:spread], pending)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE executions_execution")
        samples, queries = [], []
        for i in range(args.admissions):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                if profiler is not None and pending == 1_000 and spread == 100:
                    profiler.enable()
                claim = admission.admit_next()
                if profiler is not None:
                    profiler.disable()
                elapsed = time.perf_counter() - started
            if claim is None:
                raise RuntimeError("nothing admitted")
            if i >= 5:  # the first few warm caches up
                samples.append(elapsed * 1e6)
                queries.append(len(captured.captured_queries))
            Execution.objects.filter(pk=claim.execution_id).update(
                status=ExecutionStatus.PENDING, attempt=0, heartbeat_at=None, started_at=None
            )
        rows.append(
            [
                str(pending),
                str(spread),
                f"{_harness.median(samples):.0f}",
                f"{_harness.percentile(samples, 0.9):.0f}",
                f"{_harness.median(queries):.0f}",
                f"{1e6 / _harness.median(samples):.0f}",
            ]
        )
        print(f"  admission {pending} pending / {spread}: {rows[-1][2]} µs", flush=True)
    _harness.clear_executions(users)
    out = [
        f"3. admit_next() in-process, {args.admissions - 5} admissions each (after 5 warm-up), nothing running, "
        f"workflows of distinct users, all high priority"
    ]
    out.append(
        _harness.table(["pending", "workflows/users", "median µs", "p90 µs", "queries", "admissions/s (1 lock)"], rows)
    )
    if profiler is not None:
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(20)
        out.append("admit_next profile, 1,000 pending over 100 users:")
        out.append(stream.getvalue())
    return out


# --- case 4 --------------------------------------------------------------------------------------

FLOOR_REQUESTS = 2_000


def web_floor(args) -> list[str]:
    """CPU per request of the web process (and of this client) for requests that start no run:
    the least any request through Django's middleware costs, and an authenticated API read."""
    user = user_named(USER)
    AuthToken.objects.filter(user=user).delete()
    _, token = AuthToken.objects.create(user=user)
    cases = [
        ("GET /nope (404 through the middleware; no DRF, no query)", "/nope"),
        ("GET /api/v1/quota/ (DRF, knox token, 6 queries)", "/api/v1/quota/"),
    ]
    rows = []
    with _harness.WebServer(name="floor", server=args.server) as server:
        for label, path in cases:
            _send_all("GET", server.url + path, token, 100)  # warm-up
            before = cpu_now(server, [])
            started = time.perf_counter()
            statuses = _send_all("GET", server.url + path, token, FLOOR_REQUESTS)
            elapsed = time.perf_counter() - started
            used = _harness.cpu_used(before, cpu_now(server, []))
            rows.append(
                [
                    label,
                    f"{used['web'] / FLOOR_REQUESTS * 1000:.2f}",
                    f"{used['submitter'] / FLOOR_REQUESTS * 1000:.2f}",
                    f"{FLOOR_REQUESTS / elapsed:.0f}",
                    ", ".join(f"{code}={statuses.count(code)}" for code in sorted(set(statuses))),
                ]
            )
    return [
        f"4. Requests that start no run, {FLOOR_REQUESTS} each via {args.server}, {IN_FLIGHT} in flight",
        _harness.table(["request", "web ms CPU", "client ms CPU", "requests/s", "statuses"], rows),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--max-running", type=int, default=8)
    parser.add_argument("--admissions", type=int, default=105)
    parser.add_argument("--in-process", action="store_true", help="submit with execution_start, not HTTP")
    parser.add_argument("--server", choices=["daphne", "uvicorn"], default="uvicorn", help="the ASGI server for HTTP")
    parser.add_argument("--web-processes", type=int, default=1, help="uvicorn --workers")
    parser.add_argument("--client", choices=["lean", "httpx"], default="lean", help="the HTTP load generator")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-admission", action="store_true")
    parser.add_argument("--skip-floor", action="store_true")
    parser.add_argument("--reset-db", action="store_true")
    args = parser.parse_args()
    global SUBMIT_PROFILE, CLIENT
    CLIENT = args.client
    if args.profile and args.in_process:
        SUBMIT_PROFILE = cProfile.Profile()
    _harness.stop_workers_on_signals()
    info = _harness.machine()
    with os.popen("uptime") as uptime:
        info["uptime"] = uptime.read().strip()
    lines = [f"{key}: {value}" for key, value in info.items()]
    lines.append(
        f"MAX_RUNNING for the workers: {args.max_running}; USER_MAX_RUNNING {settings.STRUCTFORGE_USER_MAX_RUNNING}"
    )
    lines.append("")
    try:
        if not args.skip_throughput:
            lines += throughput(args)
            lines.append("")
        if not args.skip_admission:
            lines += admission_cost(args)
            lines.append("")
        if not args.skip_floor:
            lines += web_floor(args)
    finally:
        _harness.stop_all_workers()
    print("\n".join(lines))


if __name__ == "__main__":
    main()

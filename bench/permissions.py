"""What sharing costs the workflow list: a user who sees 10,000 workflows of someone else through
shares against an owner who sees 10,000 of their own, and the permission sync of a folder share.

Run: .venv/bin/python bench/permissions.py [--repeats N] [--sync-repeats N] [--rebuild] [--explain]

Uses its own database, structforge_bench_perms (created and migrated when missing; override
with BENCH_DATABASE_URL), and builds the data once (kept for later runs; `--rebuild` starts over):

- `bench-sharer` owns 10,000 workflows: 5,000 in the folder "Shared", shared with `bench-shared`
  as executor (one folder grant); 2,500 shared with `bench-shared` directly as viewer; 2,500
  shared as editor with the group `bench-team`, of which `bench-shared` is a member;
- `bench-owner` owns 10,000 workflows and shares none.

For each of the two users it times, through Django's test Client (force_login) the way the
dashboard calls the API, `GET /api/v1/workflows/` (page 1 and page 50 of 50 rows), a `?search=`
that matches 1 workflow in 10, and the count of `workflows_visible_to` alone: the median of
`--repeats` runs after one warm-up, the two users alternating run by run, with the number of
SQL queries. When the server has JIT on, the same again after `SET jit = off`. Then it times
`workflow_permissions_sync` over the 5,000 workflows of the shared folder, and the whole
`grant_set` / `grant_revoke` of a folder share on it (each rewrites those 5,000 workflows'
permissions), median of `--sync-repeats` runs. `--explain` prints EXPLAIN ANALYZE of the list's
queries for both users.

Nothing asserts: it prints tables, recorded in docs/benchmarks.md ("Permissions").
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _harness

# The environment must be set before Django's settings load.
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/structforge_bench_perms")
_harness.setup(reset="--reset-db" in sys.argv)

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from sharing.models import Grant  # noqa: E402
from sharing.services import grant_revoke, grant_set, workflow_permissions_sync  # noqa: E402
from workflows.models import Folder, Workflow, WorkflowVersion  # noqa: E402
from workflows.selectors import workflows_visible_to  # noqa: E402

PER_USER = 10_000
IN_FOLDER, DIRECT, THROUGH_GROUP = 5_000, 2_500, 2_500
SEARCH_WORD = "invoice"  # in the name of one workflow in 10
DEFINITION = {
    "nodes": [
        {"id": "fetch", "type": "http_request", "params": {"method": "GET", "url": "https://example.com/orders"}},
        {"id": "done", "type": "noop"},
    ],
    "edges": [{"source": "fetch", "target": "done"}],
    "settings": {},
}
User = get_user_model()


# --- data ----------------------------------------------------------------------------------------


def _workflows(owner, count: int, folder: Folder | None, start: int) -> list[int]:
    rows = [
        Workflow(
            owner=owner,
            folder=folder,
            name=f"{'Invoice' if (start + i) % 10 == 0 else 'Report'} {start + i:05d}",
            description=f"Workflow number {start + i} of {owner.username}",
            definition=DEFINITION,
            version=1,
        )
        for i in range(count)
    ]
    created = Workflow.objects.bulk_create(rows, batch_size=2_000)
    WorkflowVersion.objects.bulk_create(
        [WorkflowVersion(workflow=w, number=1, definition=DEFINITION, created_by=owner) for w in created],
        batch_size=2_000,
    )
    return [w.pk for w in created]


def _ready() -> bool:
    users = {u.username: u for u in User.objects.filter(username__in=["bench-sharer", "bench-owner", "bench-shared"])}
    if len(users) != 3:
        return False
    shared = users["bench-shared"]
    return (
        Workflow.objects.filter(owner=users["bench-sharer"]).count() == PER_USER
        and Workflow.objects.filter(owner=users["bench-owner"]).count() == PER_USER
        and workflows_visible_to(user=shared).count() == PER_USER
        and not Grant.objects.filter(workflow__owner=users["bench-owner"]).exists()
    )


@transaction.atomic
def build() -> None:
    """The data set, written in bulk; the grants' permissions through the real sync."""
    User.objects.filter(username__startswith="bench-").delete()
    Group.objects.filter(name="bench-team").delete()
    sharer = User.objects.create_user("bench-sharer")
    owner = User.objects.create_user("bench-owner")
    shared = User.objects.create_user("bench-shared")
    User.objects.create_user("bench-other")  # for the folder share timed below
    team = Group.objects.create(name="bench-team")
    shared.groups.add(team)
    folder = Folder.objects.create(owner=sharer, name="Shared")

    in_folder = _workflows(sharer, IN_FOLDER, folder, 0)
    direct = _workflows(sharer, DIRECT, None, IN_FOLDER)
    grouped = _workflows(sharer, THROUGH_GROUP, None, IN_FOLDER + DIRECT)
    _workflows(owner, PER_USER, None, 0)
    Grant.objects.create(folder=folder, user=shared, role="executor", granted_by=sharer)
    Grant.objects.bulk_create(Grant(workflow_id=w, user=shared, role="viewer", granted_by=sharer) for w in direct)
    Grant.objects.bulk_create(Grant(workflow_id=w, group=team, role="editor", granted_by=sharer) for w in grouped)
    workflow_permissions_sync(workflow_ids=in_folder + direct + grouped)
    workflow_permissions_sync(workflow_ids=Workflow.objects.filter(owner=owner).values_list("pk", flat=True))


# --- measuring -----------------------------------------------------------------------------------


def _queries(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        call()
    # Read now: the captured list is a slice of the connection's log, which the next request clears.
    return len(queries)


def _ms(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def timed(calls: dict, repeats: int) -> dict[str, tuple[float, int, object]]:
    """For each call: the median milliseconds over `repeats` runs after a warm-up, the SQL queries
    of one run and its result. The calls alternate run by run, so a change in the machine's load
    weighs on all of them alike."""
    results = {who: call() for who, call in calls.items()}
    queries = {who: _queries(call) for who, call in calls.items()}
    times: dict[str, list[float]] = {who: [] for who in calls}
    for _ in range(repeats):
        for who, call in calls.items():
            times[who].append(_ms(call))
    return {who: (_harness.median(times[who]), queries[who], results[who]) for who in calls}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def get(client: Client, path: str, **params):
    def call():
        response = client.get(path, params)
        assert response.status_code == 200, response.content[:300]
        return response.json()

    return call


def list_rows(users: dict, repeats: int) -> list[list[str]]:
    rows = []
    cases = [
        ("list, page 1", "/api/v1/workflows/", {}),
        ("list, page 50", "/api/v1/workflows/", {"page": 50}),
        (f"search ?search={SEARCH_WORD}", "/api/v1/workflows/", {"search": SEARCH_WORD}),
    ]
    for label, path, params in cases:
        measured = timed({who: get(client_for(user), path, **params) for who, user in users.items()}, repeats)
        rows.append(
            _row(label, {who: (ms, q, body["count"], len(body["results"])) for who, (ms, q, body) in measured.items()})
        )
    counts = {who: (lambda user=user: workflows_visible_to(user=user).count()) for who, user in users.items()}
    measured = timed(counts, repeats)
    rows.append(_row("count (selector only)", {who: (ms, q, count, "-") for who, (ms, q, count) in measured.items()}))
    return rows


def _row(label: str, measured: dict) -> list[str]:
    shared, owner = measured["shared"], measured["owner"]
    return [
        label,
        f"{shared[2]:,} / {shared[3]}",
        f"{shared[0]:.1f}",
        str(shared[1]),
        f"{owner[0]:.1f}",
        str(owner[1]),
        f"{shared[0] / owner[0]:.2f}×",
    ]


def sync_rows(repeats: int) -> list[list[str]]:
    folder = Folder.objects.get(owner__username="bench-sharer", name="Shared")
    ids = list(Workflow.objects.filter(folder=folder).values_list("pk", flat=True))
    other = User.objects.get(username="bench-other")
    sharer = folder.owner
    rows = []

    median, queries, _ = timed({"sync": lambda: workflow_permissions_sync(workflow_ids=ids)}, repeats)["sync"]
    rows.append(["workflow_permissions_sync, 5,000 workflows", f"{median:.0f}", str(queries)])

    shares, revokes, share_queries, revoke_queries = [], [], 0, 0
    for index in range(repeats + 1):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            grant = grant_set(folder=folder, user=other, role="viewer", granted_by=sharer)
            shared_ms = (time.perf_counter() - started) * 1000
        share_queries = len(queries)
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            grant_revoke(grant=grant, revoked_by=sharer)
            revoked_ms = (time.perf_counter() - started) * 1000
        revoke_queries = len(queries)
        if index:  # the first round warms up
            shares.append(shared_ms)
            revokes.append(revoked_ms)
    rows.append(["grant_set, folder of 5,000", f"{_harness.median(shares):.0f}", str(share_queries)])
    rows.append(["grant_revoke, folder of 5,000", f"{_harness.median(revokes):.0f}", str(revoke_queries)])
    return rows


def _jit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        return cursor.fetchone()[0]


def explain(users: dict) -> None:
    """EXPLAIN ANALYZE of the queries one list request makes, for each user."""
    for who, user in users.items():
        with CaptureQueriesContext(connection) as queries:
            client_for(user).get("/api/v1/workflows/", {"page": 50})
        for query in queries.captured_queries:
            if "workflows_workflow" not in query["sql"]:
                continue
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                plan = "\n".join(line for (line,) in cursor.fetchall())
            print(f"\n--- {who}: {query['sql'][:120]}…\n{plan}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--sync-repeats", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the data set")
    parser.add_argument("--reset-db", action="store_true", help="drop the database first")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the list queries")
    args = parser.parse_args()

    if args.rebuild or not _ready():
        started = time.perf_counter()
        build()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"built the data set in {time.perf_counter() - started:.0f} s")
    users = {
        "shared": User.objects.get(username="bench-shared"),
        "owner": User.objects.get(username="bench-owner"),
    }

    for key, value in _harness.machine().items():
        print(f"{key:>13}: {value}")
    headers = ["request", "count / rows", "shared ms", "queries", "owner ms", "queries", "shared/owner"]
    print(f"\nWorkflow list, median of {args.repeats} runs (ms), SQL queries per request; jit = {_jit()} (server)")
    print(_harness.table(headers, list_rows(users, args.repeats)))
    if _jit() == "on":
        # The role annotation makes the planner's estimate of the list query cross jit_above_cost,
        # and compiling it costs more than running it: the same requests without JIT.
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        print(f"\nThe same with SET jit = off, median of {args.repeats} runs (ms)")
        print(_harness.table(headers, list_rows(users, args.repeats)))
        with connection.cursor() as cursor:
            cursor.execute("RESET jit")
    print(f"\nPermission sync, median of {args.sync_repeats} runs")
    print(_harness.table(["operation", "ms", "queries"], sync_rows(args.sync_repeats)))
    if args.explain:
        explain(users)


if __name__ == "__main__":
    main()

"""PostgreSQL restarts mid-run: the worker rides it out, the run ends, finished nodes stay finished.

Every checkpoint write retries while the database is unreachable (`executions/db_retry.py`), so
a restart costs the run some seconds, not its result, and the worker reconnects instead of dying.
The cluster is the test's own (`private_postgres`): the machine's PostgreSQL is never touched.
"""

import time

import psycopg
import pytest
from django.conf import settings

from tests.chaos.private_services import django_shell
from tests.workers import wait_until

pytestmark = pytest.mark.chaos

SETUP = """
import json
from django.contrib.auth import get_user_model
from workflows.services import workflow_create

owner = get_user_model().objects.create_user(username="carol", password="unused-password-9f3k")
workflow = workflow_create(
    owner=owner,
    name="Slow",
    definition={
        "nodes": [
            {"id": "first", "type": "set", "params": {"values": {"step": 1}}},
            {"id": "wait1", "type": "delay", "params": {"seconds": 2}},
            {"id": "wait2", "type": "delay", "params": {"seconds": 2}},
            {"id": "last", "type": "set", "params": {"values": {"step": 4}}},
        ],
        "edges": [
            {"source": "first", "target": "wait1"},
            {"source": "wait1", "target": "wait2"},
            {"source": "wait2", "target": "last"},
        ],
    },
)
print(json.dumps(workflow.pk))
"""

START = """
import json
from executions.models import Trigger
from executions.services import execution_start
from workflows.models import Workflow

workflow = Workflow.objects.get(pk={workflow_id})
print(json.dumps(execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=workflow.owner).pk))
"""

ENDED = ("success", "failed", "cancelled")
# How long the database stays down: longer than a heartbeat, so the worker's writes meet it down.
OUTAGE_S = 2.0


def query(url: str, sql: str, *params) -> list[tuple] | None:
    """The rows of `sql`, or None while the database cannot be reached."""
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            return conn.execute(sql, params).fetchall()
    except psycopg.OperationalError:
        return None


def execution_status(url: str, execution_id: int) -> str | None:
    rows = query(url, "SELECT status FROM executions_execution WHERE id = %s", execution_id)
    return rows[0][0] if rows else None


def node(url: str, execution_id: int, node_id: str) -> tuple[str, int] | None:
    sql = "SELECT status, attempt FROM executions_noderun WHERE execution_id = %s AND node_id = %s"
    rows = query(url, sql, execution_id, node_id)
    return rows[0] if rows else None


def test_a_run_survives_a_postgres_restart_and_the_worker_reconnects(private_postgres, start_worker):
    url = private_postgres.url("structforge")
    # The machine's Redis with queues of this test's own; the worker's database is the private one.
    env = {"DATABASE_URL": url, "REDIS_URL": settings.REDIS_URL, "STRUCTFORGE_QUEUE_PREFIX": "chaos-pg-"}
    workflow_id = django_shell(SETUP, env)
    # The delays run on the worker (not parked), so the worker is mid-run when the database goes.
    worker = start_worker(extra_env={**env, "STRUCTFORGE_PARK_THRESHOLD_S": "30"}, concurrency=1)

    execution_id = django_shell(START.format(workflow_id=workflow_id), env)
    wait_until(lambda: (node(url, execution_id, "first") or ("",))[0] == "success", timeout_s=60)
    assert execution_status(url, execution_id) == "running"

    private_postgres.stop("fast")  # every connection is closed under the worker's feet
    time.sleep(OUTAGE_S)
    private_postgres.start()

    wait_until(lambda: execution_status(url, execution_id) in ENDED, timeout_s=60)
    assert execution_status(url, execution_id) == "success", worker.log()[-5000:]
    assert node(url, execution_id, "first") == ("success", 1)  # finished before the restart: not run again
    assert node(url, execution_id, "last") == ("success", 1)
    assert query(url, "SELECT output FROM executions_execution WHERE id = %s", execution_id) == [
        ({"last": {"step": 4}},)
    ]

    # The same worker process, reconnected, serves a run submitted after the restart.
    after = django_shell(START.format(workflow_id=workflow_id), env)
    wait_until(lambda: execution_status(url, after) in ENDED, timeout_s=60)
    assert execution_status(url, after) == "success", worker.log()[-5000:]
    assert worker.alive(), worker.log()[-5000:]

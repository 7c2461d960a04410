"""Redis crashes mid-run and comes back empty: every run still ends, none is lost.

PostgreSQL is the queue and a Celery message only a wake-up, so losing Redis loses wake-ups and
live events, never runs: runs in progress finish, a run submitted meanwhile is accepted (the
execution row is the outbox), and the reconciler wakes a worker for it once Redis is back.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest

from executions.models import Execution
from tests.chaos.private_services import django_shell
from tests.workers import database_url, wait_until
from workflows.services import workflow_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chaos]

SLOW = {
    "nodes": [
        {"id": "before", "type": "set", "params": {"values": {"step": 1}}},
        {"id": "wait", "type": "delay", "params": {"seconds": 2}},
        {"id": "after", "type": "set", "params": {"values": {"step": 3}}},
    ],
    "edges": [{"source": "before", "target": "wait"}, {"source": "wait", "target": "after"}],
}

SUBMIT = """
import json
from executions.models import Trigger
from executions.services import execution_start
from workflows.models import Workflow

workflow = Workflow.objects.get(pk={workflow_id})
runs = [execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=workflow.owner) for _ in range({count})]
print(json.dumps([run.pk for run in runs]))
"""

LIVE_STATUSES = """
import json
from executions import live

print(json.dumps([(live.live_state(pk) or {{}}).get("execution", {{}}).get("status") for pk in {ids}]))
"""

RECONCILE = """
import json
from executions.services import queue_reconcile

print(json.dumps(queue_reconcile()))
"""

ENDED = ("success", "failed", "cancelled")


def statuses(ids: list[int]) -> dict[int, str]:
    return dict(Execution.objects.filter(pk__in=ids).values_list("pk", "status"))


def test_runs_survive_a_redis_crash_and_runs_submitted_meanwhile_start_once_it_is_back(
    alice, private_redis, start_worker
):
    # Everything that talks to Redis runs against the private server: the test process's own
    # Celery app is bound to the machine's Redis, so submitting happens in subprocesses.
    env = {"DATABASE_URL": database_url(), "REDIS_URL": private_redis.url, "STRUCTFORGE_QUEUE_PREFIX": "chaos-redis-"}
    workflow = workflow_create(owner=alice, name="Slow", definition=SLOW)
    # The 2 s delay runs on the worker (not parked): a worker is mid-run when Redis dies.
    worker = start_worker(extra_env={**env, "STRUCTFORGE_PARK_THRESHOLD_S": "30"}, concurrency=2)
    submit = SUBMIT.format(workflow_id=workflow.pk, count=4)

    before = django_shell(submit, env)
    wait_until(lambda: "running" in statuses(before).values(), timeout_s=60)
    private_redis.kill()

    # Runs in progress end without Redis; the loop that ran them also starts the waiting ones
    # (PostgreSQL, not the lost wake-ups, says what waits).
    wait_until(lambda: all(status in ENDED for status in statuses(before).values()), timeout_s=60)
    # While the broker is down a submit waits for its connect timeout before giving up on the
    # wake-up: two submitters at once keep the test short.
    submit_one = SUBMIT.format(workflow_id=workflow.pk, count=1)
    with ThreadPoolExecutor(2) as pool:
        during = [pk for ids in pool.map(lambda _: django_shell(submit_one, env), range(2)) for pk in ids]
    assert statuses(during) == dict.fromkeys(during, "pending")

    private_redis.start()
    # What beat does periodically: wake a worker for each run ready to start that has no wake-up.
    assert django_shell(RECONCILE, env) == 2

    everything = before + during
    wait_until(lambda: all(status in ENDED for status in statuses(everything).values()), timeout_s=60)
    assert statuses(everything) == dict.fromkeys(everything, "success")
    assert Execution.objects.filter(workflow=workflow).count() == len(everything)
    for execution in Execution.objects.filter(pk__in=everything):
        assert execution.output == {"after": {"step": 3}}
        assert sorted(execution.node_runs.values_list("node_id", "status")) == [
            ("after", "success"),
            ("before", "success"),
            ("wait", "success"),
        ]
    # Live status works again once Redis is back: the runs started since then published their end.
    assert django_shell(LIVE_STATUSES.format(ids=during), env) == ["success", "success"]
    assert worker.alive(), worker.log()[-3000:]

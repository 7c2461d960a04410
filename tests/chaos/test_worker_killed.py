"""A worker SIGKILLed in the middle of a run: another worker finishes it from its checkpoints."""

import pytest

from executions import dispatch
from executions.models import Execution, Trigger
from executions.services import execution_start, queue_reconcile
from tests.http_server import Reply
from tests.workers import wait_for, wait_until
from workflows.services import workflow_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chaos]

# Its own queues, so no other worker of the test session can take this run.
CHAOS_QUEUES = {"STRUCTFORGE_QUEUE_PREFIX": "chaos-killed-"}


def test_a_killed_workers_run_is_finished_by_another_without_rerunning_finished_nodes(
    alice, settings, start_worker, server
):
    settings.STRUCTFORGE_QUEUE_PREFIX = CHAOS_QUEUES["STRUCTFORGE_QUEUE_PREFIX"]
    server.routes["/first"] = Reply(200, {"step": 1})
    server.routes["/last"] = Reply(200, {"step": 3})
    workflow = workflow_create(
        owner=alice,
        name="Three steps",
        definition={
            "nodes": [
                {"id": "first", "type": "http_request", "params": {"method": "GET", "url": f"{server.url}/first"}},
                # Shorter than the tests' park threshold (1 s): the worker is killed inside the node,
                # not after it parked the run (which would make a takeover plus a wake-up).
                {"id": "wait", "type": "delay", "params": {"seconds": 0.9}},
                {"id": "last", "type": "http_request", "params": {"method": "GET", "url": f"{server.url}/last"}},
            ],
            "edges": [{"source": "first", "target": "wait"}, {"source": "wait", "target": "last"}],
        },
    )
    doomed = start_worker(extra_env=CHAOS_QUEUES, concurrency=1)
    execution = execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=alice)
    runs = execution.node_runs
    wait_until(lambda: runs.filter(node_id="first", status="success").exists())
    wait_until(lambda: runs.filter(node_id="wait", status="running").exists())

    doomed.kill()
    start_worker(extra_env=CHAOS_QUEUES, concurrency=1)

    execution = wait_for(execution, "success", timeout_s=60)
    first, wait, last = (runs.get(node_id=node_id) for node_id in ("first", "wait", "last"))
    assert (execution.attempt, execution.recoveries) == (2, 1)
    assert (first.attempt, wait.attempt, last.attempt) == (1, 2, 1)
    assert (server.hits("/first"), server.hits("/last")) == (1, 1)
    assert execution.output == {"last": last.output}
    assert Execution.objects.get(pk=execution.pk).status == "success"


def test_a_run_nudged_to_a_killed_idle_worker_is_started_by_the_reconciler(alice, settings, start_worker):
    settings.STRUCTFORGE_QUEUE_PREFIX = "chaos-idle-killed-"
    queues = {"STRUCTFORGE_QUEUE_PREFIX": settings.STRUCTFORGE_QUEUE_PREFIX}
    workflow = workflow_create(owner=alice, name="One step", definition={"nodes": [{"id": "only", "type": "noop"}]})
    doomed = start_worker(extra_env={**queues, "STRUCTFORGE_WORKER_LINGER_S": "60"}, concurrency=1)
    wait_for(execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=alice), "success")
    wait_until(lambda: dispatch.idle_workers() == 1)

    doomed.kill()
    execution = execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=alice)

    # The nudge went to the dead process's inbox: no wake-up is queued, and nobody looks.
    assert (dispatch.idle_workers(), dispatch.queued_wakeups()) == (0, 0)
    start_worker(extra_env=queues, concurrency=1)
    assert Execution.objects.get(pk=execution.pk).status == "pending"
    assert queue_reconcile() == 1
    assert wait_for(execution, "success").status == "success"

"""Runs whose worker vanished: the reaper hands them to a live worker, and gives up after the limit."""

from datetime import timedelta

import pytest
from django.utils import timezone

from executions.engine import work
from executions.models import Execution, Trigger
from executions.services import execution_start, executions_reap
from tests.workers import wait_for
from workflows.services import workflow_create

pytestmark = pytest.mark.django_db(transaction=True)


def orphan(alice, *, recoveries: int = 0) -> Execution:
    """An execution that a worker claimed and then died on: running, heartbeat long stale."""
    workflow = workflow_create(
        owner=alice,
        name="Orphaned",
        definition={"nodes": [{"id": "a", "type": "set", "params": {"values": {"done": True}}}]},
    )
    execution = execution_start(workflow=workflow, trigger=Trigger.WEBHOOK, triggered_by=None, delay_s=3600)
    long_ago = timezone.now() - timedelta(minutes=10)
    Execution.objects.filter(pk=execution.pk).update(
        status="running", attempt=1, started_at=long_ago, heartbeat_at=long_ago, not_before=None, recoveries=recoveries
    )
    return execution


def test_the_reaper_hands_a_run_whose_worker_died_to_a_live_worker(worker, alice):
    execution = orphan(alice)

    assert executions_reap() == 1

    execution = wait_for(execution, "success")
    assert (execution.recoveries, execution.attempt) == (1, 2)
    assert execution.output == {"a": {"done": True}}


def test_a_run_that_keeps_losing_its_workers_is_given_up_after_the_limit(alice, settings):
    settings.STRUCTFORGE_MAX_RECOVERIES = 3
    execution = orphan(alice, recoveries=3)

    assert work(execution.pk) == 0  # the wake-up the reaper sends for it

    execution.refresh_from_db()
    assert execution.status == "failed"
    assert execution.error == "The execution was given up after 3 recoveries from lost workers."
    assert execution.node_runs.get().status == "cancelled"


def test_a_wake_up_delivered_again_resumes_a_run_whose_worker_died(alice):
    execution = orphan(alice)

    assert work(doorbell="structforge:doorbell:test", redelivered=True) == 1

    execution.refresh_from_db()
    assert (execution.status, execution.recoveries, execution.attempt) == ("success", 1, 2)


def test_a_first_delivery_looks_only_for_new_runs_and_leaves_orphans_to_the_reaper(alice):
    execution = orphan(alice)

    assert work(doorbell="structforge:doorbell:test") == 0

    execution.refresh_from_db()
    assert (execution.status, execution.attempt) == ("running", 1)

"""Checkpoints as the engine writes them: the end of a run (its last node changes, the nodes it
leaves unfinished, the fence on the claim) and the heartbeat of a parked run."""

from datetime import timedelta

import pytest
from django.utils import timezone

from executions.admission import admit_next
from executions.checkpoints import LostClaim, NodeChange, finish, heartbeat, park
from executions.models import Execution, Trigger
from executions.services import execution_start
from workflows.services import workflow_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def claimed(alice, no_worker):
    definition = {
        "nodes": [{"id": node_id, "type": "noop"} for node_id in ("done", "started", "waiting")],
        "edges": [{"source": "done", "target": "started"}, {"source": "started", "target": "waiting"}],
    }
    workflow = workflow_create(owner=alice, name="Three", definition=definition)
    execution = execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=alice)
    claim = admit_next()
    assert claim.execution_id == execution.pk
    return claim


def node_runs(claim) -> dict[str, tuple]:
    runs = Execution.objects.get(pk=claim.execution_id).node_runs.all()
    return {run.node_id: (run.status, run.output, run.started_at, run.finished_at) for run in runs}


def test_a_failed_end_cancels_what_it_leaves_unfinished_and_keeps_the_rest_of_each_change(claimed):
    started_at = timezone.now()
    changes = [
        NodeChange("done", "success", output={"ok": True}, started_at=started_at, finished_at=started_at),
        NodeChange("started", "running", started_at=started_at),
    ]

    finish(claimed, status="failed", error="Stopped.", node_changes=changes)

    execution = Execution.objects.get(pk=claimed.execution_id)
    assert (execution.status, execution.error) == ("failed", "Stopped.")
    runs = node_runs(claimed)
    assert runs["done"] == ("success", {"ok": True}, started_at, started_at)
    assert runs["started"][:3] == ("cancelled", None, started_at)
    assert runs["started"][3] == execution.finished_at
    assert runs["waiting"] == ("cancelled", None, None, execution.finished_at)


def test_a_successful_end_writes_its_last_changes_with_the_final_state(claimed):
    at = timezone.now()
    changes = [
        NodeChange(node_id, "success", output=node_id, started_at=at, finished_at=at)
        for node_id in ("done", "started", "waiting")
    ]

    finish(claimed, status="success", output={"last": 1}, node_changes=changes)

    execution = Execution.objects.get(pk=claimed.execution_id)
    assert (execution.status, execution.output) == ("success", {"last": 1})
    assert {node_id: run[:2] for node_id, run in node_runs(claimed).items()} == {
        "done": ("success", "done"),
        "started": ("success", "started"),
        "waiting": ("success", "waiting"),
    }


def test_an_end_whose_claim_was_taken_over_writes_nothing(claimed):
    Execution.objects.filter(pk=claimed.execution_id).update(attempt=2)

    with pytest.raises(LostClaim):
        finish(claimed, status="failed", node_changes=[NodeChange("done", "success", output=1)])

    execution = Execution.objects.get(pk=claimed.execution_id)
    assert execution.status == "running"
    assert {run[0] for run in node_runs(claimed).values()} == {"pending"}


def test_a_heartbeat_that_comes_after_the_park_leaves_the_parked_run_without_one(claimed):
    park(claimed, wake_at=timezone.now() + timedelta(minutes=5), node_changes=[])

    assert heartbeat(claimed) == (True, False)
    assert Execution.objects.get(pk=claimed.execution_id).heartbeat_at is None

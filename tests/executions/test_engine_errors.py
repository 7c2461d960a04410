"""An error inside the engine itself ends the run `failed`; it is not left running for the reaper to retry."""

import pytest

from executions.admission import admit_next
from executions.engine import run_claimed
from executions.models import Trigger
from executions.services import execution_start
from workflows.services import workflow_create

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_run_the_engine_cannot_store_ends_failed_with_the_reason(alice, no_worker):
    # Each noop outputs its input, so a long chain nests its output deeper than JSON encoding allows.
    ids = [f"n{i}" for i in range(1200)]
    definition = {
        "nodes": [{"id": node_id, "type": "noop"} for node_id in ids],
        "edges": [{"source": a, "target": b} for a, b in zip(ids, ids[1:], strict=False)],
    }
    workflow = workflow_create(owner=alice, name="Too deep", definition=definition)
    execution = execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=alice)

    run_claimed(admit_next())

    execution.refresh_from_db()
    assert execution.status == "failed"
    assert execution.error.startswith("Internal error: RecursionError")

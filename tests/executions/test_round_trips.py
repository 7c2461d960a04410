"""What a run costs PostgreSQL in round trips, counted, so that a change adding one shows."""

import uuid

import pytest

from executions.admission import admit_next
from executions.engine import run_claimed
from executions.models import Trigger
from executions.services import execution_start
from workflows.services import workflow_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def no_worker(settings):
    """Queues no worker listens to: the run waits for this test to admit it."""
    settings.STRUCTFORGE_QUEUE_PREFIX = f"trips-{uuid.uuid4().hex[:8]}-"


def test_admission_is_two_round_trips_and_a_one_node_run_one_more(alice, no_worker, django_assert_num_queries):
    workflow = workflow_create(owner=alice, name="One node", definition={"nodes": [{"id": "only", "type": "noop"}]})
    execution = execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=alice)

    with django_assert_num_queries(2):
        claim = admit_next()
    with django_assert_num_queries(1):  # its end (admission brought the row along)
        run_claimed(claim)

    execution.refresh_from_db()
    assert claim.execution_id == execution.pk
    assert execution.status == "success"

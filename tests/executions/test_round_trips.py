"""What a run costs PostgreSQL in round trips, counted, so that a change adding one shows."""

import pytest

from executions.admission import admit_next
from executions.engine import run_claimed
from executions.models import DailyUsage, Execution, Trigger
from executions.services import execution_start
from workflows.services import workflow_create

pytestmark = pytest.mark.django_db(transaction=True)


def test_admission_is_one_pipeline_and_a_one_node_run_one_statement_more(alice, no_worker, django_assert_num_queries):
    workflow = workflow_create(owner=alice, name="One node", definition={"nodes": [{"id": "only", "type": "noop"}]})
    execution = execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=alice)

    with django_assert_num_queries(4) as admission:
        claim = admit_next()
    with django_assert_num_queries(1):  # its end (admission brought the row along)
        run_claimed(claim)

    execution.refresh_from_db()
    # One pipeline, sent together: one round trip.
    assert [query["sql"].split(" ", 1)[0] for query in admission.captured_queries] == [
        "BEGIN",
        "SELECT",  # the lock
        "WITH",  # the start
        "COMMIT",
    ]
    assert claim.execution_id == execution.pk
    assert execution.status == "success"


@pytest.mark.parametrize("nodes", [1, 50])
def test_a_run_request_is_the_same_few_round_trips_whatever_the_workflow_size(
    alice, alice_client, no_worker, django_assert_num_queries, nodes
):
    definition = {
        "nodes": [{"id": f"n{i}", "type": "noop"} for i in range(nodes)],
        "edges": [{"source": f"n{i}", "target": f"n{i + 1}"} for i in range(nodes - 1)],
    }
    workflow = workflow_create(owner=alice, name="Sized", definition=definition)

    # The workflow with its owner; the execution, its node runs and the day's count in one
    # statement, with no transaction around it (no BEGIN, no COMMIT).
    with django_assert_num_queries(2):
        response = alice_client.post(f"/api/v1/workflows/{workflow.pk}/run/", {}, format="json")

    assert response.status_code == 202
    execution = Execution.objects.get(pk=response.json()["id"])
    assert execution.node_runs.count() == nodes
    assert sorted(execution.node_runs.values_list("position", flat=True)) == list(range(nodes))
    assert DailyUsage.objects.get(owner=alice).executions == 1

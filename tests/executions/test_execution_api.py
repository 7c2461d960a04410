"""Reading one execution through the API: who may, and what it costs."""

import pytest
from rest_framework.test import APIClient

from executions.models import Trigger
from executions.services import execution_start
from sharing.services import grant_set
from workflows.services import workflow_create

pytestmark = pytest.mark.django_db


def chain(owner, length: int):
    nodes = [{"id": f"n{i}", "type": "noop"} for i in range(length)]
    edges = [{"source": f"n{i}", "target": f"n{i + 1}"} for i in range(length - 1)]
    return workflow_create(owner=owner, name=f"{length} nodes", definition={"nodes": nodes, "edges": edges})


@pytest.mark.parametrize("length", [3, 30])
def test_a_viewer_reads_one_execution_in_the_same_few_queries_whatever_its_size(
    alice, bob, length, django_assert_max_num_queries
):
    workflow = chain(alice, length)
    grant_set(workflow=workflow, user=bob, role="viewer", granted_by=alice)
    execution = execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=alice)
    client = APIClient()
    client.force_authenticate(bob)

    with django_assert_max_num_queries(6):
        response = client.get(f"/api/v1/executions/{execution.pk}/")

    assert response.status_code == 200
    assert len(response.json()["nodes"]) == length


def test_an_execution_of_a_workflow_the_caller_cannot_see_is_404_like_a_missing_one(alice, bob):
    execution = execution_start(workflow=chain(alice, 1), trigger=Trigger.API, triggered_by=alice)
    client = APIClient()
    client.force_authenticate(bob)

    assert client.get(f"/api/v1/executions/{execution.pk}/").status_code == 404
    assert client.get("/api/v1/executions/999999/").status_code == 404
    assert client.get("/api/v1/executions/not-a-number/").status_code == 404

import pytest
from django.urls import reverse

from executions.models import Execution, NodeRun, Trigger, WorkflowWebhook
from executions.services import execution_start, webhook_rotate
from tests.factories import WorkflowFactory

pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    return reverse(f"admin:executions_{name}", args=args)


@pytest.fixture
def execution(alice):
    workflow = WorkflowFactory(owner=alice, name="Nightly")
    return execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=alice, input={"day": "monday"})


def test_the_execution_list_filters_and_searches(admin_client, execution):
    response = admin_client.get(url("execution_changelist"), {"status__exact": "pending", "q": "Nightly"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [execution]


def test_an_execution_page_shows_its_input_and_node_runs_read_only(admin_client, execution):
    response = admin_client.get(url("execution_change", execution.pk))

    assert response.status_code == 200
    assert "monday" in response.content.decode()
    assert [run.node_id for run in response.context["inline_admin_formsets"][0].formset.queryset] == ["start", "end"]
    assert admin_client.post(url("execution_change", execution.pk), {"status": "success"}).status_code == 403
    assert Execution.objects.get(pk=execution.pk).status == "pending"


def test_runs_cannot_be_added_in_the_admin(admin_client, db):
    assert admin_client.get(url("execution_add")).status_code == 403
    assert admin_client.get(url("noderun_add")).status_code == 403


def test_the_node_run_list_and_page_answer(admin_client, execution):
    run = NodeRun.objects.filter(execution=execution).first()

    assert admin_client.get(url("noderun_changelist"), {"q": "start"}).status_code == 200
    assert admin_client.get(url("noderun_change", run.pk)).status_code == 200


def test_the_webhook_page_never_shows_the_token_or_its_digest(admin_client, execution):
    token = webhook_rotate(workflow=execution.workflow)
    webhook = WorkflowWebhook.objects.get()

    page = admin_client.get(url("workflowwebhook_change", webhook.pk)).content.decode()

    assert token not in page
    assert webhook.token_digest not in page
    assert token[:6] in page


@pytest.mark.parametrize("rows", [1, 20])
def test_the_execution_list_queries_do_not_grow_with_rows(admin_client, alice, django_assert_max_num_queries, rows):
    workflow = WorkflowFactory(owner=alice)
    for _ in range(rows):
        execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=alice)

    with django_assert_max_num_queries(8):
        assert admin_client.get(url("execution_changelist")).status_code == 200

"""Runs end to end: the REST API, a real Celery worker process, PostgreSQL and Redis."""

import pytest
from rest_framework.test import APIClient

from executions.models import DailyUsage, Execution, NodeRun
from sharing.services import grant_set
from tests.factories import PASSWORD
from tests.http_server import Reply
from tests.workers import wait_for, wait_until
from workflows import services as workflow_services

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def client(alice):
    client = APIClient()
    client.force_authenticate(alice)
    return client


def make_workflow(owner, nodes, edges=(), settings=None, name="Flow"):
    definition = {"nodes": list(nodes), "edges": list(edges), "settings": settings or {}}
    return workflow_services.workflow_create(owner=owner, name=name, definition=definition)


def run(client, workflow, *, mode="async", status=202, **body):
    response = client.post(f"/api/v1/workflows/{workflow.pk}/run/", {"mode": mode, **body}, format="json")
    assert response.status_code == status, response.content
    return response.json()


def node_statuses(execution: Execution) -> dict[str, str]:
    return dict(execution.node_runs.values_list("node_id", "status"))


BRANCHING = [
    {"id": "start", "type": "set", "params": {"values": {"n": "{{ input.n }}"}}},
    {"id": "big", "type": "condition", "params": {"expression": "{{ nodes.start.output.n > 10 }}"}},
    {"id": "yes", "type": "set", "params": {"values": {"verdict": "big {{ nodes.start.output.n }}"}}},
    {"id": "no", "type": "set", "params": {"values": {"verdict": "small"}}},
    {"id": "after_no", "type": "noop"},
]
BRANCHING_EDGES = [
    {"source": "start", "target": "big"},
    {"source": "big", "target": "yes", "branch": "true"},
    {"source": "big", "target": "no", "branch": "false"},
    {"source": "no", "target": "after_no"},
]


def test_a_sync_run_answers_with_the_finished_execution_and_skips_untaken_branches(worker, alice, client):
    workflow = make_workflow(alice, BRANCHING, BRANCHING_EDGES)

    body = run(client, workflow, mode="sync", status=200, input={"n": 42})

    assert body["status"] == "success"
    assert body["trigger"] == "api"
    assert body["priority"] == "high"
    assert body["output"] == {"yes": {"verdict": "big 42"}}
    assert {node["node_id"]: node["status"] for node in body["nodes"]} == {
        "start": "success",
        "big": "success",
        "yes": "success",
        "no": "skipped",
        "after_no": "skipped",
    }
    assert body["definition"] == workflow.definition


def test_an_async_run_answers_202_at_once_and_finishes_on_the_worker(worker, alice, client):
    workflow = make_workflow(alice, BRANCHING, BRANCHING_EDGES)

    body = run(client, workflow, input={"n": 3})

    assert body == {"id": body["id"], "status": "pending", "ws": f"/ws/executions/{body['id']}/"}
    execution = wait_for(Execution.objects.get(pk=body["id"]), "success")
    assert execution.output == {"after_no": {"no": {"verdict": "small"}}}
    assert node_statuses(execution)["yes"] == "skipped"


def test_a_failing_node_is_retried_with_backoff_until_it_succeeds(worker, alice, client, server):
    server.routes["/flaky"] = [Reply(503, {"busy": True}), Reply(503, {"busy": True}), Reply(200, {"ok": 1})]
    workflow = make_workflow(
        alice,
        [
            {
                "id": "call",
                "type": "http_request",
                "params": {"method": "GET", "url": f"{server.url}/flaky"},
                "retry": {"max_attempts": 3, "backoff": "exponential", "delay_s": 0.2, "max_delay_s": 1},
            }
        ],
    )

    execution = wait_for(Execution.objects.get(pk=run(client, workflow)["id"]), "success", "failed")

    call = execution.node_runs.get()
    assert (execution.status, call.status, call.attempt) == ("success", "success", 3)
    assert call.output["status"] == 200
    assert call.output["body"] == {"ok": 1}
    assert server.hits("/flaky") == 3
    assert sum("retrying in" in line for line in call.log) == 2


def test_a_node_that_outlasts_its_timeout_fails_with_a_clear_error(worker, alice, client, server):
    server.routes["/slow"] = Reply(200, {"late": True}, delay_s=3)
    workflow = make_workflow(
        alice,
        [
            {
                "id": "call",
                "type": "http_request",
                "params": {"method": "GET", "url": f"{server.url}/slow"},
                "timeout_s": 0.5,
            },
            {"id": "never", "type": "noop"},
        ],
        [{"source": "call", "target": "never"}],
    )

    execution = wait_for(Execution.objects.get(pk=run(client, workflow)["id"]), "failed")

    assert execution.error_node == "call"
    assert "timed out after 0.5 s" in execution.error
    assert node_statuses(execution) == {"call": "failed", "never": "cancelled"}


def test_an_execution_that_outlasts_its_timeout_fails(worker, alice, client):
    workflow = make_workflow(
        alice,
        [{"id": "wait", "type": "delay", "params": {"seconds": 4}}, {"id": "after", "type": "noop"}],
        [{"source": "wait", "target": "after"}],
        settings={"timeout_s": 1},
    )

    execution = wait_for(Execution.objects.get(pk=run(client, workflow)["id"]), "failed")

    assert execution.error == "The execution timed out after 1 s."
    assert node_statuses(execution) == {"wait": "cancelled", "after": "cancelled"}


def test_cancelling_a_pending_run_ends_it_at_once(worker, alice, client):
    workflow = make_workflow(alice, [{"id": "a", "type": "noop"}])
    execution_id = run(client, workflow, delay_s=60)["id"]

    response = client.post(f"/api/v1/executions/{execution_id}/cancel/")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert node_statuses(Execution.objects.get(pk=execution_id)) == {"a": "cancelled"}


def test_cancelling_a_running_run_stops_it_before_the_next_node(worker, alice, client):
    workflow = make_workflow(
        alice,
        [{"id": "wait", "type": "delay", "params": {"seconds": 3}}, {"id": "after", "type": "noop"}],
        [{"source": "wait", "target": "after"}],
    )
    execution = Execution.objects.get(pk=run(client, workflow)["id"])
    wait_for(execution, "running")

    assert client.post(f"/api/v1/executions/{execution.pk}/cancel/").status_code == 200

    wait_for(execution, "cancelled", timeout_s=10)
    after = execution.node_runs.get(node_id="after")
    assert (after.status, after.started_at) == ("cancelled", None)


def test_cancelling_a_finished_run_is_refused(worker, alice, client):
    workflow = make_workflow(alice, [{"id": "a", "type": "noop"}])
    execution_id = run(client, workflow, mode="sync", status=200)["id"]

    response = client.post(f"/api/v1/executions/{execution_id}/cancel/")

    assert response.status_code == 400
    assert response.json() == {"status": ["The execution has already ended (success)."]}


def test_retrying_a_failed_run_reuses_what_succeeded_and_runs_the_rest(worker, alice, client, server):
    server.routes["/once-broken"] = [Reply(500, {"oops": True}), Reply(200, {"fixed": True})]
    workflow = make_workflow(
        alice,
        [
            {"id": "prepare", "type": "set", "params": {"values": {"x": 1}}},
            {"id": "call", "type": "http_request", "params": {"method": "GET", "url": f"{server.url}/once-broken"}},
        ],
        [{"source": "prepare", "target": "call"}],
    )
    failed = wait_for(Execution.objects.get(pk=run(client, workflow)["id"]), "failed")

    response = client.post(f"/api/v1/executions/{failed.pk}/retry/")

    assert response.status_code == 202
    retry = wait_for(Execution.objects.get(pk=response.json()["id"]), "success")
    assert retry.retry_of_id == failed.pk
    reused = retry.node_runs.get(node_id="prepare")
    original = failed.node_runs.get(node_id="prepare")
    assert (reused.status, reused.started_at, reused.output) == ("success", original.started_at, {"x": 1})
    assert retry.node_runs.get(node_id="call").output["body"] == {"fixed": True}
    assert server.hits("/once-broken") == 2


def test_a_subworkflow_runs_as_a_child_execution_and_returns_its_output(worker, alice, client):
    child = make_workflow(
        alice, [{"id": "double", "type": "set", "params": {"values": {"twice": "{{ input.n * 2 }}"}}}], name="Child"
    )
    parent = make_workflow(
        alice,
        [
            {"id": "call", "type": "subworkflow", "params": {"workflow": child.pk, "input": {"n": "{{ input.n }}"}}},
        ],
        name="Parent",
    )

    body = run(client, parent, mode="sync", status=200, input={"n": 21})

    assert body["status"] == "success"
    assert body["output"] == {"call": {"double": {"twice": 42}}}
    child_run = Execution.objects.get(workflow=child)
    assert (child_run.trigger, child_run.parent_id, child_run.depth, child_run.status) == (
        "subworkflow",
        body["id"],
        1,
        "success",
    )
    assert (child_run.attempt, child_run.started_at is not None) == (1, True)
    assert DailyUsage.objects.get(owner=alice).executions == 1  # the child runs within its parent's run


def test_a_webhook_starts_a_normal_priority_run_with_the_body_as_input(worker, alice, client, api_client):
    workflow = make_workflow(alice, [{"id": "echo", "type": "set", "params": {"values": {"got": "{{ input.x }}"}}}])
    url = client.post(f"/api/v1/workflows/{workflow.pk}/webhook/").json()["url"]
    path = url.split("testserver")[1]

    response = api_client.post(path, {"x": "hello"}, format="json")

    assert response.status_code == 202
    execution = wait_for(Execution.objects.get(pk=response.json()["id"]), "success")
    assert (execution.trigger, execution.priority, execution.triggered_by) == ("webhook", "normal", None)
    assert execution.output == {"echo": {"got": "hello"}}
    assert api_client.post(path.replace(path.split("/")[-2], "not-the-token"), {}, format="json").status_code == 404


def test_a_run_whose_input_breaks_the_input_schema_is_refused_naming_the_field(alice, client):
    workflow = make_workflow(
        alice,
        [{"id": "a", "type": "noop"}],
        settings={
            "input_schema": {
                "type": "object",
                "properties": {"n": {"type": "integer"}},
                "required": ["n"],
            }
        },
    )

    response = client.post(f"/api/v1/workflows/{workflow.pk}/run/", {"input": {"n": "x"}}, format="json")

    assert response.status_code == 400
    assert response.json() == {"input": [{"location": "input.n", "message": "'x' is not of type 'integer'"}]}
    assert Execution.objects.count() == 0


def test_secrets_reach_the_request_but_are_redacted_from_outputs_and_logs(worker, alice, client, server):
    workflow_services.secret_create(owner=alice, name="API_KEY", value="sk-live-123456")
    server.routes["/echo"] = lambda request: Reply(200, {"auth": request.headers.get("Authorization")})
    workflow = make_workflow(
        alice,
        [
            {
                "id": "call",
                "type": "http_request",
                "params": {
                    "method": "GET",
                    "url": f"{server.url}/echo",
                    "headers": {"Authorization": "Bearer {{ secrets.API_KEY }}"},
                },
            },
            {"id": "show", "type": "set", "params": {"values": {"key": "{{ secrets.API_KEY }}"}}},
        ],
        [{"source": "call", "target": "show"}],
    )

    execution = wait_for(Execution.objects.get(pk=run(client, workflow)["id"]), "success")

    assert server.requests[0].headers["Authorization"] == "Bearer sk-live-123456"
    call = execution.node_runs.get(node_id="call")
    assert call.output["body"] == {"auth": "Bearer [redacted]"}
    assert execution.output == {"show": {"key": "[redacted]"}}
    stored = str(list(NodeRun.objects.filter(execution=execution).values_list("output", "log", "error")))
    assert "sk-live-123456" not in stored


def test_a_long_delay_parks_the_run_without_holding_a_worker_and_resumes_it(worker, alice, client):
    workflow = make_workflow(
        alice,
        [{"id": "wait", "type": "delay", "params": {"seconds": 2}}, {"id": "after", "type": "noop"}],
        [{"source": "wait", "target": "after"}],
    )
    execution = Execution.objects.get(pk=run(client, workflow)["id"])

    wait_until(lambda: Execution.objects.filter(pk=execution.pk, wake_at__isnull=False).exists())
    parked = Execution.objects.get(pk=execution.pk)
    assert (parked.status, parked.heartbeat_at) == ("running", None)
    assert parked.node_runs.get(node_id="wait").status == "running"

    execution = wait_for(execution, "success", timeout_s=15)
    wait = execution.node_runs.get(node_id="wait")
    assert (wait.status, execution.wake_at, execution.attempt) == ("success", None, 2)
    assert any("park" in line.lower() for line in wait.log)


def test_manual_runs_take_the_newest_version_and_api_runs_the_published_one(worker, alice, client):
    workflow = make_workflow(alice, [{"id": "v", "type": "set", "params": {"values": {"version": 1}}}])
    workflow_services.workflow_publish(workflow=workflow, user=alice, number=1)
    workflow_services.workflow_update(
        workflow=workflow,
        user=alice,
        data={"definition": {"nodes": [{"id": "v", "type": "set", "params": {"values": {"version": 2}}}]}},
    )
    dashboard = APIClient()
    dashboard.login(username="alice", password=PASSWORD)

    api_run = run(client, workflow, mode="sync", status=200)
    manual_run = dashboard.post(f"/api/v1/workflows/{workflow.pk}/run/", {"mode": "sync"}, format="json").json()

    assert (api_run["trigger"], api_run["workflow_version"], api_run["output"]) == ("api", 1, {"v": {"version": 1}})
    assert (manual_run["trigger"], manual_run["workflow_version"], manual_run["output"]) == (
        "manual",
        2,
        {"v": {"version": 2}},
    )


def test_sub_workflows_nested_deeper_than_the_limit_fail(worker, alice, client):
    recursive = make_workflow(alice, [{"id": "again", "type": "noop"}])
    workflow_services.workflow_update(
        workflow=recursive,
        user=alice,
        data={"definition": {"nodes": [{"id": "again", "type": "subworkflow", "params": {"workflow": recursive.pk}}]}},
    )

    body = run(client, recursive, mode="sync", status=200)

    assert body["status"] == "failed"
    assert "nest deeper than 5 levels" in body["error"]
    assert Execution.objects.filter(workflow=recursive).count() == 6


def test_a_sub_workflow_of_another_user_cannot_be_run(worker, alice, bob, client):
    hidden = make_workflow(bob, [{"id": "a", "type": "noop"}], name="Bob's")
    workflow = make_workflow(alice, [{"id": "call", "type": "subworkflow", "params": {"workflow": hidden.pk}}])

    body = run(client, workflow, mode="sync", status=200)

    assert body["status"] == "failed"
    assert f"Workflow {hidden.pk} does not exist or may not be run by alice" in body["error"]
    assert not Execution.objects.filter(workflow=hidden).exists()


def test_an_outsider_cannot_run_see_cancel_or_retry_anothers_executions(worker, alice, client, bob_client):
    workflow = make_workflow(alice, [{"id": "a", "type": "noop"}])
    execution_id = run(client, workflow, mode="sync", status=200)["id"]

    assert bob_client.post(f"/api/v1/workflows/{workflow.pk}/run/", {}, format="json").status_code == 404
    assert bob_client.get(f"/api/v1/executions/{execution_id}/").status_code == 404
    assert bob_client.post(f"/api/v1/executions/{execution_id}/cancel/").status_code == 404
    assert bob_client.post(f"/api/v1/executions/{execution_id}/retry/").status_code == 404
    assert bob_client.get(f"/api/v1/workflows/{workflow.pk}/webhook/").status_code == 404
    assert bob_client.get("/api/v1/executions/").json()["count"] == 0
    assert Execution.objects.count() == 1


def test_cancelling_a_parked_run_ends_it_without_waiting_for_its_wake_up(worker, alice, client):
    workflow = make_workflow(alice, [{"id": "wait", "type": "delay", "params": {"seconds": 600}}])
    execution = Execution.objects.get(pk=run(client, workflow)["id"])
    wait_until(lambda: Execution.objects.filter(pk=execution.pk, wake_at__isnull=False).exists())

    assert client.post(f"/api/v1/executions/{execution.pk}/cancel/").status_code == 200

    execution = wait_for(execution, "cancelled", timeout_s=20)
    assert execution.node_runs.get().status == "cancelled"


def test_a_version_an_editor_saved_cannot_read_the_owners_secrets(worker, alice, bob):
    workflow_services.secret_create(owner=alice, name="API_KEY", value="sk-live-123456")
    workflow = make_workflow(alice, [{"id": "a", "type": "noop"}])
    grant_set(workflow=workflow, user=bob, role="editor", granted_by=alice)
    leaking = {"nodes": [{"id": "leak", "type": "set", "params": {"values": {"key": "{{ secrets.API_KEY }}"}}}]}
    workflow_services.workflow_update(workflow=workflow, user=bob, data={"definition": leaking})
    editor = APIClient()
    editor.force_authenticate(bob)

    body = editor.post(f"/api/v1/workflows/{workflow.pk}/run/", {"mode": "sync"}, format="json").json()

    assert body["status"] == "failed"
    assert "only available to versions the workflow's owner saved or published" in body["error"]
    assert "sk-live-123456" not in str(body)
    workflow_services.workflow_publish(workflow=workflow, user=alice, number=2)
    published = editor.post(f"/api/v1/workflows/{workflow.pk}/run/", {"mode": "sync"}, format="json").json()
    assert published["output"] == {"leak": {"key": "[redacted]"}}


def test_the_detail_of_a_live_run_shows_its_progress_from_the_live_state(worker, alice, client):
    workflow = make_workflow(
        alice,
        [{"id": "first", "type": "noop"}, {"id": "wait", "type": "delay", "params": {"seconds": 0.8}}],
        [{"source": "first", "target": "wait"}],
    )
    execution = Execution.objects.get(pk=run(client, workflow)["id"])
    wait_until(lambda: execution.node_runs.filter(node_id="wait", status="running").exists())

    live = client.get(f"/api/v1/executions/{execution.pk}/").json()

    assert (live["status"], live["progress"]) == ("running", {"finished": 1, "total": 2})
    wait_for(execution, "success")
    assert client.get(f"/api/v1/executions/{execution.pk}/").json()["progress"] is None

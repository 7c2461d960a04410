"""Every system template, instantiated with example values, runs to `success` on a real worker
against local test servers (PostgreSQL, Redis and a Celery worker process, as in production)."""

import json
from email import message_from_string
from pathlib import Path
from types import SimpleNamespace

import pytest

from executions.models import Execution, Trigger
from executions.services import execution_start
from templates_app.models import Template
from templates_app.services import template_instantiate
from templates_app.system import load_system_templates
from tests.http_server import Reply
from tests.workers import WorkerProcess, wait_for
from workflows import services as workflow_services

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.integration,
]

# The e-mail templates run on a worker of their own, which writes mail to files, on queues no
# other worker of the session reads.
MAIL_QUEUE_PREFIX = "tmpl-mail-"
# The system templates a test below runs; one more test checks that this is all of them.
RUN_HERE = {
    "poll-api-alert",
    "webhook-relay",
    "daily-report-email",
    "api-digest-email",
    "fan-out-merge",
    "retry-with-backoff",
    "data-cleanup",
    "subworkflow-orchestration",
    "branch-by-payload",
    "url-health-check",
    "delayed-follow-up",
    "validate-and-forward",
}


@pytest.fixture(scope="module")
def mail_worker(worker, tmp_path_factory):
    # After `worker`, whose start empties the test Redis database (queue bindings included).
    mail_dir = tmp_path_factory.mktemp("mail")
    process = WorkerProcess(
        log_dir=tmp_path_factory.mktemp("mail-worker"),
        extra_env={
            "STRUCTFORGE_QUEUE_PREFIX": MAIL_QUEUE_PREFIX,
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
        },
    ).wait_ready()
    yield SimpleNamespace(process=process, mail_dir=mail_dir)
    process.stop()


@pytest.fixture
def mail(mail_worker, settings):
    settings.STRUCTFORGE_QUEUE_PREFIX = MAIL_QUEUE_PREFIX
    return mail_worker


def mails_to(mail_dir: Path, address: str) -> list:
    messages = [message_from_string(path.read_text()) for path in sorted(mail_dir.iterdir())]
    return [message for message in messages if message["To"] == address]


@pytest.fixture
def system(db):
    # Loaded for each test: a transactional test empties every table when it ends.
    load_system_templates()
    return {template.system_key: template for template in Template.objects.filter(scope="system")}


def run(system, key, owner, params, run_input=None, name=None) -> Execution:
    """Instantiate system template `key` for `owner`, run it by hand and wait for it to end."""
    assert key in RUN_HERE
    workflow = template_instantiate(template=system[key], user=owner, params=params, name=name)
    execution = execution_start(workflow=workflow, trigger=Trigger.MANUAL, triggered_by=owner, input=run_input)
    return wait_for(execution, "success", "failed", "cancelled", timeout_s=60)


def statuses(execution: Execution) -> dict[str, str]:
    return dict(execution.node_runs.values_list("node_id", "status"))


def succeeded(execution: Execution) -> Execution:
    assert execution.status == "success", (execution.error_node, execution.error, statuses(execution))
    return execution


def posted(server, path: str) -> list:
    return [json.loads(request.body) for request in server.requests if request.path == path]


def test_poll_api_alert_alerts_only_above_the_threshold(worker, system, alice, server):
    server.routes["/high"] = Reply(200, {"queue_depth": 42})
    server.routes["/low"] = Reply(200, {"queue_depth": 3})
    server.routes["/alert"] = Reply(200, {"ok": True})
    params = {"field": "queue_depth", "threshold": 10, "alert_url": f"{server.url}/alert"}

    high = succeeded(run(system, "poll-api-alert", alice, {**params, "api_url": f"{server.url}/high"}, name="High"))
    low = succeeded(run(system, "poll-api-alert", alice, {**params, "api_url": f"{server.url}/low"}, name="Low"))

    assert (statuses(high)["alert"], statuses(high)["all_clear"]) == ("success", "skipped")
    assert (statuses(low)["alert"], statuses(low)["all_clear"]) == ("skipped", "success")
    assert posted(server, "/alert") == [{"text": "queue_depth is 42, above 10", "value": 42, "threshold": 10}]
    assert low.output == {"all_clear": {"status": "ok", "value": 3}}


def test_webhook_relay_reshapes_the_event_and_sends_the_owners_secret(worker, system, alice, server):
    workflow_services.secret_create(owner=alice, name="PARTNER_TOKEN", value="tok-123")
    server.routes["/relay"] = Reply(202, {"queued": True})

    execution = succeeded(
        run(
            system,
            "webhook-relay",
            alice,
            {"target_url": f"{server.url}/relay", "token": "PARTNER_TOKEN", "source": "shop"},
            run_input={"type": "Order.Created", "id": 7, "data": {"total": 5}},
        )
    )

    request = next(request for request in server.requests if request.path == "/relay")
    assert request.headers["Authorization"] == "Bearer tok-123"
    assert json.loads(request.body) == {
        "event": "order.created",
        "id": 7,
        "source": "shop",
        "data": {"total": 5},
        "fields": ["data", "id", "type"],
    }
    # The secret's value never reaches what the run stored.
    assert "tok-123" not in json.dumps(execution.output) + json.dumps(list(execution.node_runs.values("output")))


def test_daily_report_email_sends_the_report(mail, system, alice, server):
    server.routes["/report"] = Reply(200, b"Orders: 12\nRevenue: 3400", headers={"Content-Type": "text/plain"})

    execution = succeeded(
        run(
            system,
            "daily-report-email",
            alice,
            {"report_url": f"{server.url}/report", "to": "daily@example.com", "subject": "Shop figures"},
        )
    )

    assert execution.output == {"send": {"sent": 1}}
    [message] = mails_to(mail.mail_dir, "daily@example.com")
    assert message["Subject"] == "Shop figures"
    assert "Orders: 12\nRevenue: 3400" in message.get_payload()
    assert f"from {server.url}/report" in message.get_payload()


def test_api_digest_email_sends_the_first_entries(mail, system, alice, server):
    server.routes["/feed"] = Reply(200, {"news": ["First", "Second", "Third"]})

    succeeded(
        run(
            system,
            "api-digest-email",
            alice,
            {"feed_url": f"{server.url}/feed", "list_field": "news", "max_items": 2, "to": "digest@example.com"},
        )
    )

    [message] = mails_to(mail.mail_dir, "digest@example.com")
    assert message["Subject"] == "Your digest (2)"
    assert "2 entries from" in message.get_payload()
    assert "First\nSecond\n" in message.get_payload()
    assert "Third" not in message.get_payload()


def test_fan_out_merge_combines_three_answers(worker, system, alice, server):
    for index, path in enumerate(("/a", "/b", "/c"), start=1):
        server.routes[path] = Reply(200, {"n": index})

    execution = succeeded(
        run(
            system,
            "fan-out-merge",
            alice,
            {"first_url": f"{server.url}/a", "second_url": f"{server.url}/b", "third_url": f"{server.url}/c"},
        )
    )

    assert execution.output == {
        "results": {"results": [{"n": 1}, {"n": 2}, {"n": 3}], "statuses": [200, 200, 200], "count": 3}
    }


def test_retry_with_backoff_retries_until_the_api_answers(worker, system, alice, server):
    server.routes["/flaky"] = [Reply(503, {"busy": True}), Reply(503, {"busy": True}), Reply(200, {"ok": True})]

    execution = succeeded(
        run(
            system,
            "retry-with-backoff",
            alice,
            {
                "url": f"{server.url}/flaky",
                "method": "PUT",
                "payload": {"order": 7},
                "max_attempts": 4,
                "delay_s": 0.1,
                "max_delay_s": 0.5,
            },
        )
    )

    assert execution.output == {"result": {"status": 200, "response": {"ok": True}}}
    assert execution.node_runs.get(node_id="call").attempt == 3
    assert [(request.method, json.loads(request.body)) for request in server.requests] == [("PUT", {"order": 7})] * 3


def test_data_cleanup_deduplicates_sorts_caps_and_delivers(worker, system, alice, server):
    server.routes["/source"] = Reply(200, {"emails": ["b@x.org", "a@x.org", "b@x.org", "c@x.org"]})
    server.routes["/dest"] = Reply(200, {"stored": True})

    succeeded(
        run(
            system,
            "data-cleanup",
            alice,
            {
                "source_url": f"{server.url}/source",
                "list_field": "emails",
                "max_items": 2,
                "destination_url": f"{server.url}/dest",
            },
        )
    )

    assert posted(server, "/dest") == [
        {"items": ["a@x.org", "b@x.org"], "count": 2, "received": 4, "source": f"{server.url}/source"}
    ]


def test_subworkflow_orchestration_runs_two_children_in_turn(worker, system, alice, server):
    # The first child is itself made from a system template; the second is a plain workflow.
    for index, path in enumerate(("/a", "/b", "/c"), start=1):
        server.routes[path] = Reply(200, {"n": index})
    first = template_instantiate(
        template=system["fan-out-merge"],
        user=alice,
        name="Gather",
        params={"first_url": f"{server.url}/a", "second_url": f"{server.url}/b", "third_url": f"{server.url}/c"},
    )
    second = workflow_services.workflow_create(
        owner=alice,
        name="Summarise",
        definition={
            "nodes": [
                {
                    "id": "sum",
                    "type": "set",
                    "params": {"values": {"total": "{{ input.previous.results.results | length }}"}},
                }
            ],
            "edges": [],
        },
    )

    execution = succeeded(
        run(
            system,
            "subworkflow-orchestration",
            alice,
            {"first_workflow": first.pk, "second_workflow": second.pk},
            run_input={"why": "test"},
        )
    )

    gathered = {"results": {"results": [{"n": 1}, {"n": 2}, {"n": 3}], "statuses": [200, 200, 200], "count": 3}}
    assert execution.output == {"report": {"first": gathered, "second": {"sum": {"total": 3}}}}
    assert Execution.objects.filter(parent=execution).count() == 2


def test_branch_by_payload_routes_by_the_field(worker, system, alice, server):
    for route in ("/orders", "/refunds", "/other"):
        server.routes[route] = Reply(200, {"route": route})
    workflow = template_instantiate(
        template=system["branch-by-payload"],
        user=alice,
        params={
            "field": "kind",
            "order_url": f"{server.url}/orders",
            "refund_url": f"{server.url}/refunds",
            "fallback_url": f"{server.url}/other",
        },
    )
    routed = {}

    for kind in ("order", "refund", "gift-card"):
        server.requests.clear()
        execution = execution_start(
            workflow=workflow, trigger=Trigger.MANUAL, triggered_by=alice, input={"kind": kind, "amount": 5}
        )
        execution = succeeded(wait_for(execution, "success", "failed", timeout_s=60))
        routed[kind] = (
            [request.path for request in server.requests],
            list(statuses(execution).values()).count("skipped"),
        )

    assert routed == {"order": (["/orders"], 2), "refund": (["/refunds"], 2), "gift-card": (["/other"], 2)}
    assert posted(server, "/other") == [{"kind": "gift-card", "amount": 5}]


def test_url_health_check_reports_and_alerts_on_the_urls_that_are_down(worker, system, alice, server):
    server.routes["/one"] = Reply(200, {"ok": True})
    server.routes["/two"] = Reply(500, {"ok": False})
    server.routes["/three"] = Reply(204, b"")
    server.routes["/alert"] = Reply(200, {})
    urls = {f"url_{index}": f"{server.url}/{name}" for index, name in enumerate(("one", "two", "three"), start=1)}

    execution = succeeded(
        run(system, "url-health-check", alice, {**urls, "alert_url": f"{server.url}/alert", "timeout_s": 5})
    )

    assert execution.node_runs.get(node_id="report").output == {
        "up": [urls["url_1"], urls["url_3"]],
        "down": [urls["url_2"]],
    }
    assert posted(server, "/alert") == [{"text": f"1 of 3 URLs are down: {urls['url_2']}", "down": [urls["url_2"]]}]
    assert statuses(execution)["all_up"] == "skipped"


def test_delayed_follow_up_waits_then_posts_the_input(worker, system, alice, server):
    server.routes["/follow"] = Reply(200, {})

    execution = succeeded(
        run(
            system, "delayed-follow-up", alice, {"wait_s": 0.2, "url": f"{server.url}/follow"}, run_input={"who": "ada"}
        )
    )

    assert posted(server, "/follow") == [{"input": {"who": "ada"}, "waited_s": 0.2}]
    assert statuses(execution) == {"wait": "success", "follow_up": "success"}


def test_validate_and_forward_forwards_a_valid_payload_and_fails_an_invalid_one(worker, system, alice, server):
    server.routes["/in"] = Reply(200, {})
    params = {"required_field": "order_id", "target_url": f"{server.url}/in"}

    good = run(system, "validate-and-forward", alice, params, run_input={"order_id": 9}, name="Good")
    bad = run(system, "validate-and-forward", alice, params, run_input={"other": 1}, name="Bad")

    assert (succeeded(good).status, bad.status) == ("success", "failed")
    assert (bad.error_node, bad.error) == ("reject", "Node 'reject' failed: The input has no 'order_id' field.")
    assert posted(server, "/in") == [{"order_id": 9}]

"""Admission state through the API, without a worker: why a run waits, and runs refused by limits or quotas."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from executions.models import DailyUsage, Execution, Trigger
from executions.services import execution_start
from sharing.models import UserQuota
from structforge.errors import QuotaExceeded
from tests.executions.runs import sleeper, start_runs
from tests.factories import UserFactory
from workflows.services import workflow_create

pytestmark = pytest.mark.django_db


def mark_running(execution):
    Execution.objects.filter(pk=execution.pk).update(status="running", started_at=timezone.now(), attempt=1)


def test_a_waiting_run_says_which_limit_holds_it_and_its_place(alice, alice_client):
    workflow = sleeper(alice, 1, max_concurrency=1)
    first, second, third = start_runs(workflow, 3)
    mark_running(first)

    body = alice_client.get(f"/api/v1/executions/{third.pk}/").json()

    assert (body["waiting_reason"], body["position"]) == ("workflow", 2)
    assert alice_client.get(f"/api/v1/executions/{second.pk}/").json()["position"] == 1


def test_a_delayed_run_waits_for_its_time(alice, alice_client):
    later = execution_start(workflow=sleeper(alice, 0), trigger=Trigger.API, triggered_by=alice, delay_s=600)

    body = alice_client.get(f"/api/v1/executions/{later.pk}/").json()

    assert (body["status"], body["waiting_reason"], body["position"]) == ("pending", "delay", 1)


def test_the_user_and_global_limits_are_named(alice, alice_client, settings):
    UserQuota.objects.create(user=alice, max_running=1)
    busy, waiting = start_runs(sleeper(alice, 1), 2)
    mark_running(busy)

    assert alice_client.get(f"/api/v1/executions/{waiting.pk}/").json()["waiting_reason"] == "user"
    settings.STRUCTFORGE_MAX_RUNNING = 1
    assert alice_client.get(f"/api/v1/executions/{waiting.pk}/").json()["waiting_reason"] == "global"


def test_skip_refuses_a_run_while_the_workflow_is_at_its_limit(alice, alice_client):
    workflow = sleeper(alice, 1, max_concurrency=1, on_limit="skip")
    mark_running(start_runs(workflow, 1)[0])

    response = alice_client.post(f"/api/v1/workflows/{workflow.pk}/run/", {}, format="json")

    assert response.status_code == 409
    assert "on_limit: skip" in response.json()["detail"]
    assert Execution.objects.filter(workflow=workflow).count() == 1


def test_cancel_oldest_makes_room_by_cancelling_the_oldest_run(alice, alice_client):
    workflow = sleeper(alice, 1, max_concurrency=1, on_limit="cancel_oldest")
    oldest = start_runs(workflow, 1)[0]
    mark_running(oldest)

    response = alice_client.post(f"/api/v1/workflows/{workflow.pk}/run/", {}, format="json")

    assert response.status_code == 202
    assert Execution.objects.get(pk=oldest.pk).cancel_requested is True


def test_a_run_beyond_the_daily_quota_is_refused_with_429(alice, alice_client):
    UserQuota.objects.create(user=alice, max_executions_per_day=2)
    workflow = sleeper(alice, 0)
    start_runs(workflow, 2)

    response = alice_client.post(f"/api/v1/workflows/{workflow.pk}/run/", {}, format="json")

    assert response.status_code == 429
    assert "quota of 2 executions" in response.json()["detail"]
    assert Execution.objects.count() == 2


def test_a_refused_run_leaves_the_days_count_at_the_quota(alice, alice_client):
    UserQuota.objects.create(user=alice, max_executions_per_day=2)
    url = f"/api/v1/workflows/{sleeper(alice, 0).pk}/run/"
    statuses = [alice_client.post(url, {}, format="json").status_code for _ in range(4)]

    assert statuses == [202, 202, 429, 429]
    assert alice_client.get("/api/v1/quota/").json()["executions_today"] == 2


def test_without_an_override_the_daily_quota_is_the_default(alice, alice_client, settings):
    settings.STRUCTFORGE_USER_MAX_EXECUTIONS_PER_DAY = 1
    url = f"/api/v1/workflows/{sleeper(alice, 0).pk}/run/"

    assert alice_client.post(url, {}, format="json").status_code == 202
    response = alice_client.post(url, {}, format="json")
    assert response.status_code == 429
    assert "quota of 1 executions" in response.json()["detail"]


@pytest.mark.django_db(transaction=True)
def test_runs_requested_at_once_past_the_daily_quota_start_exactly_the_quota(alice, no_worker):
    UserQuota.objects.create(user=alice, max_executions_per_day=5)
    workflow = sleeper(alice, 0)

    def start(_) -> str:
        try:
            execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=alice)
            return "started"
        except QuotaExceeded:
            return "refused"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(start, range(24)))

    assert (outcomes.count("started"), outcomes.count("refused")) == (5, 19)
    assert Execution.objects.filter(workflow=workflow).count() == 5
    assert DailyUsage.objects.get(owner=alice).executions == 5


def test_yesterdays_runs_do_not_count_against_todays_quota(alice, alice_client):
    UserQuota.objects.create(user=alice, max_executions_per_day=1)
    workflow = sleeper(alice, 0)
    with time_machine.travel(timezone.now() - timedelta(days=1)):
        start_runs(workflow, 1)

    assert alice_client.post(f"/api/v1/workflows/{workflow.pk}/run/", {}, format="json").status_code == 202
    assert alice_client.post(f"/api/v1/workflows/{workflow.pk}/run/", {}, format="json").status_code == 429


def test_a_run_refused_for_its_input_does_not_use_the_quota(alice, alice_client):
    UserQuota.objects.create(user=alice, max_executions_per_day=1)
    schema = {"type": "object", "required": ["name"]}
    workflow = workflow_create(
        owner=alice,
        name="needs a name",
        definition={"nodes": [{"id": "a", "type": "noop"}], "settings": {"input_schema": schema}},
    )
    url = f"/api/v1/workflows/{workflow.pk}/run/"

    assert alice_client.post(url, {"input": {}}, format="json").status_code == 400
    assert alice_client.post(url, {"input": {"name": "x"}}, format="json").status_code == 202
    assert alice_client.get("/api/v1/quota/").json()["executions_today"] == 1


def test_the_quota_endpoint_shows_limits_and_use(alice, alice_client):
    UserQuota.objects.create(user=alice, max_running=3)
    workflow = sleeper(alice, 0)
    mark_running(start_runs(workflow, 2)[0])

    body = alice_client.get("/api/v1/quota/").json()

    assert {key: body[key] for key in ("max_running", "running", "executions_today", "workflows")} == {
        "max_running": 3,
        "running": 1,
        "executions_today": 2,
        "workflows": 1,
    }


def test_the_workflow_quota_refuses_one_more_workflow(alice, alice_client):
    UserQuota.objects.create(user=alice, max_workflows=1)
    sleeper(alice, 0)

    response = alice_client.post("/api/v1/workflows/", {"name": "One too many"}, format="json")

    assert response.status_code == 429
    assert UserFactory._meta.model.objects.get(pk=alice.pk).workflows.count() == 1

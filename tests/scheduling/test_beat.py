"""Schedules end to end: the REST API, real `celery beat` processes, a real worker, PostgreSQL and Redis."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from executions.models import Execution
from scheduling.models import ScheduledTask, ScheduleFire
from tests.scheduling.processes import BeatProcess
from tests.workers import WorkerProcess, wait_until
from workflows.services import workflow_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

# Their own queues, so only this module's worker takes the runs its beats start.
QUEUES = {"STRUCTFORGE_QUEUE_PREFIX": "sched-it-"}
URL = "/api/v1/schedules/"


@pytest.fixture(scope="module")
def processes_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("scheduling-processes")


@pytest.fixture(scope="module")
def schedule_worker(django_db_setup, processes_dir):
    process = WorkerProcess(log_dir=processes_dir, extra_env=QUEUES).wait_ready()
    yield process
    process.stop()


@pytest.fixture
def start_beat(django_db_setup, processes_dir):
    started: list[BeatProcess] = []

    def start() -> BeatProcess:
        process = BeatProcess(log_dir=processes_dir, extra_env=QUEUES).wait_ready()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
    for process in started:
        assert "Traceback" not in process.log(), process.log()[-3000:]


@pytest.fixture
def noop_workflow(alice):
    return workflow_create(
        owner=alice, name="Tick", definition={"nodes": [{"id": "tick", "type": "noop"}], "edges": [], "settings": {}}
    )


def create(client, workflow, **fields) -> dict:
    response = client.post(URL, {"workflow": workflow.pk, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def patch(client, schedule_id: int, **fields) -> dict:
    response = client.patch(f"{URL}{schedule_id}/", fields, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def fires_of(schedule_id: int):
    return ScheduleFire.objects.filter(schedule_id=schedule_id).order_by("due_at")


def test_an_every_two_seconds_schedule_fires_again_and_again_one_execution_per_fire(
    schedule_worker, start_beat, alice_client, noop_workflow
):
    start_beat()
    schedule = create(alice_client, noop_workflow, cron_expression="*/2 * * * * *")

    wait_until(lambda: fires_of(schedule["id"]).filter(execution__status="success").count() >= 3, timeout_s=60)
    patch(alice_client, schedule["id"], enabled=False)

    fires = list(fires_of(schedule["id"]).select_related("execution"))
    executions = Execution.objects.filter(workflow=noop_workflow)
    assert executions.count() == len(fires) >= 3
    assert {fire.execution_id for fire in fires} == set(executions.values_list("id", flat=True))
    assert {(run.trigger, run.priority) for run in executions} == {("schedule", "normal")}
    assert all(fire.due_at.second % 2 == 0 and fire.due_at.microsecond == 0 for fire in fires)
    steps = {(later.due_at - earlier.due_at).total_seconds() for earlier, later in zip(fires, fires[1:], strict=False)}
    assert steps == {2.0}  # every occurrence in between, none twice
    assert ScheduledTask.objects.get().run_count == len(fires)


def test_two_beats_at_once_never_fire_an_occurrence_twice(schedule_worker, start_beat, alice_client, noop_workflow):
    start_beat()
    start_beat()
    schedule = create(alice_client, noop_workflow, cron_expression="* * * * * *")

    wait_until(lambda: fires_of(schedule["id"]).count() >= 6, timeout_s=60)
    patch(alice_client, schedule["id"], enabled=False)
    wait_until(
        lambda: not Execution.objects.filter(workflow=noop_workflow, status__in=["pending", "running"]).exists(),
        timeout_s=60,
    )

    due = list(fires_of(schedule["id"]).values_list("due_at", flat=True))
    executions = Execution.objects.filter(workflow=noop_workflow)
    assert len(due) == len(set(due)) == executions.count()
    assert set(fires_of(schedule["id"]).values_list("execution_id", flat=True)) == set(
        executions.values_list("id", flat=True)
    )
    assert ScheduledTask.objects.get().run_count == len(due)


def test_an_edit_and_a_disable_through_the_api_are_honoured_within_a_second(
    schedule_worker, start_beat, alice_client, noop_workflow
):
    start_beat()
    schedule = create(alice_client, noop_workflow, cron_expression="0 0 1 1 *")
    time.sleep(1)  # the beat has read the schedule by now

    edited_at = timezone.now()
    edited = patch(alice_client, schedule["id"], cron_expression="* * * * * *")

    first_due = parse_datetime(edited["next_run_time"])
    assert first_due - timezone.now() <= timedelta(seconds=1)
    wait_until(lambda: fires_of(schedule["id"]).exists(), timeout_s=30)
    first = fires_of(schedule["id"]).first()
    # The very first occurrence after the edit fired, on time: had the beat seen the change a
    # second later, that occurrence would have been reached late, together with the next one,
    # and been recorded as a misfire. (The response shows the schedule as it is when the response
    # is made: on a busy machine the beat may have fired that occurrence already, and the response
    # show the one after it.)
    assert edited_at < first.due_at <= first_due
    assert first.detail == ""

    wait_until(lambda: fires_of(schedule["id"]).count() >= 3, timeout_s=30)
    patch(alice_client, schedule["id"], enabled=False)
    turned_off_at = ScheduledTask.objects.get().updated_at
    time.sleep(2.5)  # long enough for two more occurrences, had the beat missed the change

    assert not fires_of(schedule["id"]).filter(fired_at__gt=turned_off_at).exists()
    assert not fires_of(schedule["id"]).filter(due_at__gt=turned_off_at).exists()

"""Admission control with real worker processes: limits that hold, priorities that are real, fairness."""

import pytest

from executions.models import Execution, Trigger
from executions.services import execution_cancel, execution_start
from sharing.models import UserQuota
from tests.executions.runs import sleeper, start_runs, wait_all_finished
from tests.workers import WorkerProcess, wait_until
from workflows.services import workflow_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


UNCAPPED = "adm-"
CAPPED = "adm-cap-"


@pytest.fixture(scope="module")
def workers(django_db_setup, tmp_path_factory):
    """Two workers on queues of this module's own: one with only the defaults, one with a global cap of 2.

    Each has 3 pool processes, more than any limit tested, so only admission control can hold the limits.
    """
    log_dir = tmp_path_factory.mktemp("admission-workers")
    started = [
        WorkerProcess(log_dir=log_dir, concurrency=3, extra_env={"STRUCTFORGE_QUEUE_PREFIX": UNCAPPED}),
        WorkerProcess(
            log_dir=log_dir,
            concurrency=3,
            extra_env={"STRUCTFORGE_QUEUE_PREFIX": CAPPED, "STRUCTFORGE_MAX_RUNNING": "2"},
        ),
    ]
    for process in started:
        process.wait_ready()
    yield
    for process in started:
        process.stop()


@pytest.fixture
def uncapped(workers, settings):
    settings.STRUCTFORGE_QUEUE_PREFIX = UNCAPPED


@pytest.fixture
def capped(workers, settings):
    settings.STRUCTFORGE_QUEUE_PREFIX = CAPPED


def most_at_once(executions) -> int:
    """The largest number of runs whose [started_at, finished_at] intervals overlap."""
    edges = sorted(
        [(run.started_at, 1) for run in executions] + [(run.finished_at, -1) for run in executions],
        key=lambda edge: (edge[0], edge[1]),  # an end before a start at the same instant
    )
    current = peak = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def test_a_workflows_max_concurrency_holds_across_worker_processes(alice, uncapped):
    workflow = sleeper(alice, 0.5, max_concurrency=2)

    runs = wait_all_finished(start_runs(workflow, 40))

    assert {run.status for run in runs} == {"success"}
    assert most_at_once(runs) == 2


def test_a_users_running_quota_holds_across_their_workflows(alice, uncapped):
    UserQuota.objects.create(user=alice, max_running=1)
    first, second = sleeper(alice, 0.3), sleeper(alice, 0.2)

    runs = wait_all_finished(start_runs(first, 5) + start_runs(second, 5))

    assert {run.status for run in runs} == {"success"}
    assert most_at_once(runs) == 1


def test_the_global_cap_holds_for_every_user_together(alice, bob, capped):
    runs = start_runs(sleeper(alice, 0.3), 6) + start_runs(sleeper(bob, 0.3), 6)

    runs = wait_all_finished(runs)

    assert {run.status for run in runs} == {"success"}
    assert most_at_once(runs) == 2


def occupy_a_slot(workflow):
    """A run that holds a slot until it is cancelled."""
    blocker = start_runs(workflow, 1)[0]
    wait_until(lambda: Execution.objects.filter(pk=blocker.pk, status="running").exists())
    return blocker


def test_a_high_priority_run_starts_before_a_hundred_waiting_normal_ones(alice, uncapped):
    one_at_a_time = workflow_create(
        owner=alice,
        name="one at a time",
        max_concurrency=1,
        definition={"nodes": [{"id": "work", "type": "delay", "params": {"seconds": "{{ input.s | default(0) }}"}}]},
    )
    blocker = execution_start(workflow=one_at_a_time, trigger=Trigger.API, triggered_by=alice, input={"s": 60})
    wait_until(lambda: Execution.objects.filter(pk=blocker.pk, status="running").exists())
    normal = start_runs(one_at_a_time, 100, trigger=Trigger.WEBHOOK)
    urgent = start_runs(one_at_a_time, 1, trigger=Trigger.API)[0]

    execution_cancel(execution=blocker)
    runs = wait_all_finished([blocker, *normal, urgent])

    urgent = next(run for run in runs if run.pk == urgent.pk)
    assert urgent.priority == "high"
    assert all(urgent.started_at < run.started_at for run in runs if run.pk in {n.pk for n in normal})


def test_one_users_many_waiting_runs_do_not_starve_anothers_single_run(alice, bob, capped):
    blockers = [occupy_a_slot(sleeper(alice, 60)), occupy_a_slot(sleeper(alice, 60))]
    many = start_runs(sleeper(alice, 0), 200)
    single = start_runs(sleeper(bob, 0), 1)[0]

    execution_cancel(execution=blockers[0])
    wait_until(lambda: Execution.objects.filter(pk=single.pk, status="success").exists())
    execution_cancel(execution=blockers[1])
    runs = wait_all_finished([*blockers, *many, single])

    single = next(run for run in runs if run.pk == single.pk)
    served_before = [run for run in runs if run.pk in {m.pk for m in many} and run.started_at < single.started_at]
    assert len(served_before) <= 1


def test_a_delayed_run_waits_until_its_time_and_then_runs(alice, uncapped):
    workflow = sleeper(alice, 0)

    run = execution_start(workflow=workflow, trigger=Trigger.API, triggered_by=alice, delay_s=2)

    assert run.status == "pending"
    finished = wait_all_finished([run])[0]
    assert finished.status == "success"
    assert finished.started_at >= finished.not_before

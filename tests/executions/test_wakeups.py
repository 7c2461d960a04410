"""Wake-ups: a burst of new runs costs a few messages, not one each, and still loses no run."""

import threading
import time
import uuid

import pytest

from executions import dispatch
from tests.executions.runs import sleeper, start_runs, wait_all_finished
from tests.workers import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def own_queues(settings):
    """Queues no worker listens to until the test starts one."""
    settings.STRUCTFORGE_QUEUE_PREFIX = f"wake-{uuid.uuid4().hex[:8]}-"
    return settings.STRUCTFORGE_QUEUE_PREFIX


def test_runs_submitted_while_no_worker_is_free_share_one_wake_up_that_runs_them_all(alice, own_queues, start_worker):
    runs = start_runs(sleeper(alice, 0), 20)

    assert dispatch.queued_wakeups() == 1
    start_worker(extra_env={"STRUCTFORGE_QUEUE_PREFIX": own_queues})
    assert {run.status for run in wait_all_finished(runs)} == {"success"}


def test_a_run_submitted_after_the_worker_took_the_wake_up_sends_another(alice, own_queues, start_worker):
    start_worker(extra_env={"STRUCTFORGE_QUEUE_PREFIX": own_queues})
    workflow = sleeper(alice, 0)
    first = wait_all_finished(start_runs(workflow, 1))

    second = wait_all_finished(start_runs(workflow, 1))

    assert [run.status for run in first + second] == ["success", "success"]
    assert dispatch.queued_wakeups() == 0


def test_a_run_submitted_while_a_worker_lingers_reaches_it_without_a_message(alice, own_queues, start_worker):
    start_worker(concurrency=1, extra_env={"STRUCTFORGE_QUEUE_PREFIX": own_queues, "STRUCTFORGE_WORKER_LINGER_S": "60"})
    workflow = sleeper(alice, 0)
    wait_all_finished(start_runs(workflow, 1))
    wait_until(lambda: dispatch.idle_workers() == 1)

    for _ in range(3):
        runs = start_runs(workflow, 1)

        # The worker's one process is still inside its first wake-up: a message would wait in the queue.
        assert dispatch.queued_wakeups() == 0
        assert [run.status for run in wait_all_finished(runs)] == ["success"]
        wait_until(lambda: dispatch.idle_workers() == 1)


def test_a_linger_ends_and_the_next_run_rings_again(alice, own_queues, start_worker):
    start_worker(
        concurrency=1, extra_env={"STRUCTFORGE_QUEUE_PREFIX": own_queues, "STRUCTFORGE_WORKER_LINGER_S": "0.5"}
    )
    workflow = sleeper(alice, 0)
    wait_all_finished(start_runs(workflow, 1))
    wait_until(lambda: dispatch.idle_workers() == 0)

    assert [run.status for run in wait_all_finished(start_runs(workflow, 1))] == ["success"]


def test_a_submit_nudges_an_idle_process_instead_of_ringing(own_queues):
    nudged = []
    waiter = threading.Thread(target=lambda: nudged.append(dispatch.wait_for_nudge(time.monotonic() + 10)))
    waiter.start()
    wait_until(lambda: dispatch.idle_workers() == 1)

    assert dispatch.wake_for_pending("normal") is True

    waiter.join(timeout=5)
    assert nudged == [True]
    assert (dispatch.idle_workers(), dispatch.queued_wakeups()) == (0, 0)


def test_each_submit_nudges_one_idle_process_and_rings_once_none_is_left(own_queues):
    nudged = []
    waiters = [
        threading.Thread(target=lambda: nudged.append(dispatch.wait_for_nudge(time.monotonic() + 10))) for _ in range(2)
    ]
    for waiter in waiters:
        waiter.start()
    wait_until(lambda: dispatch.idle_workers() == 2)

    for _ in range(4):
        dispatch.wake_for_pending("high")

    for waiter in waiters:
        waiter.join(timeout=5)
    assert nudged == [True, True]
    assert dispatch.queued_wakeups() == 1  # the third rang the doorbell; the fourth found it rung


def test_a_wait_without_a_nudge_ends_unlisted(own_queues):
    assert dispatch.wait_for_nudge(time.monotonic() + 0.2) is False

    assert dispatch.idle_workers() == 0
    dispatch.wake_for_pending("normal")
    assert dispatch.queued_wakeups() == 1

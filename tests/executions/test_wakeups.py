"""Wake-ups: a burst of new runs costs a few messages, not one each, and still loses no run."""

import uuid

import pytest

from executions import dispatch
from tests.executions.runs import sleeper, start_runs, wait_all_finished

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

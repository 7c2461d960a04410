"""Workflows and runs that the execution tests build again and again."""

from executions.models import Execution, ExecutionStatus, Trigger
from executions.services import execution_start
from tests.workers import wait_until
from workflows.services import workflow_create


def sleeper(owner, seconds: float, **fields):
    definition = {"nodes": [{"id": "work", "type": "delay", "params": {"seconds": seconds}}]}
    return workflow_create(owner=owner, name=f"sleep {seconds}", definition=definition, **fields)


def start_runs(workflow, count: int, trigger=Trigger.API, user=None) -> list[Execution]:
    return [
        execution_start(workflow=workflow, trigger=trigger, triggered_by=user or workflow.owner) for _ in range(count)
    ]


def wait_all_finished(executions, timeout_s: float = 120) -> list[Execution]:
    ids = [execution.pk for execution in executions]
    wait_until(
        lambda: (
            not Execution.objects.filter(pk__in=ids)
            .exclude(status__in=[ExecutionStatus.SUCCESS, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED])
            .exists()
        ),
        timeout_s=timeout_s,
    )
    return list(Execution.objects.filter(pk__in=ids).order_by("id"))

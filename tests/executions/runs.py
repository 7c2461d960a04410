"""Workflows and runs that the execution tests build again and again."""

from executions.models import Execution, Trigger
from executions.services import execution_start
from workflows.services import workflow_create


def sleeper(owner, seconds: float, **fields):
    definition = {"nodes": [{"id": "work", "type": "delay", "params": {"seconds": seconds}}]}
    return workflow_create(owner=owner, name=f"sleep {seconds}", definition=definition, **fields)


def start_runs(workflow, count: int, trigger=Trigger.API, user=None) -> list[Execution]:
    return [
        execution_start(workflow=workflow, trigger=trigger, triggered_by=user or workflow.owner) for _ in range(count)
    ]

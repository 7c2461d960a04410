from celery import shared_task

from executions.engine import run_execution


@shared_task(name="executions.run_execution", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_execution_task(*, execution_id: int) -> None:
    # Safe to deliver twice: the engine claims the execution with a compare-and-swap, so a
    # duplicate delivery finds nothing to do.
    run_execution(execution_id)

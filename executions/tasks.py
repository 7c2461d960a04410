from celery import shared_task

from executions import engine, services


@shared_task(name="executions.run_execution", bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_execution_task(self, *, execution_id: int | None = None, doorbell: str | None = None) -> None:
    # A wake-up: admission control decides which execution runs (the one named may not be the
    # most urgent). Safe to deliver any number of times: with nothing admissible it does nothing.
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    engine.answer_wakeup(execution_id, doorbell=doorbell, redelivered=redelivered)


@shared_task(name="executions.reap_executions", ignore_result=True)
def reap_executions_task() -> None:
    services.executions_reap()


@shared_task(name="executions.reconcile_queue", ignore_result=True)
def reconcile_queue_task() -> None:
    services.queue_reconcile()


@shared_task(name="executions.prune_executions", ignore_result=True)
def prune_executions_task() -> None:
    services.executions_prune()

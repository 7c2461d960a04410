from celery import shared_task

from scheduling import services


@shared_task(name="scheduling.start_scheduled_runs", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def start_scheduled_runs_task(*, fire_ids: list[int]) -> None:
    # Safe to deliver twice: each fire moves from `fired` to `started` in the transaction that
    # creates its execution, so a second delivery finds nothing left to start.
    services.scheduled_runs_start(fire_ids=fire_ids)

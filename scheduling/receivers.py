"""What scheduling does when something it depends on happens elsewhere."""

import logging

from executions.models import Trigger
from scheduling import services

logger = logging.getLogger(__name__)


def on_execution_finished(sender, *, execution_id: int, status: str, trigger: str | None = None, **kwargs) -> None:
    """A run ended: if a schedule started it, count the outcome and start what waited for it."""
    if trigger is not None and trigger != Trigger.SCHEDULE:
        return
    try:
        services.schedule_run_finished(execution_id=execution_id, status=status)
    except Exception:
        # Never fail the engine for this: beat's reconciliation records the outcome later.
        logger.exception("could not record the end of execution %s for its schedule", execution_id)

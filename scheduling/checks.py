"""System checks for the scheduling knobs."""

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def check_scheduling_knobs(app_configs, **kwargs):
    errors = []
    for name in (
        "STRUCTFORGE_USER_MAX_SCHEDULES",
        "STRUCTFORGE_SCHEDULE_QUEUE_LIMIT",
        "STRUCTFORGE_SCHEDULE_FIRE_RETENTION_DAYS",
    ):
        if getattr(settings, name) < 1:
            errors.append(Error(f"{name} must be at least 1.", id="scheduling.E001"))
    for name in ("STRUCTFORGE_SCHEDULER_SYNC_S", "STRUCTFORGE_SCHEDULER_SWEEP_S", "STRUCTFORGE_SCHEDULER_STALE_S"):
        if getattr(settings, name) <= 0:
            errors.append(Error(f"{name} must be positive.", id="scheduling.E002"))
    if settings.STRUCTFORGE_SCHEDULE_MISFIRE_GRACE_S < 0:
        errors.append(Error("STRUCTFORGE_SCHEDULE_MISFIRE_GRACE_S cannot be negative.", id="scheduling.E003"))
    if settings.STRUCTFORGE_SCHEDULER_SYNC_S > 1:
        errors.append(
            Warning(
                "STRUCTFORGE_SCHEDULER_SYNC_S is over 1 s: schedule changes reach beat later than promised.",
                id="scheduling.W001",
            )
        )
    return errors

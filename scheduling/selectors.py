"""Reads of schedules, scoped to the workflows the caller can see, and the cron preview."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from scheduling import cron
from scheduling.models import ScheduledTask, ScheduleFire
from workflows.selectors import workflows_visible_to

MAX_PREVIEW_COUNT = 100


def with_last_run(schedules: QuerySet[ScheduledTask]) -> QuerySet[ScheduledTask]:
    """Annotate `last_run_status` (the newest fire's execution status, else the fire's own status:
    queued, skipped, error) and `last_execution` (its execution id)."""
    newest = ScheduleFire.objects.filter(schedule=OuterRef("pk")).order_by("-due_at")
    return schedules.annotate(
        last_run_status=Subquery(newest.annotate(state=Coalesce("execution__status", "status")).values("state")[:1]),
        last_execution=Subquery(newest.values("execution_id")[:1]),
    )


def schedules_visible_to(*, user: AbstractBaseUser) -> QuerySet[ScheduledTask]:
    """Schedules of every workflow the user can see, annotated with the user's `role` on that workflow."""
    visible = workflows_visible_to(user=user)
    schedules = (
        ScheduledTask.objects.filter(workflow__in=visible.values("pk"))
        .annotate(role=Subquery(visible.filter(pk=OuterRef("workflow_id")).values("role")[:1]))
        .select_related("user")
    )
    return with_last_run(schedules)


def _fire_time(instant: datetime, parsed: cron.Cron) -> dict:
    local = instant.astimezone(parsed.timezone)
    offset = local.strftime("%z")  # +0200
    return {
        "at": local.isoformat(),
        "utc": instant.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "utc_offset": f"{offset[:3]}:{offset[3:5]}",
    }


def cron_preview(*, expression: str, timezone: str, count: int, start: datetime) -> dict:
    """The next `count` fire times after `start` and a description; CronError names the bad part."""
    parsed = cron.parse(expression, timezone)
    times = cron.next_times(parsed, start, min(count, MAX_PREVIEW_COUNT))
    return {
        "cron": parsed.expression,
        "timezone": parsed.timezone.key,
        "description": cron.describe(parsed),
        "next": [_fire_time(instant, parsed) for instant in times],
    }

"""Writes of schedules: create, change, delete (the API and admin), fire (the beat process),
start the fired runs (the workers), and react to their ends (the `execution_finished` signal,
and reconciliation).

A fire has two steps, each exactly once:

1. Beat (`schedules_fire`) claims a due occurrence with a conditional UPDATE keyed on the
   schedule and its `next_run_time`, and records it as a `ScheduleFire` (unique per schedule
   and occurrence) in the same transaction: an occurrence is fired at most once however many
   beat processes run. Once committed, the fire ids go to the normal queue.
2. A worker (`scheduled_run_start`) creates the execution and moves the fire from `fired` to
   `started` in one transaction: a message delivered twice starts one run. A message lost on
   the way is sent again by reconciliation.

Lock order: a schedule's row first, then its fires.
"""

from __future__ import annotations

import copy
import logging
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for

from executions import dispatch
from executions.models import FINISHED_EXECUTION_STATUSES, ExecutionStatus, Priority, Trigger
from executions.services import execution_start
from scheduling import cron
from scheduling.models import (
    OPEN_FIRE_STATUSES,
    Backoff,
    FireStatus,
    MisfirePolicy,
    OverlapPolicy,
    ScheduledTask,
    ScheduleFire,
    ScheduleKind,
)
from sharing.selectors import quotas_for
from structforge.errors import InvalidInput, LimitReached, QuotaExceeded
from workflows.models import Workflow, WorkflowVersion

logger = logging.getLogger(__name__)

DAY_S = 24 * 3600
# field: (lowest, highest) accepted value
LIMITS: dict[str, tuple[float, float]] = {
    "delay_s": (1, 365 * DAY_S),
    "backoff_factor": (1, 10),
    "backoff_max_delay_s": (1, 30 * DAY_S),
    "catch_up_max": (1, 1000),
    "jitter_s": (0, 3600),
    "pause_after_failures": (0, 1000),
    "max_runs": (0, 1_000_000_000),
}
# The field only one kind uses, and that kind.
KIND_ONLY_FIELDS = {"cron_expression": ScheduleKind.CRON, "run_at": ScheduleKind.ONCE, "delay_s": ScheduleKind.DELAY}
# A change to any of these plans the next run again.
TIMING_FIELDS = ("kind", "cron_expression", "timezone", "run_at", "delay_s", "jitter_s", "enabled")
EDITABLE_FIELDS = (
    "kind",
    "cron_expression",
    "timezone",
    "run_at",
    "delay_s",
    "backoff",
    "backoff_factor",
    "backoff_max_delay_s",
    "input",
    "enabled",
    "misfire_policy",
    "catch_up_max",
    "overlap_policy",
    "jitter_s",
    "pause_after_failures",
    "max_runs",
)
ACTIVE_EXECUTION_STATUSES = (ExecutionStatus.PENDING, ExecutionStatus.RUNNING)
# What deciding a fire reads of a schedule (a claim loads no more).
CLAIM_FIELDS = (
    "kind",
    "cron_expression",
    "timezone",
    "enabled",
    "next_run_time",
    "fire_at",
    "misfire_policy",
    "catch_up_max",
    "overlap_policy",
    "jitter_s",
    "max_runs",
    "run_count",
)
# Fired occurrences per message to the workers.
DISPATCH_CHUNK = 50
# A fired occurrence whose run has not started after this long is sent to the workers again
# (its message was lost: beat died right after the commit, or the broker dropped it).
RESEND_AFTER_S = 120


# --- Validation and planning (no writes) -----------------------------------------------------------


def _check_input(workflow: Workflow, run_input: Any) -> None:
    """The input must suit the version a scheduled run would use now (published, else newest)."""
    if not isinstance(run_input, dict):
        raise InvalidInput.field("input", "The input must be a JSON object.")
    definition = workflow.definition
    if workflow.published_version is not None:
        definition = (
            WorkflowVersion.objects.filter(workflow=workflow, number=workflow.published_version)
            .values_list("definition", flat=True)
            .first()
            or definition
        )
    schema = (definition.get("settings") or {}).get("input_schema")
    if not schema:
        return
    validator = validator_for(schema, default=Draft202012Validator)(schema)
    problems = [
        {
            "location": "input" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path),
            "message": error.message,
        }
        for error in sorted(validator.iter_errors(run_input), key=lambda e: list(map(str, e.path)))
    ]
    if problems:
        raise InvalidInput({"input": problems})


def _check(schedule: ScheduledTask, *, sent: Mapping[str, Any], now: datetime) -> cron.Cron | None:
    """Every problem of the schedule as it would be saved, at once; the parsed cron when it has one."""
    errors: dict[str, list[str]] = {}
    kind = schedule.kind
    if kind not in ScheduleKind.values:
        errors["kind"] = [f"Use one of {', '.join(ScheduleKind.values)}."]
    for name, owner_kind in KIND_ONLY_FIELDS.items():
        if sent.get(name) not in (None, "") and kind != owner_kind:
            errors[name] = [f"Only {owner_kind} schedules use {name}; this one is {kind}."]
    for name, (lowest, highest) in LIMITS.items():
        value = getattr(schedule, name)
        if value is not None and not lowest <= value <= highest:
            errors.setdefault(name, []).append(f"Use a value from {lowest:g} to {highest:g}.")
    choices = {
        "backoff": Backoff,
        "misfire_policy": MisfirePolicy,
        "overlap_policy": OverlapPolicy,
    }
    for name, choice in choices.items():
        if getattr(schedule, name) not in choice.values:
            errors[name] = [f"Use one of {', '.join(choice.values)}."]
    parsed = None
    try:
        cron.parse_timezone(schedule.timezone)
    except cron.CronError as exc:
        errors["timezone"] = [str(exc)]
    if kind == ScheduleKind.CRON:
        if not schedule.cron_expression:
            errors.setdefault("cron_expression", []).append("A cron schedule needs a cron expression.")
        elif "timezone" not in errors:
            try:
                parsed = cron.parse(schedule.cron_expression, schedule.timezone)
            except cron.CronError as exc:
                errors.setdefault("cron_expression", []).append(str(exc))
    elif kind == ScheduleKind.ONCE:
        if schedule.run_at is None:
            errors.setdefault("run_at", []).append("A once schedule needs run_at.")
        elif schedule.enabled and schedule.run_at <= now and ("run_at" in sent or sent.get("enabled")):
            errors.setdefault("run_at", []).append("run_at must be in the future.")
    elif kind == ScheduleKind.DELAY and not schedule.delay_s:
        errors.setdefault("delay_s", []).append("A delay schedule needs delay_s (seconds, at least 1).")
    if schedule.enabled and schedule.max_runs and schedule.run_count >= schedule.max_runs:
        if "max_runs" in sent:
            errors["max_runs"] = [f"The schedule already ran {schedule.run_count} times; use a higher limit or 0."]
        elif sent.get("enabled"):
            errors["enabled"] = [
                f"The schedule already ran {schedule.run_count} times, its max_runs; raise max_runs or set it to 0."
            ]
    if errors:
        raise InvalidInput(errors)
    return parsed


def _jittered(schedule: ScheduledTask, occurrence: datetime | None) -> datetime | None:
    if occurrence is None or not schedule.jitter_s:
        return occurrence
    return occurrence + timedelta(seconds=random.uniform(0, schedule.jitter_s))


def retry_wait_s(schedule: ScheduledTask, runs: int) -> float:
    """How long a `delay` schedule waits before its next run, after `runs` runs (≥ 0).

    The waits are delay_s, then delay_s each time (fixed) or delay_s × factor^runs
    (exponential: delay_s·f, delay_s·f², …), never more than backoff_max_delay_s."""
    if not runs:
        return float(schedule.delay_s)
    wait = float(schedule.delay_s)
    if schedule.backoff == Backoff.EXPONENTIAL:
        wait *= schedule.backoff_factor ** min(runs, 64)  # (a bounded exponent cannot overflow)
    return float(min(wait, schedule.backoff_max_delay_s))


def _first_occurrence(schedule: ScheduledTask, parsed: cron.Cron | None, now: datetime) -> datetime | None:
    if schedule.kind == ScheduleKind.CRON:
        return cron.next_after(parsed, now)
    if schedule.kind == ScheduleKind.ONCE:
        return schedule.run_at
    if schedule.run_count == 0:
        start = schedule.created_at or now
        return max(start + timedelta(seconds=schedule.delay_s), now)
    return now + timedelta(seconds=retry_wait_s(schedule, schedule.run_count))


def _plan_next(schedule: ScheduledTask, parsed: cron.Cron | None, now: datetime) -> None:
    occurrence = _first_occurrence(schedule, parsed, now) if schedule.enabled else None
    if schedule.kind == ScheduleKind.DELAY and schedule.pk and _has_open_run(schedule):
        occurrence = None  # its run is still going: the retry is planned when it ends
    if schedule.enabled and occurrence is None:
        # Accepted expressions always match some date; this one has none left within 50 years.
        raise InvalidInput.field("cron_expression", "The expression has no fire time in the next 50 years.")
    schedule.next_run_time = occurrence
    schedule.fire_at = _jittered(schedule, occurrence)


def _clear_unused(schedule: ScheduledTask) -> None:
    if schedule.kind != ScheduleKind.CRON:
        schedule.cron_expression = ""
    if schedule.kind != ScheduleKind.ONCE:
        schedule.run_at = None
    if schedule.kind != ScheduleKind.DELAY:
        schedule.delay_s = None


# --- Create, change, delete -------------------------------------------------------------------------


def _schedule_quota(workflow: Workflow) -> int:
    return quotas_for(user_ids=[workflow.owner_id])[workflow.owner_id].max_schedules


def _check_quota(workflow: Workflow) -> None:
    # The owner's row is the lock that makes count-then-insert safe against a concurrent create.
    get_user_model().objects.select_for_update().filter(pk=workflow.owner_id).first()
    _refuse_over_quota(workflow)


def _refuse_over_quota(workflow: Workflow) -> None:
    limit = _schedule_quota(workflow)
    if ScheduledTask.objects.filter(workflow__owner_id=workflow.owner_id).count() >= limit:
        raise QuotaExceeded(
            f"The workflow's owner has reached their quota of {limit} schedules (STRUCTFORGE_USER_MAX_SCHEDULES)."
        )


def schedule_validate(*, schedule: ScheduledTask, data: Mapping[str, Any], workflow: Workflow | None = None) -> None:
    """Raise InvalidInput when `schedule_create` / `schedule_update` would refuse `data` (writes nothing).
    For forms that must show the problems next to their fields before saving."""
    candidate = ScheduledTask(workflow=workflow) if schedule.pk is None else copy.copy(schedule)
    turned_on = bool(data.get("enabled")) and not (schedule.pk is None or schedule.enabled)
    for name in EDITABLE_FIELDS:
        if name in data:
            setattr(candidate, name, data[name])
    now = timezone.now()
    if schedule.pk is None:
        if workflow is not None:
            _refuse_over_quota(workflow)
        _check(candidate, sent={"enabled": candidate.enabled, **data}, now=now)
    else:
        _check(candidate, sent={**data, "enabled": turned_on}, now=now)
    if workflow is not None or "input" in data:
        _check_input(workflow or schedule.workflow, candidate.input)


@transaction.atomic
def schedule_create(*, workflow: Workflow, user: AbstractBaseUser | None, data: Mapping[str, Any]) -> ScheduledTask:
    """A new schedule of `workflow` by `user` (who must be allowed to edit it: the caller checks)."""
    _check_quota(workflow)
    schedule = ScheduledTask(workflow=workflow, user=user)
    for name in EDITABLE_FIELDS:
        if name in data:
            setattr(schedule, name, data[name])
    now = timezone.now()
    parsed = _check(schedule, sent={"enabled": schedule.enabled, **data}, now=now)
    _check_input(workflow, schedule.input)
    _clear_unused(schedule)
    _plan_next(schedule, parsed, now)
    schedule.save()
    return schedule


@transaction.atomic
def schedule_update(*, schedule: ScheduledTask, data: Mapping[str, Any]) -> ScheduledTask:
    """Change a schedule. A change of its timing (or turning it back on) plans its next run from now."""
    locked = ScheduledTask.objects.select_for_update().select_related("workflow").get(pk=schedule.pk)
    if "workflow" in data and getattr(data["workflow"], "pk", data["workflow"]) != locked.workflow_id:
        raise InvalidInput.field("workflow", "A schedule cannot move to another workflow; create a new one there.")
    before = {name: getattr(locked, name) for name in TIMING_FIELDS}
    for name in EDITABLE_FIELDS:
        if name in data:
            setattr(locked, name, data[name])
    turned_on = locked.enabled and not before["enabled"]
    now = timezone.now()
    parsed = _check(locked, sent={**data, "enabled": turned_on}, now=now)
    if "input" in data:
        _check_input(locked.workflow, locked.input)
    _clear_unused(locked)
    if turned_on:
        locked.disabled_reason = ""
        locked.consecutive_failures = 0
    if any(getattr(locked, name) != value for name, value in before.items()):
        _plan_next(locked, parsed, now)
    locked.save()
    return locked


def schedule_delete(*, schedule: ScheduledTask) -> None:
    """Remove a schedule and its fire history; the executions it started remain."""
    schedule.delete()


# --- Firing (the beat process) ------------------------------------------------------------------------


@dataclass(frozen=True)
class FirePlan:
    """What one fire does: the occurrences to run now (oldest first), the next occurrence, and why."""

    occurrences: tuple[datetime, ...]
    next_run_time: datetime | None
    misfire: bool = False
    detail: str = ""
    disabled_reason: str = ""
    delete: bool = False


def plan_fire(schedule: ScheduledTask, *, now: datetime, grace_s: float) -> FirePlan:
    """Decide a due fire (pure). An occurrence is *missed* when the beat reaches it more than
    `grace_s` late, or when the next occurrence is due too: the misfire policy then decides."""
    due = schedule.next_run_time
    late_s = (now - (schedule.fire_at or due)).total_seconds()
    policy = schedule.misfire_policy
    if schedule.kind != ScheduleKind.CRON:
        if late_s > grace_s and policy == MisfirePolicy.SKIP:
            return FirePlan(
                occurrences=(),
                next_run_time=None,
                misfire=True,
                disabled_reason=f"Missed its run time ({due:%Y-%m-%d %H:%M:%S} UTC) by {late_s:.0f} s while the "
                "scheduler was not running; the misfire policy is skip.",
            )
        return FirePlan(
            occurrences=(due,),
            next_run_time=None,
            misfire=late_s > grace_s,
            delete=schedule.kind == ScheduleKind.ONCE,
        )

    parsed = cron.parse(schedule.cron_expression, schedule.timezone)
    # Occurrences after `due` that are due as well were missed. Jitter only delays a run, so an
    # occurrence counts as due once even its latest jittered time has passed.
    horizon = now - timedelta(seconds=schedule.jitter_s)
    wanted = schedule.catch_up_max if policy == MisfirePolicy.CATCH_UP else 1
    also_due: list[datetime] = []
    following = cron.next_after(parsed, due)
    if following is not None and following > horizon:
        next_run_time = following  # the usual case: nothing else is due yet (one calendar walk)
    else:
        for occurrence in cron.iter_after(parsed, due):
            if occurrence > horizon or len(also_due) >= wanted:
                break
            also_due.append(occurrence)
        next_run_time = cron.next_after(parsed, max(due, horizon))
    if not also_due and late_s <= grace_s:
        return FirePlan(occurrences=(due,), next_run_time=next_run_time)
    if policy == MisfirePolicy.SKIP:
        occurrences: tuple[datetime, ...] = ()
    elif policy == MisfirePolicy.RUN_ONCE:
        occurrences = (due,)
    else:
        occurrences = (due, *also_due)[: schedule.catch_up_max]
    outcome = f"ran {len(occurrences)}" if occurrences else "skipped"
    if also_due:
        more = "" if len(also_due) < wanted else " or more"
        detail = (
            f"Missed {1 + len(also_due)}{more} occurrences from {due:%Y-%m-%d %H:%M:%S} UTC "
            f"(misfire policy {policy}): {outcome}."
        )
    else:
        detail = (
            f"Reached {late_s:.0f} s after its time, {due:%Y-%m-%d %H:%M:%S} UTC (misfire policy {policy}): {outcome}."
        )
    return FirePlan(occurrences=occurrences, next_run_time=next_run_time, misfire=True, detail=detail)


def _has_open_run(schedule: ScheduledTask) -> bool:
    """Is a run of this schedule on its way, waiting its turn, or still pending or running?"""
    return (
        ScheduleFire.objects.filter(schedule=schedule, status__in=[FireStatus.FIRED, FireStatus.QUEUED]).exists()
        or ScheduleFire.objects.filter(
            schedule=schedule, status=FireStatus.STARTED, execution__status__in=ACTIVE_EXECUTION_STATUSES
        ).exists()
    )


def _decide_overlap(schedule: ScheduledTask, plan: FirePlan, now: datetime) -> list[ScheduleFire]:
    """One fire row per occurrence of the plan: fired (its run is to start), queued behind a
    run still going, or skipped."""
    policy = schedule.overlap_policy
    busy = policy != OverlapPolicy.ALLOW and _has_open_run(schedule)
    queued = (
        ScheduleFire.objects.filter(schedule=schedule, status=FireStatus.QUEUED).count()
        if policy == OverlapPolicy.QUEUE
        else 0
    )
    remaining = schedule.max_runs - schedule.run_count if schedule.max_runs else len(plan.occurrences)
    fires = []
    for occurrence in plan.occurrences[: max(remaining, 0)]:
        fire = ScheduleFire(schedule=schedule, due_at=occurrence, fired_at=now, detail=plan.detail[:500])
        if not busy:
            fire.status = FireStatus.FIRED
            busy = policy != OverlapPolicy.ALLOW
        elif policy == OverlapPolicy.QUEUE and queued < settings.STRUCTFORGE_SCHEDULE_QUEUE_LIMIT:
            fire.status = FireStatus.QUEUED
            queued += 1
        else:
            fire.status = FireStatus.SKIPPED
            fire.detail = (
                "The previous run was still running."
                if policy == OverlapPolicy.SKIP
                else f"{queued} runs were already queued (STRUCTFORGE_SCHEDULE_QUEUE_LIMIT)."
            )
        fires.append(fire)
    return fires


@dataclass
class _Claim:
    """What a fire writes to its schedule row, decided before anything is written."""

    schedule: ScheduledTask
    fires: list[ScheduleFire]
    next_run_time: datetime | None
    fire_at: datetime | None
    enabled: bool
    reason: str
    runs: int
    log: str


def _decide(schedule: ScheduledTask, now: datetime) -> _Claim:
    """Decide one due schedule's fire: the runs (misfire and overlap policies), the next time, and
    whether the schedule turns itself off. Reads only (the overlap policy's)."""
    try:
        plan = plan_fire(schedule, now=now, grace_s=settings.STRUCTFORGE_SCHEDULE_MISFIRE_GRACE_S)
    except Exception as exc:  # a row the services never wrote (raw SQL, an old bug): off, with why
        logger.exception("schedule %s cannot be planned", schedule.pk)
        plan = FirePlan(occurrences=(), next_run_time=None, disabled_reason=f"Its next run cannot be planned: {exc}")
    fires = _decide_overlap(schedule, plan, now)
    runs = sum(fire.status != FireStatus.SKIPPED for fire in fires)
    next_run_time, reason = plan.next_run_time, plan.disabled_reason[:500]
    if reason:
        pass  # the plan itself turns the schedule off (a missed once/delay schedule, a bad row)
    elif plan.delete and runs:
        # A once schedule is removed as soon as its run has started (scheduled_run_start).
        next_run_time, reason = None, "Fired; removed once its run has started."
    elif schedule.max_runs and schedule.run_count + runs >= schedule.max_runs and schedule.kind == ScheduleKind.CRON:
        # (A delay schedule's last run decides its end, done or given up, when it finishes.)
        next_run_time, reason = None, f"Reached max_runs ({schedule.max_runs} runs)."
    elif schedule.kind == ScheduleKind.CRON and next_run_time is None:
        reason = "The cron expression has no further fire times."
    # A delay schedule with a run on its way has no next time but stays on: the run's end decides.
    enabled = not reason
    return _Claim(
        schedule=schedule,
        fires=fires,
        next_run_time=next_run_time if enabled else None,
        fire_at=_jittered(schedule, next_run_time) if enabled else None,
        enabled=enabled,
        reason=reason,
        runs=runs,
        log=(plan.detail or plan.disabled_reason) if plan.misfire else "",
    )


class _ClaimsLost(Exception):
    """Some conditional update matched nothing: the batch is rolled back and claimed one by one."""


def _claim_sql() -> str:
    quote = connection.ops.quote_name
    table = quote(ScheduledTask._meta.db_table)
    next_run, fire_at, enabled = quote("next_run_time"), quote("fire_at"), quote("enabled")
    runs, last_run = quote("run_count"), quote("last_run_time")
    # updated_at is left alone: this beat updates its own wheel, and a second beat finds the new
    # time when it reaches the old one. So syncs read only real changes.
    return (
        f"UPDATE {table} SET {next_run} = %s, {fire_at} = %s, {enabled} = %s, {quote('disabled_reason')} = %s, "
        f"{runs} = {runs} + %s, {last_run} = COALESCE(%s, {last_run}) "
        f"WHERE {quote('id')} = %s AND {enabled} AND {next_run} = %s"
    )


def _apply_claims(claims: list[_Claim], now: datetime, *, one_by_one: bool) -> list[_Claim]:
    """The claims: each a conditional update keyed on the schedule and the occurrence it read
    (`next_run_time`), sent together. Returns those that matched."""
    adapt = connection.ops.adapt_datetimefield_value
    rows = [
        (
            adapt(claim.next_run_time),
            adapt(claim.fire_at),
            claim.enabled,
            claim.reason,
            claim.runs,
            adapt(now) if claim.runs else None,
            claim.schedule.pk,
            adapt(claim.schedule.next_run_time),
        )
        for claim in claims
    ]
    sql = _claim_sql()
    with connection.cursor() as cursor:
        if not one_by_one:
            # One round trip (psycopg pipelines executemany). With the rows locked it always matches.
            cursor.executemany(sql, rows)
            if cursor.rowcount != len(rows):
                raise _ClaimsLost
            return claims
        matched = []
        for claim, row in zip(claims, rows, strict=True):
            cursor.execute(sql, row)
            if cursor.rowcount:
                matched.append(claim)
        return matched


def schedules_fire(*, schedule_ids: Iterable[int], now: datetime | None = None) -> dict[int, datetime | None]:
    """Fire the due occurrences of these schedules, in one transaction (the beat's tick).

    Each occurrence is claimed once and recorded as a fire; the fires' runs are started by a
    worker (`start_scheduled_runs_task`, sent once this commits), so beat never waits on
    execution bookkeeping. Returns, per schedule looked at, its next planned fire time (None: it
    waits for nothing, or is gone).
    """
    now = now or timezone.now()
    ids = sorted(set(schedule_ids))
    try:
        return _fire_batch(ids, now, one_by_one=False)
    except _ClaimsLost:
        return _fire_batch(ids, now, one_by_one=True)


def _fire_batch(ids: list[int], now: datetime, *, one_by_one: bool) -> dict[int, datetime | None]:
    planned: dict[int, datetime | None] = dict.fromkeys(ids)
    with transaction.atomic():
        # Locked in id order, so two beats firing the same schedules never deadlock: the second
        # waits here, then finds the occurrences already moved on.
        due = (
            ScheduledTask.objects.select_for_update()
            .filter(pk__in=ids, enabled=True, fire_at__isnull=False)
            .only(*CLAIM_FIELDS)
            .order_by("pk")
        )
        claims = []
        for schedule in due:
            if schedule.fire_at > now:
                planned[schedule.pk] = schedule.fire_at  # moved later meanwhile
            else:
                claims.append(_decide(schedule, now))
        claims = _apply_claims(claims, now, one_by_one=one_by_one) if claims else []
        fires = [fire for claim in claims for fire in claim.fires]
        ScheduleFire.objects.bulk_create(fires)
        fired = [fire.pk for fire in fires if fire.status == FireStatus.FIRED]
        if fired:
            transaction.on_commit(partial(dispatch_runs, fired), robust=True)
    for claim in claims:
        planned[claim.schedule.pk] = claim.fire_at
        if claim.log:
            logger.info("schedule %s misfired: %s", claim.schedule.pk, claim.log)
    return planned


def schedule_fire(*, schedule_id: int, now: datetime | None = None) -> datetime | None:
    """Fire one schedule if it is due; its next planned fire time."""
    return schedules_fire(schedule_ids=[schedule_id], now=now)[schedule_id]


def dispatch_runs(fire_ids: list[int]) -> None:
    """Hand fired occurrences to the workers, a chunk per message. Call after the fires committed."""
    from scheduling.tasks import start_scheduled_runs_task  # tasks import this module

    queue = dispatch.queue_for(Priority.NORMAL)
    for offset in range(0, len(fire_ids), DISPATCH_CHUNK):
        start_scheduled_runs_task.apply_async(
            kwargs={"fire_ids": fire_ids[offset : offset + DISPATCH_CHUNK]}, queue=queue
        )


# --- Starting fired runs (the workers) -------------------------------------------------------------------


def _start_run(schedule: ScheduledTask, fire: ScheduleFire) -> ScheduleFire:
    """Create the fire's execution (queued on commit), or record why it did not start."""
    try:
        # execution_start writes nothing when it refuses a run, so the fire stays to record why.
        execution = execution_start(
            workflow=schedule.workflow,
            trigger=Trigger.SCHEDULE,
            triggered_by=schedule.user,
            input=schedule.input,
        )
    except (QuotaExceeded, LimitReached) as exc:
        fire.status, fire.detail = FireStatus.SKIPPED, str(exc)[:500]
        return fire
    except InvalidInput as exc:
        fire.status, fire.detail = FireStatus.ERROR, f"The run could not start: {exc.errors}"[:500]
        return fire
    except DatabaseError:
        raise  # the start rolls back and is tried again (the message is redelivered or re-sent)
    except Exception as exc:  # a run that cannot start must not stop the schedule
        logger.exception("schedule %s could not start its run", schedule.pk)
        fire.status, fire.detail = FireStatus.ERROR, f"The run could not start: {exc}"[:500]
        return fire
    fire.execution, fire.status = execution, FireStatus.STARTED
    return fire


def _locked_schedule(schedule_id: int) -> ScheduledTask | None:
    return (
        ScheduledTask.objects.select_for_update(of=("self",))
        .select_related("workflow", "user")
        .filter(pk=schedule_id)
        .first()
    )


def scheduled_run_start(*, fire_id: int, now: datetime | None = None) -> ScheduleFire | None:
    """Create the execution of a fired occurrence, once: the fire moves from fired to started (or
    to skipped / error with the reason) in the transaction that creates the execution, so a
    second delivery of the same fire finds nothing to do."""
    now = now or timezone.now()
    schedule_id = ScheduleFire.objects.filter(pk=fire_id, status=FireStatus.FIRED).values_list("schedule_id", flat=True)
    schedule_id = schedule_id.first()
    if schedule_id is None:
        return None
    with transaction.atomic():
        schedule = _locked_schedule(schedule_id)  # lock order: the schedule, then its fires
        fire = ScheduleFire.objects.select_for_update().filter(pk=fire_id, status=FireStatus.FIRED).first()
        if schedule is None or fire is None:
            return None
        _start_run(schedule, fire)
        fire.save(update_fields=["status", "execution", "detail"])
        if schedule.kind == ScheduleKind.ONCE:
            if fire.status == FireStatus.STARTED:
                schedule.delete()  # a once schedule is done; its execution remains
            else:
                schedule.disabled_reason = fire.detail
                schedule.save(update_fields=["disabled_reason", "updated_at"])
        elif fire.status == FireStatus.ERROR:
            _apply_outcome(schedule, FireStatus.FAILED, fire=fire, now=now)
        elif fire.status == FireStatus.SKIPPED and schedule.kind == ScheduleKind.DELAY and schedule.enabled:
            # Refused by a quota or the workflow's limit: try again after the base delay.
            schedule.next_run_time = now + timedelta(seconds=schedule.delay_s)
            schedule.fire_at = _jittered(schedule, schedule.next_run_time)
            schedule.save(update_fields=["next_run_time", "fire_at", "updated_at"])
    return fire


def scheduled_runs_start(*, fire_ids: Iterable[int]) -> int:
    """Start the runs of these fires (the worker's task); how many executions it created."""
    started = 0
    for fire_id in fire_ids:
        fire = scheduled_run_start(fire_id=fire_id)
        started += fire is not None and fire.status == FireStatus.STARTED
    return started


# --- The end of a scheduled run ---------------------------------------------------------------------


def _apply_outcome(schedule: ScheduledTask, outcome: str, *, fire: ScheduleFire, now: datetime) -> None:
    """Count failures, pause after too many, and plan a `delay` schedule's retry. `schedule` is locked."""
    if outcome == FireStatus.SUCCESS:
        schedule.consecutive_failures = 0
    elif outcome == FireStatus.FAILED:
        schedule.consecutive_failures += 1
    reason = ""
    limit = schedule.pause_after_failures
    if outcome == FireStatus.FAILED and limit and schedule.consecutive_failures >= limit:
        last = f"execution {fire.execution_id}" if fire.execution_id else f"the run due {fire.due_at:%Y-%m-%d %H:%M:%S}"
        reason = f"Paused after {schedule.consecutive_failures} failed runs in a row (the last: {last})."
    elif schedule.kind == ScheduleKind.DELAY:
        if outcome == FireStatus.SUCCESS:
            reason = "Done: the run succeeded."
        elif outcome == FireStatus.CANCELLED:
            reason = "Stopped: the run was cancelled."
        elif schedule.max_runs and schedule.run_count >= schedule.max_runs:
            reason = f"Gave up after {schedule.run_count} failed runs (max_runs)."
        elif schedule.enabled:
            schedule.next_run_time = now + timedelta(seconds=retry_wait_s(schedule, schedule.run_count))
            schedule.fire_at = _jittered(schedule, schedule.next_run_time)
    if reason and schedule.enabled:
        schedule.enabled, schedule.disabled_reason = False, reason
        schedule.next_run_time = schedule.fire_at = None
    schedule.save(
        update_fields=[
            "consecutive_failures",
            "enabled",
            "disabled_reason",
            "next_run_time",
            "fire_at",
            "updated_at",
        ]
    )


def _start_queued(schedule: ScheduledTask, now: datetime) -> None:
    """Start the oldest queued run once nothing of the schedule runs; drop the queue of a schedule turned off."""
    queued = ScheduleFire.objects.filter(schedule=schedule, status=FireStatus.QUEUED).order_by("due_at")
    if not schedule.enabled:
        queued.update(status=FireStatus.SKIPPED, detail="The schedule was turned off before this run's turn.")
        return
    while True:
        going = ScheduleFire.objects.filter(schedule=schedule, status=FireStatus.FIRED).exists() or (
            ScheduleFire.objects.filter(
                schedule=schedule, status=FireStatus.STARTED, execution__status__in=ACTIVE_EXECUTION_STATUSES
            ).exists()
        )
        fire = None if going else queued.first()
        if fire is None:
            return
        _start_run(schedule, fire)
        fire.save(update_fields=["status", "execution", "detail"])
        if fire.status == FireStatus.STARTED:
            return
        if fire.status == FireStatus.ERROR:
            _apply_outcome(schedule, FireStatus.FAILED, fire=fire, now=now)
        if not schedule.enabled:
            queued.update(status=FireStatus.SKIPPED, detail="The schedule was turned off before this run's turn.")
            return


def schedule_run_finished(*, execution_id: int, status: str) -> bool:
    """Record the end of a scheduled run once; True when it was one this call recorded."""
    outcome = {
        ExecutionStatus.SUCCESS: FireStatus.SUCCESS,
        ExecutionStatus.FAILED: FireStatus.FAILED,
        ExecutionStatus.CANCELLED: FireStatus.CANCELLED,
    }.get(status)
    if outcome is None:
        return False
    found = ScheduleFire.objects.filter(execution_id=execution_id).values_list("pk", "schedule_id").first()
    if found is None:
        return False
    fire_pk, schedule_id = found
    now = timezone.now()
    with transaction.atomic():
        schedule = _locked_schedule(schedule_id)
        if schedule is None:
            return False
        if not ScheduleFire.objects.filter(pk=fire_pk, status=FireStatus.STARTED).update(status=outcome):
            return False  # already recorded (a second signal, or reconciliation got there first)
        fire = ScheduleFire.objects.get(pk=fire_pk)
        _apply_outcome(schedule, outcome, fire=fire, now=now)
        _start_queued(schedule, now)
    return True


def schedules_reconcile(*, now: datetime | None = None, batch: int = 200) -> int:
    """The backstop for lost messages and signals: send again the fires whose run never started,
    record runs that ended unheard, start queued runs that can start. Reads only open fires (a
    partial index). Returns how many fires it moved on or sent again."""
    now = now or timezone.now()
    moved = 0
    stale = now - timedelta(seconds=RESEND_AFTER_S)
    lost = list(
        ScheduleFire.objects.filter(status=FireStatus.FIRED)
        .filter(Q(sent_at__lt=stale) | Q(sent_at__isnull=True, fired_at__lt=stale))
        .order_by("id")
        .values_list("id", flat=True)[:batch]
    )
    if lost:
        ScheduleFire.objects.filter(id__in=lost).update(sent_at=now)
        transaction.on_commit(partial(dispatch_runs, lost), robust=True)
        moved += len(lost)
    ended = ScheduleFire.objects.filter(status=FireStatus.STARTED, execution__status__in=FINISHED_EXECUTION_STATUSES)
    for execution_id, status in ended.values_list("execution_id", "execution__status")[:batch]:
        moved += schedule_run_finished(execution_id=execution_id, status=status)
    moved += ScheduleFire.objects.filter(status=FireStatus.STARTED, execution__isnull=True).update(
        status=FireStatus.CANCELLED, detail="The execution was deleted."
    )
    waiting = ScheduleFire.objects.filter(status=FireStatus.QUEUED).values_list("schedule_id", flat=True).distinct()
    for schedule_id in list(waiting[:batch]):
        with transaction.atomic():
            schedule = _locked_schedule(schedule_id)
            if schedule is not None:
                before = ScheduleFire.objects.filter(schedule=schedule, status=FireStatus.QUEUED).count()
                _start_queued(schedule, now)
                moved += before - ScheduleFire.objects.filter(schedule=schedule, status=FireStatus.QUEUED).count()
    return moved


def schedule_fires_prune(*, now: datetime | None = None, batch: int = 1000) -> int:
    """Delete up to `batch` of the oldest ended fires past STRUCTFORGE_SCHEDULE_FIRE_RETENTION_DAYS."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.STRUCTFORGE_SCHEDULE_FIRE_RETENTION_DAYS)
    old = (
        ScheduleFire.objects.filter(fired_at__lt=cutoff)
        .exclude(status__in=OPEN_FIRE_STATUSES)
        .order_by("id")
        .values_list("id", flat=True)[:batch]
    )
    deleted, _ = ScheduleFire.objects.filter(id__in=list(old)).delete()
    return deleted

"""Starting, cancelling and retrying executions, and the webhook that triggers them."""

import secrets
from contextlib import nullcontext
from datetime import timedelta
from functools import cache, partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for

from executions import dispatch, live
from executions.checkpoints import resumable
from executions.models import (
    DailyUsage,
    Execution,
    ExecutionStatus,
    NodeRun,
    NodeRunStatus,
    Priority,
    Trigger,
    WorkflowWebhook,
)
from executions.selectors import webhook_digest
from sharing.models import UserQuota
from sharing.roles import Role, role_at_least
from sharing.selectors import quota_defaults
from structforge.db import array_type, insert_fields, insert_values, instance_from_row, row_columns, value_type
from structforge.errors import InvalidInput, LimitReached, QuotaExceeded
from workflows.models import OnLimit, Workflow, WorkflowVersion
from workflows.nodes.context import NodeError
from workflows.selectors import workflow_visible_to

HIGH_PRIORITY_TRIGGERS = frozenset({Trigger.MANUAL, Trigger.API})
# Manual runs follow the newest version (what the editor shows); every unattended trigger runs
# the released one, so a half-finished edit never reaches production traffic.
LATEST_VERSION_TRIGGERS = frozenset({Trigger.MANUAL})


def _version_to_run(workflow: Workflow, trigger: str) -> tuple[int, dict]:
    if trigger in LATEST_VERSION_TRIGGERS or workflow.published_version is None:
        return workflow.version, workflow.definition
    definition = (
        WorkflowVersion.objects.filter(workflow=workflow, number=workflow.published_version)
        .values_list("definition", flat=True)
        .get()
    )
    return workflow.published_version, definition


def _check_input(definition: dict, run_input: Any) -> None:
    schema = (definition.get("settings") or {}).get("input_schema")
    if not schema:
        return
    validator_class = validator_for(schema, default=Draft202012Validator)
    problems = [
        {
            "location": "input" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path),
            "message": error.message,
        }
        for error in sorted(validator_class(schema).iter_errors(run_input), key=lambda e: list(map(str, e.path)))
    ]
    if problems:
        raise InvalidInput({"input": problems})


def _create(
    *,
    workflow: Workflow,
    trigger: str,
    triggered_by: AbstractBaseUser | None,
    run_input: Any,
    delay_s: float = 0,
    parent: Execution | None = None,
    retry_of: Execution | None = None,
) -> Execution:
    """The execution and its node runs, all or nothing.

    A run of its own is pending and counts against its owner's daily quota: past it, nothing is
    written and QuotaExceeded is raised. A sub-workflow (`parent`) runs inside its parent's slot,
    on its parent's worker: it is created running, and does not count.
    """
    count_daily = parent is None
    if retry_of is not None:
        version, definition = retry_of.workflow_version, retry_of.definition
    else:
        version, definition = _version_to_run(workflow, trigger)
        _check_input(definition, run_input)
    execution = Execution(
        workflow=workflow,
        owner_id=workflow.owner_id,
        triggered_by=triggered_by,
        workflow_version=version,
        definition=definition,
        trigger=trigger,
        priority=Priority.HIGH if trigger in HIGH_PRIORITY_TRIGGERS else Priority.NORMAL,
        input=run_input,
        not_before=timezone.now() + timedelta(seconds=delay_s) if delay_s else None,
        parent=parent,
        depth=parent.depth + 1 if parent else 0,
        retry_of=retry_of,
    )
    if parent is not None:
        execution.status, execution.attempt = ExecutionStatus.RUNNING, 1
        execution.started_at = execution.heartbeat_at = timezone.now()
    reused = {}
    if retry_of is not None:
        reused = {
            run.node_id: run
            for run in retry_of.node_runs.filter(status=NodeRunStatus.SUCCESS).only(
                "node_id", "input", "output", "attempt", "log", "started_at", "finished_at"
            )
        }
    node_runs = [
        _node_run(execution, position, node, reused.get(node["id"]))
        for position, node in enumerate(definition["nodes"])
    ]
    if connection.vendor == "postgresql":
        return _insert_run(execution, node_runs, count_daily=count_daily)
    with transaction.atomic():
        if count_daily:
            _refuse_past_daily_quota(*_count_daily(workflow.owner_id))
        execution.save(force_insert=True)
        NodeRun.objects.bulk_create(node_runs, batch_size=1000)
    return execution


def _insert_run(execution: Execution, node_runs: list[NodeRun], *, count_daily: bool) -> Execution:
    """The execution, its node runs and (with `count_daily`) the day's count in one statement,
    built once per process: the ORM's two inserts, compiled per request and a round trip each,
    were a fifth of a run request's CPU in the web process. The node runs go as one array per
    column, so the SQL is the same whatever their number.

    The statement decides the daily quota itself and writes nothing past it, so it needs no
    transaction around it. Every run request of an owner updates the same count row, which stays
    locked until the writer commits: with a transaction around the statement, its COMMIT was a
    round trip more from a busy web process, and the owner's requests queued on the row for it.
    """
    node_fields = _node_run_fields()
    owner_id, daily_limit = execution.owner_id, quota_defaults()["max_executions_per_day"]
    params = [owner_id, daily_limit, owner_id, timezone.now().date()] if count_daily else []
    params += insert_values(execution)
    node_rows = [insert_values(run, node_fields) for run in node_runs]
    params += [list(column) for column in zip(*node_rows, strict=True)] if node_rows else [[] for _ in node_fields]
    with connection.cursor() as cursor:
        cursor.execute(_insert_run_sql(count_daily), params)
        row = cursor.fetchone()
    if row[0] is None:
        raise QuotaExceeded(_past_daily_quota(row[-1]))
    created = instance_from_row(Execution, row[:-1])
    for name in ("workflow", "triggered_by", "parent", "retry_of"):
        if (related := getattr(execution, name)) is not None:
            setattr(created, name, related)
    return created


@cache
def _node_run_fields() -> list:
    """A node run's fields but its execution, which the statement takes from the row it inserts."""
    return [field for field in insert_fields(NodeRun) if field.name != "execution"]


@cache
def _insert_run_sql(count_daily: bool) -> str:
    quote = connection.ops.quote_name
    execution_columns = ", ".join(quote(field.column) for field in insert_fields(Execution))
    node_fields = _node_run_fields()
    node_columns = ", ".join(quote(field.column) for field in [NodeRun._meta.get_field("execution"), *node_fields])
    arrays = ", ".join(f"%s::{array_type(field)}" for field in node_fields)
    execution_insert = f"INSERT INTO {quote(Execution._meta.db_table)} ({execution_columns})"
    returned = row_columns(Execution)
    if count_daily:
        usage_table = quote(DailyUsage._meta.db_table)
        # The count goes up only while under the owner's limit, and the execution is inserted only
        # for a row the count returned. The SELECT takes no type from the columns: cast each value.
        values = ", ".join(f"%s::{value_type(field)}" for field in insert_fields(Execution))
        head = (
            f"WITH quota AS (SELECT COALESCE({_QUOTA_OVERRIDE}, %s) AS daily_limit), "
            f"usage AS (INSERT INTO {usage_table} (owner_id, day, executions) "
            "SELECT %s, %s::date, 1 FROM quota WHERE daily_limit > 0 "
            f"ON CONFLICT (owner_id, day) DO UPDATE SET executions = {usage_table}.executions + 1 "
            f"WHERE {usage_table}.executions < (SELECT daily_limit FROM quota) RETURNING executions), "
            f"execution AS ({execution_insert} SELECT {values} FROM usage RETURNING {returned}), "
        )
        result = "SELECT execution.*, quota.daily_limit FROM quota LEFT JOIN execution ON true"
    else:
        placeholders = ", ".join(["%s"] * len(insert_fields(Execution)))
        head = f"WITH execution AS ({execution_insert} VALUES ({placeholders}) RETURNING {returned}), "
        result = "SELECT execution.*, NULL FROM execution"
    return (
        f"{head}node_runs AS (INSERT INTO {quote(NodeRun._meta.db_table)} ({node_columns}) "
        f"SELECT execution.{quote(Execution._meta.pk.column)}, node.* FROM execution, unnest({arrays}) AS node) "
        f"{result}"
    )


def _node_run(execution: Execution, position: int, node: dict, reused: NodeRun | None) -> NodeRun:
    run = NodeRun(execution=execution, node_id=node["id"], node_type=node["type"], position=position)
    if reused is not None:
        # A retry keeps what already succeeded: the engine treats these nodes as done.
        for name in ("input", "output", "attempt", "log", "started_at", "finished_at"):
            setattr(run, name, getattr(reused, name))
        run.status = NodeRunStatus.SUCCESS
    return run


def _announce_pending(execution: Execution) -> None:
    """After commit: wake a worker (at `not_before` for a delayed run) and tell live clients.

    The event names only the reason known for free (a delay); the full reason and position are
    computed on read (`admission.waiting_for`), since counting the queue on every submit would
    make a burst of n submissions cost O(n²).
    """
    if execution.not_before is not None:
        dispatch.enqueue(execution.pk, priority=execution.priority, eta=execution.not_before)
    else:
        dispatch.wake_for_pending(execution.priority)
    live.publish_execution(
        execution_id=execution.pk,
        owner_id=execution.owner_id,
        status=ExecutionStatus.PENDING,
        waiting_reason="delay" if execution.not_before else None,
    )


def _enqueue_on_commit(execution: Execution) -> None:
    transaction.on_commit(partial(_announce_pending, execution))


_DAILY_USAGE_UPSERT = (
    f"INSERT INTO {DailyUsage._meta.db_table} (owner_id, day, executions) VALUES (%s, %s, 1) "
    f"ON CONFLICT (owner_id, day) DO UPDATE SET executions = {DailyUsage._meta.db_table}.executions + 1"
)
# The owner's override of the daily quota, read with the count: a query less per run.
_QUOTA_OVERRIDE = f"(SELECT max_executions_per_day FROM {UserQuota._meta.db_table} WHERE user_id = %s)"


def _count_daily(owner_id: int) -> tuple[int, int | None]:
    """One more execution for the owner today: the day's count and the owner's quota override."""
    # One upsert: the count of the day's executions costs the same on the millionth run as on the first.
    with connection.cursor() as cursor:
        params = [owner_id, timezone.now().date(), owner_id]
        cursor.execute(f"{_DAILY_USAGE_UPSERT} RETURNING executions, {_QUOTA_OVERRIDE}", params)
        return cursor.fetchone()


def _refuse_past_daily_quota(used: int, override: int | None) -> None:
    # The count is kept in the transaction that creates the execution, so a refusal or a rollback uncounts it.
    limit = quota_defaults()["max_executions_per_day"] if override is None else override
    if used > limit:
        raise QuotaExceeded(_past_daily_quota(limit))


def _past_daily_quota(limit: int) -> str:
    return f"The workflow's owner has used today's quota of {limit} executions; it renews at midnight UTC."


def _acts_on_limit(workflow: Workflow) -> bool:
    return workflow.max_concurrency is not None and workflow.on_limit != OnLimit.QUEUE


def _apply_on_limit(workflow: Workflow) -> None:
    """A workflow at max_concurrency: queue the run (default), refuse it, or cancel its oldest run."""
    if not _acts_on_limit(workflow):
        return
    running = Execution.objects.filter(workflow=workflow, status=ExecutionStatus.RUNNING).order_by("started_at", "id")
    if running.count() < workflow.max_concurrency:
        return
    if workflow.on_limit == OnLimit.SKIP:
        raise LimitReached(
            f"The workflow already runs {workflow.max_concurrency} executions at once, its limit; "
            "it is set to refuse new runs meanwhile (on_limit: skip)."
        )
    execution_cancel(execution=running.first())


def execution_start(
    *,
    workflow: Workflow,
    trigger: str,
    triggered_by: AbstractBaseUser | None,
    input: Any = None,
    delay_s: float = 0,
) -> Execution:
    """Create a pending execution of the version this trigger runs; once committed, wake a worker.

    Refused with QuotaExceeded when the owner's daily quota is used up, and with LimitReached
    when the workflow is at its limit and set to refuse (`on_limit: skip`).
    """
    # Creating the run is atomic by itself; a transaction around it would hold the owner's daily
    # count row locked for longer (`_insert_run`). Cancelling the oldest run goes with the start.
    with transaction.atomic() if _acts_on_limit(workflow) else nullcontext():
        _apply_on_limit(workflow)
        execution = _create(
            workflow=workflow,
            trigger=trigger,
            triggered_by=triggered_by,
            run_input={} if input is None else input,
            delay_s=delay_s,
        )
        _enqueue_on_commit(execution)
    return execution


def subworkflow_start(*, parent: Execution, workflow_id: int, input: Any) -> Execution:
    """A child execution, already claimed for the parent's worker, which runs it inline.

    It runs inside its parent's slot, so admission control does not queue it.
    """
    if parent.depth + 1 > settings.STRUCTFORGE_MAX_SUBWORKFLOW_DEPTH:
        raise NodeError(f"Sub-workflows nest deeper than {settings.STRUCTFORGE_MAX_SUBWORKFLOW_DEPTH} levels.")
    caller = parent.triggered_by or parent.owner
    workflow = workflow_visible_to(user=caller, pk=workflow_id)
    if workflow is None or not role_at_least(workflow.role, Role.EXECUTOR):
        raise NodeError(f"Workflow {workflow_id} does not exist or may not be run by {caller}.")
    try:
        with transaction.atomic():
            child = _create(
                workflow=workflow, trigger=Trigger.SUBWORKFLOW, triggered_by=caller, run_input=input, parent=parent
            )
    except InvalidInput as exc:
        raise NodeError(f"The sub-workflow refused its input: {exc.errors['input']}") from exc
    return child


def execution_cancel(*, execution: Execution) -> Execution:
    """A pending run ends at once; a running one stops at its next node boundary.

    A parked run (a long delay, no worker on it) is made due now, so a worker picks it up and
    ends it right away instead of at its wake-up time.
    """
    now = timezone.now()
    with transaction.atomic():
        cancelled_now = Execution.objects.filter(pk=execution.pk, status=ExecutionStatus.PENDING).update(
            status=ExecutionStatus.CANCELLED, cancel_requested=True, error="Cancelled on request.", finished_at=now
        )
        if cancelled_now:
            execution.node_runs.filter(status=NodeRunStatus.PENDING).update(
                status=NodeRunStatus.CANCELLED, finished_at=now
            )
            transaction.on_commit(partial(live.announce_finished, execution.pk, ExecutionStatus.CANCELLED))
        else:
            flagged = Execution.objects.filter(pk=execution.pk, status=ExecutionStatus.RUNNING).update(
                cancel_requested=True
            )
            if not flagged:
                raise InvalidInput.field("status", f"The execution has already ended ({execution.status}).")
            # Sub-workflows run inside their parent's node: they stop with it.
            Execution.objects.filter(parent=execution, status=ExecutionStatus.RUNNING).update(cancel_requested=True)
            if Execution.objects.filter(pk=execution.pk, wake_at__gt=now).update(wake_at=now):
                transaction.on_commit(partial(dispatch.enqueue, execution.pk, priority=execution.priority))
    execution.refresh_from_db()
    return execution


@transaction.atomic
def execution_retry(*, execution: Execution, user: AbstractBaseUser) -> Execution:
    """A new execution of the same version and input that reuses the nodes that succeeded."""
    if execution.status not in (ExecutionStatus.FAILED, ExecutionStatus.CANCELLED):
        raise InvalidInput.field("status", "Only a failed or cancelled execution can be retried.")
    retry = _create(
        workflow=execution.workflow,
        trigger=execution.trigger if execution.trigger != Trigger.SUBWORKFLOW else Trigger.MANUAL,
        triggered_by=user,
        run_input=execution.input,
        retry_of=execution,
    )
    _enqueue_on_commit(retry)
    return retry


@transaction.atomic
def webhook_rotate(*, workflow: Workflow) -> str:
    """A new webhook token for the workflow (the old one stops working); returned this once."""
    token = secrets.token_urlsafe(32)
    WorkflowWebhook.objects.update_or_create(
        workflow=workflow, defaults={"token_digest": webhook_digest(token), "token_prefix": token[:6]}
    )
    return token


def webhook_delete(*, workflow: Workflow) -> None:
    WorkflowWebhook.objects.filter(workflow=workflow).delete()


# --- Keeping runs alive and the tables lean -------------------------------------------------------


def executions_reap() -> int:
    """Find running executions without a live worker and wake workers to take them over.

    A run whose heartbeat went stale is resumed from its checkpoints by whichever worker wakes
    (`checkpoints.claim_resumable`, which also gives up after STRUCTFORGE_MAX_RECOVERIES).
    Returns how many wake-ups were sent.
    """
    sent = 0
    runs = Execution.objects.filter(resumable(timezone.now())).order_by("id").values_list("pk", "priority")
    for execution_id, priority in runs[:100]:
        sent += dispatch.enqueue(execution_id, priority=priority)
    return sent


def queue_reconcile() -> int:
    """Compare PostgreSQL with the queues and send the wake-ups that are missing.

    After a broker restart (or a run accepted while it was down) the queues may hold fewer
    wake-ups than there are runs ready to start; this sends the difference, also when the
    queues are empty. Extra wake-ups are harmless. Returns how many were sent.
    """
    now = timezone.now()
    ready = list(
        Execution.objects.filter(status=ExecutionStatus.PENDING)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .order_by("id")
        .values_list("pk", "priority")[: settings.STRUCTFORGE_MAX_RUNNING]
    )
    running = Execution.objects.filter(status=ExecutionStatus.RUNNING).count()
    startable = min(len(ready), max(0, settings.STRUCTFORGE_MAX_RUNNING - running))
    missing = startable - dispatch.queued_wakeups()
    sent = 0
    for execution_id, priority in ready[: max(0, missing)]:
        sent += dispatch.enqueue(execution_id, priority=priority)
    return sent


def executions_prune(*, batch_size: int = 1000) -> int:
    """Delete finished executions older than STRUCTFORGE_EXECUTION_RETENTION_DAYS, a batch at a time."""
    cutoff = timezone.now() - timedelta(days=settings.STRUCTFORGE_EXECUTION_RETENTION_DAYS)
    finished = Execution.objects.filter(
        status__in=[ExecutionStatus.SUCCESS, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED],
        finished_at__lt=cutoff,
    )
    deleted = 0
    while batch := list(finished.values_list("pk", flat=True)[:batch_size]):
        # Children point at their parent with SET_NULL, so batches can go in any order.
        Execution.objects.filter(pk__in=batch).delete()
        deleted += len(batch)
    DailyUsage.objects.filter(day__lt=cutoff.date()).delete()
    return deleted

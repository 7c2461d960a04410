"""Every state change of a running execution, written to PostgreSQL as it happens.

Each write made on behalf of a worker is fenced by the execution's `attempt`: a worker that lost
its run to another (its heartbeat stopped and the run was taken over) matches no row any more,
so it can never overwrite the newer attempt's results.
"""

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from executions import live
from executions.db_retry import retry_on_disconnect
from executions.models import Execution, ExecutionStatus, NodeRun, NodeRunStatus


@dataclass(frozen=True)
class Claim:
    execution_id: int
    attempt: int
    # The row as it was claimed, when claiming read it anyway: the runner need not load it again.
    execution: Execution | None = dataclasses.field(default=None, compare=False, repr=False)


class LostClaim(Exception):
    """The run was taken over by another worker (or ended elsewhere): stop touching it."""


def resumable(now: datetime) -> Q:
    """Running executions no worker is on: parked and due, or whose worker stopped heartbeating."""
    stale = now - timedelta(seconds=settings.STRUCTFORGE_HEARTBEAT_STALE_S)
    orphaned = Q(wake_at__isnull=True) & (Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale))
    return Q(status=ExecutionStatus.RUNNING) & (Q(wake_at__lte=now) | orphaned)


@retry_on_disconnect
def claim_resumable() -> Claim | None:
    """Take over a running execution that has no worker: parked and due, or its worker stopped heartbeating.

    Taking over from a lost worker counts as a recovery; once STRUCTFORGE_MAX_RECOVERIES were
    spent, the execution fails instead of being tried again. Every takeover is one
    compare-and-swap on the attempt, so two workers never both take the same run.
    """
    now = timezone.now()
    candidates = (
        Execution.objects.filter(resumable(now))
        .order_by("id")
        .values_list("pk", "attempt", "wake_at", "recoveries")[:20]
    )
    for execution_id, attempt, wake_at, recoveries in candidates:
        lost = wake_at is None
        if lost and recoveries >= settings.STRUCTFORGE_MAX_RECOVERIES:
            give_up(Claim(execution_id, attempt), recoveries=recoveries)
            continue
        taken = Execution.objects.filter(pk=execution_id, attempt=attempt, status=ExecutionStatus.RUNNING).update(
            attempt=attempt + 1,
            heartbeat_at=now,
            wake_at=None,
            recoveries=F("recoveries") + (1 if lost else 0),
        )
        if taken:
            return Claim(execution_id=execution_id, attempt=attempt + 1)
    return None


def give_up(claim: Claim, *, recoveries: int) -> None:
    """Fail a run whose workers kept dying, so it does not stay running forever."""
    message = f"The execution was given up after {recoveries} recoveries from lost workers."
    try:
        finish(claim, status=ExecutionStatus.FAILED, error=message)
    except LostClaim:
        return
    live.announce_finished(claim.execution_id, ExecutionStatus.FAILED)


def _fenced_execution(claim: Claim):
    return Execution.objects.filter(pk=claim.execution_id, attempt=claim.attempt, status=ExecutionStatus.RUNNING)


def _fenced_nodes(claim: Claim):
    return NodeRun.objects.filter(
        execution_id=claim.execution_id,
        execution__attempt=claim.attempt,
        execution__status=ExecutionStatus.RUNNING,
    )


@retry_on_disconnect
def heartbeat(claim: Claim) -> tuple[bool, bool]:
    """Prove this worker is alive. Returns (still ours, cancel requested).

    A run this worker has just parked keeps no heartbeat: the process's heartbeat thread may
    still hold it in the batch it read before the park committed.
    """
    with transaction.atomic():
        updated = _fenced_execution(claim).filter(wake_at__isnull=True).update(heartbeat_at=timezone.now())
        if not updated:
            return _fenced_execution(claim).exists(), False
        cancel = Execution.objects.filter(pk=claim.execution_id).values_list("cancel_requested", flat=True).first()
    return True, bool(cancel)


@retry_on_disconnect
def cancel_requested(claim: Claim) -> bool:
    return bool(Execution.objects.filter(pk=claim.execution_id).values_list("cancel_requested", flat=True).first())


@dataclass
class NodeChange:
    """One node run's new state. Fields left None are not written."""

    node_id: str
    status: str
    attempt: int | None = None
    input: Any = None
    output: Any = None
    error: str | None = None
    log: list[str] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    resume_at: datetime | None = None
    set_output: bool = False

    def as_event(self) -> dict[str, Any]:
        """What a live client is told of this change (outputs stay behind the API)."""
        event: dict[str, Any] = {"node_id": self.node_id, "status": self.status}
        for name in ("attempt", "error", "started_at", "finished_at"):
            value = getattr(self, name)
            if value is not None:
                event[name] = value.isoformat() if isinstance(value, datetime) else value
        if self.log:
            event["log"] = self.log[-20:]
        return event


_NODE_FIELDS = ("attempt", "input", "output", "error", "log", "started_at", "finished_at", "resume_at")
_JSON_FIELDS = frozenset({"input", "output", "log"})
_SQL_TYPES = {"attempt": "integer", "input": "jsonb", "output": "jsonb", "error": "text", "log": "jsonb"}


@retry_on_disconnect
def write_nodes(claim: Claim, changes: list[NodeChange]) -> None:
    """Write a batch of node changes in one statement; raise LostClaim if the run is no longer ours."""
    if not changes:
        return
    if connection.vendor == "postgresql":
        updated = _write_nodes_postgresql(claim, changes)
    else:
        updated = _write_nodes_orm(claim, changes)
    if updated != len(changes):
        raise LostClaim(claim)


def _write_nodes_postgresql(claim: Claim, changes: list[NodeChange]) -> int:
    sql, params = _node_changes_sql(claim, changes)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _node_changes_sql(claim: Claim, changes: Sequence[NodeChange]) -> tuple[str, list[Any]]:
    # The ORM's CASE WHEN per field and node costs milliseconds of Python per write. Here the
    # batch is one JSON parameter, made rows by jsonb_to_recordset and joined to the node runs
    # (and to the execution, for the fence): the statement's text and its few parameters are the
    # same whatever the batch's size, so psycopg parses it once and PostgreSQL keeps it prepared
    # (a VALUES list took 18 parameters a node, and psycopg parses anew a query with over 50).
    # Each field comes with a flag saying whether to write it (None means "leave as is").
    rows = []
    for change in changes:
        row: dict[str, Any] = {"node_id": change.node_id, "status": change.status}
        for name in _NODE_FIELDS:
            value = getattr(change, name)
            row[f"set_{name}"] = value is not None or (name == "output" and change.set_output)
            # A timestamp column keeps its microseconds (JSON encoders keep milliseconds).
            row[name] = value.isoformat() if isinstance(value, datetime) and name not in _JSON_FIELDS else value
        rows.append(row)
    return _node_changes_statement(), [_json(rows), *_fence_params(claim)]


@cache
def _node_changes_statement() -> str:
    record = ["node_id text", "status text"]
    assignments = ["status = v.status"]
    for name in _NODE_FIELDS:
        record += [f"set_{name} boolean", f"{name} {_SQL_TYPES.get(name, 'timestamptz')}"]
        assignments.append(f"{name} = CASE WHEN v.set_{name} THEN v.{name} ELSE n.{name} END")
    return (
        f"UPDATE {_NODE_RUNS} AS n SET {', '.join(assignments)} "
        f"FROM jsonb_to_recordset(%s::jsonb) AS v({', '.join(record)}), {_EXECUTIONS} AS e "
        f"WHERE n.execution_id = %s AND n.node_id = v.node_id AND {_FENCE_SQL}"
    )


# Joined to the execution as `e` and its node runs as `n`: the claim still holds.
_FENCE_SQL = "e.id = n.execution_id AND e.attempt = %s AND e.status = %s"
_NODE_RUNS = NodeRun._meta.db_table
_EXECUTIONS = Execution._meta.db_table


def _fence_params(claim: Claim) -> list[Any]:
    return [claim.execution_id, claim.attempt, ExecutionStatus.RUNNING]


def _json(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder)


def _write_nodes_orm(claim: Claim, changes: list[NodeChange]) -> int:
    updates: dict[str, Any] = {
        "status": Case(*(When(node_id=c.node_id, then=Value(c.status)) for c in changes), default=F("status"))
    }
    for field in _NODE_FIELDS:
        whens = [
            When(node_id=c.node_id, then=Value(getattr(c, field), output_field=NodeRun._meta.get_field(field)))
            for c in changes
            if getattr(c, field) is not None or (field == "output" and c.set_output)
        ]
        if whens:
            updates[field] = Case(*whens, default=F(field), output_field=NodeRun._meta.get_field(field))
    return _fenced_nodes(claim).filter(node_id__in=[c.node_id for c in changes]).update(**updates)


@retry_on_disconnect
def finish(
    claim: Claim,
    *,
    status: str,
    output: Any = None,
    error: str = "",
    error_node: str = "",
    node_changes: Sequence[NodeChange] = (),
) -> None:
    """The execution's final state, with the last node changes, in one transaction.

    Nodes still pending or running when a run fails or is cancelled end `cancelled`.
    """
    ending = _Ending(status=status, output=output, error=error, error_node=error_node, at=timezone.now())
    if connection.vendor == "postgresql":
        updated = _finish_postgresql(claim, ending, node_changes)
    else:
        updated = _finish_orm(claim, ending, node_changes)
    # A retry after a commit whose answer was lost finds its own write already there.
    if not updated and not _already_finished(claim, status):
        raise LostClaim(claim)


@dataclass(frozen=True)
class _Ending:
    status: str
    output: Any
    error: str
    error_node: str
    at: datetime


def _finish_orm(claim: Claim, ending: _Ending, node_changes: Sequence[NodeChange]) -> int:
    with transaction.atomic():
        write_nodes(claim, list(node_changes))
        if ending.status != ExecutionStatus.SUCCESS:
            _fenced_nodes(claim).filter(status__in=[NodeRunStatus.PENDING, NodeRunStatus.RUNNING]).update(
                status=NodeRunStatus.CANCELLED, finished_at=ending.at
            )
        return _fenced_execution(claim).update(
            status=ending.status,
            output=ending.output,
            error=ending.error,
            error_node=ending.error_node,
            finished_at=ending.at,
        )


def _finish_postgresql(claim: Claim, ending: _Ending, node_changes: Sequence[NodeChange]) -> int:
    """`finish` as one statement: one round trip and one transaction, prepared like any other
    (sent as several statements in one text message, it was planned on every run). Every part is
    fenced on the claim, so a lost claim changes nothing; returns how many execution rows it
    ended (0 or 1)."""
    cancels = ending.status != ExecutionStatus.SUCCESS
    if cancels:
        # The nodes still pending or running end cancelled, these with the rest of their change.
        node_changes = [
            dataclasses.replace(change, status=NodeRunStatus.CANCELLED, finished_at=ending.at)
            if change.status in (NodeRunStatus.PENDING, NodeRunStatus.RUNNING)
            else change
            for change in node_changes
        ]
    params: list[Any] = []
    if node_changes:
        params += _node_changes_sql(claim, node_changes)[1]
    if cancels:
        changed = [change.node_id for change in node_changes]
        params += [NodeRunStatus.CANCELLED, ending.at, claim.execution_id, NodeRunStatus.PENDING]
        params += [NodeRunStatus.RUNNING, changed, claim.attempt, ExecutionStatus.RUNNING]
    output = None if ending.output is None else _json(ending.output)
    params += [ending.status, output, ending.error, ending.error_node, ending.at, *_fence_params(claim)]
    with connection.cursor() as cursor:
        cursor.execute(_finish_statement(bool(node_changes), cancels), params)
        return cursor.rowcount


@cache
def _finish_statement(writes_nodes: bool, cancels: bool) -> str:
    # The parts read one snapshot: the fence joined to the execution sees it still running.
    parts = [f"nodes AS ({_node_changes_statement()})"] if writes_nodes else []
    if cancels:
        parts.append(
            f"cancelled AS (UPDATE {_NODE_RUNS} AS n SET status = %s, finished_at = %s FROM {_EXECUTIONS} AS e "
            f"WHERE n.execution_id = %s AND n.status IN (%s, %s) AND n.node_id <> ALL(%s::text[]) AND {_FENCE_SQL})"
        )
    return (
        (f"WITH {', '.join(parts)} " if parts else "")
        + f"UPDATE {_EXECUTIONS} AS e SET status = %s, output = %s::jsonb, error = %s, error_node = %s, "
        "finished_at = %s WHERE e.id = %s AND e.attempt = %s AND e.status = %s"
    )


def _already_finished(claim: Claim, status: str) -> bool:
    return Execution.objects.filter(pk=claim.execution_id, attempt=claim.attempt, status=status).exists()


@retry_on_disconnect
def park(claim: Claim, *, wake_at: datetime, node_changes: list[NodeChange]) -> None:
    """Free the worker: the run stays running, with no heartbeat, until `wake_at`."""
    with transaction.atomic():
        write_nodes(claim, node_changes)
        updated = _fenced_execution(claim).update(wake_at=wake_at, heartbeat_at=None)
        if not updated:
            raise LostClaim(claim)

"""Admission control: which execution a free worker runs next.

PostgreSQL is the queue. A Celery message only wakes a worker up; the worker then asks
`admit_next()` for the best execution it may start, runs it, and asks again until nothing is
admissible. An execution starts only while
- fewer than STRUCTFORGE_MAX_RUNNING executions run in all,
- its workflow runs fewer than `max_concurrency` (when set),
- its owner runs fewer than their quota's `max_running`,
and among the admissible ones the order is: high priority first; then the owner with fewest
running, then the owner who was served longest ago (so one user's thousand waiting runs never
starve another's single run); then arrival. Admissions are serialised by a transaction-level
advisory lock, so the limits hold across any number of workers and machines.
"""

from collections import Counter
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Max, Min, OuterRef, Q, Subquery
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from executions.checkpoints import Claim, resumable
from executions.models import AdmissionTurn, Execution, ExecutionStatus, Priority
from sharing.selectors import max_running_of, quotas_for
from structforge.db import instance_from_row, text_cursor
from workflows.models import Workflow

# Any fixed 64-bit number; it names the one lock every admission takes.
ADMISSION_LOCK_KEY = 0x5F0A_DE11


@dataclass(frozen=True)
class _Head:
    """The first waiting execution of one (owner, workflow) pair, with the limits that apply to it."""

    execution_id: int
    owner_id: int
    workflow_id: int
    high: bool
    workflow_limit: int | None
    owner_limit: int
    last_admitted_at: datetime | None


def _lock() -> None:
    # SQLite (standalone) has one writer at a time already: its transactions are IMMEDIATE.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADMISSION_LOCK_KEY])


def _due(now: datetime | Now) -> Q:
    return Q(status=ExecutionStatus.PENDING) & (Q(not_before__isnull=True) | Q(not_before__lte=now))


def _heads_sql() -> tuple[str, tuple]:
    """The heads query, compiled once per process (and database vendor, and default quota).

    Building and compiling it through the ORM costs about a millisecond of a worker's CPU on
    every admission, more than running it; it has no parameter that changes between calls (the
    clock is the database's), so its SQL is kept.
    """
    key = (connection.vendor, settings.STRUCTFORGE_USER_MAX_RUNNING)  # the default is part of the SQL
    if key not in _compiled_heads:
        last_turn = AdmissionTurn.objects.filter(owner_id=OuterRef("owner_id")).values("last_admitted_at")[:1]
        query = (
            Execution.objects.filter(_due(Now()))
            .order_by()
            .values("owner_id", "workflow_id")
            .annotate(
                first_high=Min("id", filter=Q(priority=Priority.HIGH)),
                first=Min("id"),
                workflow_limit=Max("workflow__max_concurrency"),
                owner_limit=max_running_of(OuterRef("owner_id")),
                last_admitted_at=Subquery(last_turn),
            )
            .values_list(
                "owner_id", "workflow_id", "first_high", "first", "workflow_limit", "owner_limit", "last_admitted_at"
            )
        )
        _compiled_heads[key] = query.query.sql_with_params()
    return _compiled_heads[key]


_compiled_heads: dict[tuple[str, int], tuple[str, tuple]] = {}


def _heads() -> list[_Head]:
    """One row per (owner, workflow) with waiting runs: its oldest high-priority run, else its oldest run.

    One statement brings each pair's limits and its owner's last turn along.
    """
    sql, params = _heads_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _heads_from(cursor.fetchall())


def _heads_from(rows: list[tuple]) -> list[_Head]:
    return [
        _Head(
            execution_id=first_high or first,
            owner_id=owner_id,
            workflow_id=workflow_id,
            high=first_high is not None,
            workflow_limit=workflow_limit,
            owner_limit=owner_limit,
            last_admitted_at=_timestamp(last),
        )
        for owner_id, workflow_id, first_high, first, workflow_limit, owner_limit, last in rows
    ]


def _timestamp(value: datetime | str | None) -> datetime | None:
    # SQLite hands timestamps back naive (UTC), as text or as datetime; the ORM would convert them.
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def admit_next() -> Claim | None:
    """Claim the pending execution this worker should start now, or None when nothing may start."""
    # Inside a transaction of the caller's (tests), the transaction cannot be spelled out.
    if connection.vendor == "postgresql" and connection.get_autocommit():
        return _admit_in_two_round_trips()
    with transaction.atomic():
        _lock()
        # Read the clock only once the lock is held: a start must never predate a finish it waited for.
        now = timezone.now()
        running = list(
            Execution.objects.filter(status=ExecutionStatus.RUNNING).order_by().values_list("workflow_id", "owner_id")
        )
        for head in _admissible(running, _heads(), now):
            started = Execution.objects.filter(pk=head.execution_id, status=ExecutionStatus.PENDING).update(
                status=ExecutionStatus.RUNNING, attempt=1, heartbeat_at=now, started_at=now
            )
            if started:
                # One upsert statement rather than update_or_create's select, update and savepoints.
                AdmissionTurn.objects.bulk_create(
                    [AdmissionTurn(owner_id=head.owner_id, last_admitted_at=now)],
                    update_conflicts=True,
                    unique_fields=["owner"],
                    update_fields=["last_admitted_at"],
                )
                return Claim(execution_id=head.execution_id, attempt=1)
    return None


def _admissible(running: list[tuple[int, int]], heads: list[_Head], now: datetime) -> list[_Head]:
    """The heads that may start now, the one to start first first.

    `running` holds a (workflow_id, owner_id) pair per running execution.
    """
    if len(running) >= settings.STRUCTFORGE_MAX_RUNNING:
        return []
    per_workflow = Counter(workflow_id for workflow_id, _ in running)
    per_owner = Counter(owner_id for _, owner_id in running)
    admissible = [
        head
        for head in heads
        if (head.workflow_limit is None or per_workflow[head.workflow_id] < head.workflow_limit)
        and per_owner[head.owner_id] < head.owner_limit
    ]
    admissible.sort(
        key=lambda head: (
            not head.high,
            per_owner[head.owner_id],
            head.last_admitted_at or datetime.min.replace(tzinfo=now.tzinfo),
            head.execution_id,
        )
    )
    return admissible


def _admit_in_two_round_trips() -> Claim | None:
    """`admit_next` on PostgreSQL, with the transaction spelled out so that it costs two round trips.

    Through the ORM an admission is seven (begin, lock, running, heads, start, turn, commit),
    six of them under the lock that every admission in the deployment waits for. Here the first
    round trip begins, takes the lock and reads (each statement of a multi-statement query reads
    a fresh snapshot, so the reads see every admission committed before the lock was granted);
    the second starts the first admissible run still pending, records the owner's turn and
    commits (or only commits, when nothing may start). Only deciding the order (`_admissible`)
    happens in Python, as on every database.
    """
    heads_sql, heads_params = _heads_sql()
    with text_cursor() as cursor:
        try:
            cursor.execute(
                "BEGIN; SELECT pg_advisory_xact_lock(%s); "
                f"SELECT workflow_id, owner_id FROM {_EXECUTIONS} WHERE status = %s; {heads_sql}",
                [ADMISSION_LOCK_KEY, ExecutionStatus.RUNNING, *heads_params],
            )
            now = timezone.now()
            cursor.nextset()  # past BEGIN's result to the lock's
            cursor.nextset()
            running = cursor.fetchall()
            cursor.nextset()
            heads = _heads_from(cursor.fetchall())
            candidates = _admissible(running, heads, now)
            if not candidates:
                cursor.execute("COMMIT")
                return None
            started = _start_first_pending_and_commit(cursor, candidates, now)
        except BaseException:
            with suppress(Exception):  # a broken connection has no transaction left to end
                cursor.execute("ROLLBACK")
            raise
    if started is None:
        # Every candidate was cancelled meanwhile (a cancel takes no lock): look again.
        return _admit_in_two_round_trips()
    return Claim(execution_id=started.pk, attempt=1, execution=started)


def _start_first_pending_and_commit(cursor, candidates: list[_Head], now: datetime) -> Execution | None:
    """Start the first candidate still pending, record its owner's turn and commit: one round trip.

    Returns the started execution as the runner needs it, so it is not read again."""
    cursor.execute(
        "WITH candidate AS ("
        f"  SELECT e.id FROM unnest(%s::bigint[]) WITH ORDINALITY AS c(id, position) JOIN {_EXECUTIONS} e"
        "   ON e.id = c.id AND e.status = %s ORDER BY c.position LIMIT 1"
        f"), started AS (UPDATE {_EXECUTIONS} e SET status = %s, attempt = 1, heartbeat_at = %s, started_at = %s"
        "   FROM candidate WHERE e.id = candidate.id AND e.status = %s RETURNING e.*"
        f"), turn AS (INSERT INTO {_TURNS} (owner_id, last_admitted_at) SELECT owner_id, %s FROM started"
        "   ON CONFLICT (owner_id) DO UPDATE SET last_admitted_at = EXCLUDED.last_admitted_at"
        ") SELECT * FROM started; COMMIT",
        [
            [head.execution_id for head in candidates],
            ExecutionStatus.PENDING,
            ExecutionStatus.RUNNING,
            now,
            now,
            ExecutionStatus.PENDING,
            now,
        ],
    )
    row = cursor.fetchone()
    if row is None:
        return None
    return instance_from_row(Execution, [column.name for column in cursor.description], row)


_EXECUTIONS = Execution._meta.db_table
_TURNS = AdmissionTurn._meta.db_table


PENDING_WORK = "pending"
RESUMABLE_WORK = "resumable"


def wakeup_work(execution_id: int) -> str | None:
    """What a wake-up sent for this execution may still find: PENDING_WORK, RESUMABLE_WORK or None.

    Every submitted run sends one wake-up, but a worker that is already going takes whichever
    run is most urgent, so by the time most wake-ups arrive their run was started by a worker
    that was awake anyway. A wake-up whose run no longer waits brings no new work (the worker
    that finishes a run looks for the next one itself), so it can end at once. A running one is
    worth a look when it is parked and due, or its worker stopped heartbeating: the wake-ups of
    parked runs, of cancels and of the reaper.
    """
    row = (
        Execution.objects.filter(pk=execution_id)
        .annotate(resumable=ExpressionWrapper(resumable(timezone.now()), output_field=BooleanField()))
        .values_list("status", "resumable")
        .first()
    )
    if row is None:
        return None
    status, can_resume = row
    if status == ExecutionStatus.PENDING:
        return PENDING_WORK
    return RESUMABLE_WORK if can_resume else None


@dataclass(frozen=True)
class Waiting:
    """Why a pending execution has not started, and how many wait ahead of it for the same thing."""

    reason: str | None  # delay, global, workflow, user; None when it starts as soon as a worker is free
    position: int | None


def waiting_for(execution: Execution) -> Waiting:
    if execution.status != ExecutionStatus.PENDING:
        return Waiting(None, None)
    now = timezone.now()
    pending = Execution.objects.filter(status=ExecutionStatus.PENDING)
    ahead = Q(priority=execution.priority, pk__lt=execution.pk)
    if execution.priority == Priority.NORMAL:
        ahead |= Q(priority=Priority.HIGH)
    if execution.not_before is not None and execution.not_before > now:
        earlier = pending.filter(not_before__gt=now, not_before__lt=execution.not_before).count()
        return Waiting("delay", earlier + 1)
    running = Execution.objects.filter(status=ExecutionStatus.RUNNING).aggregate(
        total=Count("id"),
        workflow=Count("id", filter=Q(workflow_id=execution.workflow_id)),
        owner=Count("id", filter=Q(owner_id=execution.owner_id)),
    )
    limit = Workflow.objects.filter(pk=execution.workflow_id).values_list("max_concurrency", flat=True).first()
    due = pending.filter(_due(now))
    if running["total"] >= settings.STRUCTFORGE_MAX_RUNNING:
        return Waiting("global", due.filter(ahead).count() + 1)
    if limit is not None and running["workflow"] >= limit:
        return Waiting("workflow", due.filter(ahead, workflow_id=execution.workflow_id).count() + 1)
    if running["owner"] >= quotas_for(user_ids=[execution.owner_id])[execution.owner_id].max_running:
        return Waiting("user", due.filter(ahead, owner_id=execution.owner_id).count() + 1)
    return Waiting(None, None)

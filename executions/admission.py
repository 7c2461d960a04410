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

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Min, Q
from django.db.models.functions import Now
from django.utils import timezone

from executions.checkpoints import Claim, resumable
from executions.models import AdmissionTurn, Execution, ExecutionStatus, Priority
from sharing.models import UserQuota
from sharing.selectors import quotas_for
from structforge.db import in_one_round_trip, instance_from_row, row_columns
from workflows.models import Workflow

# Any fixed 64-bit number; it names the one lock every admission takes.
ADMISSION_LOCK_KEY = 0x5F0A_DE11


def _due(now: datetime | Now) -> Q:
    return Q(status=ExecutionStatus.PENDING) & (Q(not_before__isnull=True) | Q(not_before__lte=now))


def _heads_sql() -> tuple[str, tuple]:
    """One row per (owner, workflow) with due runs: its oldest high-priority run, its oldest run,
    the pair's limits and the owner's last turn, in that column order.

    The due runs are grouped first and the limits joined to the groups. Written as one ORM
    aggregate, the owner's limit and turn were subqueries in the grouping key, which PostgreSQL
    ran once per waiting run: 10 ms an admission with 1,000 runs waiting.
    """
    due = (
        Execution.objects.filter(_due(Now()))
        .order_by()
        .values("owner_id", "workflow_id")
        .annotate(first_high=Min("id", filter=Q(priority=Priority.HIGH)), first_any=Min("id"))
        .values_list("owner_id", "workflow_id", "first_high", "first_any")
    )
    due_sql, due_params = due.query.sql_with_params()
    quote = connection.ops.quote_name
    sql = (
        "SELECT due.owner_id, due.workflow_id, due.first_high, due.first_any, w.max_concurrency, "
        "COALESCE(quota.max_running, %s), turn.last_admitted_at "
        f"FROM ({due_sql}) AS due "
        f"JOIN {quote(Workflow._meta.db_table)} w ON w.id = due.workflow_id "
        f"LEFT JOIN {quote(UserQuota._meta.db_table)} quota ON quota.user_id = due.owner_id "
        f"LEFT JOIN {_TURNS} turn ON turn.owner_id = due.owner_id"
    )
    return sql, (settings.STRUCTFORGE_USER_MAX_RUNNING, *due_params)


def _candidates_sql() -> tuple[str, tuple]:
    """The runs that may start now under the rules above, most urgent first: `(id, owner_id)` rows.

    Each (owner, workflow) pair offers its oldest high-priority run, else its oldest run. The
    global cap, STRUCTFORGE_MAX_RUNNING, is the one parameter the caller appends.

    Built and compiled once per process (and database vendor, and default quota): through the
    ORM that costs about a millisecond of a worker's CPU on every admission, more than running
    it. Nothing in it changes between calls but the global cap, and the clock is the database's.
    """
    key = (connection.vendor, settings.STRUCTFORGE_USER_MAX_RUNNING)  # the default is part of the SQL
    if key not in _compiled_candidates:
        heads_sql, heads_params = _heads_sql()
        sql = (
            "WITH heads (owner_id, workflow_id, first_high, first_any, workflow_limit, owner_limit, last_admitted_at) "
            f"AS ({heads_sql}), "
            f"running AS (SELECT workflow_id, owner_id FROM {_EXECUTIONS} WHERE status = %s), "
            "by_owner AS (SELECT owner_id, COUNT(*) AS n FROM running GROUP BY owner_id), "
            "by_workflow AS (SELECT workflow_id, COUNT(*) AS n FROM running GROUP BY workflow_id) "
            "SELECT COALESCE(heads.first_high, heads.first_any) AS id, heads.owner_id FROM heads "
            "LEFT JOIN by_owner ON by_owner.owner_id = heads.owner_id "
            "LEFT JOIN by_workflow ON by_workflow.workflow_id = heads.workflow_id "
            "WHERE (SELECT COUNT(*) FROM running) < %s "
            "AND (heads.workflow_limit IS NULL OR COALESCE(by_workflow.n, 0) < heads.workflow_limit) "
            "AND COALESCE(by_owner.n, 0) < heads.owner_limit "
            "ORDER BY heads.first_high IS NULL, COALESCE(by_owner.n, 0), heads.last_admitted_at IS NOT NULL, "
            "heads.last_admitted_at, COALESCE(heads.first_high, heads.first_any)"
        )
        _compiled_candidates[key] = (sql, (*heads_params, ExecutionStatus.RUNNING))
    return _compiled_candidates[key]


_compiled_candidates: dict[tuple[str, int], tuple[str, tuple]] = {}


def admit_next() -> Claim | None:
    """Claim the pending execution this worker should start now, or None when nothing may start."""
    if connection.vendor == "postgresql":
        return _admit_in_one_round_trip()
    sql, params = _candidates_sql()
    # SQLite (standalone) serialises admissions without a lock: its transactions are IMMEDIATE.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, settings.STRUCTFORGE_MAX_RUNNING])
            candidates = cursor.fetchall()
        # Read the clock only once the lock is held: a start must never predate a finish it waited for.
        now = timezone.now()
        for execution_id, owner_id in candidates:
            started = Execution.objects.filter(pk=execution_id, status=ExecutionStatus.PENDING).update(
                status=ExecutionStatus.RUNNING, attempt=1, heartbeat_at=now, started_at=now
            )
            if started:
                # One upsert statement rather than update_or_create's select, update and savepoints.
                AdmissionTurn.objects.bulk_create(
                    [AdmissionTurn(owner_id=owner_id, last_admitted_at=now)],
                    update_conflicts=True,
                    unique_fields=["owner"],
                    update_fields=["last_admitted_at"],
                )
                return Claim(execution_id=execution_id, attempt=1)
    return None


def _admit_in_one_round_trip() -> Claim | None:
    """`admit_next` on PostgreSQL in one round trip. Through the ORM it is six (begin, lock,
    candidates, start, turn, commit), five of them under the lock that every admission in the
    deployment waits for.

    Take the lock, then start the most urgent candidate and record its owner's turn in one
    statement; both go as one pipeline, prepared (sent as one text message, the start was planned
    on every admission: two thirds of its cost to PostgreSQL). The start reads a snapshot taken
    after the lock was granted, so it sees every admission committed before, and its clock
    (`clock_timestamp()`) is read after every finish it can see: a start never predates a finish
    it waited for. A candidate cancelled since (a cancel takes no lock) is not started; then the
    query runs again.
    """
    (*row, found), *_ = in_one_round_trip([("SELECT pg_advisory_xact_lock(%s)", [ADMISSION_LOCK_KEY]), _start_sql()])
    if not found:
        return None
    if row[0] is None:
        return _admit_in_one_round_trip()  # the candidate was cancelled meanwhile: look again
    execution = instance_from_row(Execution, row)
    return Claim(execution_id=execution.pk, attempt=1, execution=execution)


def _start_sql() -> tuple[str, list]:
    """The statement that starts the most urgent candidate and records its owner's turn."""
    candidates_sql, candidates_params = _candidates_sql()
    params = [*candidates_params, settings.STRUCTFORGE_MAX_RUNNING, ExecutionStatus.RUNNING, ExecutionStatus.PENDING]
    return _start_statement(candidates_sql), params


@cache  # one text per candidates query: built once, not on every admission
def _start_statement(candidates_sql: str) -> str:
    return (
        f"WITH candidate AS ({candidates_sql} LIMIT 1), now AS (SELECT clock_timestamp() AS at), "
        f"started AS (UPDATE {_EXECUTIONS} e SET status = %s, attempt = 1, heartbeat_at = now.at, "
        "started_at = now.at FROM candidate, now WHERE e.id = candidate.id AND e.status = %s "
        f"RETURNING {row_columns(Execution, 'e')}), "
        f"turn AS (INSERT INTO {_TURNS} (owner_id, last_admitted_at) SELECT owner_id, started_at FROM started "
        "ON CONFLICT (owner_id) DO UPDATE SET last_admitted_at = EXCLUDED.last_admitted_at) "
        "SELECT started.*, (SELECT COUNT(*) FROM candidate) FROM (SELECT 1) AS one LEFT JOIN started ON TRUE"
    )


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

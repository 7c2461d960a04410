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
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from executions.checkpoints import Claim, claim_resumable
from executions.models import AdmissionTurn, Execution, ExecutionStatus, Priority
from sharing.selectors import quotas_for
from workflows.models import Workflow

# Any fixed 64-bit number; it names the one lock every admission takes.
ADMISSION_LOCK_KEY = 0x5F0A_DE11


@dataclass(frozen=True)
class _Head:
    """The first waiting execution of one (owner, workflow) pair."""

    execution_id: int
    owner_id: int
    workflow_id: int
    high: bool


def _lock() -> None:
    # SQLite (standalone) has one writer at a time already: its transactions are IMMEDIATE.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADMISSION_LOCK_KEY])


def _due(now: datetime) -> Q:
    return Q(status=ExecutionStatus.PENDING) & (Q(not_before__isnull=True) | Q(not_before__lte=now))


def _heads(now: datetime) -> list[_Head]:
    """One row per (owner, workflow) with waiting runs: its oldest high-priority run, else its oldest run."""
    rows = (
        Execution.objects.filter(_due(now))
        .order_by()
        .values("owner_id", "workflow_id")
        .annotate(first_high=Min("id", filter=Q(priority=Priority.HIGH)), first=Min("id"))
    )
    return [
        _Head(
            execution_id=row["first_high"] or row["first"],
            owner_id=row["owner_id"],
            workflow_id=row["workflow_id"],
            high=row["first_high"] is not None,
        )
        for row in rows
    ]


def admit_next() -> Claim | None:
    """Claim the execution this worker should run now, or None when nothing may start."""
    resumed = claim_resumable()
    if resumed is not None:
        return resumed
    with transaction.atomic():
        _lock()
        # Read the clock only once the lock is held: a start must never predate a finish it waited for.
        now = timezone.now()
        running = list(
            Execution.objects.filter(status=ExecutionStatus.RUNNING).order_by().values_list("workflow_id", "owner_id")
        )
        if len(running) >= settings.STRUCTFORGE_MAX_RUNNING:
            return None
        heads = _heads(now)
        if not heads:
            return None
        per_workflow = Counter(workflow_id for workflow_id, _ in running)
        per_owner = Counter(owner_id for _, owner_id in running)
        limits = dict(
            Workflow.objects.filter(pk__in={head.workflow_id for head in heads}).values_list("pk", "max_concurrency")
        )
        quotas = quotas_for(user_ids={head.owner_id for head in heads})
        turns = dict(AdmissionTurn.objects.filter(owner_id__in=quotas).values_list("owner_id", "last_admitted_at"))
        admissible = [
            head
            for head in heads
            if (limits.get(head.workflow_id) is None or per_workflow[head.workflow_id] < limits[head.workflow_id])
            and per_owner[head.owner_id] < quotas[head.owner_id].max_running
        ]
        admissible.sort(
            key=lambda head: (
                not head.high,
                per_owner[head.owner_id],
                turns.get(head.owner_id) or datetime.min.replace(tzinfo=now.tzinfo),
                head.execution_id,
            )
        )
        for head in admissible:
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

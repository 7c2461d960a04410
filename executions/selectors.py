"""Reads of executions, scoped to the workflows the caller can see."""

import hashlib

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from executions.models import DailyUsage, Execution, ExecutionStatus, NodeRun, WorkflowWebhook
from sharing.selectors import quota_for, workflow_role_of
from workflows.models import Workflow
from workflows.selectors import workflows_visible_to


def executions_visible_to(*, user: AbstractBaseUser) -> QuerySet[Execution]:
    """Executions of every workflow the user can see, annotated with the user's `role` on it."""
    visible = workflows_visible_to(user=user)
    return (
        Execution.objects.filter(workflow__in=visible.values("pk"))
        .annotate(role=Subquery(visible.filter(pk=OuterRef("workflow_id")).values("role")[:1]))
        .select_related("triggered_by")
    )


def execution_visible_to(*, user: AbstractBaseUser, pk: int | str, defer: tuple[str, ...] = ()) -> Execution | None:
    """One execution, annotated with the user's `role` on its workflow, or None when it does not
    exist or they may not see it: the same answer as `executions_visible_to` for one row, from
    index lookups (the visibility query costs milliseconds to plan, on every request about one
    execution and every WebSocket connect)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    execution = next(
        iter(
            Execution.objects.filter(pk=pk)
            .select_related("triggered_by")
            .annotate(workflow_owner_id=F("workflow__owner_id"))
            .defer(*defer)
        ),
        None,
    )
    if execution is None:
        return None
    execution.role = workflow_role_of(user, workflow_id=execution.workflow_id, owner_id=execution.workflow_owner_id)
    return execution if execution.role is not None else None


def finished_execution(*, pk: int) -> Execution | None:
    """The execution with its node runs once it has ended, else None (no caller's role: see
    the synchronous run request, which answers only the caller who started it)."""
    execution = Execution.objects.filter(pk=pk).prefetch_related("node_runs").first()
    return execution if execution is not None and execution.is_finished else None


def execution_node_runs(*, execution: Execution) -> QuerySet[NodeRun]:
    return execution.node_runs.order_by("position")


def webhook_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def webhook_workflow(*, token: str) -> Workflow | None:
    webhook = WorkflowWebhook.objects.select_related("workflow").filter(token_digest=webhook_digest(token)).first()
    return webhook.workflow if webhook else None


def webhook_of(*, workflow: Workflow) -> WorkflowWebhook | None:
    return WorkflowWebhook.objects.filter(workflow=workflow).first()


def quota_use(*, user: AbstractBaseUser) -> dict[str, int]:
    """The caller's quotas and how much of each is in use now."""
    quota = quota_for(user=user)
    today = DailyUsage.objects.filter(owner=user, day=timezone.now().date()).values_list("executions", flat=True)
    mine = Execution.objects.filter(owner=user)
    schedules = 0
    if apps.is_installed("scheduling"):
        # Named by string: scheduling sits above executions.
        schedules = apps.get_model("scheduling", "ScheduledTask").objects.filter(workflow__owner=user).count()
    return {
        "max_running": quota.max_running,
        "running": mine.filter(status=ExecutionStatus.RUNNING).count(),
        "max_executions_per_day": quota.max_executions_per_day,
        "executions_today": today.first() or 0,
        "max_workflows": quota.max_workflows,
        "workflows": Workflow.objects.filter(owner=user).count(),
        "max_schedules": quota.max_schedules,
        "schedules": schedules,
    }

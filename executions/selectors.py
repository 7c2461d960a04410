"""Reads of executions, scoped to the workflows the caller can see."""

import hashlib

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, QuerySet, Subquery

from executions.models import Execution, NodeRun, WorkflowWebhook
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


def execution_node_runs(*, execution: Execution) -> QuerySet[NodeRun]:
    return execution.node_runs.order_by("position")


def webhook_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def webhook_workflow(*, token: str) -> Workflow | None:
    webhook = WorkflowWebhook.objects.select_related("workflow").filter(token_digest=webhook_digest(token)).first()
    return webhook.workflow if webhook else None


def webhook_of(*, workflow: Workflow) -> WorkflowWebhook | None:
    return WorkflowWebhook.objects.filter(workflow=workflow).first()

"""Reads of grants, links and the audit log, and the query parts that compute a caller's role."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, CharField, Exists, OuterRef, Q, QuerySet, Value, When

from sharing.models import (
    AuditEvent,
    Grant,
    ShareLink,
    UserQuota,
    WorkflowGroupObjectPermission,
    WorkflowUserObjectPermission,
)
from sharing.roles import ROLE_MARKER, Role


def _holders(user: AbstractBaseUser, codename: str) -> tuple[QuerySet, QuerySet]:
    """Workflow ids on which `user` holds `codename`, directly and through a group."""
    direct = WorkflowUserObjectPermission.objects.filter(user=user, permission__codename=codename)
    through_group = WorkflowGroupObjectPermission.objects.filter(
        group__in=user.groups.all(), permission__codename=codename
    )
    return direct, through_group


def workflow_visibility_filter(user: AbstractBaseUser) -> Q:
    """Workflows `user` owns or holds the view permission on. Global permissions never count."""
    direct, through_group = _holders(user, ROLE_MARKER[Role.VIEWER])
    return (
        Q(owner=user)
        | Q(pk__in=direct.values("content_object_id"))
        | Q(pk__in=through_group.values("content_object_id"))
    )


def workflow_role_expression(user: AbstractBaseUser) -> Case:
    """The caller's role on each workflow row, from ownership and the permissions held."""
    whens = [When(owner=user, then=Value(Role.OWNER.value))]
    for role in (Role.EDITOR, Role.EXECUTOR, Role.VIEWER):
        direct, through_group = _holders(user, ROLE_MARKER[role])
        held = Exists(direct.filter(content_object=OuterRef("pk"))) | Exists(
            through_group.filter(content_object=OuterRef("pk"))
        )
        whens.append(When(held, then=Value(role.value)))
    return Case(*whens, default=Value(None), output_field=CharField())


def workflow_role_of(user: AbstractBaseUser, *, workflow_id: int, owner_id: int) -> str | None:
    """`user`'s role on one workflow, or None when they may not see it.

    The same answer as `workflow_role_expression` for one row, from two index lookups: the
    visibility query costs milliseconds to plan, which a request about one workflow should not pay.
    """
    if not user.is_authenticated:
        return None
    if owner_id == user.pk:
        return Role.OWNER
    held = set(
        WorkflowUserObjectPermission.objects.filter(user=user, content_object_id=workflow_id)
        .values_list("permission__codename", flat=True)
        .union(
            WorkflowGroupObjectPermission.objects.filter(group__user=user, content_object_id=workflow_id).values_list(
                "permission__codename", flat=True
            )
        )
    )
    for role in (Role.EDITOR, Role.EXECUTOR, Role.VIEWER):
        if ROLE_MARKER[role] in held:
            return role
    return None


def grants_on_workflow(*, workflow) -> QuerySet[Grant]:
    return Grant.objects.filter(workflow=workflow).select_related("user", "group", "granted_by")


def grants_on_folder(*, folder) -> QuerySet[Grant]:
    return Grant.objects.filter(folder=folder).select_related("user", "group", "granted_by")


def link_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def share_links_of(*, workflow) -> QuerySet[ShareLink]:
    return ShareLink.objects.filter(workflow=workflow, revoked_at__isnull=True).select_related("created_by")


def audit_events_of(*, workflow_id: int) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(workflow_id=workflow_id).select_related("actor")


@dataclass(frozen=True)
class Quota:
    max_running: int
    max_executions_per_day: int
    max_workflows: int
    max_schedules: int


def quota_defaults() -> dict[str, int]:
    """The limits of every user without an override, from settings."""
    return {
        "max_running": settings.STRUCTFORGE_USER_MAX_RUNNING,
        "max_executions_per_day": settings.STRUCTFORGE_USER_MAX_EXECUTIONS_PER_DAY,
        "max_workflows": settings.STRUCTFORGE_USER_MAX_WORKFLOWS,
        "max_schedules": getattr(settings, "STRUCTFORGE_USER_MAX_SCHEDULES", 100),
    }


def quotas_for(*, user_ids: Iterable[int]) -> dict[int, Quota]:
    """Each user's limits: their override where set, the default from settings otherwise."""
    defaults = quota_defaults()
    user_ids = list(user_ids)
    overrides = {row["user_id"]: row for row in UserQuota.objects.filter(user_id__in=user_ids).values()}
    quotas = {}
    for user_id in user_ids:
        override = overrides.get(user_id, {})
        limits = {name: default if override.get(name) is None else override[name] for name, default in defaults.items()}
        quotas[user_id] = Quota(**limits)
    return quotas


def quota_for(*, user: AbstractBaseUser) -> Quota:
    return quotas_for(user_ids=[user.pk])[user.pk]

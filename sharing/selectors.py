"""Reads of grants, links and the audit log, and the query parts that compute a caller's role."""

import hashlib

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, CharField, Exists, OuterRef, Q, QuerySet, Value, When

from sharing.models import AuditEvent, Grant, ShareLink, WorkflowGroupObjectPermission, WorkflowUserObjectPermission
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

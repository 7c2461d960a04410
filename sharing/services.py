"""Writes of API tokens, grants, share links and the audit log, and the permission sync."""

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from knox.models import AuthToken

from sharing.models import (
    AuditEvent,
    Grant,
    ShareLink,
    WorkflowGroupObjectPermission,
    WorkflowUserObjectPermission,
)
from sharing.roles import LINK_ROLES, ROLE_PERMISSIONS, SHAREABLE_ROLES, Role, higher_role
from sharing.selectors import link_digest
from structforge.errors import InvalidInput

# --- API tokens --------------------------------------------------------------------------------------


def api_token_issue(*, user: AbstractBaseUser) -> tuple[str, datetime | None]:
    """A new API token for `user`. Only its SHA-512 digest is stored; the token is returned once.

    The user's expired tokens are deleted meanwhile (requests only check their own token's expiry).
    """
    AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    instance, token = AuthToken.objects.create(user=user)
    return token, instance.expiry


def api_token_revoke(*, token: AuthToken) -> None:
    token.delete()


# --- Audit ---------------------------------------------------------------------------------------------


def audit(*, workflow: Any, actor: AbstractBaseUser | None, action: str, **details: Any) -> AuditEvent:
    return AuditEvent.objects.create(
        workflow_id=workflow.pk, workflow_name=workflow.name, actor=actor, action=action, details=details
    )


def _audit_folder_grant(
    *, grant: Grant, workflow_ids: list[int], actor: AbstractBaseUser, action: str, **details: Any
) -> None:
    """The same event on every workflow a folder grant reaches, naming the folder (one insert)."""
    Workflow = apps.get_model("workflows", "Workflow")
    details = {**details, "principal": _principal_name(grant), "folder": grant.folder.name}
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(workflow_id=pk, workflow_name=name, actor=actor, action=action, details=details)
            for pk, name in Workflow.objects.filter(pk__in=workflow_ids).values_list("pk", "name")
        ],
        batch_size=1000,
    )


# --- Materialising roles into django-guardian permissions ---------------------------------------------


def _folder_ancestors(owner_ids: set[int]) -> dict[int, list[int]]:
    """Each folder of these owners with itself and every folder above it, from one query."""
    Folder = apps.get_model("workflows", "Folder")
    parents = dict(Folder.objects.filter(owner_id__in=owner_ids).values_list("id", "parent_id"))
    chains: dict[int, list[int]] = {}
    for folder_id in parents:
        chain, current = [], folder_id
        while current is not None and current not in chain:
            chain.append(current)
            current = parents.get(current)
        chains[folder_id] = chain
    return chains


@transaction.atomic
def workflow_permissions_sync(*, workflow_ids: Iterable[int]) -> None:
    """Rewrite the guardian permissions of these workflows from ownership and the grants that reach them.

    A principal's role on a workflow is the highest of its direct grant and the grants on the
    workflow's folder and every folder above it.
    """
    workflow_ids = list(workflow_ids)
    if not workflow_ids:
        return
    Workflow = apps.get_model("workflows", "Workflow")
    # Lock the workflows (in pk order) before reading the grants: two syncs of the same workflows
    # then run one after the other. Otherwise one could read the grants before a revocation
    # commits and write them after the revoking sync did, leaving the revoked user their access
    # (or fail on the unique constraint when both insert).
    workflows = list(
        Workflow.objects.filter(pk__in=workflow_ids)
        .order_by("pk")
        .select_for_update()
        .values_list("pk", "owner_id", "folder_id")
    )
    chains = _folder_ancestors({owner_id for _, owner_id, _ in workflows})
    folder_ids = {folder_id for _, _, folder in workflows if folder for folder_id in chains.get(folder, [folder])}
    grants = list(
        Grant.objects.filter(Q(workflow_id__in=workflow_ids) | Q(folder_id__in=folder_ids)).values(
            "workflow_id", "folder_id", "user_id", "group_id", "role"
        )
    )
    by_target: dict[tuple[str, int], list[dict]] = {}
    for grant in grants:
        target = ("workflow", grant["workflow_id"]) if grant["workflow_id"] else ("folder", grant["folder_id"])
        by_target.setdefault(target, []).append(grant)

    user_roles: dict[tuple[int, int], str] = {}
    group_roles: dict[tuple[int, int], str] = {}
    for workflow_id, owner_id, folder_id in workflows:
        user_roles[(workflow_id, owner_id)] = Role.OWNER
        targets = [("workflow", workflow_id)] + [("folder", f) for f in chains.get(folder_id, [])]
        for target in targets:
            for grant in by_target.get(target, ()):
                roles, principal = (
                    (user_roles, grant["user_id"]) if grant["user_id"] else (group_roles, grant["group_id"])
                )
                key = (workflow_id, principal)
                roles[key] = higher_role(roles.get(key), grant["role"])

    permission_ids = dict(
        Permission.objects.filter(content_type__app_label="workflows", content_type__model="workflow").values_list(
            "codename", "id"
        )
    )
    WorkflowUserObjectPermission.objects.filter(content_object_id__in=workflow_ids).delete()
    WorkflowGroupObjectPermission.objects.filter(content_object_id__in=workflow_ids).delete()
    WorkflowUserObjectPermission.objects.bulk_create(
        WorkflowUserObjectPermission(content_object_id=w, user_id=u, permission_id=permission_ids[codename])
        for (w, u), role in user_roles.items()
        for codename in ROLE_PERMISSIONS[role]
    )
    WorkflowGroupObjectPermission.objects.bulk_create(
        WorkflowGroupObjectPermission(content_object_id=w, group_id=g, permission_id=permission_ids[codename])
        for (w, g), role in group_roles.items()
        for codename in ROLE_PERMISSIONS[role]
    )


def workflows_below(*, folder: Any) -> list[int]:
    """Ids of the workflows in `folder` and every folder below it."""
    Workflow = apps.get_model("workflows", "Workflow")
    chains = _folder_ancestors({folder.owner_id})
    subtree = [folder_id for folder_id, chain in chains.items() if folder.pk in chain]
    return list(Workflow.objects.filter(folder_id__in=subtree).values_list("pk", flat=True))


# --- Grants ------------------------------------------------------------------------------------------


def _check_shareable_role(role: str) -> None:
    if role not in SHAREABLE_ROLES:
        raise InvalidInput.field("role", "Share as viewer, executor or editor; ownership is transferred instead.")


@transaction.atomic
def grant_set(
    *,
    role: str,
    granted_by: AbstractBaseUser,
    workflow: Any = None,
    folder: Any = None,
    user: AbstractBaseUser | None = None,
    group: Group | None = None,
) -> Grant:
    """Give (or change) a role on a workflow or folder to a user or group."""
    _check_shareable_role(role)
    owner_id = (workflow or folder).owner_id
    if user is not None and user.pk == owner_id:
        raise InvalidInput.field("user", "The owner already has every right.")
    grant, created = Grant.objects.update_or_create(
        workflow=workflow, folder=folder, user=user, group=group, defaults={"role": role, "granted_by": granted_by}
    )
    affected = [workflow.pk] if workflow is not None else workflows_below(folder=folder)
    workflow_permissions_sync(workflow_ids=affected)
    action = "share" if created else "change_role"
    if workflow is not None:
        audit(workflow=workflow, actor=granted_by, action=action, principal=_principal_name(grant), role=role)
    else:
        _audit_folder_grant(grant=grant, workflow_ids=affected, actor=granted_by, action=action, role=role)
    return grant


@transaction.atomic
def grant_revoke(*, grant: Grant, revoked_by: AbstractBaseUser) -> None:
    affected = [grant.workflow_id] if grant.workflow_id else workflows_below(folder=grant.folder)
    if grant.workflow_id:
        audit(workflow=grant.workflow, actor=revoked_by, action="revoke", principal=_principal_name(grant))
    else:
        _audit_folder_grant(grant=grant, workflow_ids=affected, actor=revoked_by, action="revoke")
    grant.delete()
    workflow_permissions_sync(workflow_ids=affected)


def _principal_name(grant: Grant) -> str:
    return f"user:{grant.user.username}" if grant.user_id else f"group:{grant.group.name}"


# --- Share links -----------------------------------------------------------------------------------


@transaction.atomic
def share_link_create(
    *,
    workflow: Any,
    created_by: AbstractBaseUser,
    role: str,
    label: str = "",
    expires_at: datetime | None = None,
    max_uses: int | None = None,
) -> tuple[ShareLink, str]:
    """A new link; its token (256 random bits) is returned this once and stored only as a digest."""
    if role not in LINK_ROLES:
        raise InvalidInput.field("role", "A link gives the viewer or executor role.")
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput.field("expires_at", "Give a time in the future.")
    token = secrets.token_urlsafe(32)
    link = ShareLink.objects.create(
        workflow=workflow,
        role=role,
        label=label,
        token_digest=link_digest(token),
        token_prefix=token[:6],
        expires_at=expires_at,
        max_uses=max_uses,
        created_by=created_by,
    )
    audit(workflow=workflow, actor=created_by, action="create_link", link=link.pk, role=role)
    return link, token


@transaction.atomic
def share_link_revoke(*, link: ShareLink, revoked_by: AbstractBaseUser) -> None:
    ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit(workflow=link.workflow, actor=revoked_by, action="revoke_link", link=link.pk)


def _usable_links() -> Q:
    now = timezone.now()
    return (
        Q(revoked_at__isnull=True)
        & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        & (Q(max_uses__isnull=True) | Q(use_count__lt=F("max_uses")))
    )


def share_link_resolve(*, token: str) -> ShareLink | None:
    """The link behind `token` if it can still be used; a wrong, expired, exhausted or revoked one is None alike."""
    return ShareLink.objects.filter(_usable_links(), token_digest=link_digest(token)).select_related("workflow").first()


@transaction.atomic
def share_link_use(*, token: str, action: str) -> ShareLink | None:
    """Count one use of the link (atomically, so `max_uses` holds under concurrency) and audit it."""
    digest = link_digest(token)
    used = ShareLink.objects.filter(_usable_links(), token_digest=digest).update(use_count=F("use_count") + 1)
    if not used:
        return None
    link = ShareLink.objects.select_related("workflow").get(token_digest=digest)
    audit(workflow=link.workflow, actor=None, action="use_link", link=link.pk, use=action)
    return link

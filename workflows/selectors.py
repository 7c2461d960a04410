"""Reads of folders, tags, workflows and versions, always scoped to what the caller may see."""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, QuerySet

from sharing.roles import ROLE_RANK
from sharing.selectors import workflow_role_expression, workflow_role_of, workflow_visibility_filter
from structforge.db import rows_with_related
from workflows import secrets
from workflows.diff import diff_definitions
from workflows.models import Folder, Secret, Tag, Workflow, WorkflowVersion


def folders_of(*, user: AbstractBaseUser) -> QuerySet[Folder]:
    return Folder.objects.filter(owner=user)


def tags_of(*, user: AbstractBaseUser) -> QuerySet[Tag]:
    return Tag.objects.filter(owner=user)


def folder_subtree_ids(*, folder: Folder) -> list[int]:
    """The folder and every folder below it, loaded in one query and walked in memory."""
    children: dict[int | None, list[int]] = {}
    for folder_id, parent_id in Folder.objects.filter(owner_id=folder.owner_id).values_list("id", "parent_id"):
        children.setdefault(parent_id, []).append(folder_id)
    subtree, frontier = [], [folder.pk]
    while frontier:
        current = frontier.pop()
        subtree.append(current)
        frontier.extend(children.get(current, ()))
    return subtree


def folder_is_within(*, folder: Folder, ancestor: Folder) -> bool:
    return folder.pk in folder_subtree_ids(folder=ancestor)


def workflows_visible_to(*, user: AbstractBaseUser, role: str | None = None) -> QuerySet[Workflow]:
    """Every workflow the user may see, annotated with `role`, the user's role on it.

    A user sees what they own and what was shared with them, directly, through a group or
    through a folder; with `role`, only workflows where their role is at least that.
    Superusers get no more here than anyone: the admin is where staff see everything.
    """
    if not user.is_authenticated:
        return Workflow.objects.none()
    visible = (
        Workflow.objects.filter(workflow_visibility_filter(user))
        .annotate(role=workflow_role_expression(user))
        .select_related("owner")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.only("id")))
    )
    if role is not None:
        visible = visible.filter(role__in=[r for r in ROLE_RANK if ROLE_RANK[r] >= ROLE_RANK[role]])
    return visible


def workflow_visible_to(*, user: AbstractBaseUser, pk: int | str) -> Workflow | None:
    """One workflow, annotated with the user's `role`, or None when it does not exist or they may not see it."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    # Every request about a workflow starts here: its SQL is compiled once, not per request.
    found = rows_with_related(Workflow, related="owner", key="pk", value=pk)
    if not found:
        return None
    workflow = found[0]
    workflow.role = workflow_role_of(user, workflow_id=workflow.pk, owner_id=workflow.owner_id)
    return workflow if workflow.role is not None else None


def workflow_versions(*, workflow: Workflow) -> QuerySet[WorkflowVersion]:
    return workflow.versions.select_related("created_by").order_by("-number")


def workflow_version(*, workflow: Workflow, number: int) -> WorkflowVersion:
    return workflow_versions(workflow=workflow).get(number=number)


def workflow_version_diff(*, workflow: Workflow, old_number: int, new_number: int) -> dict:
    definitions = dict(
        workflow.versions.filter(number__in=[old_number, new_number]).values_list("number", "definition")
    )
    missing = [number for number in (old_number, new_number) if number not in definitions]
    if missing:
        raise WorkflowVersion.DoesNotExist(f"Version {missing[0]} does not exist.")
    return diff_definitions(definitions[old_number], definitions[new_number])


# --- Secrets --------------------------------------------------------------------------------------


def secrets_of(*, user: AbstractBaseUser) -> QuerySet[Secret]:
    return Secret.objects.filter(owner=user)


def secret_values(*, user: AbstractBaseUser | int, names: Iterable[str] | None = None) -> dict[str, str]:
    """The decrypted values of `user`'s secrets (a user or a user id), by name; all of them, or only `names`.

    One query. Names the user has no secret for are simply absent; nobody else's secrets are read.
    """
    rows = Secret.objects.filter(owner=user)
    if names is not None:
        names = list(names)
        if not names:
            return {}
        rows = rows.filter(name__in=names)
    values = {}
    for name, token in rows.values_list("name", "ciphertext"):
        try:
            values[name] = secrets.decrypt(token)
        except secrets.SecretDecryptionError as exc:
            raise secrets.SecretDecryptionError(
                f"The secret {name!r} cannot be decrypted with the configured keys."
            ) from exc
    return values


def owner_vouches_for(execution) -> bool:
    """Whether the version an execution runs was saved or published by the workflow's owner.

    Secrets belong to the owner: an editor must not be able to write a version that sends them
    elsewhere and run it. Versions the owner saved, and the published one (only owners publish),
    may read them.
    """
    workflow = execution.workflow
    if execution.workflow_version == workflow.published_version:
        return True
    return WorkflowVersion.objects.filter(
        workflow=workflow, number=execution.workflow_version, created_by_id=workflow.owner_id
    ).exists()

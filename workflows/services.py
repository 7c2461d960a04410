"""Writes of folders, tags, workflows and versions. Every save of a changed definition is a version."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from sharing.models import Grant
from sharing.roles import Role
from sharing.selectors import quota_for
from sharing.services import audit, workflow_permissions_sync, workflows_below
from structforge.errors import InvalidInput, QuotaExceeded
from workflows import secrets
from workflows.definition import DefinitionLimits, validate_definition
from workflows.models import Folder, OnLimit, Secret, Tag, Workflow, WorkflowVersion
from workflows.selectors import folder_is_within

WORKFLOW_EDITABLE_FIELDS = frozenset(
    {"name", "description", "folder", "tags", "definition", "max_concurrency", "on_limit"}
)


# --- Folders ------------------------------------------------------------------------------------


def _folder_name_taken(name: str) -> InvalidInput:
    return InvalidInput.field("name", f"A folder named {name!r} already exists here.")


def _check_folder_owner(*, owner: AbstractBaseUser, folder: Folder | None, field: str) -> None:
    if folder is not None and folder.owner_id != owner.pk:
        raise InvalidInput.field(field, "Folder not found.")


def folder_create(*, owner: AbstractBaseUser, name: str, parent: Folder | None = None) -> Folder:
    _check_folder_owner(owner=owner, folder=parent, field="parent")
    try:
        with transaction.atomic():
            return Folder.objects.create(owner=owner, name=name, parent=parent)
    except IntegrityError as exc:
        raise _folder_name_taken(name) from exc


def folder_update(*, folder: Folder, data: Mapping[str, Any]) -> Folder:
    moved = "parent" in data and data["parent"] != folder.parent
    if "parent" in data:
        parent = data["parent"]
        _check_folder_owner(owner=folder.owner, folder=parent, field="parent")
        if parent is not None and folder_is_within(folder=parent, ancestor=folder):
            raise InvalidInput.field("parent", "A folder cannot be moved into itself or one of its sub-folders.")
        folder.parent = parent
    if "name" in data:
        folder.name = data["name"]
    try:
        with transaction.atomic():
            folder.save()
            if moved:
                # Grants on the folders above now reach a different set of workflows.
                workflow_permissions_sync(workflow_ids=workflows_below(folder=folder))
    except IntegrityError as exc:
        raise _folder_name_taken(folder.name) from exc
    return folder


@transaction.atomic
def folder_delete(*, folder: Folder, move_content_to_parent: bool = False) -> None:
    """Delete an empty folder, or, when asked, move what it holds up to its parent first."""
    has_children = folder.children.exists()
    has_workflows = folder.workflows.exists()
    if (has_children or has_workflows) and not move_content_to_parent:
        raise InvalidInput.field(
            "folder", "The folder is not empty; delete its content first or ask to move it to the parent folder."
        )
    if has_children:
        clashes = sorted(
            set(folder.children.values_list("name", flat=True))
            & set(Folder.objects.filter(owner_id=folder.owner_id, parent=folder.parent).values_list("name", flat=True))
        )
        if clashes:
            raise InvalidInput.field(
                "folder", f"The parent folder already has sub-folders named {', '.join(map(repr, clashes))}."
            )
        folder.children.update(parent=folder.parent)
    moved = workflows_below(folder=folder)
    folder.workflows.update(folder=folder.parent)
    folder.delete()
    workflow_permissions_sync(workflow_ids=moved)


# --- Tags ---------------------------------------------------------------------------------------


def _save_tag(tag: Tag) -> Tag:
    try:
        with transaction.atomic():
            tag.save()
    except IntegrityError as exc:
        raise InvalidInput.field("name", f"You already have a tag named {tag.name!r}.") from exc
    return tag


def tag_create(*, owner: AbstractBaseUser, name: str, colour: str | None = None) -> Tag:
    tag = Tag(owner=owner, name=name)
    if colour is not None:
        tag.colour = colour
    return _save_tag(tag)


def tag_update(*, tag: Tag, data: Mapping[str, Any]) -> Tag:
    for field in ("name", "colour"):
        if field in data:
            setattr(tag, field, data[field])
    return _save_tag(tag)


# --- Workflows and versions ------------------------------------------------------------------------


def _checked_definition(definition: Any) -> dict:
    problems = validate_definition(definition, limits=DefinitionLimits.from_settings())
    if problems:
        raise InvalidInput({"definition": [problem.as_dict() for problem in problems]})
    return definition


def _check_workflow_refs(*, owner: AbstractBaseUser, folder: Folder | None, tags: Iterable[Tag]) -> None:
    # The API scopes these already; the service guards every other caller too.
    _check_folder_owner(owner=owner, folder=folder, field="folder")
    if any(tag.owner_id != owner.pk for tag in tags):
        raise InvalidInput.field("tags", "Tag not found.")


@transaction.atomic
def workflow_create(
    *,
    owner: AbstractBaseUser,
    name: str,
    definition: Any,
    description: str = "",
    folder: Folder | None = None,
    tags: Iterable[Tag] = (),
    max_concurrency: int | None = None,
    on_limit: str = OnLimit.QUEUE,
    changelog: str = "",
) -> Workflow:
    tags = list(tags)
    _check_workflow_refs(owner=owner, folder=folder, tags=tags)
    limit = quota_for(user=owner).max_workflows
    if Workflow.objects.filter(owner=owner).count() >= limit:
        raise QuotaExceeded(f"You have reached your quota of {limit} workflows.")
    workflow = Workflow.objects.create(
        owner=owner,
        name=name,
        description=description,
        folder=folder,
        definition=_checked_definition(definition),
        max_concurrency=max_concurrency,
        on_limit=on_limit,
        version=1,
    )
    workflow.tags.set(tags)
    WorkflowVersion.objects.create(
        workflow=workflow, number=1, definition=workflow.definition, changelog=changelog or "Created", created_by=owner
    )
    # The owner's rights, and whatever the folders above grant, present and future.
    workflow_permissions_sync(workflow_ids=[workflow.pk])
    return workflow


def _locked(workflow: Workflow) -> Workflow:
    # Versions are numbered from the workflow row, so concurrent saves serialise on its lock.
    return Workflow.objects.select_for_update().get(pk=workflow.pk)


def _append_version(*, workflow: Workflow, user: AbstractBaseUser, definition: dict, changelog: str) -> WorkflowVersion:
    """Add version n+1 holding `definition` to a workflow locked by the caller, then prune old ones."""
    workflow.version += 1
    workflow.definition = definition
    workflow.save(update_fields=["version", "definition", "updated_at"])
    version = WorkflowVersion.objects.create(
        workflow=workflow, number=workflow.version, definition=definition, changelog=changelog, created_by=user
    )
    versions_prune(workflow=workflow)
    return version


@transaction.atomic
def workflow_update(
    *, workflow: Workflow, user: AbstractBaseUser, data: Mapping[str, Any], changelog: str = ""
) -> Workflow:
    """Apply `data` (any of WORKFLOW_EDITABLE_FIELDS). A changed definition becomes a new version."""
    unknown = set(data) - WORKFLOW_EDITABLE_FIELDS
    if unknown:
        raise InvalidInput({field: ["This field cannot be changed."] for field in sorted(unknown)})
    locked = _locked(workflow)
    tags = list(data["tags"]) if "tags" in data else None
    _check_workflow_refs(owner=locked.owner, folder=data.get("folder"), tags=tags or ())

    moved = "folder" in data and data["folder"] != locked.folder
    for field in ("name", "description", "folder", "max_concurrency", "on_limit"):
        if field in data:
            setattr(locked, field, data[field])
    locked.save()
    if moved:
        workflow_permissions_sync(workflow_ids=[locked.pk])
    if tags is not None:
        locked.tags.set(tags)
    if "definition" in data and data["definition"] != locked.definition:
        _append_version(
            workflow=locked, user=user, definition=_checked_definition(data["definition"]), changelog=changelog
        )
    return locked


@transaction.atomic
def workflow_rollback(*, workflow: Workflow, user: AbstractBaseUser, number: int) -> WorkflowVersion:
    """A new version holding version `number`'s definition; history is never rewritten."""
    locked = _locked(workflow)
    source = WorkflowVersion.objects.get(workflow=locked, number=number)
    version = _append_version(
        workflow=locked, user=user, definition=source.definition, changelog=f"Rollback to version {number}"
    )
    audit(workflow=locked, actor=user, action="rollback", to_version=number, new_version=version.number)
    return version


@transaction.atomic
def workflow_publish(*, workflow: Workflow, user: AbstractBaseUser, number: int) -> Workflow:
    """Mark version `number` as the released one: API, webhook and schedule runs use it."""
    locked = _locked(workflow)
    if not WorkflowVersion.objects.filter(workflow=locked, number=number).exists():
        raise WorkflowVersion.DoesNotExist(f"Version {number} does not exist.")
    locked.published_version = number
    locked.save(update_fields=["published_version", "updated_at"])
    audit(workflow=locked, actor=user, action="publish", version=number)
    return locked


@transaction.atomic
def workflow_delete(*, workflow: Workflow, user: AbstractBaseUser | None = None) -> None:
    """Delete the workflow with its versions, runs and permissions; the audit log keeps the fact."""
    audit(workflow=workflow, actor=user, action="delete")
    workflow.delete()


@transaction.atomic
def workflow_transfer(*, workflow: Workflow, new_owner: AbstractBaseUser, by: AbstractBaseUser) -> Workflow:
    """Make `new_owner` the owner. The previous owner keeps editor rights; folder and tags were
    theirs, so the workflow moves to the new owner's top level without tags."""
    locked = _locked(workflow)
    if new_owner.pk == locked.owner_id:
        raise InvalidInput.field("user", "This user owns the workflow already.")
    previous = locked.owner
    Grant.objects.filter(workflow=locked, user=new_owner).delete()
    locked.owner = new_owner
    locked.folder = None
    locked.save(update_fields=["owner", "folder", "updated_at"])
    locked.tags.clear()
    Grant.objects.update_or_create(workflow=locked, user=previous, defaults={"role": Role.EDITOR, "granted_by": by})
    workflow_permissions_sync(workflow_ids=[locked.pk])
    audit(workflow=locked, actor=by, action="transfer", from_user=previous.username, to_user=new_owner.username)
    return locked


def versions_prune(*, workflow: Workflow) -> int:
    """Keep the newest STRUCTFORGE_VERSION_RETENTION versions; version 1 and the published one always stay."""
    oldest_kept = workflow.version - settings.STRUCTFORGE_VERSION_RETENTION + 1
    if oldest_kept <= 2:
        return 0
    protected = [1] if workflow.published_version is None else [1, workflow.published_version]
    deleted, _ = (
        WorkflowVersion.objects.filter(workflow=workflow, number__lt=oldest_kept).exclude(number__in=protected).delete()
    )
    return deleted


# --- Secrets --------------------------------------------------------------------------------------

SECRET_EDITABLE_FIELDS = frozenset({"name", "description", "value"})


def _check_secret_name(name: str) -> None:
    try:
        Secret._meta.get_field("name").run_validators(name)
    except ValidationError as exc:
        raise InvalidInput({"name": exc.messages}) from exc


def _check_secret_value(value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidInput.field("value", "Give the secret's value.")


def _save_secret(secret: Secret) -> Secret:
    try:
        with transaction.atomic():
            secret.save()
    except IntegrityError as exc:
        raise InvalidInput.field("name", f"You already have a secret named {secret.name!r}.") from exc
    return secret


def secret_create(*, owner: AbstractBaseUser, name: str, value: str, description: str = "") -> Secret:
    """Store `value` encrypted under `name`; the value can be used from then on but never read back."""
    _check_secret_name(name)
    _check_secret_value(value)
    return _save_secret(Secret(owner=owner, name=name, description=description, ciphertext=secrets.encrypt(value)))


def secret_update(*, secret: Secret, data: Mapping[str, Any]) -> Secret:
    """Apply `data` (any of SECRET_EDITABLE_FIELDS); a given `value` replaces the stored one, re-encrypted."""
    unknown = set(data) - SECRET_EDITABLE_FIELDS
    if unknown:
        raise InvalidInput({field: ["This field cannot be changed."] for field in sorted(unknown)})
    if "name" in data:
        _check_secret_name(data["name"])
        secret.name = data["name"]
    if "description" in data:
        secret.description = data["description"]
    if "value" in data:
        _check_secret_value(data["value"])
        secret.ciphertext = secrets.encrypt(data["value"])
    return _save_secret(secret)


def secret_delete(*, secret: Secret) -> None:
    secret.delete()

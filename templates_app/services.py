"""Writes of templates: create (from a definition or from a workflow), update with versions, share,
delete, instantiate into a workflow, and apply a template's newer version to a workflow made from it.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django.db.models import F

from sharing.roles import Role, role_at_least
from structforge.errors import InvalidInput
from templates_app import content as template_content
from templates_app import placeholders
from templates_app.models import Template, TemplateLink, TemplateTag, TemplateVersion, Visibility
from templates_app.selectors import templates_visible_to
from workflows.models import Folder, Workflow, WorkflowVersion
from workflows.selectors import folders_of, secrets_of, workflow_visible_to
from workflows.services import workflow_create, workflow_update

TEMPLATE_EDITABLE_FIELDS = frozenset(
    {
        "name",
        "description",
        "category",
        "tags",
        "visibility",
        "shared_with_users",
        "shared_with_groups",
        "definition",
        "parameters",
    }
)
MAX_TAGS = 20
MAX_TAG_LENGTH = 50


# --- Content --------------------------------------------------------------------------------------


def _secret_parameter(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": "secret",
        "label": f"Secret {name}",
        # Only the name, as a suggestion: whoever instantiates picks one of their own secrets.
        "default": name,
        "required": True,
        "description": f"The name of one of your secrets; the workflow reads it where it read '{name}'.",
    }


def prepared_content(*, definition: Any, parameters: Any) -> template_content.Content:
    """Check a template's content after turning every `{{ secrets.NAME }}` into `{{ params.NAME }}`.

    Each secret read becomes a `secret` parameter (declared by hand, or added here). Only names
    are handled: no secret value is read, so none can end up in a template.
    """
    secret_names: list[str] = []
    if isinstance(definition, dict):
        definition, secret_names = placeholders.secrets_to_params(definition)
    if secret_names and isinstance(parameters, list):
        parameters = list(parameters)
        declared = {item.get("name"): item for item in parameters if isinstance(item, dict)}
        for name in secret_names:
            if name not in declared:
                parameters.append(_secret_parameter(name))
            elif declared[name].get("type") != "secret":
                raise InvalidInput.field(
                    "parameters", f"'{name}' stands for the secret the definition reads: its type must be 'secret'."
                )
    return template_content.check_content(definition, parameters)


def _normalized_tags(tags: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(" ".join(str(tag).split()).lower() for tag in tags))
    problems = [
        f"'{name}' is not a tag: use 1 to {MAX_TAG_LENGTH} characters and no commas."
        for name in names
        if not name or len(name) > MAX_TAG_LENGTH or "," in name
    ]
    if len(names) > MAX_TAGS:
        problems.append(f"At most {MAX_TAGS} tags.")
    if problems:
        raise InvalidInput({"tags": problems})
    return names


def set_template_tags(*, template: Template, names: list[str], tag_model: type = TemplateTag) -> None:
    """Tags are shared by every template; a new name is created, never checked-then-created."""
    if names:
        tag_model.objects.bulk_create([tag_model(name=name) for name in names], ignore_conflicts=True)
    template.tags.set(tag_model.objects.filter(name__in=names))


def _check_shares(*, author: AbstractBaseUser, users: Iterable[AbstractBaseUser]) -> None:
    if any(user.pk == author.pk for user in users):
        raise InvalidInput.field("shared_with_users", "You cannot share a template with yourself.")


# --- Create, update, delete -----------------------------------------------------------------------


@transaction.atomic
def template_create(
    *,
    author: AbstractBaseUser,
    name: str,
    definition: Any,
    parameters: Any = (),
    description: str = "",
    category: str = "",
    tags: Iterable[str] = (),
    visibility: str = Visibility.PRIVATE,
    shared_with_users: Iterable[AbstractBaseUser] = (),
    shared_with_groups: Iterable[Group] = (),
    changelog: str = "",
) -> Template:
    content = prepared_content(definition=definition, parameters=list(parameters))
    tag_names = _normalized_tags(tags)
    users, groups = list(shared_with_users), list(shared_with_groups)
    _check_shares(author=author, users=users)
    template = Template.objects.create(
        author=author,
        name=name,
        description=description,
        category=category,
        definition=content.definition,
        parameters=content.parameters,
        visibility=visibility,
        version=1,
    )
    TemplateVersion.objects.create(
        template=template,
        number=1,
        definition=content.definition,
        parameters=content.parameters,
        changelog=changelog or "Created",
        created_by=author,
    )
    set_template_tags(template=template, names=tag_names)
    template.shared_with_users.set(users)
    template.shared_with_groups.set(groups)
    return template


def template_create_from_workflow(
    *,
    author: AbstractBaseUser,
    workflow_id: int,
    version: int | None = None,
    name: str | None = None,
    description: str | None = None,
    **fields: Any,
) -> Template:
    """A template from one of a workflow's versions (the newest by default); the caller must be able to view it.

    The workflow's secrets become secret parameters (see `prepared_content`); their values are never read.
    """
    workflow = workflow_visible_to(user=author, pk=workflow_id)
    if workflow is None or not role_at_least(workflow.role, Role.VIEWER):
        raise InvalidInput.field("workflow", "Workflow not found.")
    number = workflow.version if version is None else version
    definition = WorkflowVersion.objects.filter(workflow=workflow, number=number).values_list("definition", flat=True)
    if not definition:
        raise InvalidInput.field("version", f"The workflow has no version {number}.")
    return template_create(
        author=author,
        name=name or workflow.name,
        description=workflow.description if description is None else description,
        definition=definition[0],
        changelog=fields.pop("changelog", "") or f"From workflow '{workflow.name}' version {number}",
        **fields,
    )


@transaction.atomic
def template_update(
    *, template: Template, user: AbstractBaseUser, data: Mapping[str, Any], changelog: str = ""
) -> Template:
    """Apply `data` (any of TEMPLATE_EDITABLE_FIELDS). A changed definition or parameters make a new version."""
    unknown = set(data) - TEMPLATE_EDITABLE_FIELDS
    if unknown:
        raise InvalidInput({field: ["This field cannot be changed."] for field in sorted(unknown)})
    # Versions are numbered from the template row, so concurrent saves serialise on its lock.
    locked = Template.objects.select_for_update().get(pk=template.pk)
    if locked.is_system:
        raise InvalidInput.field("template", "System templates are read-only.")
    new_content = None
    if "definition" in data or "parameters" in data:
        new_content = prepared_content(
            definition=data.get("definition", locked.definition), parameters=data.get("parameters", locked.parameters)
        )
    tag_names = _normalized_tags(data["tags"]) if "tags" in data else None
    if "shared_with_users" in data:
        _check_shares(author=locked.author, users=data["shared_with_users"])

    for field in ("name", "description", "category", "visibility"):
        if field in data:
            setattr(locked, field, data[field])
    if new_content is not None and (
        new_content.definition != locked.definition or new_content.parameters != locked.parameters
    ):
        locked.version += 1
        locked.definition, locked.parameters = new_content.definition, new_content.parameters
        TemplateVersion.objects.create(
            template=locked,
            number=locked.version,
            definition=new_content.definition,
            parameters=new_content.parameters,
            changelog=changelog,
            created_by=user,
        )
    locked.save()
    if tag_names is not None:
        set_template_tags(template=locked, names=tag_names)
    if "shared_with_users" in data:
        locked.shared_with_users.set(data["shared_with_users"])
    if "shared_with_groups" in data:
        locked.shared_with_groups.set(data["shared_with_groups"])
    return locked


def template_delete(*, template: Template) -> None:
    """Workflows made from it stay, and keep the template's name and version on their link."""
    if template.is_system:
        raise InvalidInput.field("template", "System templates are read-only.")
    template.delete()


# --- Instantiate and apply ------------------------------------------------------------------------


def _secret_names(*, owner: AbstractBaseUser | int, parameters: list[dict[str, Any]]) -> set[str]:
    if not any(parameter["type"] == "secret" for parameter in parameters):
        return set()
    return set(secrets_of(user=owner).values_list("name", flat=True))


@transaction.atomic
def template_instantiate(
    *,
    template: Template,
    user: AbstractBaseUser,
    params: Mapping[str, Any] | None = None,
    name: str | None = None,
    folder: Folder | None = None,
    description: str | None = None,
) -> Workflow:
    """A new workflow owned by `user`, at version 1, made from the template's newest version and linked to it."""
    if folder is not None and not folders_of(user=user).filter(pk=folder.pk).exists():
        raise InvalidInput.field("folder", "Folder not found.")
    content = template_content.Content(definition=template.definition, parameters=template.parameters)
    instance = template_content.instantiate(
        content, params or {}, secret_names=_secret_names(owner=user, parameters=template.parameters)
    )
    workflow = workflow_create(
        owner=user,
        name=name or template.name,
        description=template.description if description is None else description,
        folder=folder,
        definition=instance.definition,
        changelog=f"Created from template '{template.name}' version {template.version}",
    )
    TemplateLink.objects.create(
        workflow=workflow,
        template=template,
        template_name=template.name,
        template_version=template.version,
        params=instance.params,
    )
    Template.objects.filter(pk=template.pk).update(usage_count=F("usage_count") + 1)
    return workflow


@transaction.atomic
def template_link_apply(
    *,
    link: TemplateLink,
    user: AbstractBaseUser,
    params: Mapping[str, Any] | None = None,
    changelog: str = "",
) -> TemplateLink:
    """Re-instantiate the template's newest version with the values used last time (overridden by
    `params`) and save the result as a new version of the workflow.

    The new version replaces the workflow's definition, edits made since included: they stay in
    the workflow's history, where a rollback brings them back.
    """
    locked = TemplateLink.objects.select_for_update().select_related("workflow").get(pk=link.pk)
    template = None
    if locked.template_id is not None:
        template = templates_visible_to(user=user).filter(pk=locked.template_id).first()
    if template is None:
        raise InvalidInput.field("template", "The template this workflow came from is no longer available to you.")
    if template.version == locked.template_version and not params:
        raise InvalidInput.field(
            "template_version", f"The workflow already follows the template's newest version ({template.version})."
        )
    declared = {parameter["name"] for parameter in template.parameters}
    given = {name: value for name, value in locked.params.items() if name in declared}
    given.update(params or {})
    workflow = locked.workflow
    # A secret parameter names a secret of the workflow's owner, who may not be the caller.
    instance = template_content.instantiate(
        template_content.Content(definition=template.definition, parameters=template.parameters),
        given,
        secret_names=_secret_names(owner=workflow.owner_id, parameters=template.parameters),
    )
    previous = locked.template_version
    workflow_update(
        workflow=workflow,
        user=user,
        data={"definition": instance.definition},
        changelog=changelog or f"Applied template '{template.name}' version {template.version} (was {previous})",
    )
    locked.template = template
    locked.template_name = template.name
    locked.template_version = template.version
    locked.params = instance.params
    locked.save()
    return locked

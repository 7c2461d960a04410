"""Reads of templates, always scoped to what the caller may see, and the state of a workflow's template link."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from structforge.errors import InvalidInput
from templates_app import content as template_content
from templates_app.models import Template, TemplateLink, TemplateScope, TemplateTag, TemplateVersion, Visibility
from workflows.diff import diff_definitions
from workflows.models import Workflow

SCOPES = ("system", "mine", "shared", "public")


def _shared_with(user: AbstractBaseUser) -> Q:
    """Templates shared with `user` by name or through one of their groups (one Exists each: no duplicate rows)."""
    by_user = Template.shared_with_users.through.objects.filter(template_id=OuterRef("pk"), user_id=user.pk)
    by_group = Template.shared_with_groups.through.objects.filter(
        template_id=OuterRef("pk"), group_id__in=user.groups.values("pk")
    )
    return Q(visibility=Visibility.SHARED) & (Q(Exists(by_user)) | Q(Exists(by_group)))


def template_scope_filter(*, user: AbstractBaseUser, scope: str) -> Q:
    """`system`: shipped with StructForge; `mine`: the caller's; `shared`: others' shared with the
    caller; `public`: users' templates in the marketplace (the caller's own included)."""
    if scope == "system":
        return Q(scope=TemplateScope.SYSTEM)
    if scope == "mine":
        return Q(author_id=user.pk)
    if scope == "shared":
        return _shared_with(user) & ~Q(author_id=user.pk)
    if scope == "public":
        return Q(scope=TemplateScope.USER, visibility=Visibility.PUBLIC)
    raise ValueError(f"unknown scope {scope!r}")


def templates_visible_to(*, user: AbstractBaseUser) -> QuerySet[Template]:
    """System templates, the caller's own, the public ones and those shared with the caller."""
    if not user.is_authenticated:
        return Template.objects.none()
    visible = (
        Q(scope=TemplateScope.SYSTEM) | Q(author_id=user.pk) | Q(visibility=Visibility.PUBLIC) | _shared_with(user)
    )
    return (
        Template.objects.filter(visible)
        .select_related("author")
        .prefetch_related(Prefetch("tags", queryset=TemplateTag.objects.only("id", "name")))
    )


def template_versions(*, template: Template) -> QuerySet[TemplateVersion]:
    return template.versions.select_related("created_by").order_by("-number")


def template_version(*, template: Template, number: int) -> TemplateVersion:
    return template_versions(template=template).get(number=number)


def template_link_of(*, workflow: Workflow) -> TemplateLink | None:
    return TemplateLink.objects.filter(workflow=workflow).first()


def template_link_status(*, link: TemplateLink, user: AbstractBaseUser) -> dict[str, Any]:
    """Where the workflow stands against its template, as `user` may know it.

    `diff` is what the template changed between the workflow's version and the newest one, both
    instantiated with the link's parameter values, so it reads in the workflow's own terms. When
    the newest version cannot be instantiated with them (it added a required parameter, say),
    `diff` compares the two template definitions as written and `params_needed` says what
    applying it needs. A template that is gone, or no longer visible to `user`, offers no update.
    """
    template = None
    if link.template_id is not None:
        template = templates_visible_to(user=user).filter(pk=link.template_id).first()
    status: dict[str, Any] = {
        "template": template.pk if template else None,
        "template_name": template.name if template else link.template_name,
        "template_version": link.template_version,
        "latest_version": None,
        "update_available": False,
        "diff": None,
        "changes": [],
        "params": link.params,
        "params_needed": {},
        "customized": None,
    }
    if template is None:
        return status
    versions = {
        version.number: version
        for version in TemplateVersion.objects.filter(
            template=template, number__gte=link.template_version
        ).select_related("created_by")
    }
    base = versions.get(link.template_version)
    base_definition = _instantiated(base, link.params) if base else None
    if base_definition is not None:
        status["customized"] = link.workflow.definition != base_definition
    status["latest_version"] = template.version
    if template.version == link.template_version:
        return status
    latest = versions[template.version]
    status["update_available"] = True
    status["changes"] = [
        {
            "number": number,
            "changelog": versions[number].changelog,
            "created_by": versions[number].created_by.username if versions[number].created_by else None,
            "created_at": versions[number].created_at,
        }
        for number in sorted(versions)
        if number > link.template_version
    ]
    declared = {parameter["name"] for parameter in latest.parameters}
    try:
        latest_definition = _instantiated(latest, {k: v for k, v in link.params.items() if k in declared}, strict=True)
    except InvalidInput as exc:
        status["params_needed"] = exc.errors.get("params", {})
        latest_definition = None
    if latest_definition is not None and base_definition is not None:
        status["diff"] = diff_definitions(base_definition, latest_definition)
    else:
        status["diff"] = diff_definitions(base.definition if base else {}, latest.definition)
    return status


def _instantiated(version: TemplateVersion, params: dict[str, Any], *, strict: bool = False) -> dict | None:
    content = template_content.Content(definition=version.definition, parameters=version.parameters)
    try:
        # Secrets are not checked: this is a preview, and only names are involved.
        return template_content.instantiate(content, params, secret_names=None).definition
    except InvalidInput:
        if strict:
            raise
        return None

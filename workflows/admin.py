"""Operator views of folders, tags, workflows and their versions.

Definitions and version numbers are written only by `workflows.services` (validation, a new
version per save, publishing), so the admin shows them and never edits them.
"""

import json
import re
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.views.decorators.debug import sensitive_post_parameters

from workflows import services
from workflows.models import Folder, Secret, Tag, Workflow, WorkflowVersion
from workflows.selectors import folder_is_within

HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")


def pretty_json(value: Any) -> SafeString:
    text = json.dumps(value, indent=2, ensure_ascii=False, cls=DjangoJSONEncoder)
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)


def definition_summary(definition: Any) -> str:
    if not isinstance(definition, dict):
        return "not an object"
    return f"{_count(definition.get('nodes'), 'node')}, {_count(definition.get('edges'), 'edge')}"


def _count(items: list | None, noun: str) -> str:
    n = len(items or [])
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class FolderAdminForm(forms.ModelForm):
    """The rules `folder_update` enforces, as form errors: same owner as the parent, no cycles."""

    class Meta:
        model = Folder
        fields = ["owner", "parent", "name"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        owner, parent = cleaned.get("owner"), cleaned.get("parent")
        if parent is not None and owner is not None and parent.owner_id != owner.pk:
            self.add_error("parent", "The parent folder belongs to another user.")
        elif parent is not None and self.instance.pk and folder_is_within(folder=parent, ancestor=self.instance):
            self.add_error("parent", "A folder cannot be moved into itself or one of its sub-folders.")
        return cleaned


class WorkflowAdminForm(forms.ModelForm):
    """A workflow's folder and tags must be its owner's, as the API requires."""

    class Meta:
        model = Workflow
        fields = ["name", "description", "owner", "folder", "tags", "max_concurrency"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        owner = cleaned.get("owner")
        if owner is None:
            return cleaned
        folder = cleaned.get("folder")
        if folder is not None and folder.owner_id != owner.pk:
            self.add_error("folder", "The folder belongs to another user.")
        if any(tag.owner_id != owner.pk for tag in cleaned.get("tags") or ()):
            self.add_error("tags", "Every tag must belong to the workflow's owner.")
        return cleaned


@admin.register(Folder)
class FolderAdmin(admin.ModelAdmin):
    form = FolderAdminForm
    list_display = ["name", "owner", "parent", "workflow_count", "created_at"]
    list_filter = [("owner", admin.RelatedOnlyFieldListFilter), ("parent", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner", "parent"]
    autocomplete_fields = ["owner", "parent"]
    readonly_fields = ["created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Folder]:
        return super().get_queryset(request).annotate(workflow_count=Count("workflows"))

    @admin.display(description="workflows", ordering="workflow_count")
    def workflow_count(self, folder: Folder) -> int:
        return folder.workflow_count


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "colour_swatch", "workflow_count"]
    list_filter = [("owner", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return super().get_queryset(request).annotate(workflow_count=Count("workflows"))

    @admin.display(description="colour", ordering="colour")
    def colour_swatch(self, tag: Tag) -> SafeString:
        # Escaping does not make a value safe inside a style attribute, so only a real hex
        # colour reaches it.
        if not HEX_COLOUR.fullmatch(tag.colour):
            return format_html("{}", tag.colour)
        return format_html(
            '<span style="display: inline-block; width: 1em; height: 1em; vertical-align: middle; '
            'border: 1px solid #0004; border-radius: 2px; background: {}"></span> {}',
            tag.colour,
            tag.colour,
        )

    @admin.display(description="workflows", ordering="workflow_count")
    def workflow_count(self, tag: Tag) -> int:
        return tag.workflow_count


class PublishedListFilter(admin.SimpleListFilter):
    title = "published"
    parameter_name = "published"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Published"), ("no", "Not published")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Workflow]) -> QuerySet[Workflow]:
        if self.value() in ("yes", "no"):
            return queryset.filter(published_version__isnull=self.value() == "no")
        return queryset


class WorkflowVersionInline(admin.TabularInline):
    model = WorkflowVersion
    fields = ["number_link", "changelog", "created_by", "created_at"]
    readonly_fields = fields
    ordering = ["-number"]
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[WorkflowVersion]:
        return super().get_queryset(request).select_related("created_by").defer("definition")

    @admin.display(description="number")
    def number_link(self, version: WorkflowVersion) -> SafeString:
        url = reverse("admin:workflows_workflowversion_change", args=[version.pk])
        return format_html('<a href="{}">v{}</a>', url, version.number)

    def has_add_permission(self, request: HttpRequest, obj: Workflow | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Workflow | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Workflow | None = None) -> bool:
        return False


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    form = WorkflowAdminForm
    list_display = ["name", "owner", "folder", "version", "published_version", "max_concurrency", "updated_at"]
    list_filter = [
        PublishedListFilter,
        ("owner", admin.RelatedOnlyFieldListFilter),
        ("folder", admin.RelatedOnlyFieldListFilter),
        ("tags", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["name", "description", "owner__username"]
    list_select_related = ["owner", "folder"]
    autocomplete_fields = ["owner", "folder", "tags"]
    # A raw edit of the definition would skip validation and leave no version behind, and
    # `version`/`published_version` move only with the versions the services write (publishing
    # also reschedules). So these are shown, never edited, here.
    readonly_fields = ["version", "published_version", "summary", "pretty_definition", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "description", "owner", "folder", "tags", "max_concurrency"]}),
        ("Versions", {"fields": ["version", "published_version"]}),
        ("Definition", {"fields": ["summary", "pretty_definition"]}),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [WorkflowVersionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Workflow]:
        # Definitions can be large and the list never shows them. Deferred, they also stay out
        # of the UPDATE when a change here is saved, so a concurrent new version is not undone.
        return super().get_queryset(request).defer("definition")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A workflow is born with its version 1 through `workflow_create`; the admin cannot.
        return False

    @admin.display(description="summary")
    def summary(self, workflow: Workflow) -> str:
        return definition_summary(workflow.definition)

    @admin.display(description="definition")
    def pretty_definition(self, workflow: Workflow) -> SafeString:
        return pretty_json(workflow.definition)


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(admin.ModelAdmin):
    list_display = ["workflow", "number", "short_changelog", "created_by", "created_at"]
    list_filter = [("created_by", admin.RelatedOnlyFieldListFilter), "created_at"]
    search_fields = ["workflow__name", "changelog", "created_by__username"]
    list_select_related = ["workflow", "created_by"]
    fields = ["workflow", "number", "changelog", "created_by", "created_at", "summary", "pretty_definition"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[WorkflowVersion]:
        return super().get_queryset(request).defer("definition", "workflow__definition")

    # Versions are history (the model refuses updates too). Deleting one is for superusers
    # only, to clean up by hand, and never version 1, the newest or the published one, which
    # the workflow itself points at.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: WorkflowVersion | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: WorkflowVersion | None = None) -> bool:
        if obj is not None and obj.number in (1, obj.workflow.version, obj.workflow.published_version):
            return False
        return request.user.is_superuser

    @admin.display(description="changelog", ordering="changelog")
    def short_changelog(self, version: WorkflowVersion) -> str:
        return Truncator(version.changelog).chars(80)

    @admin.display(description="summary")
    def summary(self, version: WorkflowVersion) -> str:
        return definition_summary(version.definition)

    @admin.display(description="definition")
    def pretty_definition(self, version: WorkflowVersion) -> SafeString:
        return pretty_json(version.definition)


# --- Secrets --------------------------------------------------------------------------------------


class SecretAdminForm(forms.ModelForm):
    # Write-only: the page never holds the value or its ciphertext, only a box to type a new one.
    value = forms.CharField(
        required=False,
        strip=False,  # a secret is used exactly as given, blanks included
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown. Leave empty to keep the current value.",
    )

    class Meta:
        model = Secret
        fields = ["owner", "name", "description"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.instance._state.adding:
            self.fields["value"].required = True
            self.fields["value"].help_text = "Stored encrypted and never shown again."

    def validate_unique(self) -> None:
        super().validate_unique()
        # On a change page the owner is read-only, hence not a form field, and Django skips a
        # constraint naming an excluded field; check (owner, name) with the owner it already has.
        if "owner" not in self.fields:
            try:
                self.instance.validate_constraints(exclude=self._get_validation_exclusions() - {"owner"})
            except ValidationError as exc:
                self._update_errors(exc)


@admin.register(Secret)
class SecretAdmin(admin.ModelAdmin):
    form = SecretAdminForm
    list_display = ["name", "owner", "updated_at"]
    list_filter = [("owner", admin.RelatedOnlyFieldListFilter), "updated_at"]
    search_fields = ["name", "description", "owner__username"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    fields = ["owner", "name", "description", "value", "created_at", "updated_at"]
    readonly_fields = ["created_at", "updated_at"]

    @method_decorator(sensitive_post_parameters("value"))
    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Keeps the typed value out of Django's error reports should the save fail.
        return super().changeform_view(request, *args, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Secret]:
        # The ciphertext is never shown here. Deferred, it is also left out of the UPDATE when
        # only the name or description changes, so a value set meanwhile through the API stays.
        return super().get_queryset(request).defer("ciphertext")

    def get_readonly_fields(self, request: HttpRequest, obj: Secret | None = None) -> list[str]:
        # Giving a secret to another user would hand them its value; an operator re-creates it instead.
        return [*self.readonly_fields, "owner"] if obj is not None else list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: Secret, form: SecretAdminForm, change: bool) -> None:
        data = {"name": obj.name, "description": obj.description}
        if form.cleaned_data.get("value"):
            data["value"] = form.cleaned_data["value"]
        # secret_update saves the very instance the admin holds (an insert when it is new), so the
        # admin's log entry and redirect see it; it encrypts the value on the way.
        services.secret_update(secret=obj, data=data)

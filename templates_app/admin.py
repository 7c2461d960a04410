"""Operator views of templates, their versions and the workflows linked to them.

System templates come from files (`templates_app/system_templates/`) and are read-only here; the
"Load system templates" action reloads them. A user template's definition and parameters are
changed only through `template_update`, which checks them and records a version, so editing
them here does exactly what the API does.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from structforge.errors import InvalidInput
from templates_app import services
from templates_app.models import Template, TemplateLink, TemplateVersion, Visibility
from templates_app.system import SystemTemplateError, load_system_templates
from workflows.admin import definition_summary, pretty_json

# The model fields the form edits; the admin's generated form class lists its extra fields too.
MODEL_FIELDS = ["name", "description", "category", "visibility", "shared_with_users", "shared_with_groups"]


class TemplateAdminForm(forms.ModelForm):
    tags_text = forms.CharField(label="Tags", required=False, help_text="Comma-separated.")
    definition = forms.JSONField(help_text="A workflow definition with {{ params.NAME }} where parameters go.")
    parameters = forms.JSONField(
        required=False, help_text="A list of {name, type, label, default, required, description}."
    )
    changelog = forms.CharField(
        required=False, help_text="Recorded on the new version when the definition or parameters change."
    )

    class Meta:
        model = Template
        fields = MODEL_FIELDS

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["tags_text"].initial = ", ".join(tag.name for tag in self.instance.tags.all())
            self.fields["definition"].initial = self.instance.definition
            self.fields["parameters"].initial = self.instance.parameters

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if {"definition", "parameters"} & set(self.changed_data) and "definition" in cleaned:
            try:
                services.prepared_content(definition=cleaned["definition"], parameters=cleaned.get("parameters") or [])
            except InvalidInput as exc:
                for field, problems in exc.errors.items():
                    target = field if field in self.fields else None
                    for problem in problems:
                        text = f"{problem['location']}: {problem['message']}" if isinstance(problem, dict) else problem
                        self.add_error(target, text)
        users = cleaned.get("shared_with_users") or []
        if self.instance.author_id is not None and any(user.pk == self.instance.author_id for user in users):
            self.add_error("shared_with_users", "A template cannot be shared with its own author.")
        return cleaned


class TemplateVersionInline(admin.TabularInline):
    model = TemplateVersion
    fields = ["number", "changelog", "created_by", "created_at", "summary"]
    readonly_fields = fields
    ordering = ["-number"]
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[TemplateVersion]:
        return super().get_queryset(request).select_related("created_by")

    @admin.display(description="summary")
    def summary(self, version: TemplateVersion) -> str:
        return definition_summary(version.definition)

    def has_add_permission(self, request: HttpRequest, obj: Template | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Template | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Template | None = None) -> bool:
        return False


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    form = TemplateAdminForm
    list_display = ["name", "scope", "visibility", "author", "category", "version", "usage_count", "updated_at"]
    list_filter = ["scope", "visibility", "category", ("author", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "description", "category", "system_key", "author__username"]
    list_select_related = ["author"]
    autocomplete_fields = ["shared_with_users", "shared_with_groups"]
    readonly_fields = [
        "scope",
        "system_key",
        "author",
        "version",
        "usage_count",
        "summary",
        "pretty_parameters",
        "pretty_definition",
        "created_at",
        "updated_at",
    ]
    inlines = [TemplateVersionInline]
    actions = ["load_system_templates", "make_private"]

    def get_fieldsets(self, request: HttpRequest, obj: Template | None = None) -> list:
        content = ["tags_text", "definition", "parameters", "changelog"]
        if obj is not None and obj.is_system:
            # Read-only: the page shows model fields only, so the form's extra fields are left out.
            content = ["summary", "pretty_parameters", "pretty_definition"]
        return [
            (None, {"fields": ["name", "description", "category", "scope", "system_key", "author"]}),
            ("Sharing", {"fields": ["visibility", "shared_with_users", "shared_with_groups"]}),
            ("Content", {"fields": content}),
            ("Usage and versions", {"fields": ["version", "usage_count", "created_at", "updated_at"]}),
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A template is born with its version 1 through the API (from a definition or a workflow).
        return False

    def has_change_permission(self, request: HttpRequest, obj: Template | None = None) -> bool:
        if obj is not None and obj.is_system:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Template | None = None) -> bool:
        if obj is not None and obj.is_system:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Template, form: TemplateAdminForm, change: bool) -> None:
        cleaned = form.cleaned_data
        data = {field: cleaned[field] for field in MODEL_FIELDS if field in form.changed_data}
        if "tags_text" in form.changed_data:
            data["tags"] = [tag for tag in cleaned["tags_text"].split(",") if tag.strip()]
        if {"definition", "parameters"} & set(form.changed_data):
            data["definition"] = cleaned["definition"]
            data["parameters"] = cleaned.get("parameters") or []
        services.template_update(template=obj, user=request.user, data=data, changelog=cleaned.get("changelog", ""))
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: TemplateAdminForm, formsets: Any, change: bool) -> None:
        # template_update has set the shares already; the version inline is read-only.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Template]) -> None:
        for template in queryset:
            services.template_delete(template=template)

    @admin.display(description="summary")
    def summary(self, template: Template) -> str:
        return definition_summary(template.definition)

    @admin.display(description="parameters")
    def pretty_parameters(self, template: Template) -> SafeString:
        return pretty_json(template.parameters)

    @admin.display(description="definition")
    def pretty_definition(self, template: Template) -> SafeString:
        return pretty_json(template.definition)

    @admin.action(description="Load the system templates from their files (whatever is selected)")
    def load_system_templates(self, request: HttpRequest, queryset: QuerySet[Template]) -> None:
        # All of them, whichever rows were selected: what is loaded comes from the files.
        try:
            outcomes = load_system_templates()
        except SystemTemplateError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        changed = sorted(key for key, outcome in outcomes.items() if outcome != "unchanged")
        self.message_user(
            request, f"{len(outcomes)} system templates loaded; created or updated: {', '.join(changed) or 'none'}."
        )

    @admin.action(description="Take off the marketplace (make private)")
    def make_private(self, request: HttpRequest, queryset: QuerySet[Template]) -> None:
        count = 0
        for template in queryset.exclude(scope="system"):
            services.template_update(template=template, user=request.user, data={"visibility": Visibility.PRIVATE})
            count += 1
        self.message_user(request, f"{count} template(s) made private.")


@admin.register(TemplateLink)
class TemplateLinkAdmin(admin.ModelAdmin):
    """Which workflows came from which template version; written by instantiate and apply only."""

    list_display = ["workflow", "template_link", "template_version", "created_at", "updated_at"]
    list_filter = [("template", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["workflow__name", "template_name"]
    list_select_related = ["workflow", "template"]
    fields = ["workflow", "template", "template_name", "template_version", "pretty_params", "created_at", "updated_at"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[TemplateLink]:
        return super().get_queryset(request).defer("workflow__definition", "template__definition")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: TemplateLink | None = None) -> bool:
        return False

    @admin.display(description="template", ordering="template_name")
    def template_link(self, link: TemplateLink) -> SafeString:
        if link.template_id is None:
            return format_html("{} (deleted)", link.template_name)
        return format_html("{}", link.template_name)

    @admin.display(description="parameter values")
    def pretty_params(self, link: TemplateLink) -> SafeString:
        return pretty_json(link.params)

"""Templates: reusable workflow definitions with named parameters, and the link a workflow keeps to its template.

A template's `definition` and `parameters` are its newest version's, as a workflow's definition is
its newest version's; `TemplateVersion` rows are history and never change. The link between a
workflow and the template it came from lives here (`TemplateLink`), so that `workflows` never
needs to know templates exist.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from workflows.models import VersionBase


class TemplateScope(models.TextChoices):
    SYSTEM = "system", "System"
    USER = "user", "User"


class Visibility(models.TextChoices):
    PRIVATE = "private", "Private"
    SHARED = "shared", "Shared with chosen users and groups"
    PUBLIC = "public", "Public (marketplace)"


class TemplateTag(models.Model):
    """A marketplace tag. Tags are global (one "http" for everybody) so that browsing by tag works across authors."""

    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Template(models.Model):
    scope = models.CharField(max_length=10, choices=TemplateScope.choices, default=TemplateScope.USER)
    # The stable name of a system template (its file name), by which loading finds it again.
    system_key = models.SlugField(max_length=100, unique=True, null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="templates"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    category = models.CharField(max_length=50, blank=True, default="")
    tags = models.ManyToManyField(TemplateTag, blank=True, related_name="templates")
    definition = models.JSONField(encoder=DjangoJSONEncoder)
    parameters = models.JSONField(default=list, blank=True, encoder=DjangoJSONEncoder)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE)
    shared_with_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    shared_with_groups = models.ManyToManyField("auth.Group", blank=True, related_name="+")
    version = models.PositiveIntegerField(default=1, help_text="Number of the newest version.")
    usage_count = models.PositiveIntegerField(default=0, help_text="Workflows created from this template.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-usage_count", "-updated_at", "-id"]
        indexes = [
            models.Index(fields=["scope", "visibility"], name="template_scope_visibility"),
            models.Index(fields=["-usage_count", "-updated_at"], name="template_usage"),
            models.Index(fields=["-updated_at"], name="template_recent"),
        ]
        constraints = [
            # A system template has a key, no author and is seen by everybody; a user template
            # has an author and no key.
            models.CheckConstraint(
                condition=(
                    Q(
                        scope=TemplateScope.SYSTEM,
                        system_key__isnull=False,
                        author__isnull=True,
                        visibility=Visibility.PUBLIC,
                    )
                    | Q(scope=TemplateScope.USER, system_key__isnull=True, author__isnull=False)
                ),
                name="template_scope_consistent",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_system(self) -> bool:
        return self.scope == TemplateScope.SYSTEM


class TemplateVersion(VersionBase):
    """Workflows made from version n are compared with it when the template moves on."""

    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="versions")
    parameters = models.JSONField(default=list, encoder=DjangoJSONEncoder)

    class Meta(VersionBase.Meta):
        constraints = [models.UniqueConstraint(fields=["template", "number"], name="template_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.template_id} v{self.number}"


class TemplateLink(models.Model):
    """Which template (and which of its versions) a workflow was made from, and with which parameter values."""

    workflow = models.OneToOneField("workflows.Workflow", on_delete=models.CASCADE, related_name="template_link")
    # Kept when the template is deleted, so the workflow still says where it came from.
    template = models.ForeignKey(Template, null=True, blank=True, on_delete=models.SET_NULL, related_name="links")
    template_name = models.CharField(max_length=200, help_text="The template's name when the workflow was made.")
    template_version = models.PositiveIntegerField(help_text="The template version the workflow is based on.")
    params = models.JSONField(
        default=dict,
        blank=True,
        encoder=DjangoJSONEncoder,
        help_text="The parameter values used; a secret parameter holds a secret's name, never its value.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"workflow {self.workflow_id} ← {self.template_name} v{self.template_version}"

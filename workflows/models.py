from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q


def empty_definition() -> dict:
    return {"nodes": [], "edges": [], "settings": {}}


class Folder(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="folders")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # Two partial constraints because NULL parents are distinct in a plain unique index.
            models.UniqueConstraint(
                fields=["owner", "name"], condition=Q(parent__isnull=True), name="folder_unique_root_name"
            ),
            models.UniqueConstraint(
                fields=["owner", "parent", "name"], condition=Q(parent__isnull=False), name="folder_unique_child_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=100)
    colour = models.CharField(max_length=7, default="#6b7280", help_text="A hex colour such as #2563eb.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="tag_unique_owner_name")]

    def __str__(self) -> str:
        return self.name


class OnLimit(models.TextChoices):
    QUEUE = "queue", "Queue the run until a slot frees"
    SKIP = "skip", "Refuse the new run"
    CANCEL_OLDEST = "cancel_oldest", "Cancel the oldest running run"


class Workflow(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workflows")
    folder = models.ForeignKey(Folder, null=True, blank=True, on_delete=models.PROTECT, related_name="workflows")
    tags = models.ManyToManyField(Tag, blank=True, related_name="workflows")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    definition = models.JSONField(default=empty_definition, encoder=DjangoJSONEncoder)
    max_concurrency = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most executions of this workflow running at once; empty means no limit."
    )
    on_limit = models.CharField(
        max_length=16,
        choices=OnLimit.choices,
        default=OnLimit.QUEUE,
        help_text="What a run started while max_concurrency runs are running does.",
    )
    version = models.PositiveIntegerField(default=1, help_text="Number of the newest version.")
    published_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The released version: API, webhook and schedule runs use it."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["owner", "-updated_at"], name="workflow_owner_updated")]
        # Object permissions beside Django's view/change/delete; roles are sets of them (sharing.roles).
        permissions = [
            ("execute_workflow", "Can run the workflow"),
            ("share_workflow", "Can share the workflow"),
            ("publish_workflow", "Can publish a version of the workflow"),
        ]

    def __str__(self) -> str:
        return self.name


class ImmutableVersionError(Exception):
    pass


class VersionBase(models.Model):
    """One numbered, immutable state of a definition: a workflow's history, or a template's."""

    number = models.PositiveIntegerField()
    definition = models.JSONField(encoder=DjangoJSONEncoder)
    changelog = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["-number"]

    def save(self, *args, **kwargs) -> None:
        # A version is history: once written it never changes, so a diff, a rollback or a
        # template update always compares with what was really saved.
        if not self._state.adding:
            raise ImmutableVersionError(f"A {self._meta.verbose_name} cannot be changed once written.")
        super().save(*args, **kwargs)


class WorkflowVersion(VersionBase):
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")

    class Meta(VersionBase.Meta):
        constraints = [models.UniqueConstraint(fields=["workflow", "number"], name="version_unique_number")]

    def __str__(self) -> str:
        return f"{self.workflow_id} v{self.number}"


# --- Secrets ------------------------------------------------------------------------------------

# The name a node param reads as `{{ secrets.NAME }}`. A letter first, because the expression
# language refuses names that start with "_".
SECRET_NAME_PATTERN = r"[A-Za-z][A-Za-z0-9_]{0,63}"
SECRET_NAME_MESSAGE = "Use a letter first, then letters, digits or _, at most 64 characters."


class Secret(models.Model):
    """A value a user's workflows may read. Stored only encrypted (workflows.secrets); never shown again."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="secrets")
    name = models.CharField(
        max_length=64, validators=[RegexValidator(rf"\A{SECRET_NAME_PATTERN}\Z", message=SECRET_NAME_MESSAGE)]
    )
    # Not editable: forms and serializers never see it; only the services write it.
    ciphertext = models.TextField(editable=False)
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="secret_unique_owner_name"),
            models.CheckConstraint(condition=Q(name__regex=rf"^{SECRET_NAME_PATTERN}$"), name="secret_name_format"),
        ]

    def __str__(self) -> str:
        return self.name

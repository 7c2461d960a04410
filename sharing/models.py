"""Who may do what with a workflow.

`Grant` rows are the truth: a role given to a user or a group, on a workflow or on a folder
(which covers every workflow below it, present and future). The effective role of each
principal on each workflow is materialised into django-guardian object permissions
(`WorkflowUserObjectPermission`, `WorkflowGroupObjectPermission`, direct foreign keys so they
go with a deleted workflow), which every permission check reads.

This app imports no other app: it names their models with "app_label.Model" strings.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from sharing.roles import LINK_ROLES, SHAREABLE_ROLES, Role


class WorkflowUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE)

    # Lookups by (user, permission, content_object) use the index of guardian's unique_together.
    class Meta(UserObjectPermissionBase.Meta):
        pass


class WorkflowGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE)

    # Lookups by (group, permission, content_object) use the index of guardian's unique_together.
    class Meta(GroupObjectPermissionBase.Meta):
        pass


class Grant(models.Model):
    """A role on a workflow or a folder, for a user or a group."""

    workflow = models.ForeignKey("workflows.Workflow", null=True, blank=True, on_delete=models.CASCADE)
    folder = models.ForeignKey("workflows.Folder", null=True, blank=True, on_delete=models.CASCADE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    group = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(max_length=16, choices=[(role, Role(role).label) for role in SHAREABLE_ROLES])
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(workflow__isnull=False, folder__isnull=True)
                | Q(workflow__isnull=True, folder__isnull=False),
                name="grant_one_target",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True) | Q(user__isnull=True, group__isnull=False),
                name="grant_one_principal",
            ),
            models.UniqueConstraint(fields=["workflow", "user"], name="grant_unique_workflow_user"),
            models.UniqueConstraint(fields=["workflow", "group"], name="grant_unique_workflow_group"),
            models.UniqueConstraint(fields=["folder", "user"], name="grant_unique_folder_user"),
            models.UniqueConstraint(fields=["folder", "group"], name="grant_unique_folder_group"),
        ]

    def __str__(self) -> str:
        target = f"workflow {self.workflow_id}" if self.workflow_id else f"folder {self.folder_id}"
        principal = f"user {self.user_id}" if self.user_id else f"group {self.group_id}"
        return f"{self.role} on {target} for {principal}"


class ShareLink(models.Model):
    """A link that lets anyone holding it view (or run) one workflow. Only a digest of its token is kept."""

    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE, related_name="share_links")
    role = models.CharField(max_length=16, choices=[(role, Role(role).label) for role in LINK_ROLES])
    label = models.CharField(max_length=200, blank=True, default="")
    token_digest = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(max_length=8)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Empty means no limit.")
    use_count = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.role} link {self.token_prefix}… on workflow {self.workflow_id}"


class AuditEvent(models.Model):
    """Append-only: who shared, changed a role, revoked, used a link, published, rolled back, transferred or deleted."""

    # Not a foreign key: the record of a deletion outlives the workflow.
    workflow_id = models.BigIntegerField(db_index=True)
    workflow_name = models.CharField(max_length=200)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=32)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} on {self.workflow_name} by {self.actor_id}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)


class UserQuota(models.Model):
    """One user's limits where they differ from the defaults in settings (empty = the default)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quota")
    max_running = models.PositiveIntegerField(null=True, blank=True, help_text="Executions running at once.")
    max_executions_per_day = models.PositiveIntegerField(null=True, blank=True, help_text="Runs started per UTC day.")
    max_workflows = models.PositiveIntegerField(null=True, blank=True)
    max_schedules = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Quota of user {self.user_id}"

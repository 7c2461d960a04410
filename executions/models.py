from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class ExecutionStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"


class NodeRunStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class Trigger(models.TextChoices):
    MANUAL = "manual"
    API = "api"
    WEBHOOK = "webhook"
    SCHEDULE = "schedule"
    SUBWORKFLOW = "subworkflow"


class Priority(models.TextChoices):
    HIGH = "high"
    NORMAL = "normal"


FINISHED_EXECUTION_STATUSES = (ExecutionStatus.SUCCESS, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)
ENDED_NODE_STATUSES = (
    NodeRunStatus.SUCCESS,
    NodeRunStatus.FAILED,
    NodeRunStatus.SKIPPED,
    NodeRunStatus.CANCELLED,
)


class Execution(models.Model):
    # Every status change of a run rewrites each of its index entries, so no index repeats the
    # leading column of another: `workflow` and `owner` lead the composite indexes below.
    workflow = models.ForeignKey(
        "workflows.Workflow", on_delete=models.CASCADE, related_name="executions", db_index=False
    )
    # The workflow's owner when the run was triggered: whose quota the run counts against.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    workflow_version = models.PositiveIntegerField()
    definition = models.JSONField(encoder=DjangoJSONEncoder, help_text="Snapshot of the definition this run follows.")
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    priority = models.CharField(max_length=8, choices=Priority.choices)
    status = models.CharField(max_length=16, choices=ExecutionStatus.choices, default=ExecutionStatus.PENDING)
    input = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    output = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    error = models.TextField(blank=True, default="")
    error_node = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True, help_text="A delayed run stays pending until then.")
    deadline = models.DateTimeField(null=True, blank=True, help_text="When the overall timeout ends the run.")
    # Bumped each time a worker takes the run over; every write of a worker is fenced by it, so
    # a worker that lost the run can no longer change it.
    attempt = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    wake_at = models.DateTimeField(
        null=True, blank=True, help_text="A run parked by a long delay node resumes at this time."
    )
    cancel_requested = models.BooleanField(default=False)
    recoveries = models.PositiveIntegerField(
        default=0, help_text="Times the reaper found the run's worker gone and handed the run on."
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children", help_text="Sub-workflow of."
    )
    depth = models.PositiveSmallIntegerField(default=0)
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries", help_text="Re-run of."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workflow", "-created_at"], name="execution_workflow_created"),
            models.Index(fields=["owner", "-created_at"], name="execution_owner_created"),
            models.Index(fields=["status", "priority", "id"], name="execution_status_priority"),
            # Admission looks at what waits and what runs, per owner and workflow.
            models.Index(
                fields=["owner", "workflow", "priority", "id"],
                condition=models.Q(status="pending"),
                name="execution_pending_queue",
            ),
            models.Index(fields=["workflow", "owner"], condition=models.Q(status="running"), name="execution_running"),
        ]

    def __str__(self) -> str:
        return f"Execution {self.pk} of workflow {self.workflow_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_EXECUTION_STATUSES


class NodeRun(models.Model):
    # Looked up through the unique (execution, node_id) index: no index of its own.
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="node_runs", db_index=False)
    node_id = models.CharField(max_length=64)
    node_type = models.CharField(max_length=64)
    position = models.PositiveIntegerField(help_text="Index of the node in the definition, for stable listing.")
    status = models.CharField(max_length=16, choices=NodeRunStatus.choices, default=NodeRunStatus.PENDING)
    attempt = models.PositiveIntegerField(default=0)
    input = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    output = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    error = models.TextField(blank=True, default="")
    log = models.JSONField(default=list, blank=True, encoder=DjangoJSONEncoder)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    resume_at = models.DateTimeField(null=True, blank=True, help_text="A parked delay node ends at this time.")

    class Meta:
        ordering = ["execution", "position"]
        constraints = [models.UniqueConstraint(fields=["execution", "node_id"], name="node_run_unique_node")]

    def __str__(self) -> str:
        return f"{self.node_id} ({self.status})"


class WorkflowWebhook(models.Model):
    """The secret URL that triggers a workflow. Only a SHA-256 digest of its token is stored."""

    workflow = models.OneToOneField("workflows.Workflow", on_delete=models.CASCADE, related_name="webhook")
    token_digest = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(max_length=8, help_text="The first characters, to recognise the token.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Webhook of workflow {self.workflow_id} ({self.token_prefix}…)"


class AdmissionTurn(models.Model):
    """When each owner last had a run admitted: ties between owners go to the one served longest ago."""

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+")
    last_admitted_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Owner {self.owner_id} last admitted at {self.last_admitted_at}"


class DailyUsage(models.Model):
    """How many executions each owner started on a day (UTC): the daily quota, counted as it goes.

    Counting the owner's executions of the day on every submit would cost more the busier the
    day; this row is bumped in the transaction that creates the run, so a refused or rolled-back
    run does not count.
    """

    # Looked up through the unique (owner, day) index: no index of its own.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    executions = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "day"], name="daily_usage_owner_day")]

    def __str__(self) -> str:
        return f"Owner {self.owner_id} started {self.executions} executions on {self.day}"

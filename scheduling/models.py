from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q


class ScheduleKind(models.TextChoices):
    CRON = "cron", "Cron (repeats)"
    ONCE = "once", "Once, at run_at"
    DELAY = "delay", "After delay_s, retried until it succeeds"


class Backoff(models.TextChoices):
    FIXED = "fixed"
    EXPONENTIAL = "exponential"


class MisfirePolicy(models.TextChoices):
    SKIP = "skip", "Skip missed runs"
    RUN_ONCE = "run_once", "Run once for all missed runs"
    CATCH_UP = "catch_up", "Run each missed run (up to catch_up_max)"


class OverlapPolicy(models.TextChoices):
    ALLOW = "allow", "Allow overlapping runs"
    SKIP = "skip", "Skip while the previous run is running"
    QUEUE = "queue", "Queue until the previous run ends"


class ScheduledTask(models.Model):
    """When a workflow runs by itself. Timing fields are written only by `scheduling.services`."""

    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE, related_name="schedules")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who created the schedule; its runs are triggered by them and count against the workflow owner.",
    )
    kind = models.CharField(max_length=8, choices=ScheduleKind.choices, default=ScheduleKind.CRON)
    cron_expression = models.CharField(max_length=200, blank=True, default="")
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA name the expression is read in.")
    run_at = models.DateTimeField(null=True, blank=True, help_text="When a `once` schedule fires.")
    delay_s = models.PositiveIntegerField(
        null=True, blank=True, help_text="A `delay` schedule fires this long after creation (and retries after it)."
    )
    backoff = models.CharField(max_length=12, choices=Backoff.choices, default=Backoff.FIXED)
    backoff_factor = models.FloatField(default=2.0, help_text="Exponential backoff multiplies the wait by this.")
    backoff_max_delay_s = models.PositiveIntegerField(default=3600, help_text="Longest wait between retries.")
    input = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder, help_text="Input of every run.")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(
        max_length=500, blank=True, default="", help_text="Why the scheduler turned the schedule off, if it did."
    )
    misfire_policy = models.CharField(max_length=8, choices=MisfirePolicy.choices, default=MisfirePolicy.RUN_ONCE)
    catch_up_max = models.PositiveIntegerField(default=10, help_text="Most missed runs `catch_up` replays.")
    overlap_policy = models.CharField(max_length=8, choices=OverlapPolicy.choices, default=OverlapPolicy.ALLOW)
    jitter_s = models.PositiveIntegerField(default=0, help_text="Each run starts up to this many seconds late.")
    pause_after_failures = models.PositiveIntegerField(
        default=0, help_text="Turn the schedule off after this many failed runs in a row (0: never)."
    )
    consecutive_failures = models.PositiveIntegerField(default=0)
    max_runs = models.PositiveIntegerField(default=0, help_text="0 means no limit.")
    run_count = models.PositiveIntegerField(default=0)
    next_run_time = models.DateTimeField(null=True, blank=True, help_text="The next occurrence (before jitter).")
    # The instant the next run is planned for: next_run_time plus this occurrence's jitter. The
    # scheduler's timing wheel is keyed on it; every beat process reads the same value.
    fire_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_run_time = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Bumped by every change beat must learn about (an edit; a run's end that plans the next
    # one), not by beat's own fires: beat picks up changes with an indexed `updated_at > last
    # seen` query instead of re-reading the table.
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["workflow", "id"], name="schedule_workflow")]

    def __str__(self) -> str:
        when = {
            ScheduleKind.CRON: self.cron_expression,
            ScheduleKind.ONCE: f"at {self.run_at}",
            ScheduleKind.DELAY: f"after {self.delay_s} s",
        }.get(self.kind, "")
        return f"Schedule {self.pk} of workflow {self.workflow_id} ({when})"


class FireStatus(models.TextChoices):
    FIRED = "fired", "Fired; its run is being created"
    QUEUED = "queued", "Queued behind the previous run"
    STARTED = "started", "Execution started"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped", "Skipped (previous run still running)"
    ERROR = "error", "Could not start"


# A fire in one of these states still waits for something: its run to start or to end.
OPEN_FIRE_STATUSES = (FireStatus.FIRED, FireStatus.QUEUED, FireStatus.STARTED)


class ScheduleFire(models.Model):
    """One occurrence a schedule fired, and the execution it started. Unique per (schedule, due_at):
    the database itself refuses a second fire of the same occurrence.

    Beat writes it `fired` (or `queued` / `skipped` by the overlap policy); a worker creates the
    execution and moves it to `started` (or `skipped` / `error`, with the reason); the run's end
    moves it to `success`, `failed` or `cancelled`."""

    schedule = models.ForeignKey(ScheduledTask, on_delete=models.CASCADE, related_name="fires")
    due_at = models.DateTimeField(help_text="The occurrence (before jitter).")
    fired_at = models.DateTimeField(help_text="When the scheduler claimed it.")
    sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was last sent to the workers again (its first message was lost)."
    )
    execution = models.ForeignKey(
        "executions.Execution", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=FireStatus.choices)
    detail = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-due_at"]
        constraints = [models.UniqueConstraint(fields=["schedule", "due_at"], name="schedule_fire_unique_occurrence")]
        indexes = [
            # Small: only fires that still wait (reconciliation and overlap checks read these).
            models.Index(
                fields=["schedule", "due_at"],
                condition=Q(status__in=["fired", "queued", "started"]),
                name="schedule_fire_open",
            ),
        ]

    def __str__(self) -> str:
        return f"Fire of schedule {self.schedule_id} due {self.due_at:%Y-%m-%d %H:%M:%S} ({self.status})"

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from scheduling import cron
from scheduling.models import Backoff, MisfirePolicy, OverlapPolicy, ScheduledTask, ScheduleKind
from scheduling.selectors import MAX_PREVIEW_COUNT
from scheduling.services import LIMITS


def _limited(field_class, name: str, **kwargs):
    lowest, highest = LIMITS[name]
    return field_class(required=False, min_value=lowest, max_value=highest, **kwargs)


class ScheduleInputSerializer(serializers.Serializer):
    """What a client may set. Timing state (next/last run, run count) and the user are never taken
    from the body; unknown fields are ignored."""

    workflow = serializers.IntegerField(help_text="Id of a workflow you may edit. Cannot change later.")
    kind = serializers.ChoiceField(choices=ScheduleKind.choices, required=False)
    cron_expression = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="5 fields (minute first), 6 with a leading seconds field, or a macro such as @daily.",
    )
    timezone = serializers.CharField(required=False, max_length=64, help_text="IANA name, such as Europe/Berlin.")
    run_at = serializers.DateTimeField(required=False, allow_null=True, help_text="When a once schedule fires.")
    delay_s = _limited(serializers.IntegerField, "delay_s", allow_null=True)
    backoff = serializers.ChoiceField(choices=Backoff.choices, required=False)
    backoff_factor = _limited(serializers.FloatField, "backoff_factor")
    backoff_max_delay_s = _limited(serializers.IntegerField, "backoff_max_delay_s")
    input = serializers.DictField(required=False, help_text="The input object of every run.")
    enabled = serializers.BooleanField(required=False)
    misfire_policy = serializers.ChoiceField(choices=MisfirePolicy.choices, required=False)
    catch_up_max = _limited(serializers.IntegerField, "catch_up_max")
    overlap_policy = serializers.ChoiceField(choices=OverlapPolicy.choices, required=False)
    jitter_s = _limited(serializers.IntegerField, "jitter_s")
    pause_after_failures = _limited(serializers.IntegerField, "pause_after_failures")
    max_runs = _limited(serializers.IntegerField, "max_runs")


class ScheduleSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True, default=None)
    role = serializers.CharField(read_only=True, help_text="Your role on the schedule's workflow.")
    description = serializers.SerializerMethodField(help_text="The cron expression in words.")
    last_run_status = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="Status of the newest run's execution, or queued / skipped / error when it has none.",
    )
    last_execution = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = ScheduledTask
        fields = [
            "id",
            "workflow",
            "user",
            "role",
            "kind",
            "cron_expression",
            "timezone",
            "description",
            "run_at",
            "delay_s",
            "backoff",
            "backoff_factor",
            "backoff_max_delay_s",
            "input",
            "enabled",
            "disabled_reason",
            "misfire_policy",
            "catch_up_max",
            "overlap_policy",
            "jitter_s",
            "pause_after_failures",
            "consecutive_failures",
            "max_runs",
            "run_count",
            "next_run_time",
            "last_run_time",
            "last_run_status",
            "last_execution",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_description(self, schedule: ScheduledTask) -> str | None:
        if schedule.kind != ScheduleKind.CRON:
            return None
        try:
            return cron.describe(cron.parse(schedule.cron_expression, schedule.timezone))
        except cron.CronError:
            return None


class PreviewQuerySerializer(serializers.Serializer):
    cron = serializers.CharField(help_text="A cron expression (5 or 6 fields, or a macro).")
    timezone = serializers.CharField(default="UTC", help_text="IANA timezone name.")
    count = serializers.IntegerField(default=5, min_value=1, max_value=MAX_PREVIEW_COUNT)
    start = serializers.DateTimeField(required=False, help_text="ISO-8601; fire times after it (default now).")


class FireTimeSerializer(serializers.Serializer):
    at = serializers.CharField(help_text="Local time with its UTC offset (ISO-8601).")
    utc = serializers.CharField()
    utc_offset = serializers.CharField(help_text="Such as +02:00.")


class PreviewSerializer(serializers.Serializer):
    cron = serializers.CharField()
    timezone = serializers.CharField()
    description = serializers.CharField()
    next = FireTimeSerializer(many=True)

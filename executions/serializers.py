from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from executions.admission import Waiting, waiting_for
from executions.live import live_state
from executions.models import Execution, NodeRun


class RunInputSerializer(serializers.Serializer):
    input = serializers.DictField(default=dict, help_text="The execution's input object.")
    mode = serializers.ChoiceField(
        choices=["sync", "async"], default="async", help_text="sync waits for the result; async answers at once."
    )
    delay_s = serializers.FloatField(
        default=0, min_value=0, max_value=30 * 24 * 3600, help_text="Start no earlier than this many seconds from now."
    )


class RunAcceptedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    ws = serializers.CharField(help_text="WebSocket path streaming this execution's state.")


def run_accepted(execution: Execution) -> dict:
    """The body of a 202 for a run, as RunAcceptedSerializer documents it.

    Built directly: the values are already what the serializer would render, and a serializer
    instance per run request cost about a twentieth of the web process's CPU."""
    return {"id": execution.pk, "status": execution.status, "ws": f"/ws/executions/{execution.pk}/"}


class NodeRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = NodeRun
        fields = [
            "node_id",
            "node_type",
            "status",
            "attempt",
            "input",
            "output",
            "error",
            "log",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class ExecutionListSerializer(serializers.ModelSerializer):
    triggered_by = serializers.CharField(source="triggered_by.username", read_only=True, default=None)

    class Meta:
        model = Execution
        fields = [
            "id",
            "workflow",
            "workflow_version",
            "trigger",
            "priority",
            "status",
            "triggered_by",
            "input",
            "output",
            "error",
            "error_node",
            "attempt",
            "not_before",
            "parent",
            "retry_of",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


PROGRESS_SCHEMA = {
    "type": "object",
    "nullable": True,
    "properties": {"finished": {"type": "integer"}, "total": {"type": "integer"}},
}


class ExecutionSerializer(ExecutionListSerializer):
    nodes = NodeRunSerializer(source="node_runs", many=True, read_only=True)
    waiting_reason = serializers.SerializerMethodField(
        help_text="For a pending run: the limit it waits for (delay, global, workflow, user), else null."
    )
    position = serializers.SerializerMethodField(help_text="For a waiting run: its place among those waiting alike.")
    progress = serializers.SerializerMethodField(
        help_text="While the run is live: finished and total nodes, from the live state kept in Redis."
    )

    class Meta(ExecutionListSerializer.Meta):
        fields = [
            *ExecutionListSerializer.Meta.fields,
            "waiting_reason",
            "position",
            "progress",
            "definition",
            "nodes",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {"finished": {"type": "integer"}, "total": {"type": "integer"}},
        }
    )
    def get_progress(self, execution: Execution) -> dict | None:
        # Read from the live state only while the run is live; PostgreSQL stays the truth.
        if execution.status != "running":
            return None
        state = live_state(execution.pk)
        return state.get("progress") if state else None

    def _waiting(self, execution: Execution) -> Waiting:
        if not hasattr(execution, "_waiting"):
            execution._waiting = waiting_for(execution)
        return execution._waiting

    def get_waiting_reason(self, execution: Execution) -> str | None:
        return self._waiting(execution).reason

    def get_position(self, execution: Execution) -> int | None:
        return self._waiting(execution).position


class WebhookSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    token_prefix = serializers.CharField(allow_null=True, help_text="The first characters of the current token.")
    created_at = serializers.DateTimeField(allow_null=True)
    url = serializers.CharField(
        allow_null=True, help_text="The full URL, shown only in the answer to the POST that created the token."
    )


class WebhookAcceptedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class SharedWorkflowDefinitionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    version = serializers.IntegerField()
    definition = serializers.JSONField()


class SharedWorkflowSerializer(serializers.Serializer):
    role = serializers.CharField(help_text="What the link allows: viewer or executor.")
    workflow = SharedWorkflowDefinitionSerializer()


class QuotaSerializer(serializers.Serializer):
    max_running = serializers.IntegerField()
    running = serializers.IntegerField()
    max_executions_per_day = serializers.IntegerField()
    executions_today = serializers.IntegerField()
    max_workflows = serializers.IntegerField()
    workflows = serializers.IntegerField()
    max_schedules = serializers.IntegerField()
    schedules = serializers.IntegerField()

from rest_framework import serializers

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


class ExecutionSerializer(ExecutionListSerializer):
    nodes = NodeRunSerializer(source="node_runs", many=True, read_only=True)

    class Meta(ExecutionListSerializer.Meta):
        fields = [*ExecutionListSerializer.Meta.fields, "definition", "nodes"]
        read_only_fields = fields


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

import json

from django.contrib import admin
from django.utils.html import format_html

from executions.models import Execution, NodeRun, WorkflowWebhook


def pretty_json(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, default=str))


class ReadOnlyAdminMixin:
    """Runs are written by the engine only; the admin shows them and may delete old ones."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class NodeRunInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = NodeRun
    fields = ["node_id", "node_type", "status", "attempt", "error", "started_at", "finished_at"]
    readonly_fields = fields
    ordering = ["position"]
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "workflow", "workflow_version", "status", "trigger", "priority", "owner", "created_at"]
    list_filter = ["status", "trigger", "priority", "created_at"]
    search_fields = ["=id", "workflow__name", "owner__username", "error"]
    list_select_related = ["workflow", "owner"]
    date_hierarchy = "created_at"
    inlines = [NodeRunInline]
    exclude = ["definition", "input", "output"]
    readonly_fields = ["definition_json", "input_json", "output_json"]

    @admin.display(description="definition")
    def definition_json(self, execution: Execution) -> str:
        return pretty_json(execution.definition)

    @admin.display(description="input")
    def input_json(self, execution: Execution) -> str:
        return pretty_json(execution.input)

    @admin.display(description="output")
    def output_json(self, execution: Execution) -> str:
        return pretty_json(execution.output)


@admin.register(NodeRun)
class NodeRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["execution", "node_id", "node_type", "status", "attempt", "started_at", "finished_at"]
    list_filter = ["status", "node_type"]
    search_fields = ["=execution__id", "node_id"]
    list_select_related = ["execution"]


@admin.register(WorkflowWebhook)
class WorkflowWebhookAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Shows which workflows have a webhook; the token exists only as a digest and is never shown."""

    list_display = ["workflow", "token_prefix", "created_at"]
    search_fields = ["workflow__name", "token_prefix"]
    list_select_related = ["workflow"]
    exclude = ["token_digest"]

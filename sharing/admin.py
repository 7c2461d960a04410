from django.contrib import admin

from sharing.models import AuditEvent, Grant, ShareLink, UserQuota


@admin.register(UserQuota)
class UserQuotaAdmin(admin.ModelAdmin):
    """Per-user overrides of the quotas in settings; an empty field means the default."""

    list_display = ["user", "max_running", "max_executions_per_day", "max_workflows", "max_schedules"]
    search_fields = ["user__username"]
    autocomplete_fields = ["user"]
    list_select_related = ["user"]


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    """Shares are made through the API (which keeps the permissions in step); here they are shown."""

    list_display = ["role", "workflow", "folder", "user", "group", "granted_by", "created_at"]
    list_filter = ["role", "created_at"]
    search_fields = ["workflow__name", "folder__name", "user__username", "group__name"]
    list_select_related = ["workflow", "folder", "user", "group", "granted_by"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    """Links show their prefix only; the token itself exists nowhere but with whoever holds it."""

    list_display = ["token_prefix", "workflow", "role", "label", "use_count", "max_uses", "expires_at", "revoked_at"]
    list_filter = ["role", "revoked_at"]
    search_fields = ["workflow__name", "label", "token_prefix"]
    list_select_related = ["workflow"]
    exclude = ["token_digest"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Append-only: nobody edits or deletes history, not even a superuser."""

    list_display = ["created_at", "action", "workflow_name", "workflow_id", "actor"]
    list_filter = ["action", "created_at"]
    search_fields = ["workflow_name", "=workflow_id", "actor__username"]
    list_select_related = ["actor"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

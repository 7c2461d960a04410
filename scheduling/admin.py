"""Operator views of schedules. Timing state is written only by `scheduling.services`, so the
admin saves through them (validation, next run time, quota) and shows that state read-only.
django-celery-beat's own admin (periodic tasks: the system jobs) stays as it is."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from scheduling import services
from scheduling.models import ScheduledTask, ScheduleKind
from scheduling.selectors import with_last_run
from structforge.errors import InvalidInput, QuotaExceeded

RECENT_FIRES = 20


class ScheduledTaskAdminForm(forms.ModelForm):
    class Meta:
        model = ScheduledTask
        fields = ["workflow", *services.EDITABLE_FIELDS]

    def changes(self) -> dict[str, Any]:
        names = self.changed_data if self.instance.pk else list(self.cleaned_data)
        return {name: self.cleaned_data[name] for name in names if name in self.cleaned_data and name != "workflow"}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        workflow = cleaned.get("workflow") if self.instance.pk is None else None
        try:
            services.schedule_validate(schedule=self.instance, data=self.changes(), workflow=workflow)
        except QuotaExceeded as exc:
            self.add_error("workflow" if "workflow" in self.fields else None, str(exc))
        except InvalidInput as exc:
            for name, problems in exc.errors.items():
                messages_ = [p["message"] if isinstance(p, dict) else str(p) for p in problems]
                self.add_error(name if name in self.fields else None, messages_)
        return cleaned

    def _post_clean(self) -> None:
        # The instance is written by the services in save_model, not from the form.
        pass


@admin.register(ScheduledTask)
class ScheduledTaskAdmin(admin.ModelAdmin):
    form = ScheduledTaskAdminForm
    list_display = [
        "id",
        "workflow",
        "kind",
        "timing",
        "timezone",
        "enabled",
        "next_run_time",
        "last_run_time",
        "run_count",
        "last_run_state",
        "disabled_reason",
    ]
    list_filter = ["kind", "enabled", "misfire_policy", "overlap_policy"]
    search_fields = ["=id", "workflow__name", "workflow__owner__username", "cron_expression"]
    list_select_related = ["workflow"]
    autocomplete_fields = ["workflow"]
    readonly_fields = [
        "user",
        "disabled_reason",
        "consecutive_failures",
        "run_count",
        "next_run_time",
        "last_run_time",
        "created_at",
        "updated_at",
        "recent_fires",
    ]
    actions = ["turn_on", "turn_off"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ScheduledTask]:
        return with_last_run(super().get_queryset(request))

    def get_readonly_fields(self, request: HttpRequest, obj: ScheduledTask | None = None) -> list[str]:
        # A schedule belongs to its workflow for good.
        return [*self.readonly_fields, "workflow"] if obj is not None else self.readonly_fields

    @admin.display(description="when")
    def timing(self, schedule: ScheduledTask) -> str:
        if schedule.kind == ScheduleKind.CRON:
            return schedule.cron_expression
        if schedule.kind == ScheduleKind.ONCE:
            return f"at {schedule.run_at:%Y-%m-%d %H:%M:%S}" if schedule.run_at else "-"
        return f"after {schedule.delay_s} s ({schedule.backoff})"

    @admin.display(description="last run's state", ordering="last_run_status")
    def last_run_state(self, schedule: ScheduledTask) -> str:
        return getattr(schedule, "last_run_status", None) or "-"

    @admin.display(description="recent runs")
    def recent_fires(self, schedule: ScheduledTask) -> SafeString:
        fires = schedule.fires.select_related("execution").order_by("-due_at")[:RECENT_FIRES]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{fire.due_at:%Y-%m-%d %H:%M:%S}",
                    f"{fire.fired_at:%Y-%m-%d %H:%M:%S}",
                    fire.execution.status if fire.execution else fire.status,
                    fire.execution_id or "-",
                    fire.detail,
                )
                for fire in fires
            ),
        )
        return format_html(
            "<table><tr><th>due</th><th>fired</th><th>state</th><th>execution</th><th>detail</th></tr>{}</table>",
            rows,
        )

    def save_model(self, request: HttpRequest, obj: ScheduledTask, form: ScheduledTaskAdminForm, change: bool) -> None:
        if change:
            saved = services.schedule_update(schedule=obj, data=form.changes())
        else:
            saved = services.schedule_create(
                workflow=form.cleaned_data["workflow"], user=request.user, data=form.changes()
            )
        obj.pk = saved.pk
        form.instance = saved

    def delete_model(self, request: HttpRequest, obj: ScheduledTask) -> None:
        services.schedule_delete(schedule=obj)

    @admin.action(description="Turn the selected schedules on")
    def turn_on(self, request: HttpRequest, queryset: QuerySet[ScheduledTask]) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Turn the selected schedules off")
    def turn_off(self, request: HttpRequest, queryset: QuerySet[ScheduledTask]) -> None:
        self._set_enabled(request, queryset, False)

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet[ScheduledTask], enabled: bool) -> None:
        changed, refused = 0, []
        for schedule in queryset:
            try:
                services.schedule_update(schedule=schedule, data={"enabled": enabled})
                changed += 1
            except InvalidInput as exc:
                refused.append(f"{schedule.pk}: {exc.errors}")
        self.message_user(request, f"{changed} schedules changed.", messages.SUCCESS)
        if refused:
            self.message_user(request, "Refused: " + "; ".join(refused), messages.WARNING)

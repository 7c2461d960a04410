"""The schedules admin: the list with next/last run and state, filters, and saving through the services."""

from datetime import timedelta

import pytest
from django.urls import reverse

from scheduling import services
from scheduling.models import ScheduledTask
from tests.scheduling.conftest import START

pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    return reverse(f"admin:scheduling_{name}", args=args)


@pytest.fixture
def schedule(clock, workflow, alice):
    return services.schedule_create(workflow=workflow, user=alice, data={"cron_expression": "*/10 * * * * *"})


def test_the_list_shows_next_run_last_run_run_count_and_the_last_runs_state(beat, admin_client, schedule):
    beat.at(START + timedelta(seconds=10))

    response = admin_client.get(url("scheduledtask_changelist"))

    assert response.status_code == 200
    [row] = response.context["cl"].result_list
    assert (row.next_run_time, row.last_run_time, row.run_count, row.last_run_status) == (
        START + timedelta(seconds=20),
        START + timedelta(seconds=10),
        1,
        "pending",
    )
    page = response.content.decode()
    for heading in ("Next run time", "Last run time", "Run count", "Last run&#x27;s state"):
        assert heading in page


def test_the_list_filters_by_enabled_and_kind(clock, admin_client, schedule, workflow, alice):
    off = services.schedule_create(workflow=workflow, user=alice, data={"cron_expression": "@daily", "enabled": False})

    disabled = admin_client.get(url("scheduledtask_changelist"), {"enabled__exact": "0"})
    crons = admin_client.get(url("scheduledtask_changelist"), {"kind__exact": "cron", "q": "Nightly"})

    assert list(disabled.context["cl"].result_list) == [off]
    assert set(crons.context["cl"].result_list) == {schedule, off}


def test_adding_a_schedule_in_the_admin_plans_its_next_run(clock, admin_client, admin_user, workflow):
    response = admin_client.post(
        url("scheduledtask_add"),
        {
            "workflow": workflow.pk,
            "kind": "cron",
            "cron_expression": "0 * * * *",
            "timezone": "UTC",
            "backoff": "fixed",
            "backoff_factor": "2",
            "backoff_max_delay_s": "3600",
            "input": "{}",
            "enabled": "on",
            "misfire_policy": "run_once",
            "catch_up_max": "10",
            "overlap_policy": "allow",
            "jitter_s": "0",
            "pause_after_failures": "0",
            "max_runs": "0",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    schedule = ScheduledTask.objects.get()
    assert (schedule.next_run_time, schedule.user) == (START + timedelta(hours=1), admin_user)


def test_a_bad_expression_in_the_admin_is_a_form_error_and_nothing_changes(admin_client, schedule):
    response = admin_client.post(
        url("scheduledtask_change", schedule.pk),
        {
            "kind": "cron",
            "cron_expression": "every day",
            "timezone": "UTC",
            "backoff": "fixed",
            "backoff_factor": "2",
            "backoff_max_delay_s": "3600",
            "input": "{}",
            "enabled": "on",
            "misfire_policy": "run_once",
            "catch_up_max": "10",
            "overlap_policy": "allow",
            "jitter_s": "0",
            "pause_after_failures": "0",
            "max_runs": "0",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "cron_expression": [
            "A cron expression has 5 fields (minute hour day-of-month month day-of-week), 6 with a leading "
            "seconds field, or is a macro such as @daily; 'every day' has 2."
        ]
    }
    schedule.refresh_from_db()
    assert schedule.cron_expression == "*/10 * * * * *"


def test_the_change_page_shows_recent_runs(beat, admin_client, schedule):
    beat.run_until(START + timedelta(seconds=30))

    page = admin_client.get(url("scheduledtask_change", schedule.pk)).content.decode()

    assert "2025-01-06 12:00:30" in page
    assert page.count("<td>pending</td>") == 3


def test_system_periodic_tasks_stay_editable_in_the_admin(admin_client):
    assert admin_client.get(reverse("admin:django_celery_beat_periodictask_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:django_celery_beat_periodictask_add")).status_code == 200

"""Scheduler logic with a frozen clock: kinds, max runs, misfire, overlap, jitter, pauses, claims.

`Beat` (conftest) drives `scheduling.beat.UserSchedules`, the loop the real beat process runs,
in this process; time moves only when a test moves it.
"""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import OperationalError
from django.db.models import F
from django_celery_beat.schedulers import DatabaseScheduler

from executions.models import Execution
from scheduling import heartbeat, services
from scheduling.beat import StructForgeScheduler, UserSchedules
from scheduling.models import ScheduledTask, ScheduleFire
from sharing.models import UserQuota
from structforge.celery import app as celery_app
from structforge.errors import InvalidInput, QuotaExceeded
from tests.factories import UserFactory
from tests.scheduling.conftest import START, Beat, finish
from workflows.services import workflow_create, workflow_publish, workflow_update

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)


def create(workflow, user=None, **data) -> ScheduledTask:
    return services.schedule_create(workflow=workflow, user=user or workflow.owner, data=data)


def executions(schedule=None) -> list[Execution]:
    runs = Execution.objects.filter(trigger="schedule").order_by("id")
    if schedule is not None:
        runs = runs.filter(pk__in=ScheduleFire.objects.filter(schedule=schedule).values("execution_id"))
    return list(runs)


def fires(schedule) -> list[tuple]:
    return list(ScheduleFire.objects.filter(schedule=schedule).order_by("due_at").values_list("due_at", "status"))


# --- cron ----------------------------------------------------------------------------------------------


def test_a_cron_schedule_fires_each_occurrence_once_and_plans_the_next(beat, workflow, alice):
    schedule = create(workflow, cron_expression="*/10 * * * * *", input={"day": "monday"})
    assert schedule.next_run_time == START + 10 * S

    beat.at(START + 9 * S)
    assert executions() == []

    beat.at(START + 10 * S)
    beat.tick()  # a second tick at the same time fires nothing more

    [execution] = executions()
    assert (execution.trigger, execution.priority, execution.input) == ("schedule", "normal", {"day": "monday"})
    assert (execution.workflow_id, execution.owner_id, execution.triggered_by_id) == (workflow.pk, alice.pk, alice.pk)
    schedule.refresh_from_db()
    assert (schedule.run_count, schedule.last_run_time, schedule.next_run_time) == (1, START + 10 * S, START + 20 * S)
    assert fires(schedule) == [(START + 10 * S, "started")]
    assert ScheduleFire.objects.get().execution == execution

    beat.run_until(START + 60 * S)
    assert [due for due, _ in fires(schedule)] == [START + n * 10 * S for n in range(1, 7)]
    assert len(executions(schedule)) == 6


def test_a_scheduled_run_uses_the_published_version(beat, alice):
    workflow = workflow_create(
        owner=alice, name="Versions", definition={"nodes": [{"id": "v1", "type": "noop"}], "edges": []}
    )
    workflow_update(workflow=workflow, user=alice, data={"definition": {"nodes": [{"id": "v2", "type": "noop"}]}})
    workflow_publish(workflow=workflow, user=alice, number=1)
    create(workflow, cron_expression="* * * * * *")

    beat.at(START + S)

    [execution] = executions()
    assert (execution.workflow_version, [node["id"] for node in execution.definition["nodes"]]) == (1, ["v1"])


def test_max_runs_turns_the_schedule_off_after_that_many_runs(beat, workflow):
    schedule = create(workflow, cron_expression="* * * * * *", max_runs=3)

    beat.run_until(START + 10 * S)

    schedule.refresh_from_db()
    assert len(executions()) == 3
    assert (schedule.run_count, schedule.enabled, schedule.next_run_time) == (3, False, None)
    assert schedule.disabled_reason == "Reached max_runs (3 runs)."


def test_a_cron_schedule_in_a_timezone_fires_at_local_time(beat, workflow):
    schedule = create(workflow, cron_expression="0 14 * * *", timezone="Europe/Berlin")
    assert schedule.next_run_time == START + timedelta(hours=1)  # 14:00 in Berlin is 13:00 UTC in January

    beat.at(START + timedelta(hours=1))

    assert len(executions()) == 1
    schedule.refresh_from_db()
    assert schedule.next_run_time == START + timedelta(days=1, hours=1)


# --- once ----------------------------------------------------------------------------------------------


def test_a_once_schedule_fires_at_run_at_then_is_removed_but_its_execution_remains(beat, workflow):
    schedule = create(workflow, kind="once", run_at=START + 90 * S, input={"n": 1})
    assert schedule.next_run_time == START + 90 * S

    beat.at(START + 89 * S)
    assert executions() == []
    beat.at(START + 90 * S)

    [execution] = executions()
    assert execution.input == {"n": 1}
    assert not ScheduledTask.objects.filter(pk=schedule.pk).exists()
    beat.run_until(START + 300 * S)
    assert len(executions()) == 1


def test_a_once_schedule_whose_run_is_refused_stays_off_and_says_why(beat, workflow, alice):
    UserQuota.objects.create(user=alice, max_executions_per_day=0)
    schedule = create(workflow, kind="once", run_at=START + 90 * S)

    beat.at(START + 90 * S)

    schedule.refresh_from_db()
    assert (schedule.enabled, executions()) == (False, [])
    assert "today's quota of 0 executions" in schedule.disabled_reason
    assert fires(schedule) == [(START + 90 * S, "skipped")]


# --- delay and backoff --------------------------------------------------------------------------------


def test_a_delay_schedule_retries_a_failed_run_after_a_fixed_delay_until_it_succeeds(beat, workflow):
    schedule = create(workflow, kind="delay", delay_s=30, backoff="fixed")
    assert schedule.next_run_time == START + 30 * S

    beat.at(START + 30 * S)
    [first] = executions()
    schedule.refresh_from_db()
    assert (schedule.run_count, schedule.next_run_time, schedule.enabled) == (1, None, True)  # waits for the end

    beat.clock.move_to(START + 35 * S)
    finish(first, "failed")
    schedule.refresh_from_db()
    assert schedule.next_run_time == START + 65 * S  # 30 s after the failure

    beat.run_until(START + 64 * S)
    assert len(executions()) == 1
    beat.at(START + 65 * S)
    second = executions()[-1]
    finish(second, "success")

    schedule.refresh_from_db()
    assert (schedule.run_count, schedule.enabled, schedule.next_run_time) == (2, False, None)
    assert schedule.disabled_reason == "Done: the run succeeded."
    assert [status for _, status in fires(schedule)] == ["failed", "success"]


def test_a_delay_schedule_backs_off_exponentially_up_to_the_max_delay_and_gives_up_at_max_runs(beat, workflow):
    schedule = create(
        workflow,
        kind="delay",
        delay_s=10,
        backoff="exponential",
        backoff_factor=2,
        backoff_max_delay_s=35,
        max_runs=4,
    )
    waits = []
    fired_at = START + 10 * S
    for _ in range(4):
        beat.at(fired_at)
        run = executions()[-1]
        finish(run, "failed")
        schedule.refresh_from_db()
        if schedule.next_run_time is None:
            break
        waits.append((schedule.next_run_time - fired_at).total_seconds())
        fired_at = schedule.next_run_time

    assert waits == [20, 35, 35]  # 10·2, 10·4, 10·8 capped at 35
    assert len(executions()) == 4
    assert (schedule.enabled, schedule.disabled_reason) == (False, "Gave up after 4 failed runs (max_runs).")


def test_backoff_waits_follow_the_formula():
    schedule = ScheduledTask(delay_s=5, backoff="exponential", backoff_factor=3, backoff_max_delay_s=100)
    assert [services.retry_wait_s(schedule, runs) for runs in range(5)] == [5, 15, 45, 100, 100]
    schedule.backoff = "fixed"
    assert [services.retry_wait_s(schedule, runs) for runs in range(3)] == [5, 5, 5]


# --- misfire ------------------------------------------------------------------------------------------


def outage(beat: Beat, workflow, *, policy: str, **extra) -> ScheduledTask:
    """An every-10-seconds schedule, then beat down for five minutes (30 missed), then a new beat."""
    schedule = create(workflow, cron_expression="*/10 * * * * *", misfire_policy=policy, **extra)
    beat.run_until(START + 20 * S)  # two normal runs
    beat.clock.move_to(START + 320 * S + S / 2)
    restarted = Beat(beat.clock)
    restarted.tick()
    schedule.refresh_from_db()
    return schedule


def test_after_an_outage_run_once_fires_one_run_not_a_burst(beat, workflow):
    schedule = outage(beat, workflow, policy="run_once")

    due = [due for due, _ in fires(schedule)]
    assert due == [START + 10 * S, START + 20 * S, START + 30 * S]
    assert len(executions()) == 3
    assert schedule.next_run_time == START + 330 * S
    assert "Missed 2 or more occurrences" in ScheduleFire.objects.get(due_at=START + 30 * S).detail


def test_after_an_outage_skip_drops_the_missed_runs(beat, workflow):
    schedule = outage(beat, workflow, policy="skip")

    assert len(executions()) == 2
    assert schedule.next_run_time == START + 330 * S
    assert schedule.run_count == 2


def test_after_an_outage_catch_up_replays_missed_runs_oldest_first_up_to_its_cap(beat, workflow):
    schedule = outage(beat, workflow, policy="catch_up", catch_up_max=5)

    due = [due for due, _ in fires(schedule)]
    assert due[2:] == [START + n * 10 * S for n in range(3, 8)]
    assert len(executions()) == 7
    assert schedule.next_run_time == START + 330 * S


def test_a_single_run_a_little_late_is_not_a_misfire(beat, workflow):
    schedule = create(workflow, cron_expression="0 13 * * *", misfire_policy="skip")
    beat.at(START + timedelta(hours=1, seconds=30))

    assert fires(schedule) == [(START + timedelta(hours=1), "started")]


def test_a_once_schedule_missed_during_an_outage_is_skipped_or_run_by_its_policy(beat, workflow):
    skipped = create(workflow, kind="once", run_at=START + 10 * S, misfire_policy="skip")
    kept = create(workflow, kind="once", run_at=START + 10 * S, misfire_policy="run_once")

    beat.at(START + timedelta(hours=2))

    skipped.refresh_from_db()
    assert (skipped.enabled, skipped.run_count) == (False, 0)
    assert skipped.disabled_reason.startswith("Missed its run time (2025-01-06 12:00:10 UTC) by 7190 s")
    assert not ScheduledTask.objects.filter(pk=kept.pk).exists()
    assert len(executions()) == 1


# --- overlap ------------------------------------------------------------------------------------------


def test_overlap_skip_skips_a_run_while_the_previous_one_still_runs(beat, workflow):
    schedule = create(workflow, cron_expression="*/10 * * * * *", overlap_policy="skip")
    beat.at(START + 10 * S)
    [first] = executions()

    beat.at(START + 20 * S)
    assert len(executions()) == 1
    finish(first, "success")
    beat.at(START + 30 * S)

    assert [status for _, status in fires(schedule)] == ["success", "skipped", "started"]
    assert ScheduleFire.objects.get(due_at=START + 20 * S).detail == "The previous run was still running."
    schedule.refresh_from_db()
    assert schedule.run_count == 2


def test_overlap_queue_starts_the_waiting_run_when_the_previous_one_ends(beat, workflow):
    schedule = create(workflow, cron_expression="*/10 * * * * *", overlap_policy="queue")
    beat.at(START + 10 * S)
    beat.at(START + 20 * S)
    [first] = executions()
    assert [status for _, status in fires(schedule)] == ["started", "queued"]

    finish(first, "failed")

    queued = ScheduleFire.objects.get(due_at=START + 20 * S)
    assert queued.status == "started"
    assert queued.execution == executions()[-1]
    assert len(executions()) == 2


def test_overlap_allow_starts_every_run(beat, workflow):
    schedule = create(workflow, cron_expression="*/10 * * * * *", overlap_policy="allow")

    beat.run_until(START + 30 * S)

    assert [status for _, status in fires(schedule)] == ["started", "started", "started"]
    assert len(executions()) == 3


# --- jitter -------------------------------------------------------------------------------------------


def test_jitter_delays_each_run_by_at_most_jitter_s_and_never_runs_it_early(beat, workflow):
    schedule = create(workflow, cron_expression="*/10 * * * * *", jitter_s=4)
    offsets = []
    for _ in range(30):
        schedule.refresh_from_db()
        nominal, planned = schedule.next_run_time, schedule.fire_at
        offsets.append((planned - nominal).total_seconds())
        if planned > nominal:
            beat.at(nominal)
            assert ScheduleFire.objects.filter(schedule=schedule, due_at=nominal).count() == 0
        beat.at(planned)
        assert ScheduleFire.objects.filter(schedule=schedule, due_at=nominal).count() == 1

    assert all(0 <= offset <= 4 for offset in offsets)
    assert len(set(offsets)) > 1  # it does vary
    assert len(executions()) == 30


# --- failures -----------------------------------------------------------------------------------------


def test_a_schedule_pauses_after_n_failed_runs_in_a_row_and_says_why(beat, workflow):
    schedule = create(workflow, cron_expression="*/10 * * * * *", pause_after_failures=2)
    outcomes = ["failed", "success", "failed", "failed"]
    for n, outcome in enumerate(outcomes, start=1):
        beat.at(START + n * 10 * S)
        finish(executions()[-1], outcome)

    schedule.refresh_from_db()
    last = executions()[-1]
    assert (schedule.enabled, schedule.consecutive_failures, schedule.next_run_time) == (False, 2, None)
    assert schedule.disabled_reason == f"Paused after 2 failed runs in a row (the last: execution {last.pk})."
    beat.run_until(START + 120 * S)
    assert len(executions()) == 4

    services.schedule_update(schedule=schedule, data={"enabled": True})
    schedule.refresh_from_db()
    assert (schedule.enabled, schedule.disabled_reason, schedule.consecutive_failures) == (True, "", 0)
    assert schedule.next_run_time == START + 130 * S


def test_a_run_whose_input_no_longer_fits_is_recorded_as_a_failed_run(beat, alice):
    workflow = workflow_create(
        owner=alice, name="Typed", definition={"nodes": [{"id": "a", "type": "noop"}], "edges": [], "settings": {}}
    )
    schedule = create(workflow, cron_expression="*/10 * * * * *", input={"n": "x"}, pause_after_failures=1)
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    workflow_update(
        workflow=workflow,
        user=alice,
        data={
            "definition": {"nodes": [{"id": "a", "type": "noop"}], "edges": [], "settings": {"input_schema": schema}}
        },
    )

    beat.at(START + 10 * S)

    [(_, status)] = fires(schedule)
    fire = ScheduleFire.objects.get()
    assert (status, fire.execution) == ("error", None)
    assert "input.n" in fire.detail
    schedule.refresh_from_db()
    assert (schedule.enabled, schedule.consecutive_failures) == (False, 1)


# --- exactly once, changes, lost signals --------------------------------------------------------------


def test_two_schedulers_never_fire_the_same_occurrence_twice(beat, workflow):
    schedule = create(workflow, cron_expression="*/10 * * * * *")
    other = Beat(beat.clock)

    for n in range(1, 4):
        beat.clock.move_to(START + n * 10 * S)
        other.tick()
        beat.tick()

    assert [due for due, _ in fires(schedule)] == [START + 10 * S, START + 20 * S, START + 30 * S]
    assert len(executions()) == 3


def test_the_claim_is_conditional_on_the_occurrence_it_read(beat, workflow, monkeypatch):
    schedule = create(workflow, cron_expression="*/10 * * * * *")
    beat.clock.move_to(START + 10 * S)
    plan_fire = services.plan_fire

    def moved_on_meanwhile(schedule, **kwargs):
        # The row changes between the read and the conditional update (as another beat's fire would).
        ScheduledTask.objects.filter(pk=schedule.pk).update(next_run_time=F("next_run_time") + 10 * S)
        return plan_fire(schedule, **kwargs)

    monkeypatch.setattr(services, "plan_fire", moved_on_meanwhile)
    services.schedule_fire(schedule_id=schedule.pk)

    assert (executions(), fires(schedule)) == ([], [])
    schedule.refresh_from_db()
    assert (schedule.run_count, schedule.next_run_time) == (0, START + 20 * S)


def test_a_fired_run_is_started_once_however_often_its_message_comes(beat, workflow):
    schedule = create(workflow, cron_expression="*/10 * * * * *")
    beat.clock.move_to(START + 10 * S)
    services.schedule_fire(schedule_id=schedule.pk)
    [fire] = ScheduleFire.objects.all()

    assert services.scheduled_runs_start(fire_ids=[fire.pk, fire.pk]) == 1
    assert services.scheduled_runs_start(fire_ids=[fire.pk]) == 0
    assert len(executions()) == 1


def test_a_fired_run_whose_message_was_lost_is_sent_again(
    beat, workflow, monkeypatch, django_capture_on_commit_callbacks
):
    schedule = create(workflow, cron_expression="@daily")
    sent: list[list[int]] = []
    monkeypatch.setattr(services, "dispatch_runs", sent.append)
    ScheduledTask.objects.filter(pk=schedule.pk).update(next_run_time=START + S, fire_at=START + S)
    beat.clock.move_to(START + S)
    services.schedule_fire(schedule_id=schedule.pk)  # committed, but its message never arrives
    [fire] = ScheduleFire.objects.all()

    beat.clock.move_to(START + 60 * S)
    with django_capture_on_commit_callbacks(execute=True):
        services.schedules_reconcile()  # too early to tell a lost message from a busy queue
    beat.clock.move_to(START + 200 * S)
    with django_capture_on_commit_callbacks(execute=True):
        services.schedules_reconcile()

    assert sent == [[fire.pk]]
    fire.refresh_from_db()
    assert (fire.status, fire.sent_at) == ("fired", START + 200 * S)


def test_edits_disabling_and_deleting_reach_a_running_scheduler(beat, workflow):
    edited = create(workflow, cron_expression="0 0 1 1 *")
    disabled = create(workflow, cron_expression="*/10 * * * * *")
    deleted = create(workflow, cron_expression="*/10 * * * * *")
    beat.tick()

    beat.clock.move_to(START + 5 * S)
    services.schedule_update(schedule=edited, data={"cron_expression": "*/10 * * * * *"})
    services.schedule_update(schedule=disabled, data={"enabled": False})
    services.schedule_delete(schedule=deleted)
    beat.at(START + 5.5 * S)  # a sync
    beat.run_until(START + 10 * S)

    assert [due for due, _ in fires(edited)] == [START + 10 * S]
    assert len(executions()) == 1


def test_a_lost_end_signal_is_made_up_for_by_reconciliation(beat, workflow):
    schedule = create(workflow, kind="delay", delay_s=10)
    beat.at(START + 10 * S)
    [run] = executions()
    Execution.objects.filter(pk=run.pk).update(status="failed")  # the worker died before the signal

    beat.at(START + 25 * S)  # reconciliation runs every 10 s

    schedule.refresh_from_db()
    assert fires(schedule) == [(START + 10 * S, "failed")]
    assert schedule.next_run_time == START + 35 * S


def test_a_change_committed_late_is_found_by_the_sweep(settings, clock, workflow):
    settings.STRUCTFORGE_SCHEDULER_SWEEP_S = 60
    beat = Beat(clock)
    schedule = create(workflow, cron_expression="0 0 1 1 *")
    beat.tick()
    # Written with an old updated_at, as a transaction that committed long after it started.
    ScheduledTask.objects.filter(pk=schedule.pk).update(
        next_run_time=START + 90 * S, fire_at=START + 90 * S, updated_at=START - timedelta(hours=1)
    )

    beat.at(START + 61 * S)  # the sweep
    beat.run_until(START + 90 * S)

    assert fires(schedule) == [(START + 90 * S, "started")]


def test_the_scheduler_loads_existing_schedules_when_it_starts(db, clock, workflow):
    for _ in range(3):
        create(workflow, cron_expression="*/10 * * * * *")
    schedules = UserSchedules(now=START)

    schedules.tick()

    assert len(schedules.wheel) == 3


def test_the_scheduler_marks_its_heartbeat_for_healthz(beat):
    cache.delete(heartbeat.HEARTBEAT_KEY)
    beat.tick()

    assert heartbeat.status() == "ok"


def test_a_sigterm_in_the_middle_of_a_tick_leaves_the_database_alone(monkeypatch):
    """celery beat's SIGTERM handler syncs the schedule: inside a database call that would deadlock."""
    scheduler = StructForgeScheduler(app=celery_app, lazy=True)
    synced = []
    monkeypatch.setattr(DatabaseScheduler, "sync", lambda self: synced.append(self))
    monkeypatch.setattr(DatabaseScheduler, "tick", lambda self, *args, **kwargs: 5.0)

    class SignalledMidTick:
        def tick(self) -> float:
            scheduler.close()  # what the SIGTERM handler calls, through beat's service
            return 1.0

    scheduler.user_schedules = SignalledMidTick()
    scheduler.tick()
    assert synced == []

    scheduler.close()  # on beat's way out, after the tick unwound
    assert synced == [scheduler]


def test_a_database_outage_loses_no_due_schedule(beat, workflow, monkeypatch):
    schedule = create(workflow, cron_expression="*/10 * * * * *")
    beat.tick()
    fire = services.schedules_fire

    def down(**kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(services, "schedules_fire", down)
    beat.clock.move_to(START + 10 * S)
    assert beat.schedules.tick() == 1.0  # tries again in a second, does not raise
    monkeypatch.setattr(services, "schedules_fire", fire)
    beat.at(START + 11 * S)

    assert fires(schedule) == [(START + 10 * S, "started")]


def test_a_row_that_cannot_be_planned_is_turned_off_and_the_others_still_fire(beat, workflow):
    broken = create(workflow, cron_expression="*/10 * * * * *")
    healthy = create(workflow, cron_expression="*/10 * * * * *")
    ScheduledTask.objects.filter(pk=broken.pk).update(cron_expression="not cron")  # not through the services

    beat.at(START + 10 * S)

    broken.refresh_from_db()
    assert (broken.enabled, broken.next_run_time) == (False, None)
    assert broken.disabled_reason.startswith("Its next run cannot be planned: A cron expression has 5 fields")
    assert fires(healthy) == [(START + 10 * S, "started")]


# --- quota and validation -----------------------------------------------------------------------------


def test_the_owner_quota_counts_every_schedule_of_their_workflows_whoever_made_it(clock, workflow, alice, settings):
    settings.STRUCTFORGE_USER_MAX_SCHEDULES = 2
    other_workflow = workflow_create(owner=alice, name="Other", definition={"nodes": [], "edges": []})
    editor = UserFactory(username="erin")
    create(workflow, cron_expression="@daily")
    create(other_workflow, user=editor, cron_expression="@daily")

    with pytest.raises(QuotaExceeded) as refused:
        create(workflow, cron_expression="@hourly")

    assert str(refused.value) == (
        "The workflow's owner has reached their quota of 2 schedules (STRUCTFORGE_USER_MAX_SCHEDULES)."
    )
    assert ScheduledTask.objects.count() == 2


def test_a_quota_set_for_the_owner_overrides_the_default(clock, workflow, alice):
    UserQuota.objects.create(user=alice, max_schedules=1)
    create(workflow, cron_expression="@daily")

    with pytest.raises(QuotaExceeded, match="quota of 1 schedules"):
        create(workflow, cron_expression="@daily")


def test_a_run_refused_by_the_owners_daily_quota_is_recorded_as_skipped(beat, workflow, alice):
    UserQuota.objects.create(user=alice, max_executions_per_day=1)
    schedule = create(workflow, cron_expression="*/10 * * * * *")

    beat.run_until(START + 20 * S)

    assert [status for _, status in fires(schedule)] == ["started", "skipped"]
    assert "today's quota of 1 executions" in ScheduleFire.objects.get(status="skipped").detail
    schedule.refresh_from_db()
    # Both occurrences fired (run_count counts fires); the second's run was refused, not failed.
    assert (schedule.run_count, schedule.enabled, schedule.consecutive_failures) == (2, True, 0)


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"cron_expression": "99 * * * *"},
            {"cron_expression": ["Bad minute field '99': use 0-59, *, ranges (1-5), lists (1,3) or steps (*/2)."]},
        ),
        ({"cron_expression": ""}, {"cron_expression": ["A cron schedule needs a cron expression."]}),
        (
            {"cron_expression": "@daily", "timezone": "Moon/Base"},
            {"timezone": ["Unknown timezone 'Moon/Base': use an IANA name such as Europe/Berlin or UTC."]},
        ),
        ({"kind": "once"}, {"run_at": ["A once schedule needs run_at."]}),
        ({"kind": "once", "run_at": START - S}, {"run_at": ["run_at must be in the future."]}),
        ({"kind": "delay"}, {"delay_s": ["A delay schedule needs delay_s (seconds, at least 1)."]}),
        (
            {"cron_expression": "@daily", "run_at": START + S},
            {"run_at": ["Only once schedules use run_at; this one is cron."]},
        ),
        ({"cron_expression": "@daily", "jitter_s": 7200}, {"jitter_s": ["Use a value from 0 to 3600."]}),
        (
            {"cron_expression": "@daily", "input": ["not", "an", "object"]},
            {"input": ["The input must be a JSON object."]},
        ),
    ],
)
def test_invalid_schedules_are_refused_naming_each_field(clock, workflow, data, errors):
    with pytest.raises(InvalidInput) as refused:
        create(workflow, **data)

    assert refused.value.errors == errors
    assert ScheduledTask.objects.count() == 0

"""`schedules/`: who may do what, what is refused and why, and the cron preview."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from executions.models import Execution
from scheduling import services
from scheduling.models import ScheduledTask
from sharing.services import grant_set
from tests.factories import UserFactory
from tests.scheduling.conftest import START
from workflows.services import workflow_create

pytestmark = pytest.mark.django_db

URL = "/api/v1/schedules/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def cast(alice, workflow):
    """Alice owns the workflow; each other role holds a grant on it; bob is the outsider."""
    people = {"owner": alice}
    for role in ("editor", "executor", "viewer"):
        people[role] = UserFactory(username=role)
        grant_set(role=role, granted_by=alice, workflow=workflow, user=people[role])
    return people


@pytest.fixture
def schedule(clock, workflow, alice):
    return services.schedule_create(
        workflow=workflow, user=alice, data={"cron_expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"}
    )


def body(workflow, **fields) -> dict:
    return {"workflow": workflow.pk, "cron_expression": "*/5 * * * *", **fields}


# --- create --------------------------------------------------------------------------------------------


def test_an_owner_creates_a_cron_schedule_and_gets_its_next_run(clock, alice_client, alice, workflow):
    response = alice_client.post(
        URL,
        body(workflow, cron_expression="0 9 * * 1-5", timezone="Europe/Berlin", input={"to": "ops"}),
        format="json",
    )

    assert response.status_code == 201, response.content
    data = response.json()
    assert data == {
        **data,
        "workflow": workflow.pk,
        "user": "alice",
        "role": "owner",
        "kind": "cron",
        "cron_expression": "0 9 * * 1-5",
        "timezone": "Europe/Berlin",
        "description": "At 09:00, Monday through Friday (Europe/Berlin)",
        "input": {"to": "ops"},
        "enabled": True,
        "disabled_reason": "",
        "misfire_policy": "run_once",
        "overlap_policy": "allow",
        "max_runs": 0,
        "run_count": 0,
        "next_run_time": "2025-01-07T08:00:00Z",
        "last_run_time": None,
        "last_run_status": None,
        "last_execution": None,
    }
    assert ScheduledTask.objects.get().user == alice


def test_read_only_and_ownership_fields_in_the_body_are_ignored(clock, alice_client, workflow, bob):
    response = alice_client.post(
        URL,
        body(workflow, run_count=99, next_run_time="2030-01-01T00:00:00Z", user=bob.pk, last_run_time="2020-01-01"),
        format="json",
    )

    assert response.status_code == 201, response.content
    schedule = ScheduledTask.objects.get()
    assert (schedule.run_count, schedule.user.username, schedule.last_run_time) == (0, "alice", None)
    assert schedule.next_run_time == START + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {"cron_expression": "0 25 * * *"},
            {"cron_expression": ["Bad hour field '25': use 0-23, *, ranges (1-5), lists (1,3) or steps (*/2)."]},
        ),
        (
            {"timezone": "Europe/Atlantis"},
            {"timezone": ["Unknown timezone 'Europe/Atlantis': use an IANA name such as Europe/Berlin or UTC."]},
        ),
        ({"kind": "sometimes"}, {"kind": ['"sometimes" is not a valid choice.']}),
        ({"jitter_s": -1}, {"jitter_s": ["Ensure this value is greater than or equal to 0."]}),
        ({"kind": "once", "cron_expression": ""}, {"run_at": ["A once schedule needs run_at."]}),
        ({"input": "text"}, {"input": ['Expected a dictionary of items but got type "str".']}),
    ],
)
def test_bad_input_is_400_naming_the_field_and_creates_nothing(clock, alice_client, workflow, fields, errors):
    response = alice_client.post(URL, body(workflow, **fields), format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert ScheduledTask.objects.count() == 0


def test_an_editor_creates_schedules_and_they_count_against_the_owners_quota(clock, cast, workflow, settings):
    settings.STRUCTFORGE_USER_MAX_SCHEDULES = 1
    editor = client_for(cast["editor"])

    assert editor.post(URL, body(workflow), format="json").status_code == 201
    refused = editor.post(URL, body(workflow), format="json")

    assert refused.status_code == 429
    assert refused.json() == {
        "detail": "The workflow's owner has reached their quota of 1 schedules (STRUCTFORGE_USER_MAX_SCHEDULES)."
    }
    assert ScheduledTask.objects.get().user == cast["editor"]


@pytest.mark.parametrize("role", ["viewer", "executor"])
def test_viewers_and_executors_cannot_create_schedules(clock, cast, workflow, role):
    response = client_for(cast[role]).post(URL, body(workflow), format="json")

    assert response.status_code == 403
    assert ScheduledTask.objects.count() == 0


def test_a_workflow_the_caller_cannot_see_is_404_even_in_the_body(clock, bob_client, workflow):
    response = bob_client.post(URL, body(workflow), format="json")

    assert response.status_code == 404
    assert ScheduledTask.objects.count() == 0


def test_anonymous_callers_are_401(clock, api_client, workflow):
    assert api_client.get(URL).status_code == 401
    assert api_client.post(URL, body(workflow), format="json").status_code == 401


# --- read ----------------------------------------------------------------------------------------------


def test_every_role_reads_the_schedules_and_the_outsider_sees_none(cast, bob_client, schedule):
    for role, user in cast.items():
        response = client_for(user).get(URL)
        assert response.status_code == 200
        assert [(item["id"], item["role"]) for item in response.json()["results"]] == [(schedule.pk, role)]
        assert client_for(user).get(f"{URL}{schedule.pk}/").status_code == 200

    assert bob_client.get(URL).json()["count"] == 0
    assert bob_client.get(f"{URL}{schedule.pk}/").status_code == 404


def test_the_list_filters_by_workflow_enabled_and_kind(clock, alice, alice_client, workflow, schedule):
    other = workflow_create(owner=alice, name="Other", definition={"nodes": [], "edges": []})
    off = services.schedule_create(workflow=other, user=alice, data={"cron_expression": "@daily", "enabled": False})
    once = services.schedule_create(
        workflow=other, user=alice, data={"kind": "once", "run_at": START + timedelta(days=1)}
    )

    def ids(**query) -> list[int]:
        return [item["id"] for item in alice_client.get(URL, query).json()["results"]]

    assert ids() == [schedule.pk, off.pk, once.pk]
    assert ids(workflow=workflow.pk) == [schedule.pk]
    assert ids(workflow=other.pk) == [off.pk, once.pk]
    assert ids(enabled="false") == [off.pk]
    assert ids(enabled="true", workflow=other.pk) == [once.pk]
    assert ids(kind="once") == [once.pk]


def test_the_list_reads_in_a_fixed_number_of_queries(
    clock, alice, alice_client, workflow, django_assert_max_num_queries
):
    for n in range(20):
        services.schedule_create(workflow=workflow, user=alice, data={"cron_expression": f"{n} * * * *"})

    with django_assert_max_num_queries(6):
        response = alice_client.get(URL)

    assert response.json()["count"] == 20


def test_the_detail_shows_the_last_runs_state(beat, alice_client, schedule):
    beat.at(START + timedelta(hours=20))  # Tuesday 09:00 in Berlin

    data = alice_client.get(f"{URL}{schedule.pk}/").json()

    execution = Execution.objects.get()
    assert (data["run_count"], data["last_run_status"], data["last_execution"]) == (1, "pending", execution.pk)
    assert data["last_run_time"] == "2025-01-07T08:00:00Z"
    assert data["next_run_time"] == "2025-01-08T08:00:00Z"


# --- change and delete ---------------------------------------------------------------------------------


def test_an_editor_changes_the_expression_and_the_next_run_follows(cast, schedule):
    response = client_for(cast["editor"]).patch(
        f"{URL}{schedule.pk}/", {"cron_expression": "30 6 * * *", "timezone": "UTC"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["next_run_time"] == "2025-01-07T06:30:00Z"
    assert response.json()["description"] == "At 06:30"


def test_turning_a_schedule_off_and_on_clears_and_plans_its_next_run(alice_client, schedule, clock):
    off = alice_client.patch(f"{URL}{schedule.pk}/", {"enabled": False}, format="json").json()
    clock.move_to(START + timedelta(days=3))
    on = alice_client.patch(f"{URL}{schedule.pk}/", {"enabled": True}, format="json").json()

    assert (off["enabled"], off["next_run_time"]) == (False, None)
    assert (on["enabled"], on["next_run_time"]) == (True, "2025-01-10T08:00:00Z")


@pytest.mark.parametrize("role", ["viewer", "executor"])
def test_viewers_and_executors_cannot_change_or_delete_and_nothing_changes(cast, schedule, role):
    client = client_for(cast[role])

    assert client.patch(f"{URL}{schedule.pk}/", {"enabled": False}, format="json").status_code == 403
    assert client.delete(f"{URL}{schedule.pk}/").status_code == 403
    schedule.refresh_from_db()
    assert schedule.enabled is True


def test_the_outsider_gets_404_for_change_and_delete(bob_client, schedule):
    assert bob_client.patch(f"{URL}{schedule.pk}/", {"enabled": False}, format="json").status_code == 404
    assert bob_client.delete(f"{URL}{schedule.pk}/").status_code == 404
    assert ScheduledTask.objects.filter(pk=schedule.pk, enabled=True).exists()


def test_a_schedule_cannot_move_to_another_workflow(alice, alice_client, schedule):
    other = workflow_create(owner=alice, name="Other", definition={"nodes": [], "edges": []})

    response = alice_client.patch(f"{URL}{schedule.pk}/", {"workflow": other.pk}, format="json")

    assert response.status_code == 400
    assert response.json() == {"workflow": ["A schedule cannot move to another workflow; create a new one there."]}


def test_put_is_not_offered(alice_client, schedule):
    assert alice_client.put(f"{URL}{schedule.pk}/", {"enabled": False}, format="json").status_code == 405


def test_an_editor_deletes_a_schedule_and_its_executions_remain(beat, cast, schedule):
    beat.at(START + timedelta(hours=20))

    response = client_for(cast["editor"]).delete(f"{URL}{schedule.pk}/")

    assert response.status_code == 204
    assert not ScheduledTask.objects.exists()
    assert Execution.objects.filter(trigger="schedule").count() == 1


# --- preview -------------------------------------------------------------------------------------------


def test_preview_lists_the_next_fire_times_with_offsets_and_a_description(alice_client):
    response = alice_client.get(
        f"{URL}preview/",
        {"cron": "30 2 * * *", "timezone": "Europe/Berlin", "count": 3, "start": "2025-03-29T12:00:00Z"},
    )

    assert response.status_code == 200
    assert response.json() == {
        "cron": "30 2 * * *",
        "timezone": "Europe/Berlin",
        "description": "At 02:30 (Europe/Berlin)",
        "next": [
            {"at": "2025-03-30T03:00:00+02:00", "utc": "2025-03-30T01:00:00Z", "utc_offset": "+02:00"},
            {"at": "2025-03-31T02:30:00+02:00", "utc": "2025-03-31T00:30:00Z", "utc_offset": "+02:00"},
            {"at": "2025-04-01T02:30:00+02:00", "utc": "2025-04-01T00:30:00Z", "utc_offset": "+02:00"},
        ],
    }


def test_preview_counts_from_now_by_default(clock, alice_client):
    response = alice_client.get(f"{URL}preview/", {"cron": "*/2 * * * * *"})

    assert [item["utc"] for item in response.json()["next"]] == [
        "2025-01-06T12:00:02Z",
        "2025-01-06T12:00:04Z",
        "2025-01-06T12:00:06Z",
        "2025-01-06T12:00:08Z",
        "2025-01-06T12:00:10Z",
    ]
    assert response.json()["description"] == "Every 2 seconds"


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        (
            {"cron": "* * *"},
            {
                "cron": [
                    "A cron expression has 5 fields (minute hour day-of-month month day-of-week), 6 with a leading "
                    "seconds field, or is a macro such as @daily; '* * *' has 3."
                ]
            },
        ),
        (
            {"cron": "@daily", "timezone": "Nowhere"},
            {"timezone": ["Unknown timezone 'Nowhere': use an IANA name such as Europe/Berlin or UTC."]},
        ),
        ({"cron": "@daily", "count": 0}, {"count": ["Ensure this value is greater than or equal to 1."]}),
        ({"cron": "@daily", "count": 101}, {"count": ["Ensure this value is less than or equal to 100."]}),
        ({}, {"cron": ["This field is required."]}),
    ],
)
def test_preview_refuses_bad_queries_naming_the_parameter(alice_client, query, errors):
    response = alice_client.get(f"{URL}preview/", query)

    assert response.status_code == 400
    assert response.json() == errors

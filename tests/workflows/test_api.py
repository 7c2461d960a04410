"""The REST API of folders, tags, workflows and their versions (DESIGN.md section 5)."""

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model

from tests.factories import FolderFactory, TagFactory, WorkflowFactory, simple_definition
from workflows import services
from workflows.models import Folder, Tag, Workflow, WorkflowVersion

pytestmark = [pytest.mark.django_db]

API = "/api/v1"

WORKFLOW_FIELDS = {
    "id",
    "name",
    "description",
    "folder",
    "tags",
    "definition",
    "max_concurrency",
    "on_limit",
    "version",
    "published_version",
    "owner",
    "role",
    "created_at",
    "updated_at",
}
WORKFLOW_LIST_FIELDS = WORKFLOW_FIELDS - {"definition"}
VERSION_LIST_FIELDS = {"number", "changelog", "created_by", "created_at", "is_published"}
PAGE_FIELDS = {"count", "next", "previous", "results"}
NOT_FOUND = {"detail": "No Workflow matches the given query."}

# A node type no registry knows: the definition validator must refuse it at nodes[0].type.
UNKNOWN_TYPE_DEFINITION = {"nodes": [{"id": "a", "type": "no_such_type"}], "edges": [], "settings": {}}


def second_definition() -> dict:
    """Version 1's chain `a` plus a renamed `a`, a new node `c`, an edge a → c and a settings timeout."""
    definition = simple_definition("a", "c")
    definition["nodes"][0]["name"] = "First"
    definition["settings"] = {"timeout_s": 60}
    return definition


@pytest.fixture
def workflow(alice):
    return services.workflow_create(owner=alice, name="Orders", definition=simple_definition("a"))


@pytest.fixture
def two_versions(alice, workflow):
    services.workflow_update(workflow=workflow, user=alice, data={"definition": second_definition()}, changelog="Add c")
    workflow.refresh_from_db()
    return workflow


def version_numbers(workflow) -> list[int]:
    return list(workflow.versions.order_by("number").values_list("number", flat=True))


def result_ids(response) -> list[int]:
    return [item["id"] for item in response.json()["results"]]


# --- Folders ------------------------------------------------------------------------------------


def test_the_folder_list_is_paginated_and_holds_only_the_callers_folders(alice, bob, alice_client):
    reports = FolderFactory(owner=alice, name="Reports")
    daily = FolderFactory(owner=alice, name="Daily", parent=reports)
    FolderFactory(owner=bob, name="Bob's")

    response = alice_client.get(f"{API}/folders/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == PAGE_FIELDS
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    assert [(item["id"], item["name"], item["parent"]) for item in body["results"]] == [
        (daily.pk, "Daily", reports.pk),
        (reports.pk, "Reports", None),
    ]
    assert set(body["results"][0]) == {"id", "name", "parent", "created_at", "updated_at"}


def test_the_folder_list_filters_by_parent(alice, alice_client):
    reports = FolderFactory(owner=alice, name="Reports")
    daily = FolderFactory(owner=alice, name="Daily", parent=reports)
    FolderFactory(owner=alice, name="Other")

    response = alice_client.get(f"{API}/folders/", {"parent": reports.pk})

    assert response.status_code == 200
    assert result_ids(response) == [daily.pk]


def test_creating_a_folder_makes_it_the_callers(alice, alice_client):
    response = alice_client.post(f"{API}/folders/", {"name": "Reports"})

    assert response.status_code == 201
    folder = Folder.objects.get()
    assert (folder.owner, folder.name, folder.parent) == (alice, "Reports", None)
    body = response.json()
    assert set(body) == {"id", "name", "parent", "created_at", "updated_at"}
    assert (body["id"], body["name"], body["parent"]) == (folder.pk, "Reports", None)


def test_creating_a_sub_folder_sets_its_parent(alice, alice_client):
    reports = FolderFactory(owner=alice, name="Reports")

    response = alice_client.post(f"{API}/folders/", {"name": "Daily", "parent": reports.pk})

    assert response.status_code == 201
    assert response.json()["parent"] == reports.pk
    assert Folder.objects.get(name="Daily").parent == reports


def test_creating_a_folder_without_a_name_is_refused_naming_name(alice_client):
    response = alice_client.post(f"{API}/folders/", {})

    assert response.status_code == 400
    assert response.json() == {"name": ["This field is required."]}
    assert Folder.objects.count() == 0


def test_a_second_folder_with_the_same_name_in_the_same_place_is_refused_naming_name(alice, alice_client):
    FolderFactory(owner=alice, name="Reports")

    response = alice_client.post(f"{API}/folders/", {"name": "Reports"})

    assert response.status_code == 400
    assert response.json() == {"name": ["A folder named 'Reports' already exists here."]}
    assert Folder.objects.count() == 1


def test_a_folder_cannot_be_created_inside_another_users_folder(bob, alice_client):
    bobs = FolderFactory(owner=bob, name="Bob's")

    response = alice_client.post(f"{API}/folders/", {"name": "Sneaky", "parent": bobs.pk})

    assert response.status_code == 400
    assert response.json() == {"parent": [f'Invalid pk "{bobs.pk}" - object does not exist.']}
    assert list(Folder.objects.values_list("name", flat=True)) == ["Bob's"]


def test_retrieving_a_folder_returns_it(alice, alice_client):
    reports = FolderFactory(owner=alice, name="Reports")

    response = alice_client.get(f"{API}/folders/{reports.pk}/")

    assert response.status_code == 200
    assert (response.json()["id"], response.json()["name"], response.json()["parent"]) == (reports.pk, "Reports", None)


def test_patching_a_folder_renames_it(alice, alice_client):
    reports = FolderFactory(owner=alice, name="Reports")

    response = alice_client.patch(f"{API}/folders/{reports.pk}/", {"name": "Archive"})

    assert response.status_code == 200
    assert response.json()["name"] == "Archive"
    reports.refresh_from_db()
    assert reports.name == "Archive"


def test_putting_a_folder_replaces_its_name_and_parent(alice, alice_client):
    reports = FolderFactory(owner=alice, name="Reports")
    daily = FolderFactory(owner=alice, name="Daily", parent=reports)

    response = alice_client.put(f"{API}/folders/{daily.pk}/", {"name": "Every day", "parent": None})

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["parent"]) == ("Every day", None)
    daily.refresh_from_db()
    assert (daily.name, daily.parent) == ("Every day", None)


def test_a_folder_cannot_move_under_its_own_sub_folder(alice, alice_client):
    reports = FolderFactory(owner=alice, name="Reports")
    daily = FolderFactory(owner=alice, name="Daily", parent=reports)

    response = alice_client.patch(f"{API}/folders/{reports.pk}/", {"parent": daily.pk})

    assert response.status_code == 400
    assert response.json() == {"parent": ["A folder cannot be moved into itself or one of its sub-folders."]}
    reports.refresh_from_db()
    assert reports.parent is None


def test_deleting_an_empty_folder_removes_it(alice, alice_client):
    reports = FolderFactory(owner=alice, name="Reports")

    response = alice_client.delete(f"{API}/folders/{reports.pk}/")

    assert response.status_code == 204
    assert Folder.objects.count() == 0


def test_deleting_a_non_empty_folder_is_refused_and_keeps_everything(alice, alice_client):
    reports = FolderFactory(owner=alice, name="Reports")
    daily = FolderFactory(owner=alice, name="Daily", parent=reports)
    workflow = WorkflowFactory(owner=alice, folder=reports)

    response = alice_client.delete(f"{API}/folders/{reports.pk}/")

    assert response.status_code == 400
    assert response.json() == {
        "folder": ["The folder is not empty; delete its content first or ask to move it to the parent folder."]
    }
    daily.refresh_from_db()
    workflow.refresh_from_db()
    assert (daily.parent, workflow.folder) == (reports, reports)


def test_deleting_a_folder_with_move_content_moves_its_content_to_the_parent(alice, alice_client):
    top = FolderFactory(owner=alice, name="Top")
    reports = FolderFactory(owner=alice, name="Reports", parent=top)
    daily = FolderFactory(owner=alice, name="Daily", parent=reports)
    workflow = WorkflowFactory(owner=alice, folder=reports)

    response = alice_client.delete(f"{API}/folders/{reports.pk}/?move_content=true")

    assert response.status_code == 204
    assert not Folder.objects.filter(pk=reports.pk).exists()
    daily.refresh_from_db()
    workflow.refresh_from_db()
    assert (daily.parent, workflow.folder) == (top, top)


def test_deleting_a_top_level_folder_with_move_content_moves_its_content_to_the_top(alice, alice_client):
    reports = FolderFactory(owner=alice, name="Reports")
    daily = FolderFactory(owner=alice, name="Daily", parent=reports)
    workflow = WorkflowFactory(owner=alice, folder=reports)

    response = alice_client.delete(f"{API}/folders/{reports.pk}/?move_content=true")

    assert response.status_code == 204
    daily.refresh_from_db()
    workflow.refresh_from_db()
    assert (daily.parent, workflow.folder) == (None, None)


def test_a_bad_move_content_value_is_refused_naming_move_content(alice, alice_client):
    reports = FolderFactory(owner=alice, name="Reports")

    response = alice_client.delete(f"{API}/folders/{reports.pk}/?move_content=perhaps")

    assert response.status_code == 400
    assert response.json() == {"move_content": ["Must be a valid boolean."]}
    assert Folder.objects.filter(pk=reports.pk).exists()


# --- Tags ---------------------------------------------------------------------------------------


def test_the_tag_list_is_paginated_and_holds_only_the_callers_tags(alice, bob, alice_client):
    billing = TagFactory(owner=alice, name="billing", colour="#2563eb")
    alerts = TagFactory(owner=alice, name="alerts")
    TagFactory(owner=bob, name="billing")

    response = alice_client.get(f"{API}/tags/")

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    assert [(item["id"], item["name"], item["colour"]) for item in body["results"]] == [
        (alerts.pk, "alerts", "#6b7280"),
        (billing.pk, "billing", "#2563eb"),
    ]
    assert set(body["results"][0]) == {"id", "name", "colour", "created_at"}


def test_creating_a_tag_without_a_colour_gives_the_default_colour(alice, alice_client):
    response = alice_client.post(f"{API}/tags/", {"name": "billing"})

    assert response.status_code == 201
    tag = Tag.objects.get()
    assert (tag.owner, tag.name, tag.colour) == (alice, "billing", "#6b7280")
    assert (response.json()["id"], response.json()["name"], response.json()["colour"]) == (
        tag.pk,
        "billing",
        "#6b7280",
    )


def test_creating_a_tag_with_a_colour_keeps_it(alice_client):
    response = alice_client.post(f"{API}/tags/", {"name": "billing", "colour": "#2563EB"})

    assert response.status_code == 201
    assert response.json()["colour"] == "#2563EB"
    assert Tag.objects.get().colour == "#2563EB"


def test_a_second_tag_with_the_same_name_is_refused_naming_name(alice, alice_client):
    TagFactory(owner=alice, name="billing")

    response = alice_client.post(f"{API}/tags/", {"name": "billing"})

    assert response.status_code == 400
    assert response.json() == {"name": ["You already have a tag named 'billing'."]}
    assert Tag.objects.count() == 1


def test_two_users_may_have_tags_of_the_same_name(bob, alice_client):
    TagFactory(owner=bob, name="billing")

    response = alice_client.post(f"{API}/tags/", {"name": "billing"})

    assert response.status_code == 201
    assert Tag.objects.filter(name="billing").count() == 2


@pytest.mark.parametrize("colour", ["red", "#12345", "#1234567", "#gggggg", "2563eb", ""])
def test_a_tag_with_a_bad_colour_is_refused_naming_colour(alice_client, colour):
    response = alice_client.post(f"{API}/tags/", {"name": "billing", "colour": colour})

    assert response.status_code == 400
    assert list(response.json()) == ["colour"]
    assert Tag.objects.count() == 0


def test_retrieving_a_tag_returns_it(alice, alice_client):
    billing = TagFactory(owner=alice, name="billing", colour="#2563eb")

    response = alice_client.get(f"{API}/tags/{billing.pk}/")

    assert response.status_code == 200
    assert (response.json()["id"], response.json()["name"], response.json()["colour"]) == (
        billing.pk,
        "billing",
        "#2563eb",
    )


def test_patching_a_tag_changes_only_the_fields_given(alice, alice_client):
    billing = TagFactory(owner=alice, name="billing", colour="#2563eb")

    response = alice_client.patch(f"{API}/tags/{billing.pk}/", {"colour": "#000000"})

    assert response.status_code == 200
    billing.refresh_from_db()
    assert (billing.name, billing.colour) == ("billing", "#000000")


def test_patching_a_tag_to_a_bad_colour_is_refused_and_changes_nothing(alice, alice_client):
    billing = TagFactory(owner=alice, name="billing", colour="#2563eb")

    response = alice_client.patch(f"{API}/tags/{billing.pk}/", {"colour": "blue"})

    assert response.status_code == 400
    assert response.json() == {"colour": ["Give a hex colour such as #2563eb."]}
    billing.refresh_from_db()
    assert billing.colour == "#2563eb"


def test_renaming_a_tag_to_a_taken_name_is_refused_naming_name(alice, alice_client):
    TagFactory(owner=alice, name="alerts")
    billing = TagFactory(owner=alice, name="billing")

    response = alice_client.patch(f"{API}/tags/{billing.pk}/", {"name": "alerts"})

    assert response.status_code == 400
    assert response.json() == {"name": ["You already have a tag named 'alerts'."]}
    billing.refresh_from_db()
    assert billing.name == "billing"


def test_putting_a_tag_replaces_its_name_and_colour(alice, alice_client):
    billing = TagFactory(owner=alice, name="billing", colour="#2563eb")

    response = alice_client.put(f"{API}/tags/{billing.pk}/", {"name": "invoices", "colour": "#111111"})

    assert response.status_code == 200
    billing.refresh_from_db()
    assert (billing.name, billing.colour) == ("invoices", "#111111")


def test_deleting_a_tag_removes_it_from_its_workflows(alice, alice_client):
    billing = TagFactory(owner=alice, name="billing")
    workflow = WorkflowFactory(owner=alice, tags=[billing])

    response = alice_client.delete(f"{API}/tags/{billing.pk}/")

    assert response.status_code == 204
    assert Tag.objects.count() == 0
    assert list(workflow.tags.all()) == []
    assert Workflow.objects.filter(pk=workflow.pk).exists()


# --- Workflows ----------------------------------------------------------------------------------


def test_creating_a_workflow_makes_version_1_owned_by_the_caller(alice, alice_client):
    response = alice_client.post(f"{API}/workflows/", {"name": "Orders", "definition": simple_definition("a")})

    assert response.status_code == 201
    body = response.json()
    assert set(body) == WORKFLOW_FIELDS
    workflow = Workflow.objects.get()
    assert {key: value for key, value in body.items() if key not in {"created_at", "updated_at"}} == {
        "id": workflow.pk,
        "name": "Orders",
        "description": "",
        "folder": None,
        "tags": [],
        "definition": simple_definition("a"),
        "max_concurrency": None,
        "on_limit": "queue",
        "version": 1,
        "published_version": None,
        "owner": "alice",
        "role": "owner",
    }
    version = workflow.versions.get()
    assert (workflow.owner, version.number, version.changelog, version.created_by) == (alice, 1, "Created", alice)
    assert version.definition == simple_definition("a")


def test_creating_a_workflow_stores_folder_tags_description_limit_and_changelog(alice, alice_client):
    folder = FolderFactory(owner=alice, name="Reports")
    alerts = TagFactory(owner=alice, name="alerts")
    billing = TagFactory(owner=alice, name="billing")

    response = alice_client.post(
        f"{API}/workflows/",
        {
            "name": "Orders",
            "description": "Nightly orders export",
            "folder": folder.pk,
            "tags": [billing.pk, alerts.pk],
            "definition": simple_definition("a", "b"),
            "max_concurrency": 2,
            "changelog": "First draft",
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["description"], body["folder"], body["tags"], body["max_concurrency"]) == (
        "Nightly orders export",
        folder.pk,
        [alerts.pk, billing.pk],  # tags come back in name order
        2,
    )
    assert "changelog" not in body
    workflow = Workflow.objects.get()
    assert (workflow.folder, set(workflow.tags.all()), workflow.max_concurrency) == (folder, {alerts, billing}, 2)
    assert workflow.versions.get().changelog == "First draft"


def test_creating_a_workflow_without_a_definition_starts_empty(alice_client):
    response = alice_client.post(f"{API}/workflows/", {"name": "Orders"})

    assert response.status_code == 201
    assert response.json()["definition"] == {"nodes": [], "edges": [], "settings": {}}
    assert Workflow.objects.get().versions.count() == 1


def test_creating_a_workflow_without_a_name_is_refused_naming_name(alice_client):
    response = alice_client.post(f"{API}/workflows/", {"definition": simple_definition("a")})

    assert response.status_code == 400
    assert response.json() == {"name": ["This field is required."]}
    assert Workflow.objects.count() == 0


def test_creating_a_workflow_with_an_invalid_definition_lists_each_problem_with_its_location(alice_client):
    response = alice_client.post(f"{API}/workflows/", {"name": "Orders", "definition": UNKNOWN_TYPE_DEFINITION})

    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["definition"]
    assert [problem["location"] for problem in body["definition"]] == ["nodes[0].type"]
    assert set(body["definition"][0]) == {"location", "message"}
    assert "no_such_type" in body["definition"][0]["message"]
    assert (Workflow.objects.count(), WorkflowVersion.objects.count()) == (0, 0)


def test_an_invalid_definition_with_several_problems_lists_them_all(alice_client):
    definition = {
        "nodes": [{"id": "a", "type": "no_such_type"}, {"id": "b", "type": "noop"}],
        "edges": [{"source": "b", "target": "ghost"}],
        "settings": {},
    }

    response = alice_client.post(f"{API}/workflows/", {"name": "Orders", "definition": definition})

    assert response.status_code == 400
    locations = sorted(problem["location"] for problem in response.json()["definition"])
    assert locations == ["edges[0].target", "nodes[0].type"]
    assert Workflow.objects.count() == 0


@pytest.mark.parametrize("max_concurrency", [0, -1])
def test_a_max_concurrency_below_1_is_refused_naming_max_concurrency(alice_client, max_concurrency):
    response = alice_client.post(f"{API}/workflows/", {"name": "Orders", "max_concurrency": max_concurrency})

    assert response.status_code == 400
    assert response.json() == {"max_concurrency": ["Ensure this value is greater than or equal to 1."]}
    assert Workflow.objects.count() == 0


def test_a_max_concurrency_beyond_the_database_column_is_refused_naming_max_concurrency(alice_client):
    response = alice_client.post(f"{API}/workflows/", {"name": "Orders", "max_concurrency": 2**31})

    assert response.status_code == 400
    assert response.json() == {"max_concurrency": ["Ensure this value is less than or equal to 2147483647."]}
    assert Workflow.objects.count() == 0


def test_a_workflow_cannot_be_put_in_another_users_folder(bob, alice_client):
    bobs = FolderFactory(owner=bob, name="Bob's")

    response = alice_client.post(f"{API}/workflows/", {"name": "Orders", "folder": bobs.pk})

    assert response.status_code == 400
    assert response.json() == {"folder": [f'Invalid pk "{bobs.pk}" - object does not exist.']}
    assert Workflow.objects.count() == 0


def test_a_workflow_cannot_carry_another_users_tag(alice, bob, alice_client):
    mine = TagFactory(owner=alice, name="mine")
    bobs = TagFactory(owner=bob, name="bobs")

    response = alice_client.post(f"{API}/workflows/", {"name": "Orders", "tags": [mine.pk, bobs.pk]})

    assert response.status_code == 400
    assert response.json() == {"tags": [f'Invalid pk "{bobs.pk}" - object does not exist.']}
    assert Workflow.objects.count() == 0


def test_patching_a_workflow_into_another_users_folder_or_tags_is_refused_and_changes_nothing(
    alice, bob, alice_client, workflow
):
    bobs_folder = FolderFactory(owner=bob, name="Bob's")
    bobs_tag = TagFactory(owner=bob, name="bobs")

    response = alice_client.patch(
        f"{API}/workflows/{workflow.pk}/", {"name": "Renamed", "folder": bobs_folder.pk, "tags": [bobs_tag.pk]}
    )

    assert response.status_code == 400
    assert response.json() == {
        "folder": [f'Invalid pk "{bobs_folder.pk}" - object does not exist.'],
        "tags": [f'Invalid pk "{bobs_tag.pk}" - object does not exist.'],
    }
    workflow.refresh_from_db()
    assert (workflow.name, workflow.folder, list(workflow.tags.all())) == ("Orders", None, [])


def test_retrieving_a_workflow_returns_every_field(alice, alice_client, workflow):
    response = alice_client.get(f"{API}/workflows/{workflow.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == WORKFLOW_FIELDS
    assert (body["id"], body["name"], body["definition"], body["version"], body["owner"], body["role"]) == (
        workflow.pk,
        "Orders",
        simple_definition("a"),
        1,
        "alice",
        "owner",
    )


def test_patching_the_definition_with_a_changelog_creates_version_2(alice, alice_client, workflow):
    response = alice_client.patch(
        f"{API}/workflows/{workflow.pk}/", {"definition": simple_definition("a", "b"), "changelog": "Add b"}
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["version"], body["definition"], body["name"]) == (2, simple_definition("a", "b"), "Orders")
    assert "changelog" not in body
    newest = workflow.versions.get(number=2)
    assert (newest.changelog, newest.created_by, newest.definition) == ("Add b", alice, simple_definition("a", "b"))
    assert version_numbers(workflow) == [1, 2]


def test_patching_the_name_alone_creates_no_version(alice_client, workflow):
    response = alice_client.patch(f"{API}/workflows/{workflow.pk}/", {"name": "Renamed"})

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["version"]) == ("Renamed", 1)
    workflow.refresh_from_db()
    assert (workflow.name, workflow.version) == ("Renamed", 1)
    assert version_numbers(workflow) == [1]


def test_patching_the_same_definition_again_creates_no_version(alice_client, workflow):
    response = alice_client.patch(
        f"{API}/workflows/{workflow.pk}/", {"definition": simple_definition("a"), "changelog": "Nothing"}
    )

    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert version_numbers(workflow) == [1]


def test_patching_folder_tags_description_and_limit_changes_them_without_a_version(alice, alice_client, workflow):
    folder = FolderFactory(owner=alice, name="Reports")
    billing = TagFactory(owner=alice, name="billing")

    response = alice_client.patch(
        f"{API}/workflows/{workflow.pk}/",
        {"folder": folder.pk, "tags": [billing.pk], "description": "Nightly", "max_concurrency": 3},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["folder"], body["tags"], body["description"], body["max_concurrency"], body["version"]) == (
        folder.pk,
        [billing.pk],
        "Nightly",
        3,
        1,
    )
    workflow.refresh_from_db()
    assert (workflow.folder, list(workflow.tags.all()), workflow.max_concurrency) == (folder, [billing], 3)


def test_patching_tags_to_an_empty_list_and_folder_to_null_clears_them(alice, alice_client):
    folder = FolderFactory(owner=alice, name="Reports")
    billing = TagFactory(owner=alice, name="billing")
    workflow = WorkflowFactory(owner=alice, folder=folder, tags=[billing])

    response = alice_client.patch(f"{API}/workflows/{workflow.pk}/", {"folder": None, "tags": []})

    assert response.status_code == 200
    assert (response.json()["folder"], response.json()["tags"]) == (None, [])
    workflow.refresh_from_db()
    assert (workflow.folder, list(workflow.tags.all())) == (None, [])


def test_patching_an_invalid_definition_is_refused_and_keeps_the_workflow(alice_client, workflow):
    response = alice_client.patch(
        f"{API}/workflows/{workflow.pk}/", {"name": "Renamed", "definition": UNKNOWN_TYPE_DEFINITION}
    )

    assert response.status_code == 400
    assert [problem["location"] for problem in response.json()["definition"]] == ["nodes[0].type"]
    workflow.refresh_from_db()
    assert (workflow.name, workflow.version, workflow.definition) == ("Orders", 1, simple_definition("a"))
    assert version_numbers(workflow) == [1]


def test_patching_max_concurrency_to_0_is_refused_naming_max_concurrency(alice_client, workflow):
    response = alice_client.patch(f"{API}/workflows/{workflow.pk}/", {"max_concurrency": 0})

    assert response.status_code == 400
    assert response.json() == {"max_concurrency": ["Ensure this value is greater than or equal to 1."]}
    workflow.refresh_from_db()
    assert workflow.max_concurrency is None


def test_putting_a_workflow_with_name_and_definition_replaces_them(alice_client, workflow):
    response = alice_client.put(
        f"{API}/workflows/{workflow.pk}/",
        {"name": "Renamed", "definition": simple_definition("a", "b"), "changelog": "Replace"},
    )

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["version"]) == ("Renamed", 2)
    workflow.refresh_from_db()
    assert (workflow.name, workflow.definition) == ("Renamed", simple_definition("a", "b"))
    assert workflow.versions.get(number=2).changelog == "Replace"


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({"definition": simple_definition("a", "b")}, "name"),
        ({"name": "Renamed"}, "definition"),
        ({}, "name"),
    ],
)
def test_putting_a_workflow_needs_both_name_and_definition(alice_client, workflow, body, missing):
    response = alice_client.put(f"{API}/workflows/{workflow.pk}/", body)

    assert response.status_code == 400
    assert response.json()[missing] == ["This field is required."]
    workflow.refresh_from_db()
    assert (workflow.name, workflow.version, workflow.definition) == ("Orders", 1, simple_definition("a"))


def test_putting_a_workflow_without_both_fields_names_both(alice_client, workflow):
    response = alice_client.put(f"{API}/workflows/{workflow.pk}/", {"description": "only this"})

    assert response.status_code == 400
    assert response.json() == {"name": ["This field is required."], "definition": ["This field is required."]}


def test_deleting_a_workflow_removes_it_and_its_versions(alice_client, two_versions):
    response = alice_client.delete(f"{API}/workflows/{two_versions.pk}/")

    assert response.status_code == 204
    assert (Workflow.objects.count(), WorkflowVersion.objects.count()) == (0, 0)


def test_the_workflow_list_shows_the_callers_workflows_newest_first_without_definitions(alice, bob, alice_client):
    older = services.workflow_create(owner=alice, name="Older", definition=simple_definition("a"))
    newer = services.workflow_create(owner=alice, name="Newer", definition=simple_definition("a"))
    services.workflow_create(owner=bob, name="Bob's", definition=simple_definition("a"))

    response = alice_client.get(f"{API}/workflows/")

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    assert result_ids(response) == [newer.pk, older.pk]
    assert set(body["results"][0]) == WORKFLOW_LIST_FIELDS
    assert (body["results"][0]["owner"], body["results"][0]["role"]) == ("alice", "owner")


def test_the_workflow_list_pages_with_page_size(alice, alice_client):
    for index in range(3):
        WorkflowFactory(owner=alice, name=f"W{index}")

    first = alice_client.get(f"{API}/workflows/", {"page_size": 2})
    second = alice_client.get(f"{API}/workflows/", {"page_size": 2, "page": 2})

    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.json()["count"], len(first.json()["results"]), first.json()["previous"]) == (3, 2, None)
    assert first.json()["next"] == "http://testserver/api/v1/workflows/?page=2&page_size=2"
    assert (len(second.json()["results"]), second.json()["next"]) == (1, None)
    assert set(result_ids(first)) | set(result_ids(second)) == set(Workflow.objects.values_list("pk", flat=True))


# --- Workflow list filters ------------------------------------------------------------------------


@pytest.fixture
def library(alice, bob):
    """alice's workflows spread over a folder tree and tags, and a workflow of bob's in the same shape."""
    reports = FolderFactory(owner=alice, name="Reports")
    daily = FolderFactory(owner=alice, name="Daily", parent=reports)
    hourly = FolderFactory(owner=alice, name="Hourly", parent=daily)
    other = FolderFactory(owner=alice, name="Other")
    billing = TagFactory(owner=alice, name="billing")
    alerts = TagFactory(owner=alice, name="alerts")
    return SimpleNamespace(
        reports=reports,
        daily=daily,
        hourly=hourly,
        other=other,
        billing=billing,
        alerts=alerts,
        top=WorkflowFactory(owner=alice, name="Revenue report", folder=reports, tags=[billing]),
        day=WorkflowFactory(
            owner=alice, name="Daily digest", description="Orders of the day", folder=daily, tags=[billing, alerts]
        ),
        hour=WorkflowFactory(owner=alice, name="Hourly ping", folder=hourly, tags=[alerts]),
        elsewhere=WorkflowFactory(owner=alice, name="Cleanup", folder=other),
        loose=WorkflowFactory(owner=alice, name="Scratch"),
        bobs=WorkflowFactory(owner=bob, name="Bob's revenue report"),
    )


def listed(client, **params) -> set[int]:
    response = client.get(f"{API}/workflows/", params)
    assert response.status_code == 200, response.json()
    ids = result_ids(response)
    assert len(ids) == len(set(ids)) == response.json()["count"]  # no duplicates, count agrees
    return set(ids)


def test_the_folder_filter_lists_the_workflows_directly_in_that_folder(alice_client, library):
    assert listed(alice_client, folder=library.reports.pk) == {library.top.pk}
    assert listed(alice_client, folder=library.daily.pk) == {library.day.pk}


def test_the_folder_filter_with_include_subfolders_lists_the_whole_subtree(alice_client, library):
    assert listed(alice_client, folder=library.reports.pk, include_subfolders="true") == {
        library.top.pk,
        library.day.pk,
        library.hour.pk,
    }
    assert listed(alice_client, folder=library.daily.pk, include_subfolders="true") == {library.day.pk, library.hour.pk}
    assert listed(alice_client, folder=library.reports.pk, include_subfolders="false") == {library.top.pk}


def test_the_folder_filter_of_a_missing_folder_lists_nothing(alice_client, library):
    assert listed(alice_client, folder=999_999) == set()
    assert listed(alice_client, folder=999_999, include_subfolders="true") == set()


def test_a_non_numeric_folder_filter_is_refused_naming_folder(alice_client, library):
    response = alice_client.get(f"{API}/workflows/", {"folder": "reports"})

    assert response.status_code == 400
    assert response.json() == {"folder": ["Enter a number."]}


@pytest.mark.parametrize("tag", ["abc", "1,abc"])
def test_a_non_numeric_tag_filter_is_refused_naming_tag(alice_client, library, tag):
    response = alice_client.get(f"{API}/workflows/", {"tag": tag})

    assert response.status_code == 400
    assert response.json() == {"tag": ["Enter a number."]}


def test_the_tag_filter_lists_workflows_carrying_any_of_the_tags_once(alice_client, library):
    assert listed(alice_client, tag=library.billing.pk) == {library.top.pk, library.day.pk}
    assert listed(alice_client, tag=library.alerts.pk) == {library.day.pk, library.hour.pk}
    assert listed(alice_client, tag=f"{library.billing.pk},{library.alerts.pk}") == {
        library.top.pk,
        library.day.pk,
        library.hour.pk,
    }


def test_filters_combine(alice_client, library):
    assert listed(alice_client, folder=library.reports.pk, include_subfolders="true", tag=library.alerts.pk) == {
        library.day.pk,
        library.hour.pk,
    }
    assert listed(alice_client, tag=library.billing.pk, search="digest") == {library.day.pk}


def test_the_search_filter_matches_every_word_in_the_name_or_description(alice_client, library):
    assert listed(alice_client, search="report") == {library.top.pk}
    assert listed(alice_client, search="ORDERS") == {library.day.pk}
    assert listed(alice_client, search="daily orders") == {library.day.pk}
    assert listed(alice_client, search="daily ping") == set()


def test_the_shared_filter_lists_nothing_until_workflows_can_be_shared(alice_client, library):
    assert listed(alice_client, shared="true") == set()
    assert listed(alice_client, shared="false") == {
        library.top.pk,
        library.day.pk,
        library.hour.pk,
        library.elsewhere.pk,
        library.loose.pk,
    }


def test_the_role_filter_lists_the_workflows_where_the_caller_holds_that_role(alice_client, library):
    assert listed(alice_client, role="owner") == {
        library.top.pk,
        library.day.pk,
        library.hour.pk,
        library.elsewhere.pk,
        library.loose.pk,
    }
    assert listed(alice_client, role="viewer") == set()


def test_an_unknown_role_filter_is_refused_naming_role(alice_client, library):
    response = alice_client.get(f"{API}/workflows/", {"role": "admin"})

    assert response.status_code == 400
    assert list(response.json()) == ["role"]


def test_the_outsider_filtering_by_alices_folder_or_tag_sees_nothing(bob_client, library):
    assert listed(bob_client, folder=library.reports.pk) == set()
    assert listed(bob_client, folder=library.reports.pk, include_subfolders="true") == set()
    assert listed(bob_client, tag=library.billing.pk) == set()
    assert listed(bob_client, search="report") == {library.bobs.pk}


# --- Versions -------------------------------------------------------------------------------------


def test_the_version_list_is_paginated_newest_first(alice, alice_client, two_versions):
    response = alice_client.get(f"{API}/workflows/{two_versions.pk}/versions/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == PAGE_FIELDS
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    assert [set(item) for item in body["results"]] == [VERSION_LIST_FIELDS, VERSION_LIST_FIELDS]
    assert [
        (item["number"], item["changelog"], item["created_by"], item["is_published"]) for item in body["results"]
    ] == [(2, "Add c", "alice", False), (1, "Created", "alice", False)]


def test_the_version_list_marks_the_published_version(alice, alice_client, two_versions):
    services.workflow_publish(workflow=two_versions, user=alice, number=1)

    response = alice_client.get(f"{API}/workflows/{two_versions.pk}/versions/")

    assert [(item["number"], item["is_published"]) for item in response.json()["results"]] == [(2, False), (1, True)]


def test_the_version_list_pages_with_page_size(alice, alice_client, two_versions):
    services.workflow_rollback(workflow=two_versions, user=alice, number=1)

    response = alice_client.get(f"{API}/workflows/{two_versions.pk}/versions/", {"page_size": 2})

    body = response.json()
    assert (body["count"], [item["number"] for item in body["results"]], body["previous"]) == (3, [3, 2], None)
    assert body["next"] == f"http://testserver/api/v1/workflows/{two_versions.pk}/versions/?page=2&page_size=2"


def test_a_version_detail_includes_its_definition(alice_client, two_versions):
    response = alice_client.get(f"{API}/workflows/{two_versions.pk}/versions/1/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == VERSION_LIST_FIELDS | {"definition"}
    assert (body["number"], body["changelog"], body["created_by"], body["is_published"], body["definition"]) == (
        1,
        "Created",
        "alice",
        False,
        simple_definition("a"),
    )


@pytest.mark.parametrize("number", [0, 3, 999])
def test_a_version_that_does_not_exist_is_404(alice_client, two_versions, number):
    response = alice_client.get(f"{API}/workflows/{two_versions.pk}/versions/{number}/")

    assert response.status_code == 404


def test_rollback_creates_a_new_version_with_the_old_definition(alice, alice_client, two_versions):
    response = alice_client.post(f"{API}/workflows/{two_versions.pk}/versions/1/rollback/")

    assert response.status_code == 201
    body = response.json()
    assert (body["number"], body["changelog"], body["created_by"], body["is_published"], body["definition"]) == (
        3,
        "Rollback to version 1",
        "alice",
        False,
        simple_definition("a"),
    )
    two_versions.refresh_from_db()
    assert (two_versions.version, two_versions.definition) == (3, simple_definition("a"))
    assert version_numbers(two_versions) == [1, 2, 3]


def test_rollback_to_a_version_that_does_not_exist_is_404_and_changes_nothing(alice_client, two_versions):
    response = alice_client.post(f"{API}/workflows/{two_versions.pk}/versions/7/rollback/")

    assert response.status_code == 404
    two_versions.refresh_from_db()
    assert (two_versions.version, two_versions.definition) == (2, second_definition())
    assert version_numbers(two_versions) == [1, 2]


def test_publish_marks_the_version_released_and_returns_the_workflow(alice_client, two_versions):
    response = alice_client.post(f"{API}/workflows/{two_versions.pk}/versions/1/publish/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == WORKFLOW_FIELDS
    assert (body["id"], body["version"], body["published_version"]) == (two_versions.pk, 2, 1)
    two_versions.refresh_from_db()
    assert two_versions.published_version == 1


def test_publishing_a_version_that_does_not_exist_is_404_and_keeps_the_released_one(alice, alice_client, two_versions):
    services.workflow_publish(workflow=two_versions, user=alice, number=1)

    response = alice_client.post(f"{API}/workflows/{two_versions.pk}/versions/3/publish/")

    assert response.status_code == 404
    two_versions.refresh_from_db()
    assert two_versions.published_version == 1


def test_the_diff_of_two_versions_has_the_designed_shape(alice_client, two_versions):
    response = alice_client.get(f"{API}/workflows/{two_versions.pk}/diff/", {"from": 1, "to": 2})

    assert response.status_code == 200
    assert response.json() == {
        "nodes": {
            "added": ["c"],
            "removed": [],
            "changed": [{"id": "a", "changes": [{"path": "name", "from": None, "to": "First"}]}],
        },
        "edges": {"added": [{"source": "a", "target": "c"}], "removed": []},
        "settings": [{"path": "timeout_s", "from": None, "to": 60}],
    }


def test_the_diff_backwards_reverses_it(alice_client, two_versions):
    response = alice_client.get(f"{API}/workflows/{two_versions.pk}/diff/", {"from": 2, "to": 1})

    assert response.status_code == 200
    assert response.json() == {
        "nodes": {
            "added": [],
            "removed": ["c"],
            "changed": [{"id": "a", "changes": [{"path": "name", "from": "First", "to": None}]}],
        },
        "edges": {"added": [], "removed": [{"source": "a", "target": "c"}]},
        "settings": [{"path": "timeout_s", "from": 60, "to": None}],
    }


def test_the_diff_of_a_version_with_itself_is_empty(alice_client, two_versions):
    response = alice_client.get(f"{API}/workflows/{two_versions.pk}/diff/", {"from": 2, "to": 2})

    assert response.status_code == 200
    assert response.json() == {
        "nodes": {"added": [], "removed": [], "changed": []},
        "edges": {"added": [], "removed": []},
        "settings": [],
    }


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ({"to": 2}, {"from": ["This field is required."]}),
        ({"from": 1}, {"to": ["This field is required."]}),
        ({}, {"from": ["This field is required."], "to": ["This field is required."]}),
        ({"from": "one", "to": 2}, {"from": ["A valid integer is required."]}),
        ({"from": 0, "to": 2}, {"from": ["Ensure this value is greater than or equal to 1."]}),
    ],
)
def test_a_diff_with_missing_or_bad_version_numbers_is_refused_naming_them(alice_client, two_versions, query, errors):
    response = alice_client.get(f"{API}/workflows/{two_versions.pk}/diff/", query)

    assert response.status_code == 400
    assert response.json() == errors


def test_a_diff_with_a_version_that_does_not_exist_is_404(alice_client, two_versions):
    response = alice_client.get(f"{API}/workflows/{two_versions.pk}/diff/", {"from": 1, "to": 9})

    assert response.status_code == 404
    assert response.json() == {"detail": "Version 9 does not exist."}


def test_a_workflow_that_does_not_exist_is_404(alice_client):
    response = alice_client.get(f"{API}/workflows/999999/")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# --- Unauthenticated callers --------------------------------------------------------------------

ENDPOINTS = [
    ("get", "/folders/"),
    ("post", "/folders/"),
    ("get", "/folders/{folder}/"),
    ("put", "/folders/{folder}/"),
    ("patch", "/folders/{folder}/"),
    ("delete", "/folders/{folder}/"),
    ("get", "/tags/"),
    ("post", "/tags/"),
    ("get", "/tags/{tag}/"),
    ("put", "/tags/{tag}/"),
    ("patch", "/tags/{tag}/"),
    ("delete", "/tags/{tag}/"),
    ("get", "/workflows/"),
    ("post", "/workflows/"),
    ("get", "/workflows/{workflow}/"),
    ("put", "/workflows/{workflow}/"),
    ("patch", "/workflows/{workflow}/"),
    ("delete", "/workflows/{workflow}/"),
    ("get", "/workflows/{workflow}/versions/"),
    ("get", "/workflows/{workflow}/versions/1/"),
    ("post", "/workflows/{workflow}/versions/1/rollback/"),
    ("post", "/workflows/{workflow}/versions/1/publish/"),
    ("get", "/workflows/{workflow}/diff/?from=1&to=2"),
]


@pytest.fixture
def alices_things(alice):
    """One of each of alice's objects, the workflow with two versions, tagged and filed."""
    folder = FolderFactory(owner=alice, name="Reports")
    tag = TagFactory(owner=alice, name="billing", colour="#2563eb")
    workflow = services.workflow_create(
        owner=alice, name="Orders", definition=simple_definition("a"), folder=folder, tags=[tag]
    )
    services.workflow_update(workflow=workflow, user=alice, data={"definition": second_definition()})
    return SimpleNamespace(folder=folder, tag=tag, workflow=workflow)


def database_state() -> dict:
    return {
        "users": list(get_user_model().objects.order_by("pk").values_list("pk", "username")),
        "folders": list(Folder.objects.order_by("pk").values("pk", "owner_id", "name", "parent_id", "updated_at")),
        "tags": list(Tag.objects.order_by("pk").values("pk", "owner_id", "name", "colour")),
        "workflows": list(
            Workflow.objects.order_by("pk").values(
                "pk",
                "owner_id",
                "name",
                "description",
                "folder_id",
                "definition",
                "max_concurrency",
                "version",
                "published_version",
                "updated_at",
            )
        ),
        "workflow_tags": list(Workflow.tags.through.objects.order_by("pk").values_list("workflow_id", "tag_id")),
        "versions": list(
            WorkflowVersion.objects.order_by("pk").values("pk", "workflow_id", "number", "definition", "changelog")
        ),
    }


def request_body(path: str) -> dict:
    """A body that would succeed for the owner, so only the caller's identity decides the answer."""
    if path.startswith("/folders/"):
        return {"name": "Hijacked", "parent": None}
    if path.startswith("/tags/"):
        return {"name": "hijacked", "colour": "#000000"}
    if path.startswith("/workflows/") and path.count("/") <= 3:
        return {"name": "Hijacked", "definition": simple_definition("evil"), "changelog": "Hijacked"}
    return {}


def call(client, method: str, path: str, things):
    ids = {}
    if things is not None:
        ids = {"folder": things.folder.pk, "tag": things.tag.pk, "workflow": things.workflow.pk}
    url = API + path.format(**ids)
    if method in {"post", "put", "patch"}:
        return getattr(client, method)(url, request_body(path))
    return getattr(client, method)(url)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_answers_401_without_credentials_and_changes_nothing(api_client, alices_things, method, path):
    before = database_state()

    response = call(api_client, method, path, alices_things)

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == "Token"
    assert database_state() == before


# --- The outsider -------------------------------------------------------------------------------

OBJECT_ENDPOINTS = [(method, path) for method, path in ENDPOINTS if "{" in path] + [
    ("delete", "/folders/{folder}/?move_content=true")
]


@pytest.mark.parametrize(("method", "path"), OBJECT_ENDPOINTS)
def test_the_outsider_gets_404_on_every_object_of_alices_and_changes_nothing(bob_client, alices_things, method, path):
    before = database_state()

    response = call(bob_client, method, path, alices_things)

    assert response.status_code == 404
    assert database_state() == before


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize(
    "path",
    sorted({path.split("?")[0] for _, path in OBJECT_ENDPOINTS}),
)
def test_the_outsider_cannot_tell_alices_objects_from_missing_ones(bob_client, alices_things, method, path):
    missing = SimpleNamespace(
        folder=SimpleNamespace(pk=999_999), tag=SimpleNamespace(pk=999_999), workflow=SimpleNamespace(pk=999_999)
    )
    before = database_state()

    alices = call(bob_client, method, path, alices_things)
    nobodys = call(bob_client, method, path, missing)

    assert alices.status_code in {404, 405}
    assert (alices.status_code, alices.json()) == (nobodys.status_code, nobodys.json())
    assert database_state() == before


def test_the_outsider_lists_none_of_alices_objects(bob_client, alices_things):
    for path in ("/folders/", "/tags/", "/workflows/"):
        response = bob_client.get(API + path)
        assert (response.status_code, response.json()["count"], response.json()["results"]) == (200, 0, [])


def test_the_outsider_filtering_folders_by_alices_folder_is_answered_as_for_a_missing_folder(bob_client, alices_things):
    alices = bob_client.get(f"{API}/folders/", {"parent": alices_things.folder.pk})
    missing = bob_client.get(f"{API}/folders/", {"parent": 999_999})

    assert alices.status_code == 400
    assert (alices.status_code, alices.json()) == (missing.status_code, missing.json())
    assert alices.json() == {"parent": ["Select a valid choice. That choice is not one of the available choices."]}


def test_the_outsider_cannot_file_a_workflow_in_alices_folder_or_tag_it_with_alices_tag(bob_client, alices_things):
    before = database_state()

    response = bob_client.post(
        f"{API}/workflows/",
        {"name": "Sneaky", "folder": alices_things.folder.pk, "tags": [alices_things.tag.pk]},
    )

    assert response.status_code == 400
    assert response.json() == {
        "folder": [f'Invalid pk "{alices_things.folder.pk}" - object does not exist.'],
        "tags": [f'Invalid pk "{alices_things.tag.pk}" - object does not exist.'],
    }
    assert database_state() == before


def test_the_outsider_cannot_move_a_folder_under_alices_folder(bob, bob_client, alices_things):
    bobs = FolderFactory(owner=bob, name="Bob's")
    before = database_state()

    response = bob_client.patch(f"{API}/folders/{bobs.pk}/", {"parent": alices_things.folder.pk})

    assert response.status_code == 400
    assert list(response.json()) == ["parent"]
    assert database_state() == before


# --- Query counts ---------------------------------------------------------------------------------

# The same bound must hold for 1 and for 50 rows: a list costs a fixed number of queries.
WORKFLOW_LIST_QUERIES = 3  # count, page of workflows with owners, their tags
FOLDER_LIST_QUERIES = 2  # count, page
TAG_LIST_QUERIES = 2  # count, page
VERSION_LIST_QUERIES = 4  # the workflow, its tags, count, page of versions with authors


@pytest.mark.parametrize("count", [1, 50])
def test_the_workflow_list_costs_the_same_queries_for_1_and_50_workflows(
    alice, alice_client, django_assert_max_num_queries, count
):
    folders = [FolderFactory(owner=alice, name=f"Folder {index}") for index in range(3)]
    tags = [TagFactory(owner=alice, name=f"tag-{index}") for index in range(3)]
    for index in range(count):
        WorkflowFactory(owner=alice, folder=folders[index % 3], tags=[tags[index % 3], tags[(index + 1) % 3]])

    with django_assert_max_num_queries(WORKFLOW_LIST_QUERIES):
        response = alice_client.get(f"{API}/workflows/")

    assert response.status_code == 200
    assert (response.json()["count"], len(response.json()["results"])) == (count, count)
    assert all(len(item["tags"]) == 2 and item["folder"] is not None for item in response.json()["results"])


@pytest.mark.parametrize("count", [1, 50])
def test_the_filtered_workflow_list_costs_the_same_queries_for_1_and_50_workflows(
    alice, alice_client, django_assert_max_num_queries, count
):
    top = FolderFactory(owner=alice, name="Top")
    child = FolderFactory(owner=alice, name="Child", parent=top)
    tag = TagFactory(owner=alice, name="billing")
    for index in range(count):
        WorkflowFactory(owner=alice, name=f"Report {index}", folder=child, tags=[tag])

    # Two more for the folder subtree and the folder lookup.
    with django_assert_max_num_queries(WORKFLOW_LIST_QUERIES + 2):
        response = alice_client.get(
            f"{API}/workflows/",
            {"folder": top.pk, "include_subfolders": "true", "tag": tag.pk, "search": "report", "role": "owner"},
        )

    assert response.status_code == 200
    assert response.json()["count"] == count


@pytest.mark.parametrize("count", [1, 50])
def test_the_folder_list_costs_the_same_queries_for_1_and_50_folders(
    alice, alice_client, django_assert_max_num_queries, count
):
    top = FolderFactory(owner=alice, name="Top")
    for index in range(count - 1):
        FolderFactory(owner=alice, name=f"Folder {index}", parent=top)

    with django_assert_max_num_queries(FOLDER_LIST_QUERIES):
        response = alice_client.get(f"{API}/folders/")

    assert response.status_code == 200
    assert response.json()["count"] == count


@pytest.mark.parametrize("count", [1, 50])
def test_the_tag_list_costs_the_same_queries_for_1_and_50_tags(
    alice, alice_client, django_assert_max_num_queries, count
):
    for index in range(count):
        TagFactory(owner=alice, name=f"tag-{index}")

    with django_assert_max_num_queries(TAG_LIST_QUERIES):
        response = alice_client.get(f"{API}/tags/")

    assert response.status_code == 200
    assert response.json()["count"] == count


@pytest.mark.parametrize("count", [1, 50])
def test_the_version_list_costs_the_same_queries_for_1_and_50_versions(
    alice, alice_client, django_assert_max_num_queries, count
):
    tags = [TagFactory(owner=alice, name=f"tag-{index}") for index in range(2)]
    workflow = WorkflowFactory(owner=alice, tags=tags)
    WorkflowVersion.objects.bulk_create(
        WorkflowVersion(workflow=workflow, number=number, definition=workflow.definition, created_by=alice)
        for number in range(2, count + 1)
    )
    Workflow.objects.filter(pk=workflow.pk).update(version=count, published_version=1)

    with django_assert_max_num_queries(VERSION_LIST_QUERIES):
        response = alice_client.get(f"{API}/workflows/{workflow.pk}/versions/")

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], [item["number"] for item in body["results"]]) == (count, list(range(count, 0, -1)))
    assert [item["number"] for item in body["results"] if item["is_published"]] == [1]

import pytest

from structforge.errors import InvalidInput
from tests.factories import FolderFactory, TagFactory, simple_definition
from workflows import selectors, services
from workflows.models import ImmutableVersionError, WorkflowVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def workflow(alice):
    return services.workflow_create(owner=alice, name="Orders", definition=simple_definition("a"))


def numbers(workflow) -> list[int]:
    return list(workflow.versions.order_by("number").values_list("number", flat=True))


def test_a_new_workflow_is_version_1(alice, workflow):
    version = workflow.versions.get()
    assert (workflow.version, version.number, version.created_by, version.changelog) == (1, 1, alice, "Created")
    assert version.definition == simple_definition("a")


def test_a_changed_definition_creates_the_next_version_with_changelog_and_author(alice, workflow):
    services.workflow_update(
        workflow=workflow, user=alice, data={"definition": simple_definition("a", "b")}, changelog="Add b"
    )

    workflow.refresh_from_db()
    newest = workflow.versions.get(number=2)
    assert workflow.version == 2
    assert workflow.definition == simple_definition("a", "b")
    assert (newest.changelog, newest.created_by, newest.definition) == ("Add b", alice, simple_definition("a", "b"))


def test_saving_metadata_alone_creates_no_version(alice, workflow):
    folder = FolderFactory(owner=alice)
    tag = TagFactory(owner=alice)

    services.workflow_update(
        workflow=workflow,
        user=alice,
        data={"name": "Renamed", "description": "d", "folder": folder, "tags": [tag], "max_concurrency": 3},
    )

    workflow.refresh_from_db()
    assert (workflow.name, workflow.folder, workflow.max_concurrency, workflow.version) == ("Renamed", folder, 3, 1)
    assert list(workflow.tags.all()) == [tag]
    assert numbers(workflow) == [1]


def test_saving_the_same_definition_again_creates_no_version(alice, workflow):
    services.workflow_update(workflow=workflow, user=alice, data={"definition": simple_definition("a")})

    assert numbers(workflow) == [1]


def test_an_invalid_definition_is_refused_and_nothing_changes(alice, workflow):
    bad = {"nodes": [{"id": "a", "type": "noop"}], "edges": [{"source": "a", "target": "ghost"}]}

    with pytest.raises(InvalidInput) as refused:
        services.workflow_update(workflow=workflow, user=alice, data={"definition": bad})

    locations = [problem["location"] for problem in refused.value.errors["definition"]]
    assert locations == ["edges[0].target"]
    workflow.refresh_from_db()
    assert (workflow.version, workflow.definition) == (1, simple_definition("a"))


def test_rollback_creates_a_new_version_with_the_old_definition(alice, workflow):
    services.workflow_update(workflow=workflow, user=alice, data={"definition": simple_definition("a", "b")})

    version = services.workflow_rollback(workflow=workflow, user=alice, number=1)

    workflow.refresh_from_db()
    assert (version.number, version.changelog, version.created_by) == (3, "Rollback to version 1", alice)
    assert version.definition == simple_definition("a")
    assert (workflow.version, workflow.definition) == (3, simple_definition("a"))
    assert numbers(workflow) == [1, 2, 3]


def test_rollback_to_a_missing_version_fails_and_changes_nothing(alice, workflow):
    with pytest.raises(WorkflowVersion.DoesNotExist):
        services.workflow_rollback(workflow=workflow, user=alice, number=7)

    assert numbers(workflow) == [1]


def test_publish_marks_the_released_version(alice, workflow):
    services.workflow_update(workflow=workflow, user=alice, data={"definition": simple_definition("a", "b")})

    services.workflow_publish(workflow=workflow, user=alice, number=1)

    workflow.refresh_from_db()
    assert (workflow.version, workflow.published_version) == (2, 1)


def test_publishing_a_missing_version_is_refused(alice, workflow):
    with pytest.raises(WorkflowVersion.DoesNotExist):
        services.workflow_publish(workflow=workflow, user=alice, number=2)

    workflow.refresh_from_db()
    assert workflow.published_version is None


def test_the_diff_lists_added_removed_and_changed_nodes_edges_and_settings(alice, workflow):
    second = simple_definition("a", "c")
    second["nodes"][0]["params"] = {}
    second["nodes"][0]["name"] = "First"
    second["settings"] = {"timeout_s": 60}
    services.workflow_update(workflow=workflow, user=alice, data={"definition": second})

    diff = selectors.workflow_version_diff(workflow=workflow, old_number=1, new_number=2)

    assert diff == {
        "nodes": {
            "added": ["c"],
            "removed": [],
            "changed": [
                {
                    "id": "a",
                    "changes": [
                        {"path": "name", "from": None, "to": "First"},
                        {"path": "params", "from": None, "to": {}},
                    ],
                }
            ],
        },
        "edges": {"added": [{"source": "a", "target": "c"}], "removed": []},
        "settings": [{"path": "timeout_s", "from": None, "to": 60}],
    }


def test_a_version_is_immutable_once_written(workflow):
    version = workflow.versions.get()
    version.changelog = "rewritten"

    with pytest.raises(ImmutableVersionError):
        version.save()

    assert workflow.versions.get().changelog == "Created"


def test_retention_keeps_the_newest_versions_plus_version_1_and_the_published_one(alice, workflow, settings):
    settings.STRUCTFORGE_VERSION_RETENTION = 3

    def save_version(number: int) -> None:
        definition = simple_definition(*[f"n{i}" for i in range(number)])
        services.workflow_update(workflow=workflow, user=alice, data={"definition": definition})

    save_version(2)
    services.workflow_publish(workflow=workflow, user=alice, number=2)
    for number in range(3, 6):
        save_version(number)
    assert numbers(workflow) == [1, 2, 3, 4, 5]

    for number in range(6, 9):
        save_version(number)

    # The newest three are 6, 7 and 8; 1 and the published 2 stay; 3, 4 and 5 are pruned.
    assert numbers(workflow) == [1, 2, 6, 7, 8]


def test_folders_cannot_move_under_their_own_descendants(alice):
    top = services.folder_create(owner=alice, name="top")
    child = services.folder_create(owner=alice, name="child", parent=top)
    grandchild = services.folder_create(owner=alice, name="grandchild", parent=child)

    with pytest.raises(InvalidInput) as refused:
        services.folder_update(folder=top, data={"parent": grandchild})

    assert "parent" in refused.value.errors
    top.refresh_from_db()
    assert top.parent is None


def test_deleting_a_non_empty_folder_needs_the_move_option(alice):
    parent = services.folder_create(owner=alice, name="parent")
    folder = services.folder_create(owner=alice, name="folder", parent=parent)
    child = services.folder_create(owner=alice, name="child", parent=folder)
    workflow = services.workflow_create(owner=alice, name="w", definition=simple_definition(), folder=folder)

    with pytest.raises(InvalidInput):
        services.folder_delete(folder=folder)
    services.folder_delete(folder=folder, move_content_to_parent=True)

    child.refresh_from_db()
    workflow.refresh_from_db()
    assert (child.parent, workflow.folder) == (parent, parent)


def test_folder_names_are_unique_among_siblings_only(alice):
    top = services.folder_create(owner=alice, name="Reports")
    services.folder_create(owner=alice, name="Reports", parent=top)

    with pytest.raises(InvalidInput) as refused:
        services.folder_create(owner=alice, name="Reports")

    assert refused.value.errors == {"name": ["A folder named 'Reports' already exists here."]}

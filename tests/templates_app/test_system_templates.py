"""The system templates: shipped as files, checked, loaded idempotently by the migration, the
`load_system_templates` command and the admin, and versioned when a file changes."""

import importlib
import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from templates_app.models import Template, TemplateLink, TemplateVersion
from templates_app.services import template_instantiate
from templates_app.system import (
    SYSTEM_TEMPLATES_DIR,
    SystemTemplateError,
    load_system_templates,
    read_system_templates,
    unload_system_templates,
)
from tests.factories import UserFactory
from tests.templates_app.test_system_runs import RUN_HERE
from workflows.nodes import NODE_TYPES

pytestmark = [pytest.mark.django_db]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "templates.md"
MIGRATION = "templates_app.migrations.0002_load_system_templates"


@pytest.fixture
def files(tmp_path):
    """A copy of the shipped files that a test may change."""
    directory = tmp_path / "system_templates"
    shutil.copytree(SYSTEM_TEMPLATES_DIR, directory)
    return directory


def edit(directory: Path, key: str, change) -> None:
    path = directory / f"{key}.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.fixture
def empty(db):
    unload_system_templates()


def test_at_least_ten_system_templates_are_shipped_and_each_is_valid():
    shipped = read_system_templates()

    assert len(shipped) >= 10
    for file in shipped:
        assert file.name and file.description and file.category and file.tags, file.key
        assert {node["type"] for node in file.content.definition["nodes"]} <= set(NODE_TYPES), file.key


def test_the_system_templates_cover_every_node_type():
    used = {node["type"] for file in read_system_templates() for node in file.content.definition["nodes"]}

    assert used == set(NODE_TYPES) - {"noop"}


def test_every_system_template_has_an_end_to_end_run():
    assert {file.key for file in read_system_templates()} == RUN_HERE


def test_docs_list_every_system_template_by_name():
    text = DOCS.read_text()

    assert [file.name for file in read_system_templates() if f"`{file.key}`" not in text or file.name not in text] == []


def test_loading_creates_every_template_once_and_again_changes_nothing(empty):
    first = load_system_templates()
    versions = TemplateVersion.objects.count()
    second = load_system_templates()

    assert set(first.values()) == {"created"}
    assert set(second.values()) == {"unchanged"}
    assert Template.objects.filter(scope="system").count() == len(first) == versions
    poll = Template.objects.get(system_key="poll-api-alert")
    assert (poll.scope, poll.visibility, poll.author, poll.version, poll.usage_count) == (
        "system",
        "public",
        None,
        1,
        0,
    )
    assert sorted(poll.tags.values_list("name", flat=True)) == ["alert", "http", "monitoring", "scheduled"]


def test_a_changed_definition_becomes_a_new_version_that_linked_workflows_are_offered(empty, files):
    load_system_templates(directory=files)
    alice = UserFactory(username="alice")
    workflow = template_instantiate(
        template=Template.objects.get(system_key="delayed-follow-up"),
        user=alice,
        params={"url": "https://example.com/hook"},
    )

    def slower(data):
        data["definition"]["nodes"][0]["params"]["seconds"] = 60
        data["changelog"] = "Always wait a minute"

    edit(files, "delayed-follow-up", slower)
    outcome = load_system_templates(directory=files)

    template = Template.objects.get(system_key="delayed-follow-up")
    assert outcome["delayed-follow-up"] == "updated"
    assert {key for key, value in outcome.items() if value != "unchanged"} == {"delayed-follow-up"}
    assert template.version == 2
    assert template.versions.get(number=2).changelog == "Always wait a minute"
    assert TemplateLink.objects.get(workflow=workflow).template_version == 1


def test_a_metadata_change_updates_in_place_without_a_version(empty, files):
    load_system_templates(directory=files)

    def renamed(data):
        data["name"] = "Poll and alert"
        data["tags"] = ["http"]

    edit(files, "poll-api-alert", renamed)
    outcome = load_system_templates(directory=files)

    template = Template.objects.get(system_key="poll-api-alert")
    assert outcome["poll-api-alert"] == "updated"
    assert (template.name, template.version, list(template.tags.values_list("name", flat=True))) == (
        "Poll and alert",
        1,
        ["http"],
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda data: data.pop("category"), "missing keys ['category']"),
        (lambda data: data.update(author="me"), "unknown keys ['author']"),
        (lambda data: data["definition"]["nodes"][0].update(type="ftp"), "unknown node type 'ftp'"),
        (lambda data: data.update(parameters=[]), "'api_url' is not a parameter of this template"),
    ],
)
def test_an_invalid_file_stops_the_load_naming_the_file_and_loads_nothing(empty, files, change, expected):
    edit(files, "poll-api-alert", change)

    with pytest.raises(SystemTemplateError) as raised:
        load_system_templates(directory=files)

    assert "poll-api-alert.json: " in str(raised.value)
    assert expected in str(raised.value)
    assert not Template.objects.filter(scope="system").exists()


def test_the_command_loads_them_and_says_what_it_did(empty):
    out = StringIO()

    call_command("load_system_templates", stdout=out)
    call_command("load_system_templates", stdout=out)

    count = len(read_system_templates())
    assert f"System templates: {count} created, 0 updated, 0 unchanged." in out.getvalue()
    assert f"System templates: 0 created, 0 updated, {count} unchanged." in out.getvalue()


def test_the_command_fails_on_an_invalid_file(empty, files, monkeypatch):
    edit(files, "poll-api-alert", lambda data: data.pop("name"))
    monkeypatch.setattr("templates_app.system.SYSTEM_TEMPLATES_DIR", files)

    with pytest.raises(CommandError, match="poll-api-alert.json: unknown keys \\[\\], missing keys \\['name'\\]"):
        call_command("load_system_templates", stdout=StringIO())


def test_the_data_migration_loads_with_historical_models_and_reverses(empty):
    migration = importlib.import_module(MIGRATION)
    state = MigrationLoader(connection).project_state(("templates_app", "0002_load_system_templates"))

    migration.load(state.apps, None)
    loaded = Template.objects.filter(scope="system").count()
    migration.load(state.apps, None)
    again = Template.objects.filter(scope="system").count()
    migration.unload(state.apps, None)

    assert loaded == again == len(read_system_templates())
    assert not Template.objects.filter(scope="system").exists()

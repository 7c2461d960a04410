from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from tests.factories import FolderFactory, TagFactory, UserFactory, WorkflowFactory, simple_definition
from workflows import services
from workflows.models import Folder, Tag, Workflow, WorkflowVersion


def changelist(model: type) -> str:
    return reverse(f"admin:workflows_{model._meta.model_name}_changelist")


def change(obj) -> str:
    return reverse(f"admin:workflows_{obj._meta.model_name}_change", args=[obj.pk])


def add(model: type) -> str:
    return reverse(f"admin:workflows_{model._meta.model_name}_add")


def names(response) -> list[str]:
    return [str(obj) for obj in response.context["cl"].result_list]


@pytest.fixture
def cast(db):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    reports = FolderFactory(owner=alice, name="Reports")
    daily = FolderFactory(owner=alice, parent=reports, name="Daily")
    billing = TagFactory(owner=alice, name="billing", colour="#2563eb")
    nightly = WorkflowFactory(
        owner=alice, folder=daily, tags=[billing], name="Nightly export", description="Sends the invoices"
    )
    Workflow.objects.filter(pk=nightly.pk).update(published_version=1)
    scratch = WorkflowFactory(owner=bob, name="Scratch")
    return SimpleNamespace(
        alice=alice, bob=bob, reports=reports, daily=daily, billing=billing, nightly=nightly, scratch=scratch
    )


def test_folder_changelist_searches_by_owner_and_filters_top_level_folders(admin_client, cast):
    response = admin_client.get(changelist(Folder), {"q": "alice", "parent__isempty": "1"})

    assert response.status_code == 200
    assert names(response) == ["Reports"]


def test_folder_changelist_counts_workflows(admin_client, cast):
    response = admin_client.get(changelist(Folder), {"owner__id__exact": cast.alice.pk})

    assert response.status_code == 200
    assert {folder.name: folder.workflow_count for folder in response.context["cl"].result_list} == {
        "Daily": 1,
        "Reports": 0,
    }


def test_tag_changelist_searches_filters_and_shows_a_swatch(admin_client, cast):
    response = admin_client.get(changelist(Tag), {"q": "bill", "owner__id__exact": cast.alice.pk})

    assert response.status_code == 200
    assert names(response) == ["billing"]
    assert response.context["cl"].result_list[0].workflow_count == 1
    assert "background: #2563eb" in response.text


def test_tag_swatch_only_takes_a_hex_colour(admin_client, cast):
    TagFactory(owner=cast.alice, name="odd", colour="red;x:")

    response = admin_client.get(changelist(Tag), {"q": "odd"})

    assert response.status_code == 200
    assert "background: red" not in response.text
    assert "red;x:" in response.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "invoices", "published": "yes"}, ["Nightly export"]),
        ({"q": "bob"}, ["Scratch"]),
        ({"published": "no"}, ["Scratch"]),
        ({"published": "yes"}, ["Nightly export"]),
    ],
)
def test_workflow_changelist_searches_and_filters_by_published(admin_client, cast, query, expected):
    response = admin_client.get(changelist(Workflow), query)

    assert response.status_code == 200
    assert names(response) == expected


def test_workflow_changelist_filters_by_tag_folder_and_owner(admin_client, cast):
    query = {"tags__id__exact": cast.billing.pk, "folder__id__exact": cast.daily.pk, "owner__id__exact": cast.alice.pk}

    response = admin_client.get(changelist(Workflow), query)

    assert response.status_code == 200
    assert names(response) == ["Nightly export"]


def test_version_changelist_searches_and_filters_by_author(admin_client, cast):
    response = admin_client.get(changelist(WorkflowVersion), {"q": "nightly", "created_by__id__exact": cast.alice.pk})

    assert response.status_code == 200
    assert [(v.workflow.name, v.number) for v in response.context["cl"].result_list] == [("Nightly export", 1)]


@pytest.mark.parametrize("name", ["reports", "daily", "billing", "nightly", "scratch"])
def test_change_pages_answer(admin_client, cast, name):
    assert admin_client.get(change(getattr(cast, name))).status_code == 200


def test_version_change_page_shows_the_definition_read_only(admin_client, cast):
    version = cast.nightly.versions.get()

    response = admin_client.get(change(version))

    assert response.status_code == 200
    assert "2 nodes, 1 edge" in response.text
    assert 'name="changelog"' not in response.text


@pytest.mark.parametrize("model", [Folder, Tag])
def test_add_pages_answer(admin_client, db, model):
    assert admin_client.get(add(model)).status_code == 200


@pytest.mark.parametrize("model", [Workflow, WorkflowVersion])
def test_workflows_and_versions_are_only_created_by_services(admin_client, db, model):
    assert admin_client.get(add(model)).status_code == 403


def test_workflow_change_page_shows_the_escaped_definition_and_links_the_versions(admin_client, cast):
    definition = {"nodes": [{"id": "a", "type": "set", "params": {"values": {"x": "<script>"}}}], "edges": []}
    Workflow.objects.filter(pk=cast.nightly.pk).update(definition=definition)
    version = cast.nightly.versions.get()

    response = admin_client.get(change(cast.nightly))

    assert response.status_code == 200
    assert "1 node, 0 edges" in response.text
    assert "&quot;x&quot;: &quot;&lt;script&gt;&quot;" in response.text
    assert '"x": "<script>"' not in response.text
    assert f'<a href="{change(version)}">v1</a>' in response.text
    assert 'name="definition"' not in response.text


def test_saving_a_workflow_in_the_admin_leaves_its_definition_and_versions_alone(admin_client, cast):
    workflow = cast.nightly
    version = workflow.versions.get()
    form = {
        "name": "Nightly export v2",
        "description": workflow.description,
        "owner": workflow.owner_id,
        "folder": workflow.folder_id,
        "tags": [cast.billing.pk],
        "max_concurrency": "2",
        "versions-TOTAL_FORMS": "1",
        "versions-INITIAL_FORMS": "1",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
        "versions-0-id": version.pk,
        "versions-0-workflow": workflow.pk,
        # A forged field must be ignored: the form has no definition field.
        "definition": '{"nodes": [], "edges": []}',
    }

    response = admin_client.post(change(workflow), form)

    assert response.status_code == 302
    workflow.refresh_from_db()
    assert (workflow.name, workflow.max_concurrency) == ("Nightly export v2", 2)
    assert workflow.definition == version.definition
    assert [v.number for v in workflow.versions.all()] == [1]


def test_a_version_cannot_be_changed_in_the_admin(admin_client, cast):
    version = cast.nightly.versions.get()

    response = admin_client.post(change(version), {"changelog": "Rewritten history", "number": "7"})

    assert response.status_code == 403
    version.refresh_from_db()
    assert (version.number, version.changelog) == (1, "Created")


def middle_version(workflow) -> WorkflowVersion:
    """Version 2 of three: neither the first, the newest nor the published one."""
    for nodes in (["a", "b"], ["a", "b", "c"]):
        services.workflow_update(workflow=workflow, user=workflow.owner, data={"definition": simple_definition(*nodes)})
    return workflow.versions.get(number=2)


def test_only_a_superuser_may_delete_a_version(client, cast):
    version = middle_version(cast.nightly)
    staff = UserFactory(username="staff", is_staff=True)
    codenames = ["view_workflowversion", "delete_workflowversion"]
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="workflows", codename__in=codenames))
    client.force_login(staff)

    response = client.post(reverse("admin:workflows_workflowversion_delete", args=[version.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert WorkflowVersion.objects.filter(pk=version.pk).exists()


def test_a_superuser_may_delete_a_version(admin_client, cast):
    version = middle_version(cast.nightly)

    response = admin_client.post(reverse("admin:workflows_workflowversion_delete", args=[version.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not WorkflowVersion.objects.filter(pk=version.pk).exists()


@pytest.mark.parametrize("model", [Folder, Tag, Workflow, WorkflowVersion])
def test_a_user_who_is_not_staff_is_sent_to_the_login_page(client, cast, model):
    client.force_login(cast.alice)

    response = client.get(changelist(model))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


# Session, user, counts, filter choices and the page itself; none of these grow with the rows.
MAX_QUERIES = {Folder: 6, Tag: 6, Workflow: 8, WorkflowVersion: 6}


@pytest.mark.parametrize("rows", [1, 30])
@pytest.mark.parametrize("model", MAX_QUERIES)
def test_changelist_queries_do_not_grow_with_rows(admin_client, django_assert_max_num_queries, db, model, rows):
    owner = UserFactory()
    for _ in range(rows):
        tags = [TagFactory(owner=owner), TagFactory(owner=owner)]
        WorkflowFactory(owner=owner, folder=FolderFactory(owner=owner), tags=tags)

    with django_assert_max_num_queries(MAX_QUERIES[model]):
        response = admin_client.get(changelist(model))

    assert response.status_code == 200
    assert response.context["cl"].result_count == model.objects.count()


def test_a_folder_cannot_be_given_another_users_parent_or_its_own_child(admin_client, cast):
    bobs = FolderFactory(owner=cast.bob, name="Bob's")
    data = {"owner": cast.alice.pk, "name": "Reports"}

    other_owner = admin_client.post(change(cast.reports), {**data, "parent": bobs.pk})
    cycle = admin_client.post(change(cast.reports), {**data, "parent": cast.daily.pk})

    assert other_owner.context["adminform"].form.errors == {"parent": ["The parent folder belongs to another user."]}
    assert cycle.context["adminform"].form.errors == {
        "parent": ["A folder cannot be moved into itself or one of its sub-folders."]
    }
    cast.reports.refresh_from_db()
    assert cast.reports.parent is None


def test_a_workflow_cannot_be_given_another_users_folder_or_tags(admin_client, cast):
    bobs_folder = FolderFactory(owner=cast.bob)
    bobs_tag = TagFactory(owner=cast.bob)
    data = {"name": "Nightly export", "owner": cast.alice.pk, "folder": bobs_folder.pk, "tags": [bobs_tag.pk]}

    response = admin_client.post(change(cast.nightly), data)

    assert response.context["adminform"].form.errors == {
        "folder": ["The folder belongs to another user."],
        "tags": ["Every tag must belong to the workflow's owner."],
    }
    cast.nightly.refresh_from_db()
    assert cast.nightly.folder == cast.daily


def test_version_1_the_newest_and_the_published_version_cannot_be_deleted(admin_client, cast):
    version = cast.nightly.versions.get(number=1)

    response = admin_client.post(reverse("admin:workflows_workflowversion_delete", args=[version.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert cast.nightly.versions.filter(number=1).exists()

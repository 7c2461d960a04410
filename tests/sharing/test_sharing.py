from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from executions.models import Execution
from sharing.models import AuditEvent, Grant, ShareLink, WorkflowUserObjectPermission
from sharing.selectors import link_digest
from sharing.services import grant_set
from tests.factories import UserFactory, simple_definition
from workflows import services
from workflows.models import Workflow

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def workflow(alice):
    return services.workflow_create(owner=alice, name="Orders", definition=simple_definition("a"))


@pytest.fixture
def carol(db):
    return UserFactory(username="carol")


def share(workflow, user, role):
    return grant_set(workflow=workflow, user=user, role=role, granted_by=workflow.owner)


def listed_roles(user) -> dict[str, str]:
    body = client_for(user).get("/api/v1/workflows/").json()
    return {item["name"]: item["role"] for item in body["results"]}


# --- roles -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("viewer", {"view": 200, "run": 403, "edit": 403, "publish": 403, "share": 403, "delete": 403}),
        ("executor", {"view": 200, "run": 202, "edit": 403, "publish": 403, "share": 403, "delete": 403}),
        ("editor", {"view": 200, "run": 202, "edit": 200, "publish": 403, "share": 403, "delete": 403}),
    ],
)
def test_each_role_allows_exactly_its_actions(workflow, bob, role, expected):
    share(workflow, bob, role)
    client = client_for(bob)
    base = f"/api/v1/workflows/{workflow.pk}"

    answers = {
        "view": client.get(f"{base}/").status_code,
        "run": client.post(f"{base}/run/", {"delay_s": 3600}, format="json").status_code,
        "edit": client.patch(f"{base}/", {"name": "Renamed"}, format="json").status_code,
        "publish": client.post(f"{base}/versions/1/publish/").status_code,
        "share": client.post(f"{base}/shares/", {"user": "carol", "role": "viewer"}, format="json").status_code,
        "delete": client.delete(f"{base}/").status_code,
    }

    assert answers == expected
    assert Workflow.objects.filter(pk=workflow.pk).exists()
    workflow.refresh_from_db()
    assert workflow.published_version is None
    assert Grant.objects.filter(workflow=workflow).count() == 1


def test_a_shared_workflow_is_listed_with_the_callers_role_and_in_shared_with_me(workflow, bob):
    share(workflow, bob, "executor")

    assert listed_roles(bob) == {"Orders": "executor"}
    shared = client_for(bob).get("/api/v1/folders/shared-with-me/").json()
    assert [(item["name"], item["role"]) for item in shared["results"]] == [("Orders", "executor")]
    assert client_for(bob).get("/api/v1/workflows/", {"shared": "true"}).json()["count"] == 1


def test_the_owner_shares_changes_and_revokes_a_role_through_the_api(workflow, alice_client, bob):
    base = f"/api/v1/workflows/{workflow.pk}/shares/"

    created = alice_client.post(base, {"user": "bob", "role": "viewer"}, format="json")
    changed = alice_client.patch(f"{base}{created.json()['id']}/", {"role": "editor"}, format="json")

    assert created.status_code == 201
    assert (changed.status_code, changed.json()["role"]) == (200, "editor")
    assert listed_roles(bob) == {"Orders": "editor"}
    assert alice_client.delete(f"{base}{created.json()['id']}/").status_code == 204
    assert listed_roles(bob) == {}
    assert client_for(bob).get(f"/api/v1/workflows/{workflow.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user": "nobody", "role": "viewer"}, "user"),
        ({"user": "bob", "role": "owner"}, "role"),
        ({"role": "viewer"}, "user"),
        ({"user": "alice", "role": "viewer"}, "user"),
    ],
)
def test_a_bad_share_is_refused_naming_the_field(workflow, alice_client, bob, body, field):
    response = alice_client.post(f"/api/v1/workflows/{workflow.pk}/shares/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Grant.objects.exists()


def test_a_group_share_reaches_every_member(workflow, alice, bob, carol):
    team = Group.objects.create(name="team")
    bob.groups.add(team)

    response = client_for(alice).post(
        f"/api/v1/workflows/{workflow.pk}/shares/", {"group": "team", "role": "editor"}, format="json"
    )

    assert response.status_code == 201
    assert listed_roles(bob) == {"Orders": "editor"}
    assert listed_roles(carol) == {}


def test_a_folder_share_covers_present_and_future_workflows_in_sub_folders(alice, bob):
    reports = services.folder_create(owner=alice, name="Reports")
    daily = services.folder_create(owner=alice, name="Daily", parent=reports)
    services.workflow_create(owner=alice, name="Before", definition=simple_definition(), folder=daily)
    services.workflow_create(owner=alice, name="Elsewhere", definition=simple_definition())

    response = client_for(alice).post(
        f"/api/v1/folders/{reports.pk}/shares/", {"user": "bob", "role": "viewer"}, format="json"
    )
    services.workflow_create(owner=alice, name="After", definition=simple_definition(), folder=daily)

    assert response.status_code == 201
    assert listed_roles(bob) == {"Before": "viewer", "After": "viewer"}


def test_a_folder_share_its_change_and_its_revocation_are_in_the_audit_log_of_each_workflow_it_reaches(alice, bob):
    reports = services.folder_create(owner=alice, name="Reports")
    daily = services.folder_create(owner=alice, name="Daily", parent=reports)
    reached = [
        services.workflow_create(owner=alice, name=name, definition=simple_definition(), folder=folder)
        for name, folder in (("Top", reports), ("Nested", daily))
    ]
    elsewhere = services.workflow_create(owner=alice, name="Elsewhere", definition=simple_definition())
    client = client_for(alice)
    shares = f"/api/v1/folders/{reports.pk}/shares/"

    grant = client.post(shares, {"user": "bob", "role": "viewer"}, format="json").json()
    client.patch(f"{shares}{grant['id']}/", {"role": "editor"}, format="json")
    client.delete(f"{shares}{grant['id']}/")

    for workflow in reached:
        events = client.get(f"/api/v1/workflows/{workflow.pk}/audit/").json()["results"]
        assert [(event["action"], event["details"]) for event in reversed(events)] == [
            ("share", {"principal": "user:bob", "folder": "Reports", "role": "viewer"}),
            ("change_role", {"principal": "user:bob", "folder": "Reports", "role": "editor"}),
            ("revoke", {"principal": "user:bob", "folder": "Reports"}),
        ]
    assert client.get(f"/api/v1/workflows/{elsewhere.pk}/audit/").json()["results"] == []


def test_moving_a_workflow_out_of_a_shared_folder_takes_the_role_away(alice, bob):
    shared = services.folder_create(owner=alice, name="Shared")
    workflow = services.workflow_create(owner=alice, name="Moving", definition=simple_definition(), folder=shared)
    grant_set(folder=shared, user=bob, role="viewer", granted_by=alice)

    services.workflow_update(workflow=workflow, user=alice, data={"folder": None})

    assert listed_roles(bob) == {}


def test_a_direct_and_a_folder_share_combine_to_the_higher_role(alice, bob):
    folder = services.folder_create(owner=alice, name="Ops")
    workflow = services.workflow_create(owner=alice, name="Deploy", definition=simple_definition(), folder=folder)
    share(workflow, bob, "viewer")
    grant_set(folder=folder, user=bob, role="editor", granted_by=alice)

    assert listed_roles(bob) == {"Deploy": "editor"}


def test_ownership_transfer_hands_over_and_keeps_the_previous_owner_as_editor(workflow, alice, bob):
    response = client_for(alice).post(f"/api/v1/workflows/{workflow.pk}/transfer/", {"user": "bob"}, format="json")

    assert response.status_code == 200
    assert response.json()["owner"] == "bob"
    assert listed_roles(bob) == {"Orders": "owner"}
    assert listed_roles(alice) == {"Orders": "editor"}
    assert AuditEvent.objects.filter(workflow_id=workflow.pk, action="transfer").count() == 1


def test_guardian_permissions_follow_the_role_and_go_with_a_deleted_workflow(workflow, bob):
    share(workflow, bob, "executor")
    bob = type(bob).objects.get(pk=bob.pk)  # a fresh user object has no permission cache

    assert bob.has_perm("workflows.execute_workflow", workflow)
    assert not bob.has_perm("workflows.change_workflow", workflow)
    services.workflow_delete(workflow=workflow, user=workflow.owner)
    assert not WorkflowUserObjectPermission.objects.exists()


def test_global_permissions_never_widen_what_the_api_shows(workflow, db):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)

    assert client_for(admin).get(f"/api/v1/workflows/{workflow.pk}/").status_code == 404
    assert client_for(admin).get("/api/v1/workflows/").json()["count"] == 0


def test_viewers_see_the_executions_but_cannot_cancel_or_retry(workflow, alice, bob):
    share(workflow, bob, "viewer")
    execution_id = client_for(alice).post(f"/api/v1/workflows/{workflow.pk}/run/", {"delay_s": 3600}).json()["id"]
    client = client_for(bob)

    assert client.get(f"/api/v1/executions/{execution_id}/").status_code == 200
    assert client.post(f"/api/v1/executions/{execution_id}/cancel/").status_code == 403
    assert Execution.objects.get(pk=execution_id).status == "pending"


# --- share links -----------------------------------------------------------------------------


def create_link(client, workflow, **body):
    response = client.post(f"/api/v1/workflows/{workflow.pk}/share-links/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_link_token_is_shown_once_and_stored_only_as_a_digest(workflow, alice_client):
    created = create_link(alice_client, workflow, role="viewer", label="for the auditors")

    listed = alice_client.get(f"/api/v1/workflows/{workflow.pk}/share-links/").json()["results"]

    token = created["token"]
    assert len(token) >= 43  # 256 bits, URL-safe base64
    assert "token" not in listed[0]
    assert token not in str(listed)
    link = ShareLink.objects.get()
    assert link.token_digest == link_digest(token)
    assert token not in str(ShareLink.objects.values_list())


def test_a_viewer_link_shows_the_workflow_but_cannot_run_it(workflow, alice_client, api_client):
    token = create_link(alice_client, workflow, role="viewer")["token"]

    shown = api_client.get(f"/api/v1/share-links/{token}/")
    run = api_client.post(f"/api/v1/share-links/{token}/run/", {}, format="json")

    assert shown.status_code == 200
    assert shown.json()["workflow"]["definition"] == workflow.definition
    assert run.status_code == 403
    assert not Execution.objects.exists()


def test_an_executor_link_runs_the_workflow_counted_and_audited(workflow, alice_client, api_client):
    token = create_link(alice_client, workflow, role="executor")["token"]

    response = api_client.post(f"/api/v1/share-links/{token}/run/", {"input": {"x": 1}}, format="json")

    assert response.status_code == 202
    execution = Execution.objects.get()
    assert (execution.input, execution.triggered_by, execution.owner) == ({"x": 1}, None, workflow.owner)
    assert ShareLink.objects.get().use_count == 1
    assert AuditEvent.objects.filter(action="use_link").count() == 1


def test_expired_exhausted_revoked_and_wrong_links_all_answer_the_same_404(workflow, alice_client, api_client):
    expired = create_link(alice_client, workflow, role="viewer", expires_at=timezone.now() + timedelta(seconds=1))
    ShareLink.objects.filter(pk=expired["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    exhausted = create_link(alice_client, workflow, role="viewer", max_uses=1)
    assert api_client.get(f"/api/v1/share-links/{exhausted['token']}/").status_code == 200
    revoked = create_link(alice_client, workflow, role="viewer")
    assert alice_client.delete(f"/api/v1/workflows/{workflow.pk}/share-links/{revoked['id']}/").status_code == 204

    answers = [
        api_client.get(f"/api/v1/share-links/{token}/")
        for token in (expired["token"], exhausted["token"], revoked["token"], "no-such-token")
    ]

    assert {(answer.status_code, answer.content) for answer in answers} == {(404, answers[0].content)}


def test_only_the_owner_manages_links_and_reads_the_audit_log(workflow, bob, carol):
    share(workflow, bob, "editor")
    base = f"/api/v1/workflows/{workflow.pk}"

    assert client_for(bob).post(f"{base}/share-links/", {"role": "viewer"}, format="json").status_code == 403
    assert client_for(bob).get(f"{base}/audit/").status_code == 403
    assert client_for(carol).get(f"{base}/audit/").status_code == 404
    assert not ShareLink.objects.exists()


def test_the_audit_log_records_shares_links_publish_and_rollback(workflow, alice, alice_client, bob):
    share(workflow, bob, "viewer")
    create_link(alice_client, workflow, role="viewer")
    services.workflow_publish(workflow=workflow, user=alice, number=1)
    services.workflow_rollback(workflow=workflow, user=alice, number=1)

    events = alice_client.get(f"/api/v1/workflows/{workflow.pk}/audit/").json()["results"]

    assert [event["action"] for event in events] == ["rollback", "publish", "create_link", "share"]
    assert events[-1]["details"] == {"principal": "user:bob", "role": "viewer"}


# --- query counts ------------------------------------------------------------------------------


@pytest.mark.parametrize("per_kind", [1, 70])
def test_the_list_of_a_user_with_shares_of_every_kind_stays_at_constant_queries(
    alice, bob, django_assert_max_num_queries, per_kind
):
    team = Group.objects.create(name="team")
    bob.groups.add(team)
    folder = services.folder_create(owner=alice, name="Shared")
    grant_set(folder=folder, user=bob, role="viewer", granted_by=alice)
    for index in range(per_kind):
        direct = services.workflow_create(owner=alice, name=f"direct {index}", definition=simple_definition())
        share(direct, bob, "executor")
        grouped = services.workflow_create(owner=alice, name=f"group {index}", definition=simple_definition())
        grant_set(workflow=grouped, group=team, role="editor", granted_by=alice)
        services.workflow_create(owner=alice, name=f"folder {index}", definition=simple_definition(), folder=folder)
    client = client_for(bob)

    with django_assert_max_num_queries(4):
        body = client.get("/api/v1/workflows/", {"page_size": 500}).json()

    assert body["count"] == 3 * per_kind

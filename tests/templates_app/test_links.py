"""A workflow made from a template stays linked: it is told about newer template versions, sees
what they change, and applies one as a new workflow version."""

from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from templates_app.models import TemplateLink
from tests.factories import TemplateFactory, UserFactory, WorkflowFactory
from workflows import services as workflow_services
from workflows.models import Workflow

pytestmark = [pytest.mark.django_db]

API = "/api/v1"
URL_PARAMETER = {"name": "url", "type": "url", "label": "URL", "default": None, "required": True, "description": ""}
V1 = {
    "nodes": [
        {"id": "call", "type": "http_request", "params": {"method": "GET", "url": "{{ params.url }}/status"}},
        {"id": "done", "type": "set", "params": {"values": {"status": "{{ nodes.call.output.status }}"}}},
    ],
    "edges": [{"source": "call", "target": "done"}],
    "settings": {},
}
V2 = {
    "nodes": [
        {
            "id": "call",
            "type": "http_request",
            "params": {"method": "GET", "url": "{{ params.url }}/health", "timeout_s": 10},
        },
        {"id": "done", "type": "set", "params": {"values": {"status": "{{ nodes.call.output.status }}"}}},
        {"id": "log", "type": "noop"},
    ],
    "edges": [{"source": "call", "target": "done"}, {"source": "done", "target": "log"}],
    "settings": {},
}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def cast(db):
    alice, bob, carol = (UserFactory(username=name) for name in ("alice", "bob", "carol"))
    template = TemplateFactory(
        author=alice, name="Status check", visibility="public", definition=V1, parameters=[URL_PARAMETER]
    )
    response = client_for(bob).post(
        f"{API}/templates/{template.pk}/instantiate/", {"name": "Mine", "params": {"url": "https://api.example.com"}}
    )
    assert response.status_code == 201, response.content
    workflow = Workflow.objects.get(pk=response.json()["id"])
    return SimpleNamespace(alice=alice, bob=bob, carol=carol, template=template, workflow=workflow)


def new_template_version(cast, definition=V2, parameters=None, changelog="Health endpoint"):
    body = {"definition": definition, "changelog": changelog}
    if parameters is not None:
        body["parameters"] = parameters
    response = client_for(cast.alice).patch(f"{API}/templates/{cast.template.pk}/", body)
    assert response.status_code == 200, response.content
    return response.json()["version"]


def link_of(cast, user=None):
    return client_for(user or cast.bob).get(f"{API}/workflows/{cast.workflow.pk}/template/")


def apply(cast, user=None, **body):
    return client_for(user or cast.bob).post(f"{API}/workflows/{cast.workflow.pk}/template/apply/", body)


def test_a_fresh_workflow_follows_the_newest_template_version(cast):
    response = link_of(cast)

    assert response.status_code == 200
    assert response.json() == {
        "template": cast.template.pk,
        "template_name": "Status check",
        "template_version": 1,
        "latest_version": 1,
        "update_available": False,
        "diff": None,
        "changes": [],
        "params": {"url": "https://api.example.com"},
        "params_needed": {},
        "customized": False,
    }


def test_a_new_template_version_is_reported_with_what_it_changes_in_the_workflows_terms(cast):
    new_template_version(cast)

    body = link_of(cast).json()

    assert (body["template_version"], body["latest_version"], body["update_available"]) == (1, 2, True)
    assert body["diff"] == {
        "nodes": {
            "added": ["log"],
            "removed": [],
            "changed": [
                {
                    "id": "call",
                    "changes": [
                        {
                            "path": "params.url",
                            "from": "https://api.example.com/status",
                            "to": "https://api.example.com/health",
                        },
                        {"path": "params.timeout_s", "from": None, "to": 10},
                    ],
                }
            ],
        },
        "edges": {"added": [{"source": "done", "target": "log"}], "removed": []},
        "settings": [],
    }
    assert [(change["number"], change["changelog"], change["created_by"]) for change in body["changes"]] == [
        (2, "Health endpoint", "alice")
    ]


def test_applying_the_update_makes_a_new_workflow_version_and_follows_the_template(cast):
    new_template_version(cast)

    response = apply(cast)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["workflow_version"], body["template_version"], body["update_available"]) == (2, 2, False)
    cast.workflow.refresh_from_db()
    assert cast.workflow.version == 2
    assert cast.workflow.definition["nodes"][0]["params"]["url"] == "https://api.example.com/health"
    assert [node["id"] for node in cast.workflow.definition["nodes"]] == ["call", "done", "log"]
    assert cast.workflow.versions.get(number=2).changelog == "Applied template 'Status check' version 2 (was 1)"
    assert cast.workflow.versions.get(number=2).created_by == cast.bob
    assert TemplateLink.objects.get(workflow=cast.workflow).template_version == 2


def test_applying_when_already_up_to_date_is_refused(cast):
    response = apply(cast)

    assert (response.status_code, response.json()) == (
        400,
        {"template_version": ["The workflow already follows the template's newest version (1)."]},
    )
    cast.workflow.refresh_from_db()
    assert cast.workflow.version == 1


def test_applying_with_new_values_re_instantiates_even_without_a_new_version(cast):
    response = apply(cast, params={"url": "https://other.example.com"})

    assert response.status_code == 201
    cast.workflow.refresh_from_db()
    assert (cast.workflow.version, cast.workflow.definition["nodes"][0]["params"]["url"]) == (
        2,
        "https://other.example.com/status",
    )
    assert response.json()["params"] == {"url": "https://other.example.com"}


def test_a_version_that_needs_a_new_parameter_says_so_and_applies_once_it_is_given(cast):
    with_channel = {
        **V1,
        "nodes": [*V1["nodes"], {"id": "tag", "type": "set", "params": {"values": {"c": "{{ params.channel }}"}}}],
    }
    channel = {"name": "channel", "type": "string", "label": "Channel"}
    new_template_version(cast, definition=with_channel, parameters=[URL_PARAMETER, channel], changelog="Channels")

    status = link_of(cast).json()
    refused = apply(cast)
    applied = apply(cast, params={"channel": "ops"})

    assert status["update_available"] is True
    assert status["params_needed"] == {"channel": ["This parameter is required."]}
    # Without the value the diff is between the template versions as written.
    assert status["diff"]["nodes"]["added"] == ["tag"]
    assert status["diff"]["nodes"]["changed"] == []
    assert (refused.status_code, refused.json()) == (400, {"params": {"channel": ["This parameter is required."]}})
    assert applied.status_code == 201
    assert applied.json()["params"] == {"url": "https://api.example.com", "channel": "ops"}
    cast.workflow.refresh_from_db()
    assert cast.workflow.definition["nodes"][2]["params"]["values"] == {"c": "ops"}


def test_the_link_says_whether_the_workflow_was_edited_since(cast):
    edited = {**cast.workflow.definition, "settings": {"timeout_s": 5}}
    workflow_services.workflow_update(workflow=cast.workflow, user=cast.bob, data={"definition": edited})

    assert link_of(cast).json()["customized"] is True


def test_a_workflow_not_made_from_a_template_has_no_link(cast):
    plain = WorkflowFactory(owner=cast.bob)

    response = client_for(cast.bob).get(f"{API}/workflows/{plain.pk}/template/")

    assert (response.status_code, response.json()) == (404, {"detail": "This workflow was not made from a template."})


def test_an_outsider_gets_404_for_the_link_and_cannot_apply(cast):
    new_template_version(cast)

    responses = [link_of(cast, cast.carol), apply(cast, cast.carol)]

    assert [response.status_code for response in responses] == [404, 404]
    cast.workflow.refresh_from_db()
    assert cast.workflow.version == 1


def test_a_template_that_is_no_longer_visible_offers_no_update(cast):
    new_template_version(cast)
    client_for(cast.alice).patch(f"{API}/templates/{cast.template.pk}/", {"visibility": "private"})

    status = link_of(cast).json()
    response = apply(cast)

    assert (status["template"], status["template_name"], status["latest_version"], status["update_available"]) == (
        None,
        "Status check",
        None,
        False,
    )
    assert (response.status_code, response.json()) == (
        400,
        {"template": ["The template this workflow came from is no longer available to you."]},
    )


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("executor", 403), ("editor", 201)])
def test_applying_an_update_needs_the_editor_role(cast, role, status):
    shared = client_for(cast.bob).post(f"{API}/workflows/{cast.workflow.pk}/shares/", {"user": "carol", "role": role})
    assert shared.status_code == 201, shared.content
    new_template_version(cast)

    seen = link_of(cast, cast.carol)
    response = apply(cast, cast.carol)

    assert (seen.status_code, seen.json()["update_available"]) == (200, True)
    assert response.status_code == status
    cast.workflow.refresh_from_db()
    assert cast.workflow.version == (2 if status == 201 else 1)

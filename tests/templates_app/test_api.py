"""The templates API: visibility, browsing, editing and versions, sharing, creating from a workflow, instantiating."""

import json
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from templates_app.models import Template, TemplateLink, TemplateVersion
from templates_app.system import load_system_templates
from tests.factories import FolderFactory, TemplateFactory, UserFactory, WorkflowFactory, simple_definition
from workflows import services as workflow_services
from workflows.models import Workflow

pytestmark = [pytest.mark.django_db]

API = "/api/v1"
# One for the page's count, one for the page, one for the tags.
TEMPLATE_LIST_QUERIES = 3

URL_PARAMETER = {"name": "url", "type": "url", "label": "URL"}
HTTP_DEFINITION = {
    "nodes": [
        {"id": "call", "type": "http_request", "name": "Call", "params": {"method": "GET", "url": "{{ params.url }}"}},
        {"id": "done", "type": "set", "params": {"values": {"status": "{{ nodes.call.output.status }}"}}},
    ],
    "edges": [{"source": "call", "target": "done"}],
    "settings": {},
}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def system(db):
    """The system templates, loaded now: a transactional test elsewhere may have emptied the tables."""
    load_system_templates()
    return {template.system_key: template for template in Template.objects.filter(scope="system")}


@pytest.fixture
def cast(db, system):
    """alice writes templates; carol is shared one by name, dave through the ops group; bob is an outsider."""
    alice, bob, carol, dave = (UserFactory(username=name) for name in ("alice", "bob", "carol", "dave"))
    ops = Group.objects.create(name="ops")
    dave.groups.add(ops)
    private = TemplateFactory(author=alice, name="Private notes", category="Misc", tags=["notes"])
    for_carol = TemplateFactory(author=alice, name="For carol", visibility="shared", tags=["http"])
    for_carol.shared_with_users.add(carol)
    for_ops = TemplateFactory(author=alice, name="For ops", visibility="shared", category="Monitoring")
    for_ops.shared_with_groups.add(ops)
    public = TemplateFactory(
        author=alice,
        name="Public poller",
        description="Polls things",
        category="Monitoring",
        tags=["http", "monitoring"],
        visibility="public",
        definition=HTTP_DEFINITION,
        parameters=[{**URL_PARAMETER, "default": None, "required": True, "description": ""}],
    )
    # Shared with carol but private now: sharing lists count only while the template is shared.
    withdrawn = TemplateFactory(author=alice, name="Withdrawn", visibility="private")
    withdrawn.shared_with_users.add(carol)
    return SimpleNamespace(
        alice=alice,
        bob=bob,
        carol=carol,
        dave=dave,
        ops=ops,
        private=private,
        for_carol=for_carol,
        for_ops=for_ops,
        public=public,
        withdrawn=withdrawn,
        system=system,
    )


def names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {item["name"] for item in response.json()["results"]}


def system_names(cast) -> set[str]:
    return {template.name for template in cast.system.values()}


def get_all(client, **query):
    return client.get(f"{API}/templates/", {"page_size": 500, **query})


# --- Visibility ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("alice", {"Private notes", "For carol", "For ops", "Public poller", "Withdrawn"}),
        ("carol", {"For carol", "Public poller"}),
        ("dave", {"For ops", "Public poller"}),
        ("bob", {"Public poller"}),
    ],
)
def test_each_user_sees_system_templates_their_own_the_public_ones_and_those_shared_with_them(cast, who, expected):
    response = get_all(client_for(getattr(cast, who)))

    assert names(response) == system_names(cast) | expected


def test_an_outsider_sees_only_system_and_public_templates(cast):
    response = get_all(client_for(cast.bob))

    assert {(item["scope"], item["visibility"]) for item in response.json()["results"]} == {
        ("system", "public"),
        ("user", "public"),
    }


@pytest.mark.parametrize(
    ("who", "scope", "expected"),
    [
        ("alice", "mine", {"Private notes", "For carol", "For ops", "Public poller", "Withdrawn"}),
        ("alice", "shared", set()),
        ("alice", "public", {"Public poller"}),
        ("carol", "shared", {"For carol"}),
        ("carol", "mine", set()),
        ("dave", "shared", {"For ops"}),
        ("bob", "shared", set()),
        ("bob", "public", {"Public poller"}),
    ],
)
def test_the_scope_filter_picks_one_shelf(cast, who, scope, expected):
    assert names(get_all(client_for(getattr(cast, who)), scope=scope)) == expected


def test_the_system_scope_lists_every_system_template(cast):
    response = get_all(client_for(cast.bob), scope="system")

    assert names(response) == system_names(cast)
    assert len(cast.system) >= 10


@pytest.mark.parametrize("who", ["bob", "carol", "dave"])
def test_a_template_the_caller_cannot_see_is_404_everywhere(cast, who):
    client = client_for(getattr(cast, who))
    template = cast.private
    folder_count = Workflow.objects.count()

    responses = [
        client.get(f"{API}/templates/{template.pk}/"),
        client.get(f"{API}/templates/{template.pk}/versions/"),
        client.get(f"{API}/templates/{template.pk}/versions/1/"),
        client.patch(f"{API}/templates/{template.pk}/", {"name": "Mine now"}),
        client.delete(f"{API}/templates/{template.pk}/"),
        client.post(f"{API}/templates/{template.pk}/instantiate/", {"name": "Copy"}),
    ]

    assert [response.status_code for response in responses] == [404] * 6
    template.refresh_from_db()
    assert (template.name, Workflow.objects.count(), template.usage_count) == ("Private notes", folder_count, 0)


def test_an_unauthenticated_caller_gets_401(cast):
    assert APIClient().get(f"{API}/templates/").status_code == 401


# --- Browsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"search": "poll"}, {"Public poller", "Poll an HTTP API and alert on a condition"}),
        ({"search": "POLLS things"}, {"Public poller"}),
        ({"category": "monitoring", "scope": "mine"}, {"For ops", "Public poller"}),
        ({"tag": "notes"}, {"Private notes"}),
        ({"tag": "http,notes", "scope": "mine"}, {"Private notes", "For carol", "Public poller"}),
        ({"tag": "HTTP", "scope": "public"}, {"Public poller"}),
    ],
)
def test_templates_are_found_by_search_category_and_tag(cast, query, expected):
    assert names(get_all(client_for(cast.alice), **query)) == expected


def test_the_list_is_ordered_by_usage_then_recency_or_by_recency(cast):
    Template.objects.filter(pk=cast.for_ops.pk).update(usage_count=5)
    Template.objects.filter(pk=cast.private.pk).update(usage_count=2)
    cast.for_carol.save()  # the most recently changed
    client = client_for(cast.alice)

    by_usage = [item["name"] for item in get_all(client, scope="mine").json()["results"]]
    by_recency = [item["name"] for item in get_all(client, scope="mine", ordering="recent").json()["results"]]

    assert by_usage[:3] == ["For ops", "Private notes", "For carol"]
    assert by_recency[0] == "For carol"


def test_a_list_item_carries_its_usage_count_and_whether_the_caller_may_edit_it(cast):
    Template.objects.filter(pk=cast.public.pk).update(usage_count=7)

    items = {item["name"]: item for item in get_all(client_for(cast.bob)).json()["results"]}

    assert items["Public poller"] == {
        "id": cast.public.pk,
        "name": "Public poller",
        "description": "Polls things",
        "category": "Monitoring",
        "tags": ["http", "monitoring"],
        "scope": "user",
        "visibility": "public",
        "author": "alice",
        "version": 1,
        "usage_count": 7,
        "editable": False,
        "created_at": items["Public poller"]["created_at"],
        "updated_at": items["Public poller"]["updated_at"],
    }
    assert items["Poll an HTTP API and alert on a condition"]["author"] is None


def test_the_detail_shows_the_graph_and_the_parameters(cast):
    response = client_for(cast.bob).get(f"{API}/templates/{cast.public.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["graph"] == {
        "nodes": [{"id": "call", "type": "http_request", "name": "Call"}, {"id": "done", "type": "set", "name": None}],
        "edges": [{"source": "call", "target": "done", "branch": None}],
    }
    assert body["parameters"] == [
        {"name": "url", "type": "url", "label": "URL", "default": None, "required": True, "description": ""}
    ]
    assert body["definition"] == HTTP_DEFINITION
    assert "shared_with_users" not in body and "shared_with_groups" not in body


def test_only_the_author_sees_who_a_template_is_shared_with(cast):
    body = client_for(cast.alice).get(f"{API}/templates/{cast.for_carol.pk}/").json()

    assert (body["shared_with_users"], body["shared_with_groups"], body["editable"]) == (["carol"], [], True)
    assert "shared_with_users" not in client_for(cast.carol).get(f"{API}/templates/{cast.for_carol.pk}/").json()


@pytest.mark.parametrize("count", [1, 30])
def test_the_template_list_costs_the_same_queries_for_1_and_30_templates(db, django_assert_max_num_queries, count):
    alice, carol = UserFactory(username="alice"), UserFactory(username="carol")
    group = Group.objects.create(name="ops")
    carol.groups.add(group)
    for index in range(count):
        template = TemplateFactory(author=alice, visibility="shared", tags=[f"tag-{index % 3}", "common"])
        template.shared_with_groups.add(group)

    with django_assert_max_num_queries(TEMPLATE_LIST_QUERIES):
        response = client_for(carol).get(
            f"{API}/templates/", {"scope": "shared", "tag": "common", "search": "template"}
        )

    assert response.status_code == 200
    assert response.json()["count"] == count
    assert all(len(item["tags"]) == 2 for item in response.json()["results"])


# --- Creating and editing --------------------------------------------------------------------------


def test_creating_a_template_from_a_definition_makes_version_1(cast):
    response = client_for(cast.bob).post(
        f"{API}/templates/",
        {
            "name": "Ping",
            "description": "Pings a URL",
            "category": "Monitoring",
            "tags": ["HTTP", " uptime "],
            "definition": HTTP_DEFINITION,
            "parameters": [URL_PARAMETER],
            "changelog": "First cut",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["scope"], body["visibility"], body["author"], body["version"], body["tags"]) == (
        "user",
        "private",
        "bob",
        1,
        ["http", "uptime"],
    )
    version = TemplateVersion.objects.get(template_id=body["id"])
    assert (version.number, version.changelog, version.created_by, version.definition) == (
        1,
        "First cut",
        cast.bob,
        HTTP_DEFINITION,
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"definition": HTTP_DEFINITION}, {"name": ["This field is required."]}),
        ({"name": "X"}, {"definition": ["This field is required."]}),
        (
            {"name": "X", "definition": HTTP_DEFINITION, "workflow": 1},
            {"definition": ["Give either a workflow or a definition."]},
        ),
        ({"name": "X", "definition": HTTP_DEFINITION, "version": 2}, {"version": ["Only with `workflow`."]}),
        (
            {"name": "X", "definition": HTTP_DEFINITION},
            {
                "definition": [
                    {
                        "location": "nodes[0].params.url",
                        "message": "'url' is not a parameter of this template; declare it in 'parameters'",
                    }
                ]
            },
        ),
        (
            {"name": "X", "definition": HTTP_DEFINITION, "parameters": [URL_PARAMETER], "visibility": "everyone"},
            {"visibility": ['"everyone" is not a valid choice.']},
        ),
        (
            {
                "name": "X",
                "definition": HTTP_DEFINITION,
                "parameters": [URL_PARAMETER],
                "shared_with_users": ["nobody"],
            },
            {"shared_with_users": ["Object with username=nobody does not exist."]},
        ),
        (
            {"name": "X", "definition": HTTP_DEFINITION, "parameters": [URL_PARAMETER], "shared_with_users": ["bob"]},
            {"shared_with_users": ["You cannot share a template with yourself."]},
        ),
    ],
)
def test_bad_template_input_is_refused_naming_the_field(cast, body, expected):
    before = Template.objects.count()

    response = client_for(cast.bob).post(f"{API}/templates/", body)

    assert response.status_code == 400
    assert response.json() == expected
    assert Template.objects.count() == before


def test_saving_new_content_adds_a_version_and_metadata_does_not(cast):
    client = client_for(cast.alice)
    url = f"{API}/templates/{cast.public.pk}/"

    renamed = client.patch(url, {"name": "Poller", "tags": ["web"], "visibility": "shared"})
    changed = client.patch(
        url,
        {"definition": {**HTTP_DEFINITION, "settings": {"timeout_s": 60}}, "changelog": "A time limit"},
    )
    same_again = client.patch(url, {"definition": {**HTTP_DEFINITION, "settings": {"timeout_s": 60}}})

    assert [r.status_code for r in (renamed, changed, same_again)] == [200, 200, 200]
    assert (renamed.json()["version"], renamed.json()["tags"], renamed.json()["visibility"]) == (1, ["web"], "shared")
    assert (changed.json()["version"], same_again.json()["version"]) == (2, 2)
    versions = client.get(f"{url}versions/").json()["results"]
    assert [(v["number"], v["changelog"], v["created_by"]) for v in versions] == [
        (2, "A time limit", "alice"),
        (1, "Created", "alice"),
    ]
    first = client.get(f"{url}versions/1/").json()
    assert (first["definition"], first["parameters"][0]["name"]) == (HTTP_DEFINITION, "url")


def test_a_template_update_that_breaks_the_content_is_refused_and_changes_nothing(cast):
    response = client_for(cast.alice).patch(f"{API}/templates/{cast.public.pk}/", {"parameters": [], "name": "Broken"})

    assert response.status_code == 400
    assert response.json() == {
        "definition": [
            {
                "location": "nodes[0].params.url",
                "message": "'url' is not a parameter of this template; declare it in 'parameters'",
            }
        ]
    }
    cast.public.refresh_from_db()
    assert (cast.public.name, cast.public.version) == ("Public poller", 1)


@pytest.mark.parametrize(
    ("who", "template", "status", "detail"),
    [
        ("carol", "for_carol", 403, "Only the template's author can change it."),
        ("bob", "public", 403, "Only the template's author can change it."),
        ("alice", "system", 403, "System templates are read-only."),
        ("bob", "system", 403, "System templates are read-only."),
    ],
)
def test_only_the_author_may_change_or_delete_a_template(cast, who, template, status, detail):
    target = cast.system["poll-api-alert"] if template == "system" else getattr(cast, template)
    client = client_for(getattr(cast, who))
    url = f"{API}/templates/{target.pk}/"

    responses = [client.patch(url, {"name": "Hijacked"}), client.put(url, {"name": "Hijacked"}), client.delete(url)]

    assert [(r.status_code, r.json()["detail"]) for r in responses] == [(status, detail)] * 3
    target.refresh_from_db()
    assert target.name != "Hijacked"


def test_sharing_with_a_user_and_a_group_opens_the_template_to_them(cast):
    client = client_for(cast.alice)
    url = f"{API}/templates/{cast.private.pk}/"

    response = client.patch(url, {"visibility": "shared", "shared_with_users": ["bob"], "shared_with_groups": ["ops"]})

    assert response.status_code == 200
    assert (response.json()["shared_with_users"], response.json()["shared_with_groups"]) == (["bob"], ["ops"])
    assert "Private notes" in names(get_all(client_for(cast.bob), scope="shared"))
    assert "Private notes" in names(get_all(client_for(cast.dave), scope="shared"))
    assert "Private notes" not in names(get_all(client_for(cast.carol)))


def test_publishing_puts_a_template_in_the_marketplace_and_withdrawing_takes_it_out(cast):
    client, url = client_for(cast.alice), f"{API}/templates/{cast.private.pk}/"

    client.patch(url, {"visibility": "public"})
    published = names(get_all(client_for(cast.bob), scope="public"))
    client.patch(url, {"visibility": "private"})
    withdrawn = names(get_all(client_for(cast.bob), scope="public"))

    assert ("Private notes" in published, "Private notes" in withdrawn) == (True, False)


def test_deleting_a_template_keeps_the_workflows_made_from_it(cast):
    workflow = client_for(cast.bob).post(
        f"{API}/templates/{cast.public.pk}/instantiate/", {"params": {"url": "https://example.com"}}
    )
    assert workflow.status_code == 201

    response = client_for(cast.alice).delete(f"{API}/templates/{cast.public.pk}/")

    assert response.status_code == 204
    assert not Template.objects.filter(pk=cast.public.pk).exists()
    link = client_for(cast.bob).get(f"{API}/workflows/{workflow.json()['id']}/template/").json()
    assert (link["template"], link["template_name"], link["template_version"], link["update_available"]) == (
        None,
        "Public poller",
        1,
        False,
    )


# --- From a workflow: secrets become parameters, never copied ----------------------------------------

SECRET_VALUE = "sk_live_do-not-copy-me"


@pytest.fixture
def secret_workflow(cast):
    workflow_services.secret_create(owner=cast.alice, name="API_TOKEN", value=SECRET_VALUE)
    definition = {
        "nodes": [
            {
                "id": "call",
                "type": "http_request",
                "params": {
                    "method": "POST",
                    "url": "https://api.example.com/v1/items",
                    "headers": {"Authorization": "Bearer {{ secrets.API_TOKEN }}"},
                    "json": {"who": "{{ input.who }}"},
                },
            }
        ],
        "edges": [],
        "settings": {},
    }
    workflow = workflow_services.workflow_create(owner=cast.alice, name="Push items", definition=simple_definition())
    workflow_services.workflow_update(workflow=workflow, user=cast.alice, data={"definition": definition})
    return workflow


def test_a_workflows_secrets_become_secret_parameters_and_their_values_are_never_copied(cast, secret_workflow):
    response = client_for(cast.alice).post(f"{API}/templates/", {"workflow": secret_workflow.pk, "tags": ["http"]})

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["version"]) == ("Push items", 1)
    assert body["definition"]["nodes"][0]["params"]["headers"] == {"Authorization": "Bearer {{ params.API_TOKEN }}"}
    assert body["parameters"] == [
        {
            "name": "API_TOKEN",
            "type": "secret",
            "label": "Secret API_TOKEN",
            "default": "API_TOKEN",
            "required": True,
            "description": "The name of one of your secrets; the workflow reads it where it read 'API_TOKEN'.",
        }
    ]
    template = Template.objects.get(pk=body["id"])
    stored = json.dumps(
        [template.definition, template.parameters, list(template.versions.values("definition", "parameters"))]
    )
    ciphertext = secret_workflow.owner.secrets.get().ciphertext
    assert SECRET_VALUE not in stored and ciphertext not in stored and "secrets." not in stored
    assert TemplateVersion.objects.get(template=template).changelog == "From workflow 'Push items' version 2"


def test_a_template_can_be_made_from_an_older_version_of_a_workflow(cast, secret_workflow):
    response = client_for(cast.alice).post(
        f"{API}/templates/", {"workflow": secret_workflow.pk, "version": 1, "name": "First draft"}
    )

    assert response.status_code == 201
    assert (response.json()["definition"], response.json()["parameters"]) == (simple_definition(), [])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"version": 9}, {"version": ["The workflow has no version 9."]}),
        ({"workflow": "other"}, {"workflow": ["Workflow not found."]}),
    ],
)
def test_a_template_from_a_workflow_needs_a_version_it_has_and_a_workflow_the_caller_can_view(
    cast, secret_workflow, body, expected
):
    others = WorkflowFactory(owner=cast.bob)
    request = {"workflow": secret_workflow.pk, **body}
    if body.get("workflow") == "other":
        request["workflow"] = others.pk

    response = client_for(cast.alice).post(f"{API}/templates/", request)

    assert response.status_code == 400
    assert response.json() == expected


def test_an_outsider_cannot_make_a_template_of_someone_elses_workflow(cast, secret_workflow):
    response = client_for(cast.bob).post(f"{API}/templates/", {"workflow": secret_workflow.pk})

    assert (response.status_code, response.json()) == (400, {"workflow": ["Workflow not found."]})


# --- Instantiate -----------------------------------------------------------------------------------


def test_instantiating_creates_a_linked_workflow_at_version_1_owned_by_the_caller(cast):
    folder = FolderFactory(owner=cast.bob, name="From templates")

    response = client_for(cast.bob).post(
        f"{API}/templates/{cast.public.pk}/instantiate/",
        {"name": "My poller", "folder": folder.pk, "params": {"url": "https://status.example.com"}},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["owner"], body["role"], body["version"], body["folder"]) == (
        "My poller",
        "bob",
        "owner",
        1,
        folder.pk,
    )
    assert body["definition"]["nodes"][0]["params"]["url"] == "https://status.example.com"
    workflow = Workflow.objects.get(pk=body["id"])
    assert workflow.versions.get().changelog == "Created from template 'Public poller' version 1"
    link = TemplateLink.objects.get(workflow=workflow)
    assert (link.template, link.template_version, link.params) == (
        cast.public,
        1,
        {"url": "https://status.example.com"},
    )
    cast.public.refresh_from_db()
    assert cast.public.usage_count == 1


def test_every_instantiation_counts_once(cast):
    client = client_for(cast.carol)
    for name in ("One", "Two", "Three"):
        assert (
            client.post(
                f"{API}/templates/{cast.public.pk}/instantiate/", {"name": name, "params": {"url": "https://x.example"}}
            ).status_code
            == 201
        )

    cast.public.refresh_from_db()
    assert cast.public.usage_count == 3


def test_the_workflow_takes_the_templates_name_by_default(cast):
    response = client_for(cast.bob).post(
        f"{API}/templates/{cast.public.pk}/instantiate/", {"params": {"url": "https://x.example"}}
    )

    assert (response.status_code, response.json()["name"], response.json()["folder"]) == (201, "Public poller", None)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"params": {"url": ["This parameter is required."]}}),
        ({"params": {"url": 42}}, {"params": {"url": ["Must be an http:// or https:// URL."]}}),
        (
            {"params": {"url": "https://x.example", "extra": 1}},
            {"params": {"extra": ["Unknown parameter; this template's parameters are: url."]}},
        ),
        ({"params": "url"}, {"params": ['Expected a dictionary of items but got type "str".']}),
        (
            {"params": {"url": "https://x.example"}, "folder": "alice's"},
            {"folder": ['Invalid pk "{folder}" - object does not exist.']},
        ),
    ],
)
def test_instantiating_with_bad_input_is_refused_naming_the_field_and_creates_nothing(cast, body, expected):
    alices_folder = FolderFactory(owner=cast.alice)
    if body.get("folder") == "alice's":
        body = {**body, "folder": alices_folder.pk}
        expected = {"folder": [expected["folder"][0].format(folder=alices_folder.pk)]}
    before = Workflow.objects.count()

    response = client_for(cast.bob).post(f"{API}/templates/{cast.public.pk}/instantiate/", body)

    assert response.status_code == 400
    assert response.json() == expected
    cast.public.refresh_from_db()
    assert (Workflow.objects.count(), cast.public.usage_count) == (before, 0)


def test_a_secret_parameter_takes_the_name_of_one_of_the_callers_secrets(cast):
    template = TemplateFactory(
        author=cast.alice,
        visibility="public",
        definition={
            "nodes": [
                {
                    "id": "call",
                    "type": "http_request",
                    "params": {"method": "GET", "url": "https://x.example", "headers": {"X-Key": "{{ params.key }}"}},
                }
            ],
            "edges": [],
            "settings": {},
        },
        parameters=[
            {"name": "key", "type": "secret", "label": "Key", "default": "API_KEY", "required": True, "description": ""}
        ],
    )
    url = f"{API}/templates/{template.pk}/instantiate/"
    client = client_for(cast.bob)

    without = client.post(url, {})
    workflow_services.secret_create(owner=cast.bob, name="MY_KEY", value="v")
    alices = client.post(url, {"params": {"key": "API_KEY"}})
    own = client.post(url, {"params": {"key": "MY_KEY"}})

    assert (without.status_code, without.json()) == (
        400,
        {"params": {"key": ["The workflow's owner has no secret named 'API_KEY'."]}},
    )
    assert alices.status_code == 400
    assert own.status_code == 201
    assert own.json()["definition"]["nodes"][0]["params"]["headers"] == {"X-Key": "{{ secrets.MY_KEY }}"}
    assert TemplateLink.objects.get(workflow_id=own.json()["id"]).params == {"key": "MY_KEY"}


def test_a_system_template_instantiates_for_anyone(cast):
    response = client_for(cast.bob).post(
        f"{API}/templates/{cast.system['fan-out-merge'].pk}/instantiate/",
        {"params": {f"{n}_url": f"https://{n}.example" for n in ("first", "second", "third")}},
    )

    assert response.status_code == 201, response.content
    assert [node["params"].get("url") for node in response.json()["definition"]["nodes"][:3]] == [
        "https://first.example",
        "https://second.example",
        "https://third.example",
    ]

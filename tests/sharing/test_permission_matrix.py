"""The permission matrix: every route and method of the API, and the exact status each persona gets.

The routes come from the URL configuration itself (every route under /api/v1/ but the schema and
its docs; the router's `.json` aliases are checked to match their route), with the methods each
view allows (OPTIONS and HEAD aside: they act on nothing). A new endpoint without a row here
fails `test_every_api_route_and_method_has_a_row`; a row for a route that is gone fails
`test_every_row_names_a_route_that_exists`.

The cast (STYLE.md): the workflow's owner; a user holding each role directly (editor, executor,
viewer); a group member (viewer through a Django group); a folder-share holder (executor
through a share of the workflow's folder); an outsider, signed in but given nothing; and an
anonymous caller. The world is built once through the services (`build_world`) inside a
transaction rolled back after the matrix's last test; each row's test runs in a savepoint of it and
sends one valid request per persona in a savepoint of its own, rolled back after it, so every
persona of every row meets the same fresh world.

What the table encodes:
- not visible -> 404, never 403; visible with too low a role -> 403; not signed in -> 401;
- folders, tags, secrets and private templates are per user: 404 to everybody else;
- system and public templates are read and used by every signed-in user, changed by nobody but
  their author (403);
- public token routes (webhooks, share links, login) ignore the caller: the same answer for all.

Every refused request (>= 400, reads included) also asserts that nothing changed in any table the
access layer guards, and no response to the outsider or the anonymous caller carries anything of the
owner's world (its names all contain MARKER); a secret's value is in no response at all.
"""

import json
import re
import threading
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import override_settings
from django.urls import URLResolver, get_resolver, resolve
from rest_framework.test import APIClient

from executions import services as execution_services
from executions.models import Trigger
from scheduling import services as schedule_services
from sharing import services as sharing_services
from sharing.models import Grant, WorkflowUserObjectPermission
from templates_app import services as template_services
from templates_app.models import Template, TemplateScope
from templates_app.system import load_system_templates
from tests.factories import PASSWORD, UserFactory, simple_definition
from workflows import services as workflow_services

pytestmark = pytest.mark.django_db

API = "api/v1/"
# Routes that describe the API rather than act on anything.
EXCLUDED_ROUTES = frozenset({"schema/", "docs/"})
# Function views do not say which methods they take; each one is listed here.
FUNCTION_VIEW_METHODS: dict[str, frozenset[str]] = {}
# Every APIView answers OPTIONS (metadata) and HEAD (as GET); neither acts on anything.
IGNORED_METHODS = frozenset({"options", "head"})

PERSONAS = ("owner", "editor", "executor", "viewer", "group", "folder", "outsider", "anon")

MARKER = "zqx"  # in the name of everything the owner has that is not public
SECRET_VALUE = "s3cret-value-never-shown"


# --- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    method: str
    route: str  # as the URL configuration names it, parameters as {name}
    codes: str  # one status per persona, in PERSONAS order
    url: str | None = None  # the route filled from the world's ids; the route itself when it has none
    body: dict | None = None
    variant: str = ""  # tells apart several rows of one route and method (another object)
    public: bool = False  # answers the same to anybody holding the token, so shows the workflow to anyone

    @property
    def expected(self) -> dict[str, int]:
        codes = [int(code) for code in self.codes.split()]
        assert len(codes) == len(PERSONAS), f"{self.id}: give one status per persona"
        return dict(zip(PERSONAS, codes, strict=True))

    @property
    def id(self) -> str:
        return f"{self.method} {self.route}" + (f" [{self.variant}]" if self.variant else "")


def row(method: str, route: str, codes: str, url: str | None = None, **kwargs) -> Row:
    return Row(method, route, codes, url, **kwargs)


W = "workflows/{workflow}"
EXECUTION = "executions/{execution}"
TEMPLATE = "templates/{template}"
NEW_DEFINITION = simple_definition("first", "second", "third")

# fmt: off
#                                                     owner editor executor viewer group folder outsider anon
ROWS = [
    # Sign-in: the body names the user; the caller is ignored.
    row("POST", "auth/token/",                          "200 200 200 200 200 200 200 200",
        body={"username": "owner", "password": PASSWORD}, public=True),
    row("POST", "auth/logout/",                         "204 204 204 204 204 204 204 401"),

    # Folders, tags and secrets are each user's own: every signed-in user has a list and may add.
    row("GET", "folders/",                              "200 200 200 200 200 200 200 401"),
    row("POST", "folders/",                             "201 201 201 201 201 201 201 401", body={"name": "New"}),
    row("GET", "folders/shared-with-me/",               "200 200 200 200 200 200 200 401"),
    row("GET", "folders/{pk}/",                         "200 404 404 404 404 404 404 401", "folders/{folder}/"),
    row("PUT", "folders/{pk}/",                         "200 404 404 404 404 404 404 401", "folders/{folder}/",
        body={"name": "Renamed"}),
    row("PATCH", "folders/{pk}/",                       "200 404 404 404 404 404 404 401", "folders/{folder}/",
        body={"name": "Renamed"}),
    row("DELETE", "folders/{pk}/",                      "204 404 404 404 404 404 404 401",
        "folders/{folder}/?move_content=true"),
    row("GET", "folders/{folder_pk}/shares/",           "200 404 404 404 404 404 404 401", "folders/{folder}/shares/"),
    row("POST", "folders/{folder_pk}/shares/",          "201 404 404 404 404 404 404 401", "folders/{folder}/shares/",
        body={"user": "carol", "role": "viewer"}),
    row("GET", "folders/{folder_pk}/shares/{pk}/",      "200 404 404 404 404 404 404 401",
        "folders/{folder}/shares/{folder_grant}/"),
    row("PATCH", "folders/{folder_pk}/shares/{pk}/",    "200 404 404 404 404 404 404 401",
        "folders/{folder}/shares/{folder_grant}/", body={"role": "editor"}),
    row("DELETE", "folders/{folder_pk}/shares/{pk}/",   "204 404 404 404 404 404 404 401",
        "folders/{folder}/shares/{folder_grant}/"),

    row("GET", "tags/",                                 "200 200 200 200 200 200 200 401"),
    row("POST", "tags/",                                "201 201 201 201 201 201 201 401", body={"name": "new"}),
    row("GET", "tags/{pk}/",                            "200 404 404 404 404 404 404 401", "tags/{tag}/"),
    row("PUT", "tags/{pk}/",                            "200 404 404 404 404 404 404 401", "tags/{tag}/",
        body={"name": "renamed"}),
    row("PATCH", "tags/{pk}/",                          "200 404 404 404 404 404 404 401", "tags/{tag}/",
        body={"colour": "#2563eb"}),
    row("DELETE", "tags/{pk}/",                         "204 404 404 404 404 404 404 401", "tags/{tag}/"),

    row("GET", "secrets/",                              "200 200 200 200 200 200 200 401"),
    row("POST", "secrets/",                             "201 201 201 201 201 201 201 401",
        body={"name": "NEW_SECRET", "value": "v"}),
    row("GET", "secrets/{pk}/",                         "200 404 404 404 404 404 404 401", "secrets/{secret}/"),
    row("PUT", "secrets/{pk}/",                         "200 404 404 404 404 404 404 401", "secrets/{secret}/",
        body={"name": "RENAMED", "description": "rotated", "value": "new value"}),
    row("PATCH", "secrets/{pk}/",                       "200 404 404 404 404 404 404 401", "secrets/{secret}/",
        body={"description": "rotated"}),
    row("DELETE", "secrets/{pk}/",                      "204 404 404 404 404 404 404 401", "secrets/{secret}/"),

    # Workflows: viewer+ read, editor+ edit and roll back, owner deletes, publishes, shares.
    row("GET", "workflows/",                            "200 200 200 200 200 200 200 401"),
    row("POST", "workflows/",                           "201 201 201 201 201 201 201 401", body={"name": "Mine"}),
    row("GET", "workflows/{pk}/",                       "200 200 200 200 200 200 404 401", f"{W}/"),
    row("PUT", "workflows/{pk}/",                       "200 200 403 403 403 403 404 401", f"{W}/",
        body={"name": "Replaced", "definition": NEW_DEFINITION}),
    row("PATCH", "workflows/{pk}/",                     "200 200 403 403 403 403 404 401", f"{W}/",
        body={"name": "Renamed"}),
    row("DELETE", "workflows/{pk}/",                    "204 403 403 403 403 403 404 401", f"{W}/"),
    row("GET", "workflows/{pk}/diff/",                  "200 200 200 200 200 200 404 401", f"{W}/diff/?from=1&to=2"),
    row("GET", "workflows/{pk}/versions/",              "200 200 200 200 200 200 404 401", f"{W}/versions/"),
    row("GET", "workflows/{pk}/versions/{number}/",     "200 200 200 200 200 200 404 401", f"{W}/versions/1/"),
    row("POST", "workflows/{pk}/versions/{number}/rollback/", "201 201 403 403 403 403 404 401",
        f"{W}/versions/1/rollback/"),
    row("POST", "workflows/{pk}/versions/{number}/publish/",  "200 403 403 403 403 403 404 401",
        f"{W}/versions/1/publish/"),
    row("POST", "workflows/{workflow_pk}/run/",         "202 202 202 403 403 202 404 401", f"{W}/run/",
        body={"input": {"n": 1}, "delay_s": 3600}),
    row("GET", "workflows/{workflow_pk}/webhook/",      "200 200 403 403 403 403 404 401", f"{W}/webhook/"),
    row("POST", "workflows/{workflow_pk}/webhook/",     "201 201 403 403 403 403 404 401", f"{W}/webhook/"),
    row("DELETE", "workflows/{workflow_pk}/webhook/",   "204 204 403 403 403 403 404 401", f"{W}/webhook/"),
    row("GET", "workflows/{workflow_pk}/shares/",       "200 403 403 403 403 403 404 401", f"{W}/shares/"),
    row("POST", "workflows/{workflow_pk}/shares/",      "201 403 403 403 403 403 404 401", f"{W}/shares/",
        body={"user": "carol", "role": "viewer"}),
    row("GET", "workflows/{workflow_pk}/shares/{pk}/",  "200 403 403 403 403 403 404 401", f"{W}/shares/{{grant}}/"),
    row("PATCH", "workflows/{workflow_pk}/shares/{pk}/", "200 403 403 403 403 403 404 401", f"{W}/shares/{{grant}}/",
        body={"role": "executor"}),
    row("DELETE", "workflows/{workflow_pk}/shares/{pk}/", "204 403 403 403 403 403 404 401",
        f"{W}/shares/{{grant}}/"),
    row("GET", "workflows/{workflow_pk}/share-links/",  "200 403 403 403 403 403 404 401", f"{W}/share-links/"),
    row("POST", "workflows/{workflow_pk}/share-links/", "201 403 403 403 403 403 404 401", f"{W}/share-links/",
        body={"role": "viewer", "max_uses": 5}),
    row("GET", "workflows/{workflow_pk}/share-links/{pk}/", "200 403 403 403 403 403 404 401",
        f"{W}/share-links/{{link}}/"),
    row("DELETE", "workflows/{workflow_pk}/share-links/{pk}/", "204 403 403 403 403 403 404 401",
        f"{W}/share-links/{{link}}/"),
    row("GET", "workflows/{workflow_pk}/audit/",        "200 403 403 403 403 403 404 401", f"{W}/audit/"),
    row("POST", "workflows/{workflow_pk}/transfer/",    "200 403 403 403 403 403 404 401", f"{W}/transfer/",
        body={"user": "carol"}),

    # Public token routes: a valid token works for whoever holds it.
    row("POST", "hooks/{token}/",                       "202 202 202 202 202 202 202 202", "hooks/{hook_token}/",
        body={"order": 42}, public=True),
    row("GET", "share-links/{token}/",                  "200 200 200 200 200 200 200 200",
        "share-links/{link_token}/", public=True),
    row("POST", "share-links/{token}/run/",             "202 202 202 202 202 202 202 202",
        "share-links/{link_token}/run/", body={"delay_s": 3600}, public=True),

    # Executions: seen with the workflow; cancel and retry are for executor+.
    row("GET", "executions/",                           "200 200 200 200 200 200 200 401"),
    row("GET", "executions/{pk}/",                      "200 200 200 200 200 200 404 401", f"{EXECUTION}/"),
    row("POST", "executions/{pk}/cancel/",              "200 200 200 403 403 200 404 401", f"{EXECUTION}/cancel/"),
    row("POST", "executions/{pk}/retry/",               "202 202 202 403 403 202 404 401",
        "executions/{cancelled_execution}/retry/"),
    row("GET", "quota/",                                "200 200 200 200 200 200 200 401"),

    # Schedules: seen with the workflow; made, changed and removed by editor+.
    row("GET", "schedules/",                            "200 200 200 200 200 200 200 401"),
    row("POST", "schedules/",                           "201 201 403 403 403 403 404 401",
        body={"workflow": "{workflow}", "cron_expression": "0 4 * * *"}),
    row("GET", "schedules/preview/",                    "200 200 200 200 200 200 200 401",
        "schedules/preview/?cron=0+3+*+*+*&timezone=Europe/Paris&count=3"),
    row("GET", "schedules/{pk}/",                       "200 200 200 200 200 200 404 401", "schedules/{schedule}/"),
    row("PATCH", "schedules/{pk}/",                     "200 200 403 403 403 403 404 401", "schedules/{schedule}/",
        body={"enabled": False}),
    row("DELETE", "schedules/{pk}/",                    "204 204 403 403 403 403 404 401", "schedules/{schedule}/"),
]

ROWS += [
    # A workflow made from a template: viewer+ see where it stands, editor+ apply the newer version.
    row("GET", "workflows/{pk}/template/",              "200 200 200 200 200 200 404 401", f"{W}/template/"),
    row("POST", "workflows/{pk}/template/apply/",       "201 201 403 403 403 403 404 401", f"{W}/template/apply/",
        body={}),
    # Templates: system and public ones are everybody's to read and use, private ones their author's.
    row("GET", "templates/",                            "200 200 200 200 200 200 200 401"),
    row("POST", "templates/",                           "201 201 201 201 201 201 201 401",
        body={"name": "New", "definition": simple_definition("a")}),
    row("GET", "templates/{pk}/",                       "200 404 404 404 404 404 404 401", f"{TEMPLATE}/"),
    row("PUT", "templates/{pk}/",                       "200 404 404 404 404 404 404 401", f"{TEMPLATE}/",
        body={"name": "Replaced", "definition": simple_definition("b")}),
    row("PATCH", "templates/{pk}/",                     "200 404 404 404 404 404 404 401", f"{TEMPLATE}/",
        body={"name": "Renamed"}),
    row("DELETE", "templates/{pk}/",                    "204 404 404 404 404 404 404 401", f"{TEMPLATE}/"),
    row("GET", "templates/{pk}/versions/",              "200 404 404 404 404 404 404 401", f"{TEMPLATE}/versions/"),
    row("GET", "templates/{pk}/versions/{number}/",     "200 404 404 404 404 404 404 401", f"{TEMPLATE}/versions/1/"),
    row("POST", "templates/{pk}/instantiate/",          "201 404 404 404 404 404 404 401",
        f"{TEMPLATE}/instantiate/", body={"name": "From a template"}),
    row("GET", "templates/{pk}/",                       "200 200 200 200 200 200 200 401",
        "templates/{public_template}/", variant="public"),
    row("PATCH", "templates/{pk}/",                     "200 403 403 403 403 403 403 401",
        "templates/{public_template}/", body={"name": "Renamed"}, variant="public"),
    row("DELETE", "templates/{pk}/",                    "204 403 403 403 403 403 403 401",
        "templates/{public_template}/", variant="public"),
    row("POST", "templates/{pk}/instantiate/",          "201 201 201 201 201 201 201 401",
        "templates/{public_template}/instantiate/", body={}, variant="public"),
    row("GET", "templates/{pk}/",                       "200 200 200 200 200 200 200 401",
        "templates/{system_template}/", variant="system"),
    row("PATCH", "templates/{pk}/",                     "403 403 403 403 403 403 403 401",
        "templates/{system_template}/", body={"name": "Renamed"}, variant="system"),
    row("DELETE", "templates/{pk}/",                    "403 403 403 403 403 403 403 401",
        "templates/{system_template}/", variant="system"),
]
# fmt: on


# --- the routes, from the URL configuration ----------------------------------------------------------


def _normalized(route: str) -> str:
    """`^workflows/(?P<pk>[^/.]+)/$` and `workflows/<int:pk>/` both read `workflows/{pk}/`."""
    route = route.replace("^", "").replace("$", "")
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.callback


def _methods(callback) -> frozenset[str]:
    view_class = getattr(callback, "cls", None)
    actions = getattr(callback, "actions", None)
    if actions is not None:  # a ViewSet: the methods its router (or as_view) bound to actions
        # (DRF adds "head" to this dict on the first GET it serves, hence the ignored methods here too)
        names = set(actions) & set(view_class.http_method_names) - IGNORED_METHODS
        return frozenset(m.upper() for m in names)
    if view_class is not None:  # an APIView: the handlers it defines
        names = set(view_class.http_method_names) - IGNORED_METHODS
        return frozenset(m.upper() for m in names if hasattr(view_class, m))
    name = f"{callback.__module__}.{callback.__qualname__}"
    assert name in FUNCTION_VIEW_METHODS, f"function view {name}: add the methods it takes to FUNCTION_VIEW_METHODS"
    return FUNCTION_VIEW_METHODS[name]


def api_routes() -> dict[str, tuple[object, frozenset[str]]]:
    """Every API route (normalized) with its view and the methods it allows."""
    routes: dict[str, tuple[object, frozenset[str]]] = {}
    suffixed: list[tuple[str, object]] = []
    for full, callback in _walk(get_resolver().url_patterns):
        if not full.startswith(API):
            continue
        route = _normalized(full.removeprefix(API))
        if route in EXCLUDED_ROUTES:
            continue
        if "{format}" in route:  # the router's `.json` alias of a route: checked below, no row of its own
            suffixed.append((route, callback))
            continue
        routes[route] = (callback, _methods(callback))
    for route, callback in suffixed:
        canonical = route.replace(r"\.{format}/?", "/")
        assert canonical in routes, f"{route} is an alias of no route"
        assert _methods(callback) == routes[canonical][1], f"{route} allows other methods than {canonical}"
    return routes


def test_every_api_route_and_method_has_a_row():
    required = {(route, method) for route, (_, methods) in api_routes().items() for method in methods}
    covered = {(r.route, r.method) for r in ROWS}

    missing = sorted(required - covered)

    assert not missing, f"new endpoint without a row in the matrix: {missing}"


def test_every_row_names_a_route_that_exists():
    existing = {(route, method) for route, (_, methods) in api_routes().items() for method in methods}

    stale = sorted({(r.route, r.method) for r in ROWS} - existing)

    assert not stale, f"rows for routes or methods that no longer exist: {stale}"
    assert len({r.id for r in ROWS}) == len(ROWS), "two rows share a route, method and variant"


# --- the world -----------------------------------------------------------------------------------


def build_world() -> SimpleNamespace:
    """The owner's workflow with every kind of access to it, built as the API would build it."""
    users = {
        persona: UserFactory(username=name)
        for persona, name in [
            ("owner", "owner"),
            ("editor", "editor"),
            ("executor", "executor"),
            ("viewer", "viewer"),
            ("group", "member"),
            ("folder", "holder"),
            ("outsider", "outsider"),
        ]
    }
    owner = users["owner"]
    UserFactory(username="carol")  # whom the owner shares with or hands over to
    team = Group.objects.create(name="team")
    users["group"].groups.add(team)

    folder = workflow_services.folder_create(owner=owner, name=f"Ops {MARKER}")
    tag = workflow_services.tag_create(owner=owner, name=f"{MARKER}-tag")
    secret = workflow_services.secret_create(owner=owner, name="ZQX_TOKEN", value=SECRET_VALUE)
    ids = {"folder": folder.pk, "tag": tag.pk, "secret": secret.pk}

    public = template_services.template_create(
        author=owner, name="Public starter", definition=simple_definition("a"), visibility="public"
    )
    workflow = template_services.template_instantiate(
        template=public, user=owner, name=f"Orders {MARKER}", folder=folder
    )
    # A newer template version, so applying it is a real change.
    template_services.template_update(
        template=public, user=owner, data={"definition": simple_definition("a", "b")}, changelog="b"
    )
    private = template_services.template_create(
        author=owner, name=f"Private {MARKER}", definition=simple_definition("a")
    )
    # Loaded by a migration, but a transactional test elsewhere may have emptied the tables.
    load_system_templates()
    system = Template.objects.filter(scope=TemplateScope.SYSTEM).order_by("pk").first()
    ids |= {"public_template": public.pk, "template": private.pk, "system_template": system.pk}
    workflow_services.workflow_update(
        workflow=workflow,
        user=owner,
        data={"tags": [tag], "definition": simple_definition("a", "b"), "description": f"{MARKER} nightly"},
    )

    grants = {}
    for persona in ("editor", "executor", "viewer"):
        grants[persona] = sharing_services.grant_set(
            workflow=workflow, user=users[persona], role=persona, granted_by=owner
        )
    sharing_services.grant_set(workflow=workflow, group=team, role="viewer", granted_by=owner)
    folder_grant = sharing_services.grant_set(folder=folder, user=users["folder"], role="executor", granted_by=owner)
    link, link_token = sharing_services.share_link_create(
        workflow=workflow, created_by=owner, role="executor", label=f"{MARKER} link"
    )
    hook_token = execution_services.webhook_rotate(workflow=workflow)
    pending = execution_services.execution_start(
        workflow=workflow, trigger=Trigger.MANUAL, triggered_by=owner, input={"n": 1}, delay_s=3600
    )
    cancelled = execution_services.execution_start(
        workflow=workflow, trigger=Trigger.MANUAL, triggered_by=owner, input={"n": 2}, delay_s=3600
    )
    execution_services.execution_cancel(execution=cancelled)
    schedule = schedule_services.schedule_create(
        workflow=workflow, user=owner, data={"cron_expression": "0 3 * * *", "timezone": "Europe/Paris"}
    )

    ids |= {
        "workflow": workflow.pk,
        "grant": grants["viewer"].pk,
        "folder_grant": folder_grant.pk,
        "link": link.pk,
        "link_token": link_token,
        "hook_token": hook_token,
        "execution": pending.pk,
        "cancelled_execution": cancelled.pk,
        "schedule": schedule.pk,
    }
    clients = {}
    for persona in PERSONAS:
        clients[persona] = APIClient()
        if persona in users:
            clients[persona].force_authenticate(users[persona])
    return SimpleNamespace(ids=ids, clients=clients)


# What a refused request must leave as it was. Each table is compared whole (a digest of every
# row); when one differs, these key fields show what changed.
GUARDED = {
    "workflows.Workflow": (
        "owner_id", "folder_id", "name", "description", "version", "published_version", "max_concurrency",
    ),
    "workflows.Workflow_tags": ("workflow_id", "tag_id"),
    "workflows.WorkflowVersion": ("workflow_id", "number", "changelog"),
    "workflows.Folder": ("owner_id", "parent_id", "name"),
    "workflows.Tag": ("owner_id", "name", "colour"),
    "workflows.Secret": ("owner_id", "name", "description"),
    "sharing.Grant": ("workflow_id", "folder_id", "user_id", "group_id", "role"),
    "sharing.ShareLink": ("workflow_id", "role", "expires_at", "max_uses", "use_count", "revoked_at"),
    "sharing.AuditEvent": ("workflow_id", "actor_id", "action"),
    "sharing.WorkflowUserObjectPermission": ("content_object_id", "user_id", "permission_id"),
    "sharing.WorkflowGroupObjectPermission": ("content_object_id", "group_id", "permission_id"),
    "executions.Execution": ("workflow_id", "status", "trigger", "not_before", "cancel_requested", "retry_of_id"),
    "executions.WorkflowWebhook": ("workflow_id", "token_prefix"),
    "scheduling.ScheduledTask": ("workflow_id", "user_id", "cron_expression", "enabled", "next_run_time"),
    "templates_app.Template": ("author_id", "name", "visibility", "version", "usage_count"),
    "templates_app.TemplateVersion": ("template_id", "number"),
    "templates_app.TemplateLink": ("workflow_id", "template_id", "template_version"),
}  # fmt: skip


def _guarded_models():
    for label, fields in GUARDED.items():
        app_label, name = label.split(".")
        if name == "Workflow_tags":
            yield label, apps.get_model("workflows", "Workflow").tags.through, fields
        else:
            yield label, apps.get_model(app_label, name), fields


def digest() -> dict[str, tuple[int, str]]:
    """Row count and a digest of every column of every row, per guarded table, in one query."""
    parts, labels = [], []
    for label, model, _ in _guarded_models():
        table = connection.ops.quote_name(model._meta.db_table)
        parts.append(f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM {table} t")
        labels.append(label)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(f"({part})" for part in parts))
        return dict(zip(labels, cursor.fetchall(), strict=True))


def dump(labels) -> dict[str, set[tuple]]:
    return {
        label: set(model.objects.values_list("pk", *fields))
        for label, model, fields in _guarded_models()
        if label in labels
    }


def send(client: APIClient, row: Row, ids: dict):
    url = "/" + API + (row.url or row.route).format(**ids)
    body = "" if row.body is None else json.dumps(_filled(row.body, ids))
    return client.generic(row.method, url, body, "application/json")


def _filled(value, ids: dict):
    """The body with each "{name}" replaced by the world's id of that name."""
    if isinstance(value, dict):
        return {key: _filled(item, ids) for key, item in value.items()}
    if isinstance(value, str) and re.fullmatch(r"\{\w+\}", value):
        return ids[value[1:-1]]
    return value


# --- the matrix ----------------------------------------------------------------------------------


@pytest.fixture(scope="class")
def world(django_db_setup, django_db_blocker):
    """Built once inside a transaction rolled back after the last test of the class using it; each
    test runs in a savepoint of it (pytest-django's own), each persona's request in one more."""
    with django_db_blocker.unblock(), transaction.atomic():
        with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
            built = build_world()
        yield built
        transaction.set_rollback(True)


class TestInTheWorld:
    """The tests that share one world. A class, so that the world's transaction ends with its last
    test: pytest-django runs transactional tests (the one below) after all others, and they need
    the connection outside any transaction."""

    @pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
    def test_each_persona_gets_exactly_its_status(self, row, world, fast_password_hasher):
        url = (row.url or row.route).format(**world.ids)
        reached = _normalized(resolve("/" + API + url.split("?")[0]).route).removeprefix(API)
        assert reached == row.route, f"the row's url reaches {reached}"
        # The login throttle counts by address across tests; the sign-in row signs in once per persona.
        cache.delete("throttle_login_127.0.0.1")
        before = digest()
        answers, changed, leaked = {}, {}, {}

        for persona in PERSONAS:
            after = None
            with transaction.atomic():  # a savepoint: every persona meets the same world
                response = send(world.clients[persona], row, world.ids)
                answers[persona] = response.status_code
                if response.status_code >= 400 and digest() != before:
                    after = dump([label for label, state in digest().items() if state != before[label]])
                transaction.set_rollback(True)
            if after is not None:
                was = dump(after)  # the savepoint is rolled back: this is the world as it was
                changed[persona] = {
                    label: {"gone": sorted(was[label] - rows), "new": sorted(rows - was[label])}
                    for label, rows in after.items()
                }
            content = response.content.decode()
            if SECRET_VALUE in content or (
                persona in ("outsider", "anon") and not row.public and MARKER in content.lower()
            ):
                leaked[persona] = content[:300]

        assert answers == row.expected
        assert not changed, f"refused requests changed data: {changed}"
        assert not leaked, f"responses showed what the caller may not see: {leaked}"

    @pytest.mark.parametrize("path", ["executions/", "schedules/"])
    def test_filtering_by_a_workflow_one_cannot_see_answers_like_filtering_by_a_missing_one(self, path, world):
        outsider, owner = world.clients["outsider"], world.clients["owner"]

        hidden = outsider.get(f"/{API}{path}", {"workflow": world.ids["workflow"]})
        missing = outsider.get(f"/{API}{path}", {"workflow": 2**31 - 1})
        own = owner.get(f"/{API}{path}", {"workflow": world.ids["workflow"]})

        empty = {"count": 0, "next": None, "previous": None, "results": []}
        assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json()) == (200, empty)
        assert own.json()["count"] == {"executions/": 2, "schedules/": 1}[path]


# --- concurrency ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_revocation_during_a_concurrent_sync_of_the_same_workflows_takes_the_access_away(fast_password_hasher):
    # given a folder shared with bob, and another transaction that has just re-synced its workflows
    owner, bob = UserFactory(username="owner"), UserFactory(username="bob")
    folder = workflow_services.folder_create(owner=owner, name="Shared")
    workflows = [
        workflow_services.workflow_create(owner=owner, name=f"W{n}", definition=simple_definition(), folder=folder)
        for n in range(3)
    ]
    grant = sharing_services.grant_set(folder=folder, user=bob, role="viewer", granted_by=owner)
    synced, release, failures = threading.Event(), threading.Event(), []

    def concurrent_sync():
        try:
            with transaction.atomic():
                sharing_services.workflow_permissions_sync(workflow_ids=[w.pk for w in workflows])
                synced.set()
                release.wait(30)
        finally:
            connection.close()

    other = threading.Thread(target=concurrent_sync)
    other.start()
    assert synced.wait(30)

    # when the owner revokes the share meanwhile (the sync commits a moment later)
    threading.Timer(0.3, release.set).start()
    try:
        sharing_services.grant_revoke(grant=grant, revoked_by=owner)
    except Exception as exc:  # before the sync locked its workflows: the unique constraint, as a 500
        failures.append(exc)
    finally:
        release.set()
        other.join(30)

    # then the revocation went through and bob holds nothing
    assert failures == []
    assert not Grant.objects.exists()
    assert not WorkflowUserObjectPermission.objects.filter(user=bob).exists()

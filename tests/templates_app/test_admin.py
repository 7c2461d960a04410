"""The templates admin: browse, edit a user template through its service (a version per content
change), system templates read-only, reload them from their files, and the workflow links."""

import json

import pytest
from django.urls import reverse

from templates_app.models import Template, TemplateLink
from templates_app.services import template_instantiate
from templates_app.system import load_system_templates, unload_system_templates
from tests.factories import TemplateFactory, UserFactory

pytestmark = [pytest.mark.django_db]

URL_PARAMETER = {"name": "url", "type": "url", "label": "URL", "default": None, "required": True, "description": ""}
DEFINITION = {
    "nodes": [{"id": "call", "type": "http_request", "params": {"method": "GET", "url": "{{ params.url }}"}}],
    "edges": [],
    "settings": {},
}


def changelist(model) -> str:
    return reverse(f"admin:templates_app_{model._meta.model_name}_changelist")


def change(obj) -> str:
    return reverse(f"admin:templates_app_{obj._meta.model_name}_change", args=[obj.pk])


def form_data(response, **changes) -> dict:
    """The POST a browser would send for the change form in `response`, with `changes` applied."""
    data = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None:
            continue
        data[name] = (
            field.prepare_value(value) if isinstance(value, dict | list) and name != "shared_with_users" else value
        )
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
        for inline_form in formset.forms:
            for name in inline_form.fields:
                value = inline_form[name].value()
                if value is not None:
                    data[inline_form.add_prefix(name)] = value
    data.update(changes)
    return data


@pytest.fixture
def template(db):
    alice = UserFactory(username="alice")
    return TemplateFactory(
        author=alice, name="Poller", definition=DEFINITION, parameters=[URL_PARAMETER], tags=["http"]
    )


@pytest.fixture
def system(db):
    load_system_templates()
    return Template.objects.get(system_key="poll-api-alert")


def test_the_changelist_filters_by_scope_and_searches(admin_client, template, system):
    response = admin_client.get(changelist(Template), {"scope__exact": "system", "q": "poll"})

    assert response.status_code == 200
    assert [str(obj) for obj in response.context["cl"].result_list] == ["Poll an HTTP API and alert on a condition"]


def test_editing_a_user_templates_definition_adds_a_version(admin_client, template):
    page = admin_client.get(change(template))
    new_definition = {**DEFINITION, "settings": {"timeout_s": 30}}

    response = admin_client.post(
        change(template),
        form_data(
            page,
            name="Poller v2",
            definition=json.dumps(new_definition),
            tags_text="http, uptime",
            changelog="Time limit",
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    template.refresh_from_db()
    assert (template.name, template.version, template.definition) == ("Poller v2", 2, new_definition)
    assert template.versions.get(number=2).changelog == "Time limit"
    assert sorted(template.tags.values_list("name", flat=True)) == ["http", "uptime"]


def test_editing_only_the_name_adds_no_version(admin_client, template):
    page = admin_client.get(change(template))

    response = admin_client.post(change(template), form_data(page, name="Renamed"))

    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.name, template.version, template.versions.count()) == ("Renamed", 1, 1)


def test_an_invalid_definition_is_a_form_error_and_changes_nothing(admin_client, template):
    page = admin_client.get(change(template))

    response = admin_client.post(change(template), form_data(page, parameters="[]"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["definition"] == [
        "nodes[0].params.url: 'url' is not a parameter of this template; declare it in 'parameters'"
    ]
    template.refresh_from_db()
    assert (template.version, template.parameters) == (1, [URL_PARAMETER])


def test_a_system_template_can_be_viewed_but_not_changed_or_deleted(admin_client, system):
    page = admin_client.get(change(system))
    post = admin_client.post(change(system), {"name": "Hijacked"})
    delete = admin_client.post(reverse("admin:templates_app_template_delete", args=[system.pk]), {"post": "yes"})

    assert page.status_code == 200
    assert "Poll an HTTP API and alert on a condition" in page.text
    assert (post.status_code, delete.status_code) == (403, 403)
    system.refresh_from_db()
    assert system.name == "Poll an HTTP API and alert on a condition"


def test_the_load_action_reloads_the_system_templates(admin_client, template):
    unload_system_templates()

    response = admin_client.post(
        changelist(Template), {"action": "load_system_templates", "_selected_action": [template.pk]}, follow=True
    )

    assert response.status_code == 200
    assert Template.objects.filter(scope="system").count() >= 10
    assert "system templates loaded" in response.text


def test_the_make_private_action_takes_templates_off_the_marketplace(admin_client, template, system):
    Template.objects.filter(pk=template.pk).update(visibility="public")

    admin_client.post(changelist(Template), {"action": "make_private", "_selected_action": [template.pk, system.pk]})

    template.refresh_from_db()
    system.refresh_from_db()
    assert (template.visibility, system.visibility) == ("private", "public")


def test_the_link_admin_lists_which_workflows_came_from_which_version(admin_client, template):
    bob = UserFactory(username="bob")
    Template.objects.filter(pk=template.pk).update(visibility="public")
    template.refresh_from_db()
    workflow = template_instantiate(template=template, user=bob, params={"url": "https://x.example"})
    link = TemplateLink.objects.get(workflow=workflow)

    listing = admin_client.get(changelist(TemplateLink), {"q": "Poller"})
    detail = admin_client.get(change(link))
    add = admin_client.get(reverse("admin:templates_app_templatelink_add"))

    assert [str(obj) for obj in listing.context["cl"].result_list] == [f"workflow {workflow.pk} ← Poller v1"]
    assert detail.status_code == 200 and "https://x.example" in detail.text
    assert add.status_code == 403

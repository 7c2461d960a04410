import pytest
from django.urls import reverse

from sharing.models import AuditEvent, UserQuota
from sharing.services import grant_set, share_link_create
from tests.factories import simple_definition
from workflows.services import workflow_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(alice, bob):
    workflow = workflow_create(owner=alice, name="Orders", definition=simple_definition())
    grant_set(workflow=workflow, user=bob, role="viewer", granted_by=alice)
    link, token = share_link_create(workflow=workflow, created_by=alice, role="viewer")
    return workflow, link, token


@pytest.mark.parametrize("model", ["userquota", "grant", "sharelink", "auditevent"])
def test_every_sharing_list_answers(admin_client, shared, model):
    assert admin_client.get(reverse(f"admin:sharing_{model}_changelist")).status_code == 200


def test_a_quota_override_is_edited_in_the_admin(admin_client, alice):
    response = admin_client.post(
        reverse("admin:sharing_userquota_add"),
        {"user": alice.pk, "max_running": 2, "max_executions_per_day": "", "max_workflows": "", "max_schedules": ""},
    )

    assert response.status_code == 302
    assert UserQuota.objects.get(user=alice).max_running == 2


def test_the_audit_log_cannot_be_edited_or_deleted_even_by_a_superuser(admin_client, shared):
    event = AuditEvent.objects.first()

    assert (
        admin_client.post(reverse("admin:sharing_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert admin_client.post(reverse("admin:sharing_auditevent_change", args=[event.pk]), {}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_a_share_link_page_never_shows_the_token_or_its_digest(admin_client, shared):
    _, link, token = shared

    page = admin_client.get(reverse("admin:sharing_sharelink_change", args=[link.pk])).content.decode()

    assert token not in page
    assert link.token_digest not in page

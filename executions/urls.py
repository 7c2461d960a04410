from django.urls import path
from rest_framework.routers import DefaultRouter

from executions.views import (
    ExecutionViewSet,
    HookView,
    QuotaView,
    SharedWorkflowRunView,
    SharedWorkflowView,
    WorkflowRunView,
    WorkflowWebhookView,
)

router = DefaultRouter()
router.include_root_view = False
router.register("executions", ExecutionViewSet, basename="execution")

urlpatterns = [
    path("workflows/<int:workflow_pk>/run/", WorkflowRunView.as_view(), name="workflow-run"),
    path("workflows/<int:workflow_pk>/webhook/", WorkflowWebhookView.as_view(), name="workflow-webhook"),
    path("hooks/<str:token>/", HookView.as_view(), name="hook"),
    path("quota/", QuotaView.as_view(), name="quota"),
    path("share-links/<str:token>/", SharedWorkflowView.as_view(), name="shared-workflow"),
    path("share-links/<str:token>/run/", SharedWorkflowRunView.as_view(), name="shared-workflow-run"),
    *router.urls,
]

from django.urls import path
from rest_framework.routers import DefaultRouter

from executions.views import ExecutionViewSet, HookView, WorkflowWebhookView, workflow_run

router = DefaultRouter()
router.include_root_view = False
router.register("executions", ExecutionViewSet, basename="execution")

urlpatterns = [
    path("workflows/<int:pk>/run/", workflow_run, name="workflow-run"),
    path("workflows/<int:pk>/webhook/", WorkflowWebhookView.as_view(), name="workflow-webhook"),
    path("hooks/<str:token>/", HookView.as_view(), name="hook"),
    *router.urls,
]

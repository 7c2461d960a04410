from django.urls import path
from rest_framework.routers import DefaultRouter

from templates_app.views import TemplateViewSet, WorkflowTemplateLinkViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("templates", TemplateViewSet, basename="template")

urlpatterns = [
    path(
        "workflows/<int:pk>/template/",
        WorkflowTemplateLinkViewSet.as_view({"get": "retrieve"}),
        name="workflow-template",
    ),
    path(
        "workflows/<int:pk>/template/apply/",
        WorkflowTemplateLinkViewSet.as_view({"post": "apply"}),
        name="workflow-template-apply",
    ),
    *router.urls,
]

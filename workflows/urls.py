from django.urls import path
from rest_framework.routers import DefaultRouter

from workflows.share_views import (
    AuditLogView,
    FolderGrantViewSet,
    ShareLinkViewSet,
    TransferView,
    WorkflowGrantViewSet,
)
from workflows.views import FolderViewSet, SecretViewSet, TagViewSet, WorkflowViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("folders", FolderViewSet, basename="folder")
router.register("tags", TagViewSet, basename="tag")
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("secrets", SecretViewSet, basename="secret")

LIST = {"get": "list", "post": "create"}
DETAIL = {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}

urlpatterns = [
    *router.urls,
    path("workflows/<int:workflow_pk>/shares/", WorkflowGrantViewSet.as_view(LIST), name="workflow-shares"),
    path("workflows/<int:workflow_pk>/shares/<int:pk>/", WorkflowGrantViewSet.as_view(DETAIL), name="workflow-share"),
    path("folders/<int:folder_pk>/shares/", FolderGrantViewSet.as_view(LIST), name="folder-shares"),
    path("folders/<int:folder_pk>/shares/<int:pk>/", FolderGrantViewSet.as_view(DETAIL), name="folder-share"),
    path("workflows/<int:workflow_pk>/share-links/", ShareLinkViewSet.as_view(LIST), name="workflow-share-links"),
    path(
        "workflows/<int:workflow_pk>/share-links/<int:pk>/",
        ShareLinkViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
        name="workflow-share-link",
    ),
    path("workflows/<int:workflow_pk>/audit/", AuditLogView.as_view({"get": "list"}), name="workflow-audit"),
    path("workflows/<int:workflow_pk>/transfer/", TransferView.as_view(), name="workflow-transfer"),
]

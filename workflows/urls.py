from rest_framework.routers import DefaultRouter

from workflows.views import FolderViewSet, SecretViewSet, TagViewSet, WorkflowViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("folders", FolderViewSet, basename="folder")
router.register("tags", TagViewSet, basename="tag")
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("secrets", SecretViewSet, basename="secret")

urlpatterns = router.urls

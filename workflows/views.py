from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from sharing.permissions import HasObjectRole
from sharing.roles import Role
from workflows import selectors, services
from workflows.filters import FolderFilter, WorkflowFilter
from workflows.models import Folder, Secret, Tag, Workflow
from workflows.serializers import (
    FolderDeleteQuerySerializer,
    FolderSerializer,
    SecretSerializer,
    SecretUpdateSerializer,
    TagSerializer,
    VersionDiffQuerySerializer,
    VersionDiffSerializer,
    WorkflowInputSerializer,
    WorkflowListSerializer,
    WorkflowSerializer,
    WorkflowVersionListSerializer,
    WorkflowVersionSerializer,
)
from workflows.share_views import visible_workflow_or_404

VERSION_NUMBER = r"versions/(?P<number>[0-9]+)"


class FolderViewSet(viewsets.ModelViewSet):
    """The caller's folder tree; `parent` is null at the top."""

    queryset = Folder.objects.none()  # only tells the schema the model; get_queryset scopes to the caller
    serializer_class = FolderSerializer
    filterset_class = FolderFilter

    def get_queryset(self):
        return selectors.folders_of(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.folder_create(owner=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.folder_update(folder=serializer.instance, data=serializer.validated_data)

    @extend_schema(responses=WorkflowListSerializer(many=True))
    @action(detail=False, methods=["get"], url_path="shared-with-me", filterset_class=None)
    def shared_with_me(self, request):
        """The virtual folder "Shared with me": workflows others shared with the caller, with the caller's role."""
        shared = selectors.workflows_visible_to(user=request.user).exclude(owner=request.user).defer("definition")
        page = self.paginate_queryset(shared)
        return self.get_paginated_response(WorkflowListSerializer(page, many=True).data)

    @extend_schema(parameters=[FolderDeleteQuerySerializer])
    def destroy(self, request, *args, **kwargs):
        options = FolderDeleteQuerySerializer(data=request.query_params)
        options.is_valid(raise_exception=True)
        services.folder_delete(folder=self.get_object(), move_content_to_parent=options.validated_data["move_content"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class TagViewSet(viewsets.ModelViewSet):
    """The caller's tags."""

    queryset = Tag.objects.none()  # only tells the schema the model; get_queryset scopes to the caller
    serializer_class = TagSerializer

    def get_queryset(self):
        return selectors.tags_of(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.tag_create(owner=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.tag_update(tag=serializer.instance, data=serializer.validated_data)


@extend_schema_view(
    create=extend_schema(request=WorkflowInputSerializer, responses={201: WorkflowSerializer}),
    update=extend_schema(request=WorkflowInputSerializer, responses={200: WorkflowSerializer}),
    partial_update=extend_schema(request=WorkflowInputSerializer, responses={200: WorkflowSerializer}),
)
class WorkflowViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Workflows the caller can see, with their versions. Saving a changed definition creates a version."""

    queryset = Workflow.objects.none()  # only tells the schema the model; get_queryset scopes to the caller
    permission_classes = [IsAuthenticated, HasObjectRole]
    filterset_class = WorkflowFilter
    required_roles = {
        "update": Role.EDITOR,
        "partial_update": Role.EDITOR,
        "rollback": Role.EDITOR,
        "destroy": Role.OWNER,
        "publish": Role.OWNER,
    }

    def get_queryset(self):
        visible = selectors.workflows_visible_to(user=self.request.user)
        return visible.defer("definition") if self.action == "list" else visible

    def get_object(self):
        # One workflow: two index lookups instead of planning the visibility query (see the selector).
        workflow = visible_workflow_or_404(self.request, self.kwargs["pk"])
        self.check_object_permissions(self.request, workflow)
        return workflow

    def get_serializer_class(self):
        return WorkflowListSerializer if self.action == "list" else WorkflowSerializer

    def _workflow_response(self, workflow, status_code=status.HTTP_200_OK) -> Response:
        # Re-read through the selector so the answer carries the caller's role and fresh tags.
        workflow = selectors.workflow_visible_to(user=self.request.user, pk=workflow.pk)
        return Response(WorkflowSerializer(workflow, context=self.get_serializer_context()).data, status=status_code)

    def create(self, request, *args, **kwargs):
        data = WorkflowInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields.setdefault("definition", {"nodes": [], "edges": [], "settings": {}})
        workflow = services.workflow_create(owner=request.user, **fields)
        return self._workflow_response(workflow, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        workflow = self.get_object()
        data = WorkflowInputSerializer(
            data=request.data, partial=partial, full_update=not partial, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        changelog = changes.pop("changelog", "")
        services.workflow_update(workflow=workflow, user=request.user, data=changes, changelog=changelog)
        return self._workflow_response(workflow)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def perform_destroy(self, instance):
        services.workflow_delete(workflow=instance, user=self.request.user)

    @extend_schema(responses=WorkflowVersionListSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None)
    def versions(self, request, pk=None):
        workflow = self.get_object()
        page = self.paginate_queryset(selectors.workflow_versions(workflow=workflow).defer("definition"))
        serializer = WorkflowVersionListSerializer(page, many=True, context={"workflow": workflow})
        return self.get_paginated_response(serializer.data)

    @extend_schema(responses=WorkflowVersionSerializer)
    @action(detail=True, methods=["get"], url_path=VERSION_NUMBER, filterset_class=None)
    def version(self, request, pk=None, number=None):
        workflow = self.get_object()
        version = selectors.workflow_version(workflow=workflow, number=int(number))
        return Response(WorkflowVersionSerializer(version, context={"workflow": workflow}).data)

    @extend_schema(request=None, responses={201: WorkflowVersionSerializer})
    @action(detail=True, methods=["post"], url_path=f"{VERSION_NUMBER}/rollback", filterset_class=None)
    def rollback(self, request, pk=None, number=None):
        workflow = self.get_object()
        version = services.workflow_rollback(workflow=workflow, user=request.user, number=int(number))
        workflow.refresh_from_db(fields=["published_version"])
        serializer = WorkflowVersionSerializer(version, context={"workflow": workflow})
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=WorkflowSerializer)
    @action(detail=True, methods=["post"], url_path=f"{VERSION_NUMBER}/publish", filterset_class=None)
    def publish(self, request, pk=None, number=None):
        workflow = self.get_object()
        services.workflow_publish(workflow=workflow, user=request.user, number=int(number))
        return self._workflow_response(workflow)

    @extend_schema(
        parameters=[
            OpenApiParameter("from", int, required=True, description="The older version number."),
            OpenApiParameter("to", int, required=True, description="The newer version number."),
        ],
        responses=VersionDiffSerializer,
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def diff(self, request, pk=None):
        workflow = self.get_object()
        query = VersionDiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        numbers = query.validated_data
        diff = selectors.workflow_version_diff(workflow=workflow, old_number=numbers["from_"], new_number=numbers["to"])
        return Response(diff)


# --- Secrets --------------------------------------------------------------------------------------


@extend_schema_view(
    update=extend_schema(request=SecretUpdateSerializer, responses=SecretSerializer),
    partial_update=extend_schema(request=SecretUpdateSerializer, responses=SecretSerializer),
)
# A form-encoded body lands in request.POST, which Django's error reports would otherwise show.
@method_decorator(sensitive_post_parameters("value"), name="dispatch")
class SecretViewSet(viewsets.ModelViewSet):
    """The caller's secrets. A value is written on create (or to replace it) and never returned."""

    queryset = Secret.objects.none()  # only tells the schema the model; get_queryset scopes to the caller
    serializer_class = SecretSerializer

    def get_queryset(self):
        return selectors.secrets_of(user=self.request.user)

    def get_serializer_class(self):
        return SecretUpdateSerializer if self.action in ("update", "partial_update") else SecretSerializer

    def perform_create(self, serializer):
        serializer.instance = services.secret_create(owner=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.secret_update(secret=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance):
        services.secret_delete(secret=instance)

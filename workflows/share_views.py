"""Sharing a workflow or a folder: grants, share links, the audit log, transfer of ownership."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from sharing import selectors as sharing_selectors
from sharing import services as sharing_services
from sharing.models import AuditEvent, Grant, ShareLink
from sharing.roles import Role, role_at_least
from workflows import selectors, services
from workflows.models import Workflow
from workflows.serializers import WorkflowSerializer
from workflows.share_serializers import (
    AuditEventSerializer,
    GrantRoleSerializer,
    GrantSerializer,
    ShareLinkCreatedSerializer,
    ShareLinkSerializer,
    TransferSerializer,
)


def visible_workflow_or_404(request, pk):
    """The workflow with the caller's `role`; 404, the same for missing and invisible, otherwise."""
    workflow = selectors.workflow_visible_to(user=request.user, pk=pk)
    if workflow is None:
        raise Http404(f"No {Workflow._meta.object_name} matches the given query.")
    return workflow


class WorkflowFromUrl:
    """For views under `workflows/{workflow_pk}/`: a workflow the caller cannot see is 404; one the
    caller sees with a role below `required_role` is 403."""

    required_role: str = Role.OWNER
    permission_classes = [IsAuthenticated]

    def get_workflow(self):
        if not hasattr(self, "_workflow"):
            workflow = visible_workflow_or_404(self.request, self.kwargs["workflow_pk"])
            if not role_at_least(workflow.role, self.required_role):
                raise PermissionDenied(f"Only a workflow's {self.required_role} may do this.")
            self._workflow = workflow
        return self._workflow


class GrantViewSetBase(viewsets.ModelViewSet):
    """Shares of one target; subclasses say which with `target()` (workflow= or folder=)."""

    serializer_class = GrantSerializer
    permission_classes = [IsAuthenticated]
    queryset = Grant.objects.none()
    http_method_names = ["get", "post", "patch", "delete"]

    def create(self, request, *args, **kwargs):
        target = self.target()  # 404 or 403 before anything in the body is looked at
        data = GrantSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = sharing_services.grant_set(
            role=data.validated_data["role"],
            granted_by=request.user,
            user=data.validated_data.get("user"),
            group=data.validated_data.get("group"),
            **target,
        )
        return Response(GrantSerializer(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=GrantRoleSerializer)
    def partial_update(self, request, *args, **kwargs):
        grant = self.get_object()
        data = GrantRoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = sharing_services.grant_set(
            role=data.validated_data["role"],
            granted_by=request.user,
            user=grant.user,
            group=grant.group,
            **self.target(),
        )
        return Response(GrantSerializer(grant).data)

    def perform_destroy(self, grant):
        sharing_services.grant_revoke(grant=grant, revoked_by=self.request.user)


class WorkflowGrantViewSet(WorkflowFromUrl, GrantViewSetBase):
    """`workflows/{id}/shares/`: who else has a role on this workflow (owner only)."""

    def target(self) -> dict:
        return {"workflow": self.get_workflow()}

    def get_queryset(self):
        return sharing_selectors.grants_on_workflow(workflow=self.get_workflow())


class FolderGrantViewSet(GrantViewSetBase):
    """`folders/{id}/shares/`: a role on every workflow in the folder and below, present and future."""

    def get_folder(self):
        return get_object_or_404(selectors.folders_of(user=self.request.user), pk=self.kwargs["folder_pk"])

    def target(self) -> dict:
        return {"folder": self.get_folder()}

    def get_queryset(self):
        return sharing_selectors.grants_on_folder(folder=self.get_folder())


class ShareLinkViewSet(
    WorkflowFromUrl,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """`workflows/{id}/share-links/`: links that let anyone holding them view or run the workflow."""

    serializer_class = ShareLinkSerializer
    queryset = ShareLink.objects.none()

    def get_queryset(self):
        return sharing_selectors.share_links_of(workflow=self.get_workflow())

    @extend_schema(responses={201: ShareLinkCreatedSerializer})
    def create(self, request, *args, **kwargs):
        workflow = self.get_workflow()  # 404 or 403 before anything in the body is looked at
        data = ShareLinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        link, token = sharing_services.share_link_create(
            workflow=workflow, created_by=request.user, **data.validated_data
        )
        link.token = token
        link.url = request.build_absolute_uri(f"/api/v1/share-links/{token}/")
        return Response(ShareLinkCreatedSerializer(link).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, link):
        sharing_services.share_link_revoke(link=link, revoked_by=self.request.user)


class AuditLogView(WorkflowFromUrl, mixins.ListModelMixin, viewsets.GenericViewSet):
    """`workflows/{id}/audit/`: who shared, published, rolled back, used a link (owner only)."""

    serializer_class = AuditEventSerializer
    queryset = AuditEvent.objects.none()

    def get_queryset(self):
        return sharing_selectors.audit_events_of(workflow_id=self.get_workflow().pk)


class TransferView(WorkflowFromUrl, APIView):
    """`workflows/{id}/transfer/`: hand the workflow to another user (owner only)."""

    @extend_schema(request=TransferSerializer, responses=WorkflowSerializer)
    def post(self, request, workflow_pk: int):
        workflow = self.get_workflow()  # 404 or 403 before anything in the body is looked at
        data = TransferSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workflow = services.workflow_transfer(workflow=workflow, new_owner=data.validated_data["user"], by=request.user)
        visible = selectors.workflow_visible_to(user=request.user, pk=workflow.pk)
        return Response(WorkflowSerializer(visible, context={"request": request}).data)

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from sharing.permissions import HasObjectRole
from sharing.roles import Role
from templates_app import selectors, services
from templates_app.filters import TemplateFilter
from templates_app.models import Template
from templates_app.serializers import (
    ApplyInputSerializer,
    InstantiateInputSerializer,
    TemplateInputSerializer,
    TemplateLinkAppliedSerializer,
    TemplateLinkSerializer,
    TemplateListSerializer,
    TemplateSerializer,
    TemplateVersionListSerializer,
    TemplateVersionSerializer,
)
from workflows.models import Workflow
from workflows.selectors import workflow_visible_to, workflows_visible_to
from workflows.serializers import WorkflowSerializer

VERSION_NUMBER = r"versions/(?P<number>[0-9]+)"


class IsTemplateAuthor(BasePermission):
    """Changing or deleting a template is for its author; system templates are read-only to everybody.

    Templates the caller cannot see never get here (the queryset leaves them out: 404).
    """

    AUTHOR_ONLY = frozenset({"update", "partial_update", "destroy"})

    def has_object_permission(self, request, view, obj: Template) -> bool:
        if view.action not in self.AUTHOR_ONLY:
            return True
        if obj.is_system:
            self.message = "System templates are read-only."
            return False
        if obj.author_id != request.user.pk:
            self.message = "Only the template's author can change it."
            return False
        return True


@extend_schema_view(
    create=extend_schema(request=TemplateInputSerializer, responses={201: TemplateSerializer}),
    update=extend_schema(request=TemplateInputSerializer, responses={200: TemplateSerializer}),
    partial_update=extend_schema(request=TemplateInputSerializer, responses={200: TemplateSerializer}),
)
class TemplateViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """System templates, yours, those shared with you and the public marketplace; instantiate one into a workflow."""

    queryset = Template.objects.none()  # only tells the schema the model; get_queryset scopes to the caller
    permission_classes = [IsAuthenticated, IsTemplateAuthor]
    filterset_class = TemplateFilter

    def get_queryset(self):
        visible = selectors.templates_visible_to(user=self.request.user)
        if self.action == "list":
            return visible.defer("definition", "parameters")
        return visible.prefetch_related("shared_with_users", "shared_with_groups")

    def get_serializer_class(self):
        return TemplateListSerializer if self.action == "list" else TemplateSerializer

    def _template_response(self, template: Template, status_code=status.HTTP_200_OK) -> Response:
        # Re-read so the answer shows the saved tags and shares.
        template = self.get_queryset().get(pk=template.pk)
        return Response(TemplateSerializer(template, context=self.get_serializer_context()).data, status=status_code)

    def create(self, request, *args, **kwargs):
        data = TemplateInputSerializer(data=request.data, creating=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if "workflow" in fields:
            template = services.template_create_from_workflow(
                author=request.user, workflow_id=fields.pop("workflow"), version=fields.pop("version", None), **fields
            )
        else:
            template = services.template_create(author=request.user, **fields)
        return self._template_response(template, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        template = self.get_object()
        data = TemplateInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        changelog = changes.pop("changelog", "")
        services.template_update(template=template, user=request.user, data=changes, changelog=changelog)
        return self._template_response(template)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def perform_destroy(self, instance):
        services.template_delete(template=instance)

    @extend_schema(responses=TemplateVersionListSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None)
    def versions(self, request, pk=None):
        template = self.get_object()
        page = self.paginate_queryset(selectors.template_versions(template=template).defer("definition", "parameters"))
        return self.get_paginated_response(TemplateVersionListSerializer(page, many=True).data)

    @extend_schema(responses=TemplateVersionSerializer)
    @action(detail=True, methods=["get"], url_path=VERSION_NUMBER, filterset_class=None)
    def version(self, request, pk=None, number=None):
        version = selectors.template_version(template=self.get_object(), number=int(number))
        return Response(TemplateVersionSerializer(version).data)

    @extend_schema(request=InstantiateInputSerializer, responses={201: WorkflowSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def instantiate(self, request, pk=None):
        template = self.get_object()
        data = InstantiateInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        workflow = services.template_instantiate(template=template, user=request.user, **data.validated_data)
        # Re-read through the selector so the answer carries the caller's role, as workflows/ answers do.
        workflow = workflow_visible_to(user=request.user, pk=workflow.pk)
        return Response(
            WorkflowSerializer(workflow, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )


class WorkflowTemplateLinkViewSet(viewsets.GenericViewSet):
    """`workflows/{id}/template/`: the template a workflow came from, whether it has a newer version
    and what that changes; `…/apply/` makes that version the workflow's next one."""

    queryset = Workflow.objects.none()  # only tells the schema the model; get_queryset scopes to the caller
    permission_classes = [IsAuthenticated, HasObjectRole]
    required_roles = {"apply": Role.EDITOR}
    filterset_class = None
    pagination_class = None

    def get_queryset(self):
        return workflows_visible_to(user=self.request.user)

    def _link(self):
        workflow = self.get_object()
        link = selectors.template_link_of(workflow=workflow)
        if link is None:
            raise NotFound("This workflow was not made from a template.")
        link.workflow = workflow
        return link

    @extend_schema(responses=TemplateLinkSerializer)
    def retrieve(self, request, pk=None):
        status_body = selectors.template_link_status(link=self._link(), user=request.user)
        return Response(TemplateLinkSerializer(status_body).data)

    @extend_schema(request=ApplyInputSerializer, responses={201: TemplateLinkAppliedSerializer})
    def apply(self, request, pk=None):
        link = self._link()
        data = ApplyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        link = services.template_link_apply(link=link, user=request.user, **data.validated_data)
        link.workflow.refresh_from_db(fields=["version", "definition"])
        body = {
            **selectors.template_link_status(link=link, user=request.user),
            "workflow_version": link.workflow.version,
        }
        return Response(TemplateLinkAppliedSerializer(body).data, status=status.HTTP_201_CREATED)

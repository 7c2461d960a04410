from functools import partial

from channels.db import database_sync_to_async
from django.conf import settings
from django.http import Http404, JsonResponse
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from executions import live, selectors, services
from executions.models import Execution, ExecutionStatus, Trigger
from executions.serializers import (
    ExecutionListSerializer,
    ExecutionSerializer,
    QuotaSerializer,
    RunAcceptedSerializer,
    RunInputSerializer,
    SharedWorkflowSerializer,
    WebhookAcceptedSerializer,
    WebhookSerializer,
    run_accepted,
)
from sharing import services as sharing_services
from sharing.permissions import HasObjectRole
from sharing.roles import Role, role_at_least
from sharing.selectors import link_digest
from structforge.http import respond_later
from workflows.share_views import WorkflowFromUrl


class WorkflowRunView(WorkflowFromUrl, APIView):
    required_role = Role.EXECUTOR

    @extend_schema(request=RunInputSerializer, responses={200: ExecutionSerializer, 202: RunAcceptedSerializer})
    def post(self, request, workflow_pk: int):
        workflow = self.get_workflow()
        data = RunInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The dashboard signs in with a session; everything else is a client of the REST API.
        trigger = Trigger.MANUAL if isinstance(request.successful_authenticator, SessionAuthentication) else Trigger.API
        execution = services.execution_start(
            workflow=workflow,
            trigger=trigger,
            triggered_by=request.user,
            input=data.validated_data["input"],
            delay_s=data.validated_data["delay_s"],
        )
        response = Response(run_accepted(execution), status=status.HTTP_202_ACCEPTED)
        if data.validated_data["mode"] == "sync":
            # Waiting holds no thread and no database connection (structforge.http).
            return respond_later(request, response, partial(_finished_run, execution.pk))
        return response


async def _finished_run(execution_id: int) -> JsonResponse | None:
    """The finished execution (200), or None to answer 202 when STRUCTFORGE_SYNC_WAIT_S runs out."""
    if not await live.wait_finished(execution_id, settings.STRUCTFORGE_SYNC_WAIT_S):
        return None
    return await database_sync_to_async(_finished_execution_response)(execution_id)


def _finished_execution_response(execution_id: int) -> JsonResponse | None:
    execution = selectors.finished_execution(pk=execution_id)
    return None if execution is None else JsonResponse(ExecutionSerializer(execution).data, status=200)


class WorkflowWebhookView(WorkflowFromUrl, APIView):
    required_role = Role.EDITOR

    @extend_schema(responses=WebhookSerializer)
    def get(self, request, workflow_pk: int):
        workflow = self.get_workflow()
        webhook = selectors.webhook_of(workflow=workflow)
        body = {
            "enabled": webhook is not None,
            "token_prefix": webhook.token_prefix if webhook else None,
            "created_at": webhook.created_at if webhook else None,
            "url": None,
        }
        return Response(WebhookSerializer(body).data)

    @extend_schema(request=None, responses={201: WebhookSerializer})
    def post(self, request, workflow_pk: int):
        """Create or rotate the token: the old URL stops working and the new one is shown once."""
        workflow = self.get_workflow()
        token = services.webhook_rotate(workflow=workflow)
        webhook = selectors.webhook_of(workflow=workflow)
        body = {
            "enabled": True,
            "token_prefix": webhook.token_prefix,
            "created_at": webhook.created_at,
            "url": request.build_absolute_uri(f"/api/v1/hooks/{token}/"),
        }
        return Response(WebhookSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, workflow_pk: int):
        services.webhook_delete(workflow=self.get_workflow())
        return Response(status=status.HTTP_204_NO_CONTENT)


class HookView(APIView):
    """`POST hooks/{token}/`: the JSON body becomes the run's input; a bad token is 404."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=dict, responses={202: WebhookAcceptedSerializer})
    def post(self, request, token: str):
        workflow = selectors.webhook_workflow(token=token)
        if workflow is None:
            raise NotFound()
        body = request.data
        run_input = body if isinstance(body, dict) else {"body": body}
        execution = services.execution_start(
            workflow=workflow, trigger=Trigger.WEBHOOK, triggered_by=None, input=dict(run_input)
        )
        return Response({"id": execution.pk, "status": execution.status}, status=status.HTTP_202_ACCEPTED)


class ExecutionFilter(filters.FilterSet):
    # A plain id, not a choice among all workflows: an invisible workflow must filter to nothing,
    # exactly like a missing one, rather than tell the caller that it exists.
    workflow = filters.NumberFilter(field_name="workflow_id")
    status = filters.MultipleChoiceFilter(choices=ExecutionStatus.choices)
    trigger = filters.MultipleChoiceFilter(choices=Trigger.choices)

    class Meta:
        model = Execution
        fields = ["workflow", "status", "trigger"]


class ExecutionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Executions of the workflows the caller can see."""

    queryset = Execution.objects.none()
    permission_classes = [IsAuthenticated, HasObjectRole]
    filterset_class = ExecutionFilter
    required_roles = {"cancel": Role.EXECUTOR, "retry": Role.EXECUTOR}

    def get_queryset(self):
        return selectors.executions_visible_to(user=self.request.user).defer("definition")

    def get_object(self) -> Execution:
        execution = selectors.execution_visible_to(user=self.request.user, pk=self.kwargs["pk"])
        if execution is None:
            raise Http404(f"No {Execution._meta.object_name} matches the given query.")
        self.check_object_permissions(self.request, execution)
        return execution

    def get_serializer_class(self):
        return ExecutionListSerializer if self.action == "list" else ExecutionSerializer

    @extend_schema(request=None, responses=ExecutionSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def cancel(self, request, pk=None):
        execution = services.execution_cancel(execution=self.get_object())
        return Response(ExecutionSerializer(execution).data)

    @extend_schema(request=None, responses={202: RunAcceptedSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def retry(self, request, pk=None):
        retry = services.execution_retry(execution=self.get_object(), user=request.user)
        return Response(run_accepted(retry), status=status.HTTP_202_ACCEPTED)


class ShareLinkRateThrottle(SimpleRateThrottle):
    """Per link, whoever calls: a leaked link cannot be used to flood the owner's quota."""

    scope = "share_link"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": link_digest(view.kwargs["token"])}


class SharedWorkflowView(APIView):
    """`GET share-links/{token}/`: the workflow, read-only, for whoever holds a valid link.

    A wrong, expired, exhausted or revoked token all answer the same 404. Each use is counted
    (towards `max_uses`) and audited.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ShareLinkRateThrottle]

    @extend_schema(responses=SharedWorkflowSerializer)
    def get(self, request, token: str):
        link = sharing_services.share_link_use(token=token, action="view")
        if link is None:
            raise NotFound()
        return Response(SharedWorkflowSerializer({"role": link.role, "workflow": link.workflow}).data)


class SharedWorkflowRunView(APIView):
    """`POST share-links/{token}/run/`: run the workflow through an executor link (202, asynchronous)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ShareLinkRateThrottle]

    @extend_schema(request=RunInputSerializer, responses={202: WebhookAcceptedSerializer})
    def post(self, request, token: str):
        link = sharing_services.share_link_resolve(token=token)
        if link is None:
            raise NotFound()
        if not role_at_least(link.role, Role.EXECUTOR):
            raise PermissionDenied("This link lets you view the workflow, not run it.")
        data = RunInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if sharing_services.share_link_use(token=token, action="run") is None:
            raise NotFound()  # used up by a concurrent request
        execution = services.execution_start(
            workflow=link.workflow,
            trigger=Trigger.API,
            triggered_by=None,
            input=data.validated_data["input"],
            delay_s=data.validated_data["delay_s"],
        )
        return Response({"id": execution.pk, "status": execution.status}, status=status.HTTP_202_ACCEPTED)


class QuotaView(APIView):
    """`GET quota/`: the caller's quotas and current use."""

    @extend_schema(responses=QuotaSerializer)
    def get(self, request):
        return Response(QuotaSerializer(selectors.quota_use(user=request.user)).data)

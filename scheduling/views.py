from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from scheduling import cron, selectors, services
from scheduling.models import ScheduledTask, ScheduleKind
from scheduling.serializers import (
    PreviewQuerySerializer,
    PreviewSerializer,
    ScheduleInputSerializer,
    ScheduleSerializer,
)
from sharing.permissions import HasObjectRole
from sharing.roles import Role, role_at_least
from workflows.selectors import workflows_visible_to


class ScheduleFilter(filters.FilterSet):
    # A plain id, not a choice among all workflows: an invisible workflow must filter to nothing,
    # exactly like a missing one, rather than tell the caller that it exists.
    workflow = filters.NumberFilter(field_name="workflow_id")
    kind = filters.ChoiceFilter(choices=ScheduleKind.choices)

    class Meta:
        model = ScheduledTask
        fields = ["workflow", "enabled", "kind"]


@extend_schema_view(
    create=extend_schema(request=ScheduleInputSerializer, responses={201: ScheduleSerializer}),
    partial_update=extend_schema(request=ScheduleInputSerializer, responses={200: ScheduleSerializer}),
)
class ScheduleViewSet(viewsets.ModelViewSet):
    """Schedules of the workflows you can see. Viewers read them; editors and owners manage them."""

    queryset = ScheduledTask.objects.none()  # only tells the schema the model; get_queryset scopes to the caller
    serializer_class = ScheduleSerializer
    permission_classes = [IsAuthenticated, HasObjectRole]
    filterset_class = ScheduleFilter
    required_roles = {"partial_update": Role.EDITOR, "destroy": Role.EDITOR}
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return selectors.schedules_visible_to(user=self.request.user).order_by("id")

    def _schedule_response(self, schedule: ScheduledTask, status_code: int = status.HTTP_200_OK) -> Response:
        # Re-read through the selector for the caller's role and the last run's state.
        fresh = self.get_queryset().get(pk=schedule.pk)
        return Response(ScheduleSerializer(fresh, context=self.get_serializer_context()).data, status=status_code)

    def create(self, request, *args, **kwargs):
        data = ScheduleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        # Resolved among the workflows the caller can see: anything else is 404, as in the URL.
        workflow = get_object_or_404(workflows_visible_to(user=request.user), pk=fields.pop("workflow"))
        if not role_at_least(workflow.role, Role.EDITOR):
            raise PermissionDenied("Only the workflow's owner and editors manage its schedules.")
        schedule = services.schedule_create(workflow=workflow, user=request.user, data=fields)
        return self._schedule_response(schedule, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        schedule = self.get_object()
        data = ScheduleInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.schedule_update(schedule=schedule, data=data.validated_data)
        return self._schedule_response(schedule)

    def perform_destroy(self, instance):
        services.schedule_delete(schedule=instance)

    @extend_schema(parameters=[PreviewQuerySerializer], responses=PreviewSerializer)
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def preview(self, request):
        """The next fire times of a cron expression, with their UTC offsets, and what it means in words."""
        query = PreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        options = query.validated_data
        try:
            body = selectors.cron_preview(
                expression=options["cron"],
                timezone=options["timezone"],
                count=options["count"],
                start=options.get("start") or timezone.now(),
            )
        except cron.CronError as exc:
            raise ValidationError({"timezone" if exc.field == "timezone" else "cron": [str(exc)]}) from exc
        return Response(PreviewSerializer(body).data)

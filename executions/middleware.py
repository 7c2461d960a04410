"""Waiting for a synchronous run's end in the ASGI layer, where waiting holds no thread."""

from asgiref.sync import markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpResponse, JsonResponse

from executions import live, selectors
from executions.serializers import ExecutionSerializer


class WaitForSynchronousRuns:
    """Outermost and async-only: a view that started a run with `mode: sync` answers 202 and marks
    the response with `wait_for_execution`; this waits (up to STRUCTFORGE_SYNC_WAIT_S) and answers
    200 with the finished execution instead, or lets the 202 through when the wait runs out.

    Because it is the only async middleware and it is outermost, a request crosses from the event
    loop to a thread once, runs the whole middleware chain and the (synchronous) view there, and
    comes back once. An async view in the middle of a synchronous chain costs four more crossings
    on every run request, with or without waiting.
    """

    sync_capable = False
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request) -> HttpResponse:
        response = await self.get_response(request)
        execution_id = getattr(response, "wait_for_execution", None)
        if execution_id is None:
            return response
        if await live.wait_finished(execution_id, settings.STRUCTFORGE_SYNC_WAIT_S):
            finished = await sync_to_async(_finished_execution)(execution_id)
            if finished is not None:
                return finished
        return response


def _finished_execution(execution_id: int) -> JsonResponse | None:
    execution = selectors.finished_execution(pk=execution_id)
    return None if execution is None else JsonResponse(ExecutionSerializer(execution).data, status=200)

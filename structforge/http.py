"""HTTP under ASGI: each request's synchronous work in one call on a bounded pool of threads."""

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponse
from django.urls import set_script_prefix

FollowUp = Callable[[], Awaitable[HttpResponse | None]]


class ThreadedASGIHandler(ASGIHandler):
    """Django's ASGI handler with the middleware loaded in sync mode and one thread hop per request.

    Django's own handler gives every request a thread of its own, started for it and joined after
    it (asgiref's ThreadSensitiveContext), and crosses between the event loop and that thread five
    times: the `request_started` signal, into the middleware, back to the loop to resolve the URL,
    into the view, and `response.close()`. Measured on the run request (docs/benchmarks.md) that
    was a third of the web process's CPU, and each new thread also started with cold thread-local
    caches (its database and Redis clients). Here the signal, the middleware, the view and the
    closing run in one call on a fixed pool of STRUCTFORGE_WEB_THREADS threads; the event loop
    only reads the body, sends the response and runs a view's follow-up (`respond_later`).

    Everything a WSGI server guarantees still holds: one request at a time per thread, and the
    request's database connection goes back to the pool (`request_finished`) before the thread
    takes the next one.
    """

    def __init__(self) -> None:
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.threads = ThreadPoolExecutor(max_workers=settings.STRUCTFORGE_WEB_THREADS, thread_name_prefix="http")

    async def handle(self, scope, receive, send) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            response = await sync_to_async(self._respond, thread_sensitive=False, executor=self.threads)(
                scope, body_file
            )
            follow_up: FollowUp | None = getattr(response, "follow_up", None)
            if follow_up is not None:
                try:
                    response = await _unless_disconnected(follow_up(), receive) or response
                except RequestAborted:
                    return
            await self.send_response(response, send)
            if response.streaming and response.is_async:
                await sync_to_async(response.close, thread_sensitive=False, executor=self.threads)()
        finally:
            body_file.close()

    def _respond(self, scope, body_file) -> HttpResponse:
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            request.follows_up_in_event_loop = True
            response = self.get_response(request)
        if response.streaming and response.is_async:
            # Read in the event loop, closed after (on another thread of the pool: this thread's
            # connection goes back to the database pool when it starts its next request).
            return response
        if response.streaming:
            # Django's handler reads a synchronous stream whole as well (StreamingHttpResponse.
            # __aiter__); here it is read on the thread that made it, before it is closed.
            response.streaming_content = list(response.streaming_content)
        response.close()
        return response


def respond_later(request: HttpRequest, response: HttpResponse, follow_up: FollowUp) -> HttpResponse:
    """Send what `follow_up` returns instead of `response` (or `response` when it returns None).

    For a view that waits on an event: under ThreadedASGIHandler the wait runs in the event loop
    after the request's thread (and its database connection) has been given back; under WSGI and
    Django's test client it blocks this thread, as everything there does.
    """
    if getattr(request, "follows_up_in_event_loop", False):
        response.follow_up = follow_up
        return response
    return async_to_sync(follow_up)() or response


async def _unless_disconnected(work: Awaitable[HttpResponse | None], receive) -> HttpResponse | None:
    """`work`'s result, or RequestAborted (and `work` cancelled) when the client goes away first."""
    work_task = asyncio.ensure_future(work)
    disconnect_task = asyncio.ensure_future(receive())
    try:
        await asyncio.wait([work_task, disconnect_task], return_when=asyncio.FIRST_COMPLETED)
        if work_task.done():
            return work_task.result()
        raise RequestAborted
    finally:
        for task in (work_task, disconnect_task):
            task.cancel()

"""Middleware of the project itself."""


class SyncMiddlewareChain:
    """Runs the whole middleware chain in one thread under ASGI. Placed last, it does nothing else.

    Django's built-in middleware can run in async mode, but only by hopping to a thread and back
    for each of its `process_request` and `process_response` methods: with the stack of this
    project that is a dozen thread switches per request, which cost more CPU than a simple API
    call's own work. A sync-only middleware at the innermost place makes Django run every
    middleware outside it in sync mode, in one thread: one switch in and one out of it
    (docs.djangoproject.com, "Asynchronous support", middleware).
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

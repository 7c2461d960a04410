"""HTTP and WebSocket entry point for daphne or uvicorn."""

import os
from importlib import import_module

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "structforge.settings")

# Django must be set up before anything imports models, so the HTTP app comes first.
django.setup(set_prefix=False)
from structforge.http import ThreadedASGIHandler  # noqa: E402

http_application = ThreadedASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from structforge.heap import freeze_startup_objects  # noqa: E402
from structforge.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
# The URLconf, and through it every view and serializer, would otherwise load on the first
# request. Everything built so far lives as long as the process: out of the collector's full passes.
import_module(settings.ROOT_URLCONF)
freeze_startup_objects()

"""WebSocket routes of every app, mounted by `structforge.asgi` behind auth and origin checks."""

from executions.routing import websocket_urlpatterns as execution_routes

websocket_urlpatterns: list = [*execution_routes]

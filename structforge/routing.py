"""WebSocket routes of every app, mounted by `structforge.asgi` behind auth and origin checks."""

websocket_urlpatterns: list = []

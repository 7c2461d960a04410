"""WebSocket routes of executions, and the API-token sign-in they accept besides the session."""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser
from django.urls import path
from rest_framework.exceptions import AuthenticationFailed

from executions import consumers
from sharing.authentication import TokenAuthentication


def _token_user(token: str):
    """(user, AuthToken) for a valid knox token, checked as the REST API checks it (stored as a digest)."""
    try:
        return TokenAuthentication().authenticate_credentials(token.encode())
    except AuthenticationFailed:
        return AnonymousUser(), None


class TokenAuthMiddleware(BaseMiddleware):
    """Signs the socket in with `?token=<API token>` (browsers cannot set headers on a WebSocket)
    or an `Authorization: Token <API token>` header; otherwise the session decides.

    A token that is wrong or expired leaves the socket anonymous rather than falling back to the
    session, so a client learns its token no longer works.
    """

    async def __call__(self, scope, receive, send):
        token = _token_from(scope)
        if token is not None:
            user, auth_token = await database_sync_to_async(_token_user)(token)
            scope = {**scope, "user": user, "auth_token": auth_token}
        return await super().__call__(scope, receive, send)


def _token_from(scope) -> str | None:
    tokens = parse_qs(scope.get("query_string", b"").decode("latin1")).get("token")
    if tokens:
        return tokens[-1]
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin1").partition(" ")
            if scheme.lower() == "token" and credentials.strip():
                return credentials.strip()
    return None


websocket_urlpatterns = [
    path("ws/executions/", TokenAuthMiddleware(consumers.OwnExecutionsConsumer.as_asgi())),
    path("ws/executions/<int:execution_id>/", TokenAuthMiddleware(consumers.ExecutionConsumer.as_asgi())),
]

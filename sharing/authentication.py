"""API tokens on requests: knox's check, with one precompiled query and without its sweep of the
user's other tokens."""

import binascii
from functools import cache
from hmac import compare_digest

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework.exceptions import AuthenticationFailed

from structforge.db import instance_from_row

INVALID = _("Invalid token.")


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's token authentication, one query per request instead of two.

    knox reads every token of the user on every request, to delete the expired ones. Here a
    request looks at its own token only (an expired one is still refused and deleted, as knox
    does); the user's other expired tokens go when a new token is issued
    (`sharing.services.api_token_issue`). The tokens with the request's key and their users come
    from one join whose SQL is built once per process: compiling knox's `select_related` query
    cost more CPU than the rest of a simple API read (docs/benchmarks.md).
    """

    def authenticate_credentials(self, token: bytes):
        token = token.decode("utf-8")
        for auth_token in _tokens_with_key(token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error) as exc:
                raise AuthenticationFailed(INVALID) from exc
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise AuthenticationFailed(INVALID)

    def _cleanup_token(self, auth_token) -> bool:
        if auth_token.expiry is None or auth_token.expiry >= timezone.now():
            return False
        username = auth_token.user.get_username()
        auth_token.delete()
        token_expired.send(sender=self.__class__, username=username, source="auth_token")
        return True


def _tokens_with_key(token_key: str) -> list[AuthToken]:
    """The tokens whose key is `token_key` (usually one), each with its user."""
    sql, token_columns, user_columns = _tokens_with_key_sql(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [token_key])
        rows = cursor.fetchall()
    tokens = []
    for row in rows:
        auth_token = instance_from_row(AuthToken, token_columns, row[: len(token_columns)])
        auth_token.user = instance_from_row(get_user_model(), user_columns, row[len(token_columns) :])
        tokens.append(auth_token)
    return tokens


@cache
def _tokens_with_key_sql(vendor: str) -> tuple[str, list[str], list[str]]:
    quote = connection.ops.quote_name
    User = get_user_model()
    token_columns = [field.column for field in AuthToken._meta.concrete_fields]
    user_columns = [field.column for field in User._meta.concrete_fields]
    selected = [f"t.{quote(column)}" for column in token_columns] + [f"u.{quote(column)}" for column in user_columns]
    token_user = quote(AuthToken._meta.get_field("user").column)
    sql = (
        f"SELECT {', '.join(selected)} FROM {quote(AuthToken._meta.db_table)} t "
        f"JOIN {quote(User._meta.db_table)} u ON u.{quote(User._meta.pk.column)} = t.{token_user} "
        f"WHERE t.{quote(AuthToken._meta.get_field('token_key').column)} = %s"
    )
    return sql, token_columns, user_columns

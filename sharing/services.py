from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from knox.models import AuthToken


def api_token_issue(*, user: AbstractBaseUser) -> tuple[str, datetime | None]:
    """A new API token for `user`. Only its SHA-512 digest is stored; the token is returned once."""
    instance, token = AuthToken.objects.create(user=user)
    return token, instance.expiry


def api_token_revoke(*, token: AuthToken) -> None:
    token.delete()

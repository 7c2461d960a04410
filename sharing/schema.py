"""How the OpenAPI schema describes the API token (drf-spectacular finds extensions once imported)."""

from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme


class TokenScheme(KnoxTokenScheme):
    target_class = "sharing.authentication.TokenAuthentication"

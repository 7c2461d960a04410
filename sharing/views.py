from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from sharing.serializers import TokenLoginInputSerializer, TokenOutputSerializer
from sharing.services import api_token_issue, api_token_revoke


class LoginRateThrottle(ScopedRateThrottle):
    def get_ident(self, request):
        # Without NUM_PROXIES, DRF keys on X-Forwarded-For, which the client writes: a new value per
        # attempt would escape the limit. Only the connection's address is trusted then.
        if api_settings.NUM_PROXIES is None:
            return request.META.get("REMOTE_ADDR")
        return super().get_ident(request)


class TokenLoginView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]
    throttle_scope = "login"

    @extend_schema(request=TokenLoginInputSerializer, responses={200: TokenOutputSerializer})
    def post(self, request):
        data = TokenLoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, **data.validated_data)
        if user is None:
            raise ValidationError({"non_field_errors": ["Unable to log in with the username and password given."]})
        token, expiry = api_token_issue(user=user)
        return Response(TokenOutputSerializer({"token": token, "expiry": expiry}).data)


class TokenLogoutView(APIView):
    """Revokes the token the request was made with."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if request.auth is not None and hasattr(request.auth, "digest"):
            api_token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)

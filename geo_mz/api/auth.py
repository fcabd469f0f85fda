"""POST /api/auth/token/: a username and password for an API token, throttled twice over.

* django-axes counts the attempt because the credentials go through
  ``authenticate(request=<the Django HttpRequest>)``; after ``AXES_FAILURE_LIMIT`` failures for one
  username from one IP, the pair is refused for the cool-off (HTTP 429, core/auth_lockout.py), even
  with the right password.
* a DRF rate throttle (scope ``auth-token``, ``GEO_MZ_TOKEN_RATE``) caps requests per client IP, so
  one client cannot spray many usernames either.
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(label=_("用户名"), max_length=150, trim_whitespace=False)
    password = serializers.CharField(
        label=_("密码"),
        max_length=128,
        trim_whitespace=False,
        write_only=True,
        style={"input_type": "password"},
    )


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)


class TokenObtainView(APIView):
    """Exchange a username and password for the user's API token (header ``Authorization: Token …``)."""

    # Credentials only: a browser session must not make this a CSRF target, and a token is no login.
    authentication_classes = ()
    permission_classes = ()
    throttle_classes = (ScopedRateThrottle,)
    throttle_scope = "auth-token"
    parser_classes = (JSONParser, FormParser, MultiPartParser)

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: TokenResponseSerializer,
            400: OpenApiResponse(description="用户名或密码错误 / invalid credentials"),
            429: OpenApiResponse(description="登录失败次数过多或请求过于频繁 / locked out or throttled"),
        },
        tags=["auth"],
    )
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # request._request: axes keeps its bookkeeping on the Django request, which AxesMiddleware reads
        user = authenticate(
            request=request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None:
            raise serializers.ValidationError({"non_field_errors": [_("用户名或密码错误。")]})
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

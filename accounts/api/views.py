import hashlib
from typing import Any, cast

from django.conf import settings
from django.db.models import Count, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts import services
from accounts.api.serializers import (
    LogoutSerializer,
    MeSerializer,
    OrganizationSerializer,
    TokenObtainSerializer,
    TokenPairResponseSerializer,
    TokenRefreshStrictSerializer,
)
from accounts.models import Organization, User
from accounts.permissions import IsAdminRole, IsPlatformOperator
from accounts.selectors import visible_organizations


class AuthRateThrottle(SimpleRateThrottle):
    """Per account, at settings.AUTH_THROTTLE_RATE: a brake on guessing one person's password that leaves everyone
    else alone, so a class signing in together behind one school router is not refused. The account is the
    `username` the request names (in any case, so its spellings share one allowance); a request naming none (a
    token refresh) is left to AuthAddressThrottle."""

    scope = "auth"

    def get_rate(self) -> str:
        return settings.AUTH_THROTTLE_RATE

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        data = request.data  # a body that is no JSON object raises here, answered as the view would (400, 415)
        username = data.get("username") if isinstance(data, dict) else None
        # Read as the sign-in serializer reads it (DRF's CharField: a string, or a number as text; trimmed).
        if isinstance(username, bool) or not isinstance(username, str | int | float) or not str(username).strip():
            return None
        username = str(username)
        # Hashed: any text may be sent, and the cache key must stay short and plain.
        account = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
        return self.cache_format % {"scope": self.scope, "ident": account}


class AuthAddressThrottle(SimpleRateThrottle):
    """Per client address, at settings.AUTH_THROTTLE_ADDRESS_RATE: a generous ceiling (a whole school may share one
    address) that still stops one machine trying many accounts."""

    scope = "auth_address"

    def get_rate(self) -> str:
        return settings.AUTH_THROTTLE_ADDRESS_RATE

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


AUTH_THROTTLES = (AuthAddressThrottle, AuthRateThrottle)


@extend_schema(summary="Sign in: an access and a refresh token", responses=TokenPairResponseSerializer)
class TokenObtainView(TokenObtainPairView):
    """Exchange username and password for an access and a refresh token. Wrong username and wrong password give the
    same answer."""

    serializer_class = TokenObtainSerializer
    throttle_classes = AUTH_THROTTLES


@extend_schema(summary="A new access and refresh token for a refresh token")
class TokenRefreshRotatingView(TokenRefreshView):
    """Exchange a refresh token for a new access token and a new refresh token; the old refresh token stops working."""

    serializer_class = TokenRefreshStrictSerializer
    throttle_classes = AUTH_THROTTLES


@extend_schema(summary="Sign out: revoke a refresh token", request=LogoutSerializer, responses={204: None})
class LogoutView(APIView):
    """Revoke the caller's refresh token, so it can no longer mint access tokens."""

    permission_classes = [IsAuthenticated]

    def post(self, request: Request) -> Response:
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.refresh_token_revoke(user=cast(User, request.user), token=serializer.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(summary="Who you are", responses=MeSerializer)
class MeView(APIView):
    """The authenticated user."""

    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)


@extend_schema_view(
    list=extend_schema(summary="Schools you administer (all of them for platform operators)"),
    retrieve=extend_schema(summary="One school you administer"),
    create=extend_schema(summary="Create a school (platform operators)"),
)
class OrganizationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Schools (organisations). Administrators see their own; platform operators see and create all."""

    serializer_class = OrganizationSerializer
    search_fields = ["name", "slug"]
    ordering_fields = ["name", "created_at"]
    filterset_fields = ["slug"]

    def get_permissions(self):
        if self.action == "create":
            return [IsPlatformOperator()]
        return [IsAdminRole()]

    def get_queryset(self) -> QuerySet[Organization]:
        return visible_organizations(self.request.user).annotate(
            users_count=Count("users", distinct=True), courses_count=Count("courses", distinct=True)
        )

    def perform_create(self, serializer: OrganizationSerializer) -> None:  # type: ignore[override]
        organization = services.organization_create(**serializer.validated_data)
        organization.users_count = 0  # type: ignore[attr-defined]
        organization.courses_count = 0  # type: ignore[attr-defined]
        serializer.instance = organization

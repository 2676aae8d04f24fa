"""Writes for organisations and people."""

from django.db import transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Organization, Role, User
from core.exceptions import ApplicationError


@transaction.atomic
def organization_create(*, name: str, slug: str, time_zone: str = "UTC") -> Organization:
    organization = Organization(name=name, slug=slug, time_zone=time_zone)
    organization.full_clean()
    organization.save()
    return organization


@transaction.atomic
def user_create(
    *,
    username: str,
    organization: Organization | None,
    role: str = Role.STUDENT,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    password: str | None = None,
) -> User:
    user = User(
        username=username,
        organization=organization,
        role=role,
        email=email,
        first_name=first_name,
        last_name=last_name,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user


def refresh_token_revoke(*, user: User, token: str) -> None:
    """Blacklist `token` if it is a valid refresh token of `user`; anything else is a client error."""
    try:
        refresh = RefreshToken(token)  # type: ignore[arg-type]
    except TokenError:
        raise ApplicationError("Invalid refresh token.", errors={"refresh": ["Invalid, expired or revoked."]}) from None
    if str(refresh.get(api_settings.USER_ID_CLAIM)) != str(user.pk):
        raise ApplicationError("Invalid refresh token.", errors={"refresh": ["Not a token of this user."]})
    refresh.blacklist()

"""Writes for organisations and people."""

from collections.abc import Sequence

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


def organization_get_or_create(*, slug: str, name: str, time_zone: str) -> Organization:
    """The organisation with `slug`, created with `name` and `time_zone` if there is none (importers)."""
    organization, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": name, "time_zone": time_zone})
    return organization


# Rows per INSERT of a bulk import: large enough to amortise the round trip, small enough for one statement's memory.
IMPORT_BATCH = 5_000


def users_import(*, users: Sequence[User]) -> None:
    """Bulk-create accounts an importer built (keyed by username, e.g. OULAD's pseudonymous `oulad-<id>`): no
    per-row validation, and a row whose username or random public handle is taken already is skipped, so the
    importer reads back what exists and creates the rest again (with new handles)."""
    User.objects.bulk_create(users, batch_size=IMPORT_BATCH, ignore_conflicts=True)


def refresh_token_revoke(*, user: User, token: str) -> None:
    """Blacklist `token` if it is a valid refresh token of `user`; anything else is a client error."""
    try:
        refresh = RefreshToken(token)  # type: ignore[arg-type]
    except TokenError:
        raise ApplicationError("Invalid refresh token.", errors={"refresh": ["Invalid, expired or revoked."]}) from None
    if str(refresh.get(api_settings.USER_ID_CLAIM)) != str(user.pk):
        raise ApplicationError("Invalid refresh token.", errors={"refresh": ["Not a token of this user."]})
    refresh.blacklist()

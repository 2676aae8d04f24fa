"""Writes for organisations and people."""

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
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
    external_source: str = "",
    external_id: str = "",
) -> User:
    if organization is not None and user_external_id_taken(
        organization_id=organization.pk, external_source=external_source, external_id=external_id
    ):
        raise ApplicationError("External id in use.", errors={"external_id": [EXTERNAL_ID_TAKEN]})
    user = User(
        username=username,
        organization=organization,
        role=role,
        email=email,
        first_name=first_name,
        last_name=last_name,
        external_source=external_source,
        external_id=external_id,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user


def user_email_taken(*, email: str, exclude_pk: int | None = None) -> bool:
    """Whether another account holds `email` (any case): one account per address, in every organisation."""
    others = User.objects.filter(email__iexact=email)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    return bool(email) and others.exists()


def user_external_id_taken(
    *, organization_id: int, external_source: str, external_id: str, exclude_pk: int | None = None
) -> bool:
    """Whether another person of the organisation holds this id of this source (one person per LMS id)."""
    others = User.objects.filter(
        organization_id=organization_id, external_source=external_source, external_id=external_id
    )
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    return bool(external_id) and others.exists()


def external_pair_error(*, external_source: str, external_id: str) -> str | None:
    """An LMS id is read with its source: both are given, or neither."""
    if bool(external_source) != bool(external_id):
        return "Give external_source (the system the id comes from) and external_id together, or neither."
    return None


EXTERNAL_ID_TAKEN = "Another person of this school has this id of this source."
USER_EDITABLE = frozenset({"email", "first_name", "last_name", "is_active", "external_source", "external_id"})


@transaction.atomic
def user_update(*, user: User, data: Mapping[str, Any], password: str | None = None) -> User:
    """Change the fields named in `data` (USER_EDITABLE) and, when given, the password (the caller has checked it
    against the password validators). A role or an organisation is not changed here: enrolments depend on them."""
    unknown = sorted(set(data) - USER_EDITABLE)
    if unknown:
        raise ApplicationError(
            "Fields that cannot be changed.", errors={name: ["Cannot be changed."] for name in unknown}
        )
    if "email" in data and user_email_taken(email=data["email"], exclude_pk=user.pk):
        raise ApplicationError("Email in use.", errors={"email": ["Another account uses this email address."]})
    source = data.get("external_source", user.external_source)
    if user.organization_id is not None and user_external_id_taken(
        organization_id=user.organization_id,
        external_source=source,
        external_id=data.get("external_id", user.external_id),
        exclude_pk=user.pk,
    ):
        raise ApplicationError("External id in use.", errors={"external_id": [EXTERNAL_ID_TAKEN]})
    changed = [name for name, value in data.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, data[name])
    if password:
        user.set_password(password)
        changed.append("password")
    if changed:
        user.full_clean(exclude=["password"], validate_constraints=False)
        user.save(update_fields=changed)
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


# SECTION: many people at once (classroom's roster import)

# What a roster gives about a person; everything else of a new account takes its default.
ROSTER_FIELDS = ("username", "email", "first_name", "last_name", "role", "external_source", "external_id")
# What a roster may change about an existing person (never the role or the organisation: enrolments depend on them).
ROSTER_CHANGEABLE = ("email", "first_name", "last_name", "external_source", "external_id")
# Rows per UPDATE of users_update_many (each is one statement of CASE WHEN branches).
UPDATE_BATCH = 1_000


def user_fields_clean(*, values: Mapping[str, str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The ROSTER_FIELDS of an account as user_create would store them (the username NFKC-normalised, the email's
    domain lower-cased) and the errors it would give, field by field, in Django's words, without asking the
    database: uniqueness is for the caller to check, for all rows at once."""
    user = User(**{name: values[name] for name in ROSTER_FIELDS})
    others = [field.name for field in User._meta.concrete_fields if field.name not in ROSTER_FIELDS]
    errors: dict[str, list[str]] = {}
    try:
        user.clean_fields(exclude=others)
    except ValidationError as error:
        errors = error.message_dict
    user.clean()
    return {name: getattr(user, name) for name in ROSTER_FIELDS}, errors


def users_create_many(*, organization: Organization, people: Sequence[Mapping[str, str]]) -> list[User]:
    """Create accounts in `organization` from values user_fields_clean returned, one INSERT per IMPORT_BATCH rows,
    with no usable password (set later, by the person through a reset or by an administrator). A username or email
    taken since the caller checked raises IntegrityError, so the caller's transaction writes nothing."""
    users = [User(organization=organization, **{name: person[name] for name in ROSTER_FIELDS}) for person in people]
    for user in users:
        user.set_unusable_password()
    return User.objects.bulk_create(users, batch_size=IMPORT_BATCH)


def users_update_many(*, users: Sequence[User], fields: Sequence[str]) -> None:
    """Save the ROSTER_CHANGEABLE `fields` of `users` (already set on them, checked as user_fields_clean checks)."""
    refused = sorted(set(fields) - set(ROSTER_CHANGEABLE))
    if refused:
        raise ValueError(f"users_update_many does not change {refused}")
    if users and fields:
        User.objects.bulk_update(users, list(fields), batch_size=UPDATE_BATCH)


def refresh_token_revoke(*, user: User, token: str) -> None:
    """Blacklist `token` if it is a valid refresh token of `user`; anything else is a client error."""
    try:
        refresh = RefreshToken(token)  # type: ignore[arg-type]
    except TokenError:
        raise ApplicationError("Invalid refresh token.", errors={"refresh": ["Invalid, expired or revoked."]}) from None
    if str(refresh.get(api_settings.USER_ID_CLAIM)) != str(user.pk):
        raise ApplicationError("Invalid refresh token.", errors={"refresh": ["Not a token of this user."]})
    refresh.blacklist()

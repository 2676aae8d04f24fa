"""Creating and checking integration API keys. A key reads `ep_<prefix>_<secret>`; the prefix finds the row, the
secret's hash must match."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import ApiKey, Organization
from core.db import prepared_cursor

KEYWORD = "Api-Key"
KEY_BY_PREFIX = (
    "SELECT id, organization_id, key_hash, last_used_at FROM accounts_apikey WHERE prefix = %s AND revoked_at IS NULL"
)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, organization: Organization, name: str) -> tuple[ApiKey, str]:
    """Return the stored key and the full key string, which is never stored and cannot be recovered."""
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(organization=organization, name=name, prefix=prefix, key_hash=_hash(secret))
    return key, f"ep_{prefix}_{secret}"


@dataclass(frozen=True)
class Integration:
    """The principal of a request authenticated by an API key: an organisation's integration, not a person."""

    api_key_id: int
    organization_id: int
    is_authenticated: bool = True
    is_active: bool = True
    is_superuser: bool = False
    is_staff: bool = False
    role: str = "integration"
    pk: None = None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key ep_<prefix>_<secret>`. Used only by the ingestion endpoints."""

    def authenticate(self, request: Request) -> tuple[Integration, int] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header.startswith(f"{KEYWORD} "):
            return None
        raw = header[len(KEYWORD) + 1 :].strip()
        parts = raw.split("_", 2)
        if len(parts) != 3 or parts[0] != "ep":
            raise exceptions.AuthenticationFailed("Malformed API key.")
        # Every ingestion request runs this: a prepared statement, not an ORM query (see core.db).
        with prepared_cursor() as cursor:
            cursor.execute(KEY_BY_PREFIX, (parts[1],))
            row = cursor.fetchone()
        if row is None or not hmac.compare_digest(row[2], _hash(parts[2])):
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        key_id, organization_id, _, last_used_at = row
        now = timezone.now()
        # Record use at most once a minute: a write per request would cost more than the ingestion itself.
        if last_used_at is None or (now - last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=key_id).update(last_used_at=now)
        return Integration(api_key_id=key_id, organization_id=organization_id), key_id

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD

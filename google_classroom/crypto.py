"""Encryption of the Google tokens we keep (refresh tokens, PKCE verifiers): cryptography's MultiFernet over the
keys in GOOGLE_TOKEN_KEYS, newest first. The first key encrypts; every key decrypts, so a new key is added in front,
`manage.py rotate_google_tokens` re-encrypts every stored token with it, and the old key can then be removed."""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class TokenKeysMissing(ImproperlyConfigured):
    pass


def _fernet() -> MultiFernet:
    keys = [key.strip() for key in settings.GOOGLE_TOKEN_KEYS if key.strip()]
    if not keys:
        raise TokenKeysMissing(
            "GOOGLE_TOKEN_KEYS is empty: set at least one Fernet key (README, 'Google Classroom') before connecting."
        )
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as error:
        raise TokenKeysMissing(f"GOOGLE_TOKEN_KEYS holds a key that is not a Fernet key: {error}") from None


def token_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def token_decrypt(encrypted: str) -> str:
    """The secret; InvalidToken when none of the keys opens it (a key removed before rotating)."""
    return _fernet().decrypt(encrypted.encode()).decode()


def token_rotate(encrypted: str) -> str:
    """The same secret encrypted with the first key (MultiFernet.rotate)."""
    return _fernet().rotate(encrypted.encode()).decode()


__all__ = ["InvalidToken", "TokenKeysMissing", "token_decrypt", "token_encrypt", "token_rotate"]

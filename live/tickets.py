"""Single-use WebSocket tickets for clients that authenticate with a JWT (SPA, mobile): a JWT or a user id must never
travel in a URL, where proxies and browser history keep it. Only the SHA-256 of a ticket is stored, so reading Redis
does not yield usable tickets."""

import hashlib
import secrets

from django.conf import settings

from core.redis import cache_redis

TICKET_KEY = "edupath:live:ticket:{digest}"


def _key(ticket: str) -> str:
    return TICKET_KEY.format(digest=hashlib.sha256(ticket.encode()).hexdigest())


def ticket_issue(*, user_id: int) -> str:
    """A fresh ticket for `user_id`, valid LIVE_TICKET_SECONDS (raises redis.RedisError when Redis is down)."""
    ticket = secrets.token_urlsafe(32)
    cache_redis().set(_key(ticket), user_id, ex=int(settings.LIVE_TICKET_SECONDS))
    return ticket


def ticket_redeem(*, ticket: str) -> int | None:
    """The user id a ticket was issued to, or None when it is unknown, expired or already used. GETDEL makes the
    read and the removal one step: two connections racing with the same ticket cannot both get it."""
    if not ticket or len(ticket) > 128:
        return None
    value: bytes | None = cache_redis().getdel(_key(ticket))  # type: ignore[assignment]
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

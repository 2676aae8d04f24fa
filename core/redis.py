"""The one Redis client per process for the cache's Redis database (request metrics, the XP award queue, the
analytics answer cache's data versions): its connection pool is made on first use and reused."""

from functools import cache
from typing import Any

import redis
from django.conf import settings
from django.core.signals import setting_changed


@cache
def cache_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.CACHES["default"]["LOCATION"], socket_timeout=1, socket_connect_timeout=1)


def _forget_client(*, setting: str, **kwargs: Any) -> None:
    # Tests that point CACHES elsewhere (an unreachable Redis in tests/core/test_health.py) must not leave this
    # process's client bound to that address for the tests that follow.
    if setting == "CACHES":
        cache_redis.cache_clear()


setting_changed.connect(_forget_client, dispatch_uid="core.redis.forget_client")

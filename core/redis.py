"""The one Redis client per process for the cache's Redis database (request metrics, the XP award queue, the
analytics answer cache's data versions): its connection pool is made on first use and reused."""

from functools import cache

import redis
from django.conf import settings


@cache
def cache_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.CACHES["default"]["LOCATION"], socket_timeout=1, socket_connect_timeout=1)

"""Analytics answers cached by their parameters and the freshness of the data they come from.

An answer is cached under: what was asked (a name and the parts that decide it: scope ids, the date range, ...),
who asked (answers may depend on the viewer: names or handles, peer figures hidden from students), and two data
versions: the viewer's organisation's (bumped after every commit that stores its events or awards its XP) and a
global one (bumped after every rollup rebuild). New events therefore make the next read compute afresh. What no
version covers (an enrolment or a new item edited in admin, the clock moving on) is bounded by
ANALYTICS_CACHE_SECONDS, and each answer carries the `as_of` of its computation, so it is never staler than the
freshness it shows. Permission checks run before the lookup, on every request; only computations are cached.
ANALYTICS_CACHE_SECONDS = 0 turns caching off (the test settings do, except in the tests of this module).
"""

import hashlib
import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import redis
from django.conf import settings
from django.core.cache import cache

from core.redis import cache_redis

logger = logging.getLogger(__name__)
T = TypeVar("T")
GLOBAL = "global"


def _version_key(scope: int | str) -> str:
    return f"edupath:analytics:version:{scope}"


def answers_changed(organization_ids: Iterable[int] | None = None) -> None:
    """Make cached answers of these organisations (of everyone, when None) stale: one pipelined INCR per scope.
    Call after commit. Best effort: with Redis down the write has happened anyway, and answers cached before are
    bounded by ANALYTICS_CACHE_SECONDS."""
    scopes: list[int | str] = [GLOBAL] if organization_ids is None else sorted(set(organization_ids))
    if not scopes or int(settings.ANALYTICS_CACHE_SECONDS) <= 0:
        return
    try:
        pipe = cache_redis().pipeline(transaction=False)
        for scope in scopes:
            pipe.incr(_version_key(scope))
        pipe.execute()
    except redis.RedisError as error:
        logger.warning("analytics cache: could not mark answers stale (%s)", error)


def cached_answer(name: str, *, viewer: Any, parts: Iterable[Any], compute: Callable[[], T]) -> T:
    """`compute()`, or its result cached for the same question, viewer and data versions. Without Redis, or for a
    viewer outside any organisation (platform operators), it computes."""
    seconds = int(settings.ANALYTICS_CACHE_SECONDS)
    organization_id = getattr(viewer, "organization_id", None)
    if seconds <= 0 or organization_id is None:
        return compute()
    try:
        versions = cache_redis().mget([_version_key(GLOBAL), _version_key(organization_id)])
        question = repr((name, viewer.pk, tuple(parts), versions)).encode()
        key = "analytics:answer:" + hashlib.blake2b(question, digest_size=16).hexdigest()
        answer = cache.get(key)
    except redis.RedisError as error:
        logger.warning("analytics cache unavailable (%s); computing", error)
        return compute()
    if answer is None:
        answer = compute()
        try:
            cache.set(key, answer, timeout=seconds)
        except redis.RedisError as error:
            logger.warning("analytics cache: could not store an answer (%s)", error)
    return answer


def cached_read(request: Any, compute: Callable[[], T]) -> T:
    """`cached_answer` for a GET request: the question is its path and query, the viewer its user. Call it after
    the request's permission and parameter checks, around the computation only."""
    return cached_answer(request.path, viewer=request.user, parts=sorted(request.GET.lists()), compute=compute)

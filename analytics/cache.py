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
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache

T = TypeVar("T")
GLOBAL = "global"


def _version_key(scope: int | str) -> str:
    return f"analytics:version:{scope}"


def answers_changed(organization_ids: Iterable[int] | None = None) -> None:
    """Make cached answers of these organisations (of everyone, when None) stale. Call after commit."""
    scopes: list[int | str] = [GLOBAL] if organization_ids is None else sorted(set(organization_ids))
    for scope in scopes:
        key = _version_key(scope)
        cache.add(key, 0, timeout=None)
        cache.incr(key)


def cached_answer(name: str, *, viewer: Any, parts: Iterable[Any], compute: Callable[[], T]) -> T:
    """`compute()`, or its result cached for the same question, viewer and data versions."""
    seconds = int(settings.ANALYTICS_CACHE_SECONDS)
    organization_id = getattr(viewer, "organization_id", None)
    if seconds <= 0 or organization_id is None:  # platform operators see every organisation: not worth it
        return compute()
    versions = cache.get_many([_version_key(GLOBAL), _version_key(organization_id)])
    question = repr((name, viewer.pk, tuple(parts), sorted(versions.items()))).encode()
    key = "analytics:answer:" + hashlib.blake2b(question, digest_size=16).hexdigest()
    answer = cache.get(key)
    if answer is None:
        answer = compute()
        cache.set(key, answer, timeout=seconds)
    return answer


def cached_read(request: Any, compute: Callable[[], T]) -> T:
    """`cached_answer` for a GET request: the question is its path and query, the viewer its user. Call it after
    the request's permission and parameter checks, around the computation only."""
    return cached_answer(request.path, viewer=request.user, parts=sorted(request.GET.lists()), compute=compute)

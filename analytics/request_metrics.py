"""A lightweight recorder of request metrics: count, errors and a latency histogram per route and minute.

Each request adds to a per-process buffer that goes to a Redis hash per minute at most once a second (no database
write on the request path); a beat job moves
finished minutes into RequestMetricMinute, the rollup the system-metrics endpoint and /metrics read. Percentiles are
estimated from the histogram (linear within a bucket), so they are as fine as BUCKETS_MS.
"""

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import orjson
import redis
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from core.redis import cache_redis

logger = logging.getLogger(__name__)

BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)  # upper bounds; one more bucket above the last
KEY_PREFIX = "edupath:request-metrics:"
KEEP_SECONDS = 24 * 3600  # unflushed minutes older than this are dropped by Redis
SKIP_PREFIXES = ("/static/", "/favicon.ico")


def minute_of(moment: datetime) -> int:
    return int(moment.timestamp()) // 60 * 60


def bucket_index(ms: float) -> int:
    for index, bound in enumerate(BUCKETS_MS):
        if ms <= bound:
            return index
    return len(BUCKETS_MS)


# Counts gather in this process and go to Redis at most once a second (a worker that dies loses under a second of
# metrics): a Redis round trip per request cost the single-event endpoint ~15 % of its capacity.
SEND_EVERY_SECONDS = 1.0
_buffer: dict[tuple[str, str], float] = defaultdict(float)  # (Redis key, hash field) -> amount
_lock = threading.Lock()
_last_sent = 0.0


def record(
    *, method: str, route: str, status: int, ms: float, at: datetime, organization_id: int | None = None
) -> None:
    """Count one request (of a user of `organization_id`, or of nobody's). Best effort: a Redis outage loses
    metrics, never a request."""
    global _last_sent
    # one hash per minute and organisation (a key without one: requests of nobody's)
    key = f"{KEY_PREFIX}{minute_of(at)}" + (f":{organization_id}" if organization_id is not None else "")
    field = f"{method} {route}"
    with _lock:
        _buffer[(key, f"{field}|count")] += 1
        if status >= 500:
            _buffer[(key, f"{field}|errors")] += 1
        if status >= 400:
            _buffer[(key, f"{field}|s{status}")] += 1
        _buffer[(key, f"{field}|b{bucket_index(ms)}")] += 1
        _buffer[(key, f"{field}|ms")] += round(ms, 3)
        due = time.monotonic() - _last_sent >= SEND_EVERY_SECONDS
    if due:
        send_buffered()


def send_buffered() -> None:
    """Add this process's gathered counts to Redis (one pipelined round trip)."""
    global _last_sent
    with _lock:
        pending = dict(_buffer)
        _buffer.clear()
        _last_sent = time.monotonic()
    if not pending:
        return
    try:
        pipe = cache_redis().pipeline(transaction=False)
        for (key, field), amount in pending.items():
            if field.endswith("|ms"):
                pipe.hincrbyfloat(key, field, amount)
            else:
                pipe.hincrby(key, field, int(amount))
        for key in {key for key, _ in pending}:
            pipe.expire(key, KEEP_SECONDS)
        pipe.execute()
    except redis.RedisError:
        logger.debug("request metrics not recorded", exc_info=True)


class RequestMetricsMiddleware:
    """Times every request (outermost, so it sees the whole of Django's work) and records it under its URL pattern
    (bounded cardinality: `api/v1/courses/<int:pk>/`, never the concrete path)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(SKIP_PREFIXES):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        ms = (time.perf_counter() - started) * 1000
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None and match.route else "<unmatched>"
        record(
            method=request.method or "GET",
            route=route,
            status=response.status_code,
            ms=ms,
            at=datetime.now(UTC),
            organization_id=_organization_of(request),
        )
        return response


def _organization_of(request: HttpRequest) -> int | None:
    """The organisation of whoever the request was authenticated as, if the request got that far: a user (session
    or JWT, which DRF puts on the request) or an integration key. A user nobody looked at is not loaded for this."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        if user._wrapped is empty:  # type: ignore[attr-defined]
            return None
        user = user._wrapped  # type: ignore[attr-defined]
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "organization_id", None)


FLUSH = """
INSERT INTO analytics_requestmetricminute (minute, organization_id, method, route, count, errors, total_ms, buckets,
                                           statuses)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT ON CONSTRAINT analytics_request_minute_unique DO UPDATE SET
    count = EXCLUDED.count, errors = EXCLUDED.errors, total_ms = EXCLUDED.total_ms, buckets = EXCLUDED.buckets,
    statuses = EXCLUDED.statuses
"""


def request_metrics_flush(*, now: datetime) -> int:
    """Move every finished minute (older than the current and the previous one, which may still get requests that
    started in it) from Redis into RequestMetricMinute. Idempotent: a minute's row is replaced, never added to, so a
    flush interrupted before it deleted the Redis hash writes the same row again. Returns rows written."""
    send_buffered()
    client = cache_redis()
    cutoff = minute_of(now) - 60
    written = 0
    for key in sorted(client.scan_iter(match=f"{KEY_PREFIX}*", count=1000)):
        minute, organization = _parse_key(key.decode())
        if minute >= cutoff:
            continue
        fields: dict[str, dict[str, Any]] = {}
        values = cast(dict[bytes, bytes], client.hgetall(key))  # the sync client: never an awaitable
        for raw_field, raw_value in values.items():
            name, _, part = raw_field.decode().rpartition("|")
            fields.setdefault(name, {})[part] = raw_value.decode()
        with transaction.atomic(), connection.cursor() as cursor:
            for name, parts in fields.items():
                method, _, route = name.partition(" ")
                buckets = [int(parts.get(f"b{i}", 0)) for i in range(len(BUCKETS_MS) + 1)]
                statuses = {part[1:]: int(value) for part, value in parts.items() if part.startswith("s")}
                cursor.execute(
                    FLUSH,
                    [
                        datetime.fromtimestamp(minute, UTC),
                        organization,
                        method,
                        route[:200],
                        int(parts.get("count", 0)),
                        int(parts.get("errors", 0)),
                        float(parts.get("ms", 0)),
                        buckets,
                        orjson.dumps(statuses).decode(),
                    ],
                )
                written += 1
        client.delete(key)
    return written


def _parse_key(key: str) -> tuple[int, int | None]:
    """(minute, organisation) of a hash's key: "<prefix><minute>" or "<prefix><minute>:<organisation>"."""
    minute, _, organization = key.removeprefix(KEY_PREFIX).partition(":")
    return int(minute), int(organization) if organization else None


def percentile_ms(buckets: list[int], percent: float) -> float | None:
    """Estimate a percentile from histogram counts (linear inside the bucket; the open top bucket reports its lower
    bound)."""
    total = sum(buckets)
    if total == 0:
        return None
    rank = percent / 100 * total
    seen = 0
    for index, count in enumerate(buckets):
        if count and seen + count >= rank:
            low = 0 if index == 0 else BUCKETS_MS[index - 1]
            if index == len(BUCKETS_MS):
                return float(low)
            high = BUCKETS_MS[index]
            return round(low + (high - low) * (rank - seen) / count, 1)
        seen += count
    return float(BUCKETS_MS[-1])

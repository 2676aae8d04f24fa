"""System figures from the request-metrics rollup and the event store: requests, errors by status, latency, the
busiest endpoints and active learners, of one organisation (its users' requests and learners) or, for platform
operators, of all of them."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Annotated, Any, TypedDict

from django.db.models import QuerySet

from analytics.models import LearningEvent, RequestMetricMinute
from analytics.request_metrics import BUCKETS_MS, percentile_ms

SIZE = len(BUCKETS_MS) + 1


class Latency(TypedDict):
    p50: float | None
    p95: float | None
    p99: float | None


class Endpoint(TypedDict):
    method: str
    route: Annotated[str, "The URL pattern, e.g. api/v1/courses/<int:pk>/."]
    requests: int
    errors: Annotated[int, "Server errors (5xx)."]
    p95_ms: float | None


class StatusCount(TypedDict):
    status: int
    kind: Annotated[str, "client (4xx) or server (5xx)."]
    requests: int


class SystemMetrics(TypedDict):
    """Requests of the last hours (flushed minutes) and learners active meanwhile."""

    as_of: Annotated[datetime | None, "The end of the last flushed minute."]
    hours: int
    organization: Annotated[int | None, "The organisation these figures are of; empty: every organisation."]
    requests: int
    error_rate_percent: Annotated[float | None, "Server errors (5xx) per 100 requests."]
    client_error_rate_percent: Annotated[float | None, "Refused requests (4xx) per 100 requests."]
    errors_by_status: Annotated[list[StatusCount], "Answers of 400 and above, by status."]
    latency_ms: Annotated[Latency, "Estimated from the latency histogram."]
    top_endpoints: list[Endpoint]
    active_learners: int


def request_minutes(*, since: datetime, organization_id: int | None) -> QuerySet[RequestMetricMinute]:
    """The flushed minutes since `since`: of one organisation's requests, or of all (organization_id None)."""
    minutes = RequestMetricMinute.objects.filter(minute__gte=since)
    return minutes if organization_id is None else minutes.filter(organization_id=organization_id)


def merged_buckets(rows: Iterable[list[int]]) -> list[int]:
    merged = [0] * SIZE
    for buckets in rows:
        for index, value in enumerate(buckets[:SIZE]):
            merged[index] += value
    return merged


def system_metrics(*, hours: int, now: datetime, organization_id: int | None = None) -> SystemMetrics:
    """Requests of the last `hours` hours (flushed minutes): count, server and client error rates, errors by status,
    estimated p50/p95/p99 and the top endpoints; and learners active in that time. `organization_id` limits every
    figure to that organisation (its users' requests, its learners); None is every organisation (platform
    operators only)."""
    since = now - timedelta(hours=hours)
    minutes = request_minutes(since=since, organization_id=organization_id)
    rows = list(minutes.values_list("method", "route", "count", "errors", "buckets", "statuses"))
    endpoints: dict[tuple[str, str], dict[str, Any]] = {}
    statuses: dict[int, int] = {}
    for method, route, count, errors, buckets, by_status in rows:
        entry = endpoints.setdefault((method, route), {"count": 0, "errors": 0, "buckets": []})
        entry["count"] += count
        entry["errors"] += errors
        entry["buckets"].append(buckets)
        for status, n in (by_status or {}).items():
            statuses[int(status)] = statuses.get(int(status), 0) + n
    merged = merged_buckets(buckets for *_, buckets, _ in rows)
    total = sum(entry["count"] for entry in endpoints.values())
    errors = sum(entry["errors"] for entry in endpoints.values())
    top = sorted(endpoints.items(), key=lambda pair: (-pair[1]["count"], pair[0]))[:10]
    last = minutes.order_by("-minute").values_list("minute", flat=True).first()
    learners = LearningEvent.objects.filter(occurred_at__gte=since, occurred_at__lte=now)
    if organization_id is not None:
        learners = learners.filter(organization_id=organization_id)
    return {
        "as_of": (last + timedelta(minutes=1)) if last else None,
        "hours": hours,
        "organization": organization_id,
        "requests": total,
        "error_rate_percent": round(100 * errors / total, 2) if total else None,
        "client_error_rate_percent": (
            round(100 * sum(n for status, n in statuses.items() if status < 500) / total, 2) if total else None
        ),
        "errors_by_status": [
            {"status": status, "kind": "server" if status >= 500 else "client", "requests": n}
            for status, n in sorted(statuses.items())
        ],
        "latency_ms": {
            "p50": percentile_ms(merged, 50),
            "p95": percentile_ms(merged, 95),
            "p99": percentile_ms(merged, 99),
        },
        "top_endpoints": [
            {
                "method": method,
                "route": route,
                "requests": entry["count"],
                "errors": entry["errors"],
                "p95_ms": percentile_ms(merged_buckets(entry["buckets"]), 95),
            }
            for (method, route), entry in top
        ],
        "active_learners": learners.values("actor_id").distinct().count(),
    }

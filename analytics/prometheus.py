"""/metrics in Prometheus' text format: for a scraper holding METRICS_TOKEN and platform operators, every
organisation's figures; for a school's administrator (session or JWT), their school's requests only. Gauges over
the last five flushed minutes of the request-metrics rollup (per URL pattern, with latency percentiles per pattern
and overall, and answers by status), plus, platform-wide only, a few store figures."""

import hmac
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.permissions import is_administrator, is_platform_operator
from analytics.models import DeadLetterEvent
from analytics.request_metrics import percentile_ms
from analytics.selectors.system import merged_buckets, request_minutes

WINDOW = timedelta(minutes=5)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _organization_in_view(request: HttpRequest) -> tuple[bool, int | None]:
    """(allowed, organisation): a scraper holding METRICS_TOKEN and platform operators see every organisation (None);
    a school administrator only their own."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:], token):
        return True, None
    if is_platform_operator(request.user):
        return True, None
    if is_administrator(request.user):
        return True, getattr(request.user, "organization_id", None) or 0
    return False, None


QUANTILES = (50, 95, 99)


def metrics(request: HttpRequest) -> HttpResponse:
    allowed, organization_id = _organization_in_view(request)
    if not allowed:
        return HttpResponse("Forbidden: administrators or METRICS_TOKEN only.\n", status=403, content_type="text/plain")
    lines = [
        "# HELP edupath_http_requests_5m Requests in the last five flushed minutes, by method and URL pattern.",
        "# TYPE edupath_http_requests_5m gauge",
    ]
    errors = [
        "# HELP edupath_http_errors_5m Server errors (5xx) in the same window.",
        "# TYPE edupath_http_errors_5m gauge",
    ]
    route_latency = [
        "# HELP edupath_http_route_latency_ms_5m Estimated latency percentiles per URL pattern (from the histogram).",
        "# TYPE edupath_http_route_latency_ms_5m gauge",
    ]
    per_route: dict[tuple[str, str], list[Any]] = {}
    statuses: dict[str, int] = {}
    rows = request_minutes(since=timezone.now() - WINDOW - timedelta(minutes=2), organization_id=organization_id)
    for method, route, count, error_count, buckets, by_status in rows.values_list(
        "method", "route", "count", "errors", "buckets", "statuses"
    ):
        totals = per_route.setdefault((method, route), [0, 0, []])
        totals[0] += count
        totals[1] += error_count
        totals[2].append(buckets)
        for status, n in (by_status or {}).items():
            statuses[status] = statuses.get(status, 0) + n
    for (method, route), (count, error_count, buckets) in sorted(per_route.items()):
        labels = f'method="{_label(method)}",route="{_label(route)}"'
        lines.append(f"edupath_http_requests_5m{{{labels}}} {count}")
        errors.append(f"edupath_http_errors_5m{{{labels}}} {error_count}")
        merged_route = merged_buckets(buckets)
        for quantile in QUANTILES:
            estimate = percentile_ms(merged_route, quantile)
            if estimate is not None:
                route_latency.append(f'edupath_http_route_latency_ms_5m{{{labels},quantile="0.{quantile}"}} {estimate}')
    lines += errors
    lines += [
        "# HELP edupath_http_responses_5m Answers of 400 and above in the same window, by status.",
        "# TYPE edupath_http_responses_5m gauge",
        *(f'edupath_http_responses_5m{{status="{_label(status)}"}} {n}' for status, n in sorted(statuses.items())),
        "# HELP edupath_http_latency_ms_5m Estimated request latency percentiles (from the histogram).",
        "# TYPE edupath_http_latency_ms_5m gauge",
    ]
    merged = merged_buckets(buckets for _, _, route_buckets in per_route.values() for buckets in route_buckets)
    for quantile in QUANTILES:
        estimate = percentile_ms(merged, quantile)
        if estimate is not None:
            lines.append(f'edupath_http_latency_ms_5m{{quantile="0.{quantile}"}} {estimate}')
    lines += route_latency
    if organization_id is None:
        lines += _store_figures()
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4; charset=utf-8")


def _store_figures() -> list[str]:
    """Figures of the whole store (every organisation's): for platform operators and the scraper only."""
    with connection.cursor() as cursor:
        # PostgreSQL's own row estimate: counting a partitioned table of millions of rows is not a scrape's job
        cursor.execute(
            "SELECT COALESCE(sum(c.reltuples), 0)::bigint FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'analytics_learningevent'::regclass AND c.reltuples > 0"
        )
        row = cursor.fetchone()
    events = row[0] if row else 0
    return [
        "# HELP edupath_learning_events_estimate Learning events stored (PostgreSQL's estimate).",
        "# TYPE edupath_learning_events_estimate gauge",
        f"edupath_learning_events_estimate {events}",
        "# HELP edupath_dead_letters_pending Accepted events waiting in the dead-letter table.",
        "# TYPE edupath_dead_letters_pending gauge",
        f"edupath_dead_letters_pending {DeadLetterEvent.objects.filter(replayed_at__isnull=True).count()}",
    ]

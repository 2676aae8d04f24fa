"""/metrics in Prometheus' text format, for operators: administrators (session or JWT) or a scraper holding
METRICS_TOKEN. Gauges over the last five flushed minutes of the request-metrics rollup, plus a few store figures."""

import hmac
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.permissions import is_administrator
from analytics.models import DeadLetterEvent, RequestMetricMinute
from analytics.request_metrics import BUCKETS_MS, percentile_ms

WINDOW = timedelta(minutes=5)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:], token):
        return True
    return is_administrator(request.user)


def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse("Forbidden: administrators or METRICS_TOKEN only.\n", status=403, content_type="text/plain")
    size = len(BUCKETS_MS) + 1
    merged = [0] * size
    lines = [
        "# HELP edupath_http_requests_5m Requests in the last five flushed minutes, by method and URL pattern.",
        "# TYPE edupath_http_requests_5m gauge",
    ]
    errors = [
        "# HELP edupath_http_errors_5m Server errors (5xx) in the same window.",
        "# TYPE edupath_http_errors_5m gauge",
    ]
    per_route: dict[tuple[str, str], list[int]] = {}
    for method, route, count, error_count, buckets in RequestMetricMinute.objects.filter(
        minute__gte=timezone.now() - WINDOW - timedelta(minutes=2)
    ).values_list("method", "route", "count", "errors", "buckets"):
        totals = per_route.setdefault((method, route), [0, 0])
        totals[0] += count
        totals[1] += error_count
        for index, value in enumerate(buckets[:size]):
            merged[index] += value
    for (method, route), (count, error_count) in sorted(per_route.items()):
        labels = f'method="{_label(method)}",route="{_label(route)}"'
        lines.append(f"edupath_http_requests_5m{{{labels}}} {count}")
        errors.append(f"edupath_http_errors_5m{{{labels}}} {error_count}")
    lines += errors
    lines += [
        "# HELP edupath_http_latency_ms_5m Estimated request latency percentiles (from the histogram).",
        "# TYPE edupath_http_latency_ms_5m gauge",
    ]
    for quantile in (50, 95, 99):
        estimate = percentile_ms(merged, quantile)
        if estimate is not None:
            lines.append(f'edupath_http_latency_ms_5m{{quantile="0.{quantile}"}} {estimate}')
    with connection.cursor() as cursor:
        # PostgreSQL's own row estimate: counting a partitioned table of millions of rows is not a scrape's job
        cursor.execute(
            "SELECT COALESCE(sum(c.reltuples), 0)::bigint FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'analytics_learningevent'::regclass AND c.reltuples > 0"
        )
        row = cursor.fetchone()
    events = row[0] if row else 0
    lines += [
        "# HELP edupath_learning_events_estimate Learning events stored (PostgreSQL's estimate).",
        "# TYPE edupath_learning_events_estimate gauge",
        f"edupath_learning_events_estimate {events}",
        "# HELP edupath_dead_letters_pending Accepted events waiting in the dead-letter table.",
        "# TYPE edupath_dead_letters_pending gauge",
        f"edupath_dead_letters_pending {DeadLetterEvent.objects.filter(replayed_at__isnull=True).count()}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4; charset=utf-8")

"""The request-metrics recorder: requests counted in Redis per minute, flushed into the rollup idempotently, and read
back as percentiles by system metrics and /metrics."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from analytics import selectors
from analytics.models import RequestMetricMinute
from analytics.request_metrics import (
    KEY_PREFIX,
    percentile_ms,
    record,
    request_metrics_flush,
    send_buffered,
)
from core.redis import cache_redis
from tests.conftest import School, client_for

NOW = datetime(2026, 3, 31, 12, 0, 30, tzinfo=UTC)


@pytest.fixture
def clean_redis() -> Any:
    client = cache_redis()
    for key in client.scan_iter(match=f"{KEY_PREFIX}*"):
        client.delete(key)
    yield client
    for key in client.scan_iter(match=f"{KEY_PREFIX}*"):
        client.delete(key)


def test_percentiles_from_the_histogram() -> None:
    # 100 requests: 50 in (0, 5] ms, 45 in (5, 10], 5 in (250, 500]
    buckets = [50, 45, 0, 0, 0, 0, 5, 0, 0, 0, 0]
    assert percentile_ms(buckets, 50) == 5.0
    assert percentile_ms(buckets, 95) == 10.0
    assert percentile_ms(buckets, 99) == 450.0  # 4 of the 5 slow ones: 250 + 250 * 4/5
    assert percentile_ms([0] * 11, 50) is None


def test_recorded_minutes_are_flushed_once_and_read_back(school: School, clean_redis: Any) -> None:
    earlier = NOW - timedelta(minutes=3)
    for ms in (3, 4, 8, 300):
        record(method="GET", route="api/v1/courses/", status=200, ms=ms, at=earlier)
    record(method="POST", route="api/v1/events/", status=500, ms=20, at=earlier)
    record(method="GET", route="api/v1/courses/", status=200, ms=1, at=NOW)  # the current minute stays in Redis
    assert request_metrics_flush(now=NOW) == 2
    assert request_metrics_flush(now=NOW) == 0  # the finished minute is gone from Redis; nothing twice
    row = RequestMetricMinute.objects.get(route="api/v1/courses/")
    assert (row.count, row.errors, row.buckets[:3], row.buckets[6]) == (4, 0, [2, 1, 0], 1)
    answer = selectors.system_metrics(hours=1, now=NOW)
    assert answer["requests"] == 5
    assert answer["error_rate_percent"] == 20.0
    assert [(e["method"], e["route"], e["requests"]) for e in answer["top_endpoints"]] == [
        ("GET", "api/v1/courses/", 4),
        ("POST", "api/v1/events/", 1),
    ]


def test_requests_through_django_are_recorded_under_their_url_pattern(school: School, clean_redis: Any) -> None:
    client_for(school.teacher).get(f"/api/v1/courses/{school.course.pk}/")
    send_buffered()
    fields = {
        field.decode() for key in clean_redis.scan_iter(match=f"{KEY_PREFIX}*") for field in clean_redis.hgetall(key)
    }
    # the router's pattern, not the concrete path: one series per endpoint, however many courses there are
    assert "GET api/v1/courses/(?P<pk>[^/.]+)/$|count" in fields
    assert not any(f"courses/{school.course.pk}/" in field for field in fields)


def test_system_metrics_endpoint_and_prometheus_text(school: School, clean_redis: Any, settings: Any) -> None:
    at = datetime.now(UTC) - timedelta(minutes=3)
    # a request of the school's (an administrator sees only their school's requests since issue 12)
    record(method="GET", route="test/only/<pk>/", status=200, ms=7, at=at, organization_id=school.organization.pk)
    request_metrics_flush(now=datetime.now(UTC))
    answer = client_for(school.admin).get("/api/v1/analytics/system-metrics?hours=1").json()
    assert answer["requests"] >= 1 and answer["latency_ms"]["p50"] is not None
    assert client_for(school.admin).get("/api/v1/analytics/system-metrics?hours=0").status_code == 400

    settings.METRICS_TOKEN = "scrape-secret"
    scraper = Client()
    assert scraper.get("/metrics").status_code == 403
    assert scraper.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    text = scraper.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret").content.decode()
    assert 'edupath_http_requests_5m{method="GET",route="test/only/<pk>/"} 1' in text
    assert "edupath_dead_letters_pending 0" in text

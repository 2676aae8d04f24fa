"""Answering a catalogue metric for a request: the scope (classroom.selectors.metric_scope, the one permission
point), then the computation, through the analytics cache unless the metric says otherwise. The API
(analytics.api.catalogue) and the pages (dashboards.views) both answer through here, so a page shows exactly what
the matching endpoint serves."""

from typing import Any

from django.utils import timezone

from analytics.cache import cached_read
from classroom.selectors import metric_scope
from core.metrics import Cache, Metric, Scope


def scope_for(metric: Metric, *, viewer: Any, query: dict[str, Any]) -> Scope:
    return metric_scope(
        viewer=viewer,
        subject=metric.subject,
        query=query,
        now=timezone.now(),
        small_group_setting=metric.small_group_setting,
    )


def scoped_answer(metric: Metric, *, request: Any, query: dict[str, Any]) -> tuple[Scope, Any]:
    """The scope and answer of `metric` for `request.user` and the validated `query` (path parameters included).
    Scope checks run on every request (404 outside the viewer's scope); only the computation is cached."""
    scope = scope_for(metric, viewer=request.user, query=query)
    compute = metric.fast or metric.compute  # the fast path is held equal to compute by tests/test_metric_parity.py
    if metric.cache == Cache.NONE:
        return scope, compute(scope, query)
    return scope, cached_read(request, lambda: compute(scope, query))


def metric_answer(metric: Metric, *, request: Any, query: dict[str, Any]) -> Any:
    return scoped_answer(metric, request=request, query=query)[1]

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from analytics.partitions import month_start, next_month, partitions_ensure
from analytics.request_metrics import request_metrics_flush
from analytics.services import rollup_rebuild_job_run, rollups_rebuild


@shared_task(name="analytics.tasks.rebuild_recent_rollups")
def rebuild_recent_rollups(days: int = 3) -> int:
    """Nightly safety net: recompute the last few days from raw events (incremental upserts keep them current;
    this repairs anything a bug or a manual fix left behind)."""
    today = timezone.now().date()
    return rollups_rebuild(since=today - timedelta(days=days), until=today + timedelta(days=1), resume=False)


# A year of days is 53 weekly transactions over every organisation's events, which may outlast the default 4 minutes
# on a large store (not measured). The hard limit stays below the broker's visibility timeout (an hour), or an
# acks-late task still running would be delivered a second time.
@shared_task(name="analytics.tasks.rollup_rebuild_run", acks_late=True, soft_time_limit=1500, time_limit=1560)
def rollup_rebuild_run(job_id: int) -> None:
    """A rollup rebuild an administrator asked for, recorded as a core.jobs Job ("rollup-rebuild"); a repeated
    delivery finds the job started and does nothing."""
    rollup_rebuild_job_run(job_id=job_id)


@shared_task(name="analytics.tasks.create_upcoming_partitions")
def create_upcoming_partitions() -> None:
    """Create this month's and the next two months' event partitions ahead of the first event that needs them."""
    month = month_start(timezone.now().date())
    partitions_ensure([month, next_month(month), next_month(next_month(month))])


@shared_task(name="analytics.tasks.flush_request_metrics")
def flush_request_metrics() -> int:
    return request_metrics_flush(now=timezone.now())

from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from analytics import metrics, signals
        from analytics.services import ROLLUP_REBUILD_JOB, RollupRebuildResult
        from core.jobs import JobKind, job_kind_register

        signals.connect()
        metrics.register_metrics()
        # Rollup rebuilds an administrator asks for run as jobs; GET /api/v1/jobs/{id} documents their result.
        job_kind_register(JobKind(name=ROLLUP_REBUILD_JOB, result=RollupRebuildResult))

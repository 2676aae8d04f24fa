from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from core.jobs import JobKind, job_kind_register
        from reports.services import RUN_JOB, ReportRunResult

        # A run is a job; GET /api/v1/jobs/{id} (and /api/v1/reports/status/{id}) documents its result.
        job_kind_register(JobKind(name=RUN_JOB, result=ReportRunResult))

from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "risk"
    verbose_name = "At-risk prediction"

    def ready(self) -> None:
        from core.jobs import JobKind, job_kind_register
        from risk import metrics
        from risk.services import SCORE_JOB, TRAIN_JOB, ScoreResult, TrainResult

        # Training and scoring run as jobs; GET /api/v1/jobs/{id} documents their result.
        job_kind_register(JobKind(name=TRAIN_JOB, result=TrainResult))
        job_kind_register(JobKind(name=SCORE_JOB, result=ScoreResult))
        metrics.register_metrics()

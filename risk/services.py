"""Training and scoring as background jobs (core.jobs): the API's "train now", the admin action and the beat
entries queue them here; a Celery worker runs them (risk.tasks)."""

import logging
from datetime import datetime
from typing import Annotated, Any, TypedDict, cast

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from core.jobs import job_create, job_fail, job_finish, job_progress, job_start
from core.models import Job

logger = logging.getLogger(__name__)

TRAIN_JOB = "risk.train"
SCORE_JOB = "risk.score"


class TrainResult(TypedDict):
    model_version: Annotated[int, "The version trained (risk model id)."]
    status: Annotated[str, "active, or rejected by the acceptance gate."]
    decision: Annotated[str, "Why it was activated or rejected."]
    roc_auc: Annotated[float | None, "Cross-validated ROC AUC (grouped by course)."]


class ScoreResult(TypedDict):
    as_of: Annotated[str, "The moment scored (ISO 8601)."]
    predictions: Annotated[int, "Predictions stored."]
    high: Annotated[int, "Of which at high risk (or flagged by a rule)."]


def train_request(*, requested_by: Any, organization: Organization | None) -> Job:
    """Queue a training run of `organization`'s model (None: across organisations) as of now."""
    return _request(TRAIN_JOB, "Queued: training the at-risk model.", organization, requested_by)


def score_request(*, organization: Organization | None, requested_by: Any = None) -> Job:
    """Queue scoring of the running courses (of `organization`, or all) as of the moment the job runs."""
    return _request(SCORE_JOB, "Queued: scoring the running courses.", organization, requested_by)


def _request(kind: str, message: str, organization: Organization | None, requested_by: Any) -> Job:
    """A queued job of `kind`; its task is enqueued after commit, so the worker finds the job."""
    job = job_create(
        kind=kind,
        requested_by=requested_by,
        organization_id=organization.pk if organization else None,
        message=message,
    )
    transaction.on_commit(lambda: _enqueue(kind, job.pk))
    return job


def _enqueue(kind: str, job_id: int) -> None:
    from risk import tasks  # the task module imports this one

    task = tasks.train_model if kind == TRAIN_JOB else tasks.score
    try:
        task.delay(job_id)
    except Exception as error:  # the broker is unreachable: say so on the job rather than leave it queued forever
        logger.exception("could not queue %s job %s", kind, job_id)
        job_fail(job_id=job_id, message=f"Could not be queued ({type(error).__name__}); ask again.")


def train_job_run(*, job_id: int, now: datetime | None = None) -> None:
    """Run a training job as of its start; a repeated delivery finds the job started and does nothing."""
    if not job_start(job_id=job_id, message="Collecting the training samples."):
        return
    from risk import training  # scikit-learn: loaded by the processes that train, not by every process at start

    job = Job.objects.select_related("organization", "requested_by").get(pk=job_id)
    try:
        version = training.train(
            as_of=now or timezone.now(),
            organization=cast(Organization | None, job.organization),
            requested_by=job.requested_by,
            progress=lambda percent: job_progress(job_id=job_id, percent=percent, message="Training."),
        )
    except training.TrainingError as error:
        job_fail(job_id=job_id, message=str(error), now=now)
        return
    except Exception:
        job_fail(job_id=job_id, message="Training failed unexpectedly; nothing was stored. Operators have the log.")
        raise
    result = TrainResult(
        model_version=version.pk,
        status=version.status,
        decision=version.decision,
        roc_auc=version.metrics.get("roc_auc"),
    )
    job_finish(job_id=job_id, result=result, message=version.decision, now=now)


def score_job_run(*, job_id: int, now: datetime | None = None) -> None:
    """Run a scoring job as of its start; a repeated delivery finds the job started and does nothing."""
    if not job_start(job_id=job_id, message="Scoring the running courses."):
        return
    from risk import scoring  # scikit-learn: loaded by the processes that score, not by every process at start

    job = Job.objects.select_related("organization").get(pk=job_id)
    as_of = now or timezone.now()
    try:
        predictions = scoring.score(
            as_of=as_of,
            organization=cast(Organization | None, job.organization),
            progress=lambda percent: job_progress(job_id=job_id, percent=percent, message="Scoring."),
        )
    except Exception:
        job_fail(job_id=job_id, message="Scoring failed unexpectedly; nothing was stored. Operators have the log.")
        raise
    high = sum(prediction.level == "high" for prediction in predictions)
    result = ScoreResult(as_of=as_of.isoformat(), predictions=len(predictions), high=high)
    job_finish(job_id=job_id, result=result, message=f"{len(predictions)} predictions, {high} high.", now=now)

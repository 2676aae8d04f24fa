"""Celery tasks of risk. Each takes ids, loads, calls one service, and is safe to deliver twice."""

from celery import shared_task

from accounts.models import Organization
from risk.services import score_job_run, score_request, train_job_run, train_request


@shared_task(name="risk.tasks.train_model")
def train_model(job_id: int) -> None:
    """A training run recorded as a core.jobs Job ("risk.train")."""
    train_job_run(job_id=job_id)


@shared_task(name="risk.tasks.score")
def score(job_id: int) -> None:
    """A scoring run recorded as a core.jobs Job ("risk.score")."""
    score_job_run(job_id=job_id)


@shared_task(name="risk.tasks.train_all")
def train_all() -> None:
    """Beat: queue a training job per organisation with courses (each keeps its own active version)."""
    for organization in Organization.objects.filter(courses__isnull=False).distinct():
        train_request(requested_by=None, organization=organization)


@shared_task(name="risk.tasks.score_all")
def score_all() -> None:
    """Beat: queue one scoring job per organisation with courses."""
    for organization in Organization.objects.filter(courses__isnull=False).distinct():
        score_request(organization=organization)

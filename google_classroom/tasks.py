"""Celery tasks of the Google Classroom connector. Each takes ids, loads, calls one service, and is safe to deliver
twice."""

from celery import shared_task

from google_classroom.services import sync_all_request, sync_job_run


@shared_task(name="google_classroom.tasks.sync_run")
def sync_run(job_id: int) -> None:
    """One sync job; a repeated delivery finds the job started and does nothing."""
    sync_job_run(job_id=job_id)


@shared_task(name="google_classroom.tasks.sync_all")
def sync_all() -> int:
    """The hourly sync of every active connection (config/schedule.py)."""
    return sync_all_request()

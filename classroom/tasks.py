"""Celery tasks of classroom. Each takes ids, loads, calls one service, and is safe to deliver twice."""

from celery import shared_task

from classroom.roster import roster_job_run


@shared_task(name="classroom.tasks.roster_import_run")
def roster_import_run(job_id: int) -> None:
    """A roster import recorded as a core.jobs Job (a large file the API answered 202 for); a repeated delivery
    finds the job started and does nothing."""
    roster_job_run(job_id=job_id)

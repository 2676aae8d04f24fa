"""Celery tasks of reports. Each takes ids, loads, calls one service, and is safe to deliver twice."""

from typing import Any

from celery import shared_task

from reports.schedules import DELIVERY_ATTEMPTS, DeliveryError, delivery_send, schedule_run
from reports.services import files_expire, run_execute


@shared_task(name="reports.tasks.run_report", acks_late=True)
def run_report(run_id: int) -> None:
    """Write one report run's file (its core.jobs Job, kind "report-run", shows status and progress)."""
    run_execute(run_id)


@shared_task(name="reports.tasks.expire_files")
def expire_files() -> int:
    """Beat: remove the files of runs past REPORTS_FILE_DAYS."""
    return files_expire()


@shared_task(bind=True, name="reports.tasks.run_schedule", acks_late=True)
def run_schedule(self: Any, schedule_id: int) -> int:
    """Beat (each schedule's own django-celery-beat entry): run the schedule's report, its files written here, then
    queue one e-mail per recipient. The e-mails follow this task's route (the queue beat sent it to), as Celery's
    own retries do, so a worker dedicated to reports sends them too. A second delivery of this task runs the
    occurrence again (new runs, new e-mails): acceptable for a report, unlike a lost one."""
    route = _same_route(self.request.delivery_info)
    pending = schedule_run(schedule_id)
    for delivery_id in pending:
        deliver_report.apply_async((delivery_id,), **route)
    return len(pending)


@shared_task(
    bind=True,
    name="reports.tasks.deliver_report",
    acks_late=True,
    autoretry_for=(DeliveryError,),
    max_retries=DELIVERY_ATTEMPTS - 1,
    # A mail server that refused or timed out is given time to come back: about 30 s, then about 60 s (jittered).
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
)
def deliver_report(self: Any, delivery_id: int) -> str:
    """E-mail one scheduled report to one recipient. A failed send raises DeliveryError and is retried; the last
    attempt records the failure on the delivery and its schedule instead."""
    return delivery_send(delivery_id, last_attempt=self.request.retries >= DELIVERY_ATTEMPTS - 1)


def _same_route(delivery_info: dict[str, Any] | None) -> dict[str, Any]:
    """Options sending a task where the current one came from (Celery's Task.signature_from_request does the same
    for retries); none when it was not delivered by a broker (called in-process)."""
    info = delivery_info or {}
    exchange, routing_key = info.get("exchange"), info.get("routing_key")
    if not routing_key:
        return {}
    if exchange == "":  # sent to the default (nameless) exchange: the routing key is the queue
        return {"queue": routing_key}
    return {"exchange": exchange, "routing_key": routing_key}

"""Housekeeping tasks. Each takes no object, calls one function and is idempotent, so acks-late redelivery is safe."""

from celery import shared_task
from django.core.management import call_command


@shared_task(name="core.tasks.clear_expired_sessions")
def clear_expired_sessions() -> None:
    call_command("clearsessions")


@shared_task(name="core.tasks.flush_expired_tokens")
def flush_expired_tokens() -> None:
    call_command("flushexpiredtokens")

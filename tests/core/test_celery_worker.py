"""Housekeeping tasks through the real Redis broker and a real worker, and the Celery configuration they rely on."""

from datetime import UTC, datetime

from celery.schedules import crontab
from django.contrib.sessions.models import Session
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from config.celery import app as celery_app
from config.schedule import BEAT_SCHEDULE
from core.tasks import clear_expired_sessions, flush_expired_tokens
from tests.core.conftest import RunningWorker
from tests.factories import StudentFactory

# Far from any date these tests will run on, so expiry does not depend on the wall clock in practice.
LONG_AGO = datetime(2001, 1, 1, tzinfo=UTC)
FAR_AHEAD = datetime(2200, 1, 1, tzinfo=UTC)
TASK_RESULT_TIMEOUT_SECONDS = 30


def test_clear_expired_sessions_runs_on_a_worker(celery_worker: RunningWorker) -> None:
    # given
    Session.objects.create(session_key="expired-session-0000000000000000", session_data="e30", expire_date=LONG_AGO)
    Session.objects.create(session_key="current-session-0000000000000000", session_data="e30", expire_date=FAR_AHEAD)

    # when
    clear_expired_sessions.apply_async(queue=celery_worker.queue).get(timeout=TASK_RESULT_TIMEOUT_SECONDS)

    # then
    assert list(Session.objects.values_list("session_key", flat=True)) == ["current-session-0000000000000000"]


def test_flush_expired_tokens_runs_on_a_worker(celery_worker: RunningWorker) -> None:
    # given: an expired refresh token (blacklisted after a logout, say) and a current one
    user = StudentFactory.create()
    expired = OutstandingToken.objects.create(
        user=user, jti="expired-jti", token="expired.token.value", created_at=LONG_AGO, expires_at=LONG_AGO
    )
    BlacklistedToken.objects.create(token=expired)
    OutstandingToken.objects.create(
        user=user, jti="current-jti", token="current.token.value", created_at=LONG_AGO, expires_at=FAR_AHEAD
    )

    # when
    flush_expired_tokens.apply_async(queue=celery_worker.queue).get(timeout=TASK_RESULT_TIMEOUT_SECONDS)

    # then
    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == ["current-jti"]
    assert not BlacklistedToken.objects.exists()


def test_celery_is_configured_for_reliable_delivery() -> None:
    conf = celery_app.conf

    # Acknowledged only after the task ran; a task whose worker died goes back to the queue.
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    # One task reserved at a time, so a long task does not hold others hostage on a busy worker.
    assert conf.worker_prefetch_multiplier == 1
    # JSON only, in and out: no pickle, ever.
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert list(conf.accept_content) == ["json"]
    # A soft limit first (the task can clean up), then a hard one.
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    # Redis redelivers unacknowledged tasks after the visibility timeout; shorter than a task could run twice.
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert conf.worker_enable_remote_control is True


def test_every_beat_entry_names_a_registered_task() -> None:
    # given: the task modules a worker imports at start-up
    celery_app.loader.import_default_modules()

    # then
    assert celery_app.conf.beat_schedule == BEAT_SCHEDULE
    assert BEAT_SCHEDULE
    for name, entry in BEAT_SCHEDULE.items():
        assert entry["task"] in celery_app.tasks, f"beat entry {name!r} names unknown task {entry['task']!r}"
        assert isinstance(entry["schedule"], crontab), f"beat entry {name!r} should run on a crontab"

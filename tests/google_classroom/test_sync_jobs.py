"""A sync as a job (core.jobs): queued once per connection, run by its task with progress, and what a failure
looks like to the teacher; and a request that hangs is abandoned and retried."""

from collections.abc import Callable
from typing import Any

import pytest

from core.exceptions import ApplicationError
from core.models import Job
from google_classroom.models import Connection, SyncedCourse
from google_classroom.services import connection_client, sync_job_run, sync_request
from google_classroom.sync import connection_sync
from tests.google_classroom.conftest import SYNC_AT, teacher_email
from tests.google_classroom.fake_google import FakeGoogle
from tests.google_classroom.fake_school import FakeSchool

pytestmark = pytest.mark.django_db


def test_a_sync_job_runs_every_course_and_records_its_result(
    connection: Connection, google: FakeGoogle, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # given
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        job = sync_request(connection=connection, requested_by=connection.user)
    assert len(enqueued) == 1 and job.status == Job.Status.QUEUED

    # when: the task runs it (twice: a repeated delivery does nothing)
    sync_job_run(job_id=job.pk, now=SYNC_AT)
    sync_job_run(job_id=job.pk, now=SYNC_AT)

    # then
    job.refresh_from_db()
    connection.refresh_from_db()
    assert (job.status, job.progress) == (Job.Status.SUCCEEDED, 100)
    assert job.result is not None
    assert job.result["synced"] == job.result["courses"] == SyncedCourse.objects.count() > 0
    assert connection.last_sync_job_id == job.pk and connection.last_sync_at == SYNC_AT


def test_one_sync_at_a_time_per_connection(connection: Connection, google: FakeGoogle) -> None:
    first = sync_request(connection=connection, requested_by=connection.user)
    again = sync_request(connection=connection, requested_by=connection.user)
    assert again.pk == first.pk and Job.objects.count() == 1


def test_a_connection_needing_reconnection_is_not_synced(
    connection: Connection, google: FakeGoogle, fake_school: FakeSchool
) -> None:
    # given: the teacher removed our access in their Google account
    google.revoke_all(teacher_email(fake_school))
    job = sync_request(connection=connection, requested_by=connection.user)

    # when
    sync_job_run(job_id=job.pk, now=SYNC_AT)

    # then: the job says why, the connection waits for the teacher
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "reconnect" in job.message
    connection.refresh_from_db()
    with pytest.raises(ApplicationError, match="needs reconnecting"):
        sync_request(connection=connection, requested_by=connection.user)


def test_a_failed_course_fails_the_job_with_each_course_outcome(
    connection: Connection, google: FakeGoogle, fake_school: FakeSchool
) -> None:
    broken = fake_school.teacher_course_ids(connection.google_user_id)[0]
    google.fail_next(100, status=403, retry_after=None, paths=f"/courses/{broken}/")
    job = sync_request(connection=connection, requested_by=connection.user)

    sync_job_run(job_id=job.pk, now=SYNC_AT)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "1 failed" in job.message
    assert job.result is not None
    outcomes = {outcome["google_course_id"]: outcome for outcome in job.result["outcomes"]}
    assert outcomes[broken]["status"] == "failed" and "403" in outcomes[broken]["error"]
    assert {o["status"] for gid, o in outcomes.items() if gid != broken} == {"ok"}


def test_a_request_that_hangs_is_abandoned_and_retried(
    connection: Connection, google: FakeGoogle, settings: Any
) -> None:
    settings.GOOGLE_TIMEOUT_SECONDS = 0.5
    google.stall_next(1, seconds=5)

    result = connection_sync(connection=connection, client=connection_client(connection), now=SYNC_AT)

    assert result["failed"] == 0 and result["synced"] == result["courses"]

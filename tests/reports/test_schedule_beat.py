"""Must-hold 3 of issue 15, end to end: a schedule's own django-celery-beat entry, loaded by the DatabaseScheduler
that `celery beat` runs, is sent through the real (test) Redis broker to a real worker, which runs the schedule
(run_schedule: the report written for each recipient) and e-mails each file (deliver_report) through Django's file
e-mail backend; the test then reads the e-mails from disk and opens their attachments."""

import csv
import email
import io
import time
from datetime import timedelta
from email.message import Message
from pathlib import Path

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler
from pytest_django.fixtures import SettingsWrapper

from config.celery import app as celery_app
from reports import schedules
from reports.models import ReportDelivery
from reports.services import definition_create
from reports.specs import spec_from
from tests.conftest import School
from tests.core.conftest import RunningWorker, celery_worker  # noqa: F401 - the fixture, shared with tests/core

# How long the worker may take for the whole occurrence (two runs, two e-mails); a bound, not an expectation.
DEADLINE_SECONDS = 60
POLL_SECONDS = 0.2
# The file backend separates messages with a line of 79 dashes.
SEPARATOR = b"\n" + b"-" * 79 + b"\n"


@pytest.fixture(autouse=True)
def _private_report_files(settings: SettingsWrapper, tmp_path: Path) -> None:
    """Report files in this test's own folder: run ids restart with each test database, and another test (or test
    session) must not find this one's files under the same names."""
    settings.REPORTS_STORAGE_DIR = tmp_path / "report-files"


def messages_in(folder: Path) -> list[Message]:
    found: list[Message] = []
    for path in sorted(folder.glob("*.log")) if folder.exists() else []:
        for chunk in path.read_bytes().split(SEPARATOR):
            if chunk.strip():
                found.append(email.message_from_bytes(chunk))
    return found


def attachment_of(message: Message) -> tuple[str, bytes]:
    [part] = [part for part in message.walk() if part.get_filename()]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return part.get_filename() or "", payload


def csv_codes(content: bytes) -> list[str]:
    lines = [line for line in content.decode("utf-8-sig").splitlines() if line]
    return [row["code"] for row in csv.DictReader(io.StringIO("\n".join(lines)))]


@pytest.mark.django_db(transaction=True)
def test_a_schedule_runs_through_its_beat_entry_and_a_worker_and_its_email_arrives_with_the_file(
    school: School,
    celery_worker: RunningWorker,  # noqa: F811
    settings: SettingsWrapper,
    tmp_path: Path,
) -> None:
    # given: e-mail written to files; the worker runs in this process, so it sends with these settings too
    mail_folder = tmp_path / "mail"
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(mail_folder)
    # the administrator's report of every class, for two teachers, each getting only their own class
    spec = spec_from({"dataset": "class-progress", "parameters": {"period": "30d"}}, viewer=school.admin)
    definition = definition_create(
        owner=school.admin, name="Class progress", description="", visibility="private", spec=spec
    )
    schedule = schedules.schedule_create(
        definition,
        owner=school.admin,
        data={
            "recurrence": "cron",
            "cron": "0 * * * *",  # hourly: whatever the hour the test runs at, the entry is one beat loads
            "timezone": "Europe/Paris",
            "format": "csv",
            "recipients": [school.teacher.pk, school.other_teacher.pk],
            "run_as": "recipient",
        },
    )
    # Its beat entry exists; it ran last over an hour ago (so it is due), and it goes to this test's worker queue.
    entry_row = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    PeriodicTask.objects.filter(pk=entry_row.pk).update(
        last_run_at=timezone.now() - timedelta(hours=1, minutes=30), queue=celery_worker.queue
    )

    # when: beat's scheduler loads the entry from the database and sends it, as `celery beat` does when it is due
    scheduler = DatabaseScheduler(app=celery_app)
    entry = scheduler.schedule[schedules.beat_entry_name(schedule)]
    assert entry.task == "reports.tasks.run_schedule"
    assert entry.args == [schedule.pk]
    assert entry.is_due().is_due
    with celery_app.producer_or_acquire() as producer:  # type: ignore[attr-defined]  # a context manager at run time
        sent = scheduler.apply_async(entry, producer=producer)
    scheduler.sync()  # beat records that the entry ran

    # then: the worker ran the schedule (two recipients: two e-mails queued) ...
    assert sent.get(timeout=DEADLINE_SECONDS) == 2
    entry_row.refresh_from_db()
    assert entry_row.total_run_count == 1
    # ... and sent both e-mails
    deadline = time.monotonic() + DEADLINE_SECONDS
    deliveries = ReportDelivery.objects.filter(schedule=schedule)
    while deliveries.filter(status="pending").exists() or len(messages_in(mail_folder)) < 2:
        if time.monotonic() > deadline:
            break
        time.sleep(POLL_SECONDS)
    assert sorted(deliveries.values_list("status", flat=True)) == ["sent", "sent"], list(deliveries.values())
    messages = {message["To"]: message for message in messages_in(mail_folder)}
    assert set(messages) == {school.teacher.email, school.other_teacher.email}

    message = messages[school.teacher.email]
    assert message["Subject"] == "Report: Class progress"
    name, content = attachment_of(message)
    assert name.endswith(".csv")
    assert csv_codes(content) == [school.course.code]  # only the teacher's own class
    _, other_content = attachment_of(messages[school.other_teacher.email])
    assert csv_codes(other_content) == [school.other_course.code]

    schedule.refresh_from_db()
    assert schedule.last_status == "sent"
    assert all(delivery.attached and delivery.attempts == 1 for delivery in deliveries)

"""Schedules of reports (issue 15): validation (400 naming the field, nothing written, no beat entry), the
django-celery-beat entry kept in step, the occurrences (run as each recipient, as the owner, empty, failed) and the
e-mail delivery with its retries. The real beat and worker path is tests/reports/test_schedule_beat.py."""

import csv
import io
import smtplib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import override_settings
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from pytest_django.fixtures import SettingsWrapper
from rest_framework.test import APIClient

from accounts.models import User
from reports import schedules
from reports.models import ReportDefinition, ReportDelivery, ReportSchedule
from reports.services import definition_create, definition_delete
from reports.specs import spec_from
from reports.tasks import deliver_report
from tests.conftest import School, client_for
from tests.factories import TeacherFactory

MISSING_ID = 987654321


@pytest.fixture(autouse=True)
def _private_report_files(settings: SettingsWrapper, tmp_path: Path) -> None:
    """Report files in this test's own folder: run ids restart with each test database, and another test (or test
    session) must not find this one's files under the same names."""
    settings.REPORTS_STORAGE_DIR = tmp_path / "report-files"


def class_progress_report(owner: User, *, visibility: str = "private") -> ReportDefinition:
    """Per class of whoever it runs for: one row per class they may see."""
    spec = spec_from({"dataset": "class-progress", "parameters": {"period": "30d"}}, viewer=owner)
    return definition_create(owner=owner, name="Class progress", description="", visibility=visibility, spec=spec)


def weekly(people: Sequence[User], /, **overrides: Any) -> dict[str, Any]:
    return {
        "recurrence": "weekly",
        "weekday": 0,
        "time": "07:30",
        "timezone": "Europe/Paris",
        "format": "csv",
        "recipients": [each.pk for each in people],
        **overrides,
    }


def create(client: APIClient, definition: ReportDefinition, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/reports/{definition.pk}/schedules", body, format="json")


def csv_rows(message: mail.EmailMessage) -> list[dict[str, str]]:
    [(name, content, mimetype)] = message.attachments
    assert name.endswith(".csv")
    assert mimetype == "text/csv"
    text = content if isinstance(content, str) else content.decode("utf-8-sig")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


def run_and_send(schedule: ReportSchedule) -> list[ReportDelivery]:
    """One occurrence, its e-mails sent in this process (the task body, without a broker)."""
    for delivery_id in schedules.schedule_run(schedule.pk):
        deliver_report.apply(args=(delivery_id,))
    return list(ReportDelivery.objects.filter(schedule=schedule).select_related("recipient").order_by("recipient_id"))


# SECTION: validation


BAD_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("recurrence", {"recurrence": "hourly"}),
    ("cron", {"recurrence": "cron", "cron": "61 7 * * *", "weekday": None, "time": None}),
    ("cron", {"recurrence": "cron", "cron": "0 7 * *", "weekday": None, "time": None}),
    ("cron", {"recurrence": "cron", "cron": "0 25 * * 1", "weekday": None, "time": None}),
    ("cron", {"recurrence": "cron", "cron": "0 7 * * funday", "weekday": None, "time": None}),
    ("cron", {"recurrence": "cron", "cron": "*/5 * * * *", "weekday": None, "time": None}),
    ("cron", {"recurrence": "cron", "weekday": None, "time": None}),
    ("time", {"recurrence": "cron", "cron": "0 7 * * 1", "weekday": None}),
    ("time", {"time": None}),
    ("time", {"time": "25:00"}),
    ("weekday", {"weekday": None}),
    ("weekday", {"weekday": 7}),
    ("weekday", {"recurrence": "daily"}),
    ("day_of_month", {"recurrence": "monthly", "weekday": None, "day_of_month": 29}),
    ("day_of_month", {"recurrence": "monthly", "weekday": None}),
    ("timezone", {"timezone": "Mars/Olympus_Mons"}),
    ("timezone", {"timezone": "../../etc/passwd"}),
    ("format", {"format": "docx"}),
    ("run_as", {"run_as": "everyone"}),
    ("when_empty", {"when_empty": "maybe"}),
    ("recipients", {"recipients": []}),
    ("recipients", {"recipients": ["teacher"]}),
    ("unexpected", {"unexpected": 1}),
]


@pytest.mark.parametrize(("field", "changes"), BAD_BODIES, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_BODIES)])
def test_a_bad_schedule_is_a_400_naming_the_field_and_nothing_is_written(
    school: School, field: str, changes: dict[str, Any]
) -> None:
    # given
    definition = class_progress_report(school.teacher)

    # when
    response = create(client_for(school.teacher), definition, weekly([school.teacher], **changes))

    # then
    assert response.status_code == 400, response.content
    assert any(name == field or name.startswith(f"{field}.") for name in response.json()), response.json()
    assert not ReportSchedule.objects.exists()
    assert not PeriodicTask.objects.exists()
    assert not CrontabSchedule.objects.exists()


@pytest.mark.parametrize("who", ["foreign_admin", "student", "missing"])
def test_a_recipient_outside_the_schools_staff_is_named_and_unknown_ids_answer_alike(school: School, who: str) -> None:
    # given
    definition = class_progress_report(school.teacher)
    recipient = MISSING_ID if who == "missing" else getattr(school, who).pk

    # when
    body = weekly([school.teacher])
    body["recipients"] = [school.teacher.pk, recipient]
    response = create(client_for(school.teacher), definition, body)

    # then: the same words whether the user exists elsewhere or not at all
    assert response.status_code == 400
    assert response.json() == {"recipients": [f"User {recipient} is not a teacher or administrator of this school."]}
    assert not ReportSchedule.objects.exists()
    assert not PeriodicTask.objects.exists()


def test_a_bad_change_is_a_400_and_leaves_the_schedule_and_its_entry_as_they_were(school: School) -> None:
    # given
    definition = class_progress_report(school.teacher)
    client = client_for(school.teacher)
    created = create(client, definition, weekly([school.teacher])).json()

    # when
    response = client.patch(f"/api/v1/reports/schedules/{created['id']}", {"timezone": "Nowhere/City"}, format="json")

    # then
    assert response.status_code == 400
    assert "timezone" in response.json()
    schedule = ReportSchedule.objects.get()
    assert schedule.timezone == "Europe/Paris"
    assert str(PeriodicTask.objects.get().crontab.timezone) == "Europe/Paris"


# SECTION: the beat entry in step


def test_the_beat_entry_is_created_changed_disabled_and_deleted_with_the_schedule(school: School) -> None:
    # given
    definition = class_progress_report(school.teacher)
    client = client_for(school.teacher)

    # when: created (weekly, Mondays 07:30 in Paris)
    response = create(client, definition, weekly([school.teacher, school.admin]))

    # then
    assert response.status_code == 201, response.content
    answer = response.json()
    schedule = ReportSchedule.objects.get(pk=answer["id"])
    task = PeriodicTask.objects.get()
    assert schedule.periodic_task_id == task.pk
    assert task.task == "reports.tasks.run_schedule"
    assert task.args == f"[{schedule.pk}]"
    assert task.enabled is True
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_week, cron.day_of_month, cron.month_of_year) == (
        "30",
        "7",
        "1",
        "*",
        "*",
    )
    assert str(cron.timezone) == "Europe/Paris"
    assert {(each["id"], each["name"]) for each in answer["recipients"]} == {
        (school.teacher.pk, school.teacher.display_name),
        (school.admin.pk, school.admin.display_name),
    }
    assert answer["next_run_at"] is not None
    assert datetime.fromisoformat(answer["next_run_at"]).astimezone(ZoneInfo("Europe/Paris")).strftime("%a %H:%M") == (
        "Mon 07:30"
    )

    # when: changed to a cron expression in another zone
    url = f"/api/v1/reports/schedules/{schedule.pk}"
    response = client.patch(url, {"recurrence": "cron", "cron": "15 6 1 * *", "time": None}, format="json")

    # then: the same entry, its crontab changed in place; the stale weekday is cleared
    assert response.status_code == 200, response.content
    assert response.json()["weekday"] is None
    task = PeriodicTask.objects.get()
    assert task.pk == schedule.periodic_task_id
    cron = CrontabSchedule.objects.get()
    assert (cron.minute, cron.hour, cron.day_of_week, cron.day_of_month) == ("15", "6", "*", "1")

    # when: disabled
    response = client.patch(url, {"enabled": False}, format="json")

    # then
    assert response.status_code == 200
    assert response.json()["next_run_at"] is None
    assert PeriodicTask.objects.get().enabled is False

    # when: deleted
    response = client.delete(url)

    # then: the schedule, its entry and its crontab are gone together
    assert response.status_code == 204
    assert not ReportSchedule.objects.exists()
    assert not PeriodicTask.objects.exists()
    assert not CrontabSchedule.objects.exists()


def test_deleting_the_report_deletes_its_schedules_beat_entries(school: School) -> None:
    definition = class_progress_report(school.teacher)
    data = weekly([school.teacher], recurrence="daily", weekday=None)
    schedules.schedule_create(definition, owner=school.teacher, data=data)

    definition_delete(definition)

    assert not ReportSchedule.objects.exists()
    assert not PeriodicTask.objects.exists()
    assert not CrontabSchedule.objects.exists()


@pytest.mark.parametrize(
    ("fields", "now", "expected"),
    [
        # daily 07:30 in Paris, the day before summer time starts: 07:30 local is 05:30 UTC on the next day
        (
            {"minute": "30", "hour": "7"},
            datetime(2026, 3, 28, 12, tzinfo=UTC),
            datetime(2026, 3, 29, 5, 30, tzinfo=UTC),
        ),
        # ... and the day before it ends: 07:30 local is 06:30 UTC
        (
            {"minute": "30", "hour": "7"},
            datetime(2026, 10, 24, 12, tzinfo=UTC),
            datetime(2026, 10, 25, 6, 30, tzinfo=UTC),
        ),
        # Monday to Friday, asked on a Saturday
        (
            {"minute": "0", "hour": "8", "day_of_week": "1-5"},
            datetime(2026, 12, 5, 12, tzinfo=UTC),
            datetime(2026, 12, 7, 7, 0, tzinfo=UTC),
        ),
        # monthly on the 28th, asked after this month's
        (
            {"minute": "0", "hour": "9", "day_of_month": "28"},
            datetime(2026, 2, 28, 9, 30, tzinfo=UTC),
            datetime(2026, 3, 28, 8, 0, tzinfo=UTC),
        ),
    ],
)
def test_next_run_is_counted_in_local_time(fields: dict[str, str], now: datetime, expected: datetime) -> None:
    assert schedules.next_occurrence(fields, ZoneInfo("Europe/Paris"), now) == expected


# SECTION: occurrences


def test_run_as_recipient_gives_each_teacher_only_their_own_classes(school: School) -> None:
    # given: the administrator's report of every class, scheduled for two teachers, each as themselves
    definition = class_progress_report(school.admin)
    schedule = schedules.schedule_create(
        definition, owner=school.admin, data=weekly([school.teacher, school.other_teacher], run_as="recipient")
    )

    # when
    deliveries = run_and_send(schedule)

    # then
    assert [each.status for each in deliveries] == ["sent", "sent"]
    assert all(each.attached and each.attempts == 1 for each in deliveries)
    by_address = {message.to[0]: message for message in mail.outbox}
    assert set(by_address) == {school.teacher.email, school.other_teacher.email}
    assert [row["code"] for row in csv_rows(by_address[school.teacher.email])] == [school.course.code]
    assert [row["code"] for row in csv_rows(by_address[school.other_teacher.email])] == [school.other_course.code]
    # each run ran with its recipient's access, and only they (and not the owner) may see it
    assert {each.run.run_for_id for each in deliveries if each.run} == {school.teacher.pk, school.other_teacher.pk}
    assert all(each.run and each.run.requested_by_id is None for each in deliveries)
    message = by_address[school.teacher.email]
    assert message.subject == "Report: Class progress"
    assert f"/api/v1/reports/runs/{deliveries[0].run_id}/download" in message.body
    assert "Rows: 1" in message.body
    schedule.refresh_from_db()
    assert schedule.last_status == "sent"
    assert schedule.last_error == ""
    assert schedule.last_run_at is not None


def test_run_as_owner_is_refused_to_a_recipient_who_sees_less(school: School) -> None:
    # given: the administrator's report (both classes) for a teacher (one class) and the administrator
    definition = class_progress_report(school.admin)
    schedule = schedules.schedule_create(
        definition, owner=school.admin, data=weekly([school.teacher, school.admin], run_as="owner")
    )

    # when
    deliveries = {each.recipient_id: each for each in run_and_send(schedule)}

    # then: the administrator gets both classes; the teacher gets nothing, and the schedule says so
    assert deliveries[school.admin.pk].status == "sent"
    assert deliveries[school.teacher.pk].status == "refused"
    assert deliveries[school.teacher.pk].run_id is None
    assert "may not see all" in deliveries[school.teacher.pk].error
    [message] = mail.outbox
    assert message.to == [school.admin.email]
    assert sorted(row["code"] for row in csv_rows(message)) == sorted([school.course.code, school.other_course.code])
    schedule.refresh_from_db()
    assert schedule.last_status == "sent"
    assert school.teacher.display_name in schedule.last_error


def test_run_as_owner_reaches_a_recipient_who_sees_every_class_of_the_owner(school: School) -> None:
    # given: a teacher's report (their class) for the administrator, who sees every class of the school
    definition = class_progress_report(school.teacher)
    schedule = schedules.schedule_create(
        definition, owner=school.teacher, data=weekly([school.admin, school.other_teacher], run_as="owner")
    )

    # when
    deliveries = {each.recipient_id: each for each in run_and_send(schedule)}

    # then
    assert deliveries[school.admin.pk].status == "sent"
    assert deliveries[school.other_teacher.pk].status == "refused"
    [message] = mail.outbox
    assert [row["code"] for row in csv_rows(message)] == [school.course.code]


@pytest.mark.parametrize(("when_empty", "status", "mails"), [("skip", "skipped", 0), ("send", "sent", 1)])
def test_an_empty_report_is_skipped_or_sent_as_asked(school: School, when_empty: str, status: str, mails: int) -> None:
    # given: a teacher of no class yet
    newcomer = TeacherFactory.create(organization=school.organization)
    definition = class_progress_report(newcomer)
    schedule = schedules.schedule_create(definition, owner=newcomer, data=weekly([newcomer], when_empty=when_empty))

    # when
    [delivery] = run_and_send(schedule)

    # then
    assert delivery.status == status
    assert delivery.run is not None and delivery.run.row_count == 0
    assert len(mail.outbox) == mails
    schedule.refresh_from_db()
    assert schedule.last_status == status


def test_a_run_over_the_row_limit_fails_its_delivery_and_the_schedule_says_why(school: School) -> None:
    # given
    definition = class_progress_report(school.teacher)
    schedule = schedules.schedule_create(definition, owner=school.teacher, data=weekly([school.teacher]))

    # when
    with override_settings(REPORTS_MAX_ROWS=0):
        [delivery] = run_and_send(schedule)

    # then
    assert delivery.status == "failed"
    assert "more than 0 rows" in delivery.error
    assert not mail.outbox
    schedule.refresh_from_db()
    assert schedule.last_status == "failed"
    assert "more than 0 rows" in schedule.last_error


def test_a_recipient_who_lost_their_role_gets_nothing(school: School) -> None:
    # given
    definition = class_progress_report(school.admin)
    schedule = schedules.schedule_create(definition, owner=school.admin, data=weekly([school.teacher]))
    User.objects.filter(pk=school.teacher.pk).update(role="student")

    # when
    [delivery] = run_and_send(schedule)

    # then
    assert delivery.status == "failed"
    assert "no longer a teacher or administrator" in delivery.error
    assert not mail.outbox


def test_a_large_file_is_sent_as_a_link_only(school: School) -> None:
    definition = class_progress_report(school.teacher)
    schedule = schedules.schedule_create(definition, owner=school.teacher, data=weekly([school.teacher]))

    with override_settings(REPORTS_EMAIL_ATTACHMENT_MAX_BYTES=10, SITE_URL="https://edupath.example"):
        [delivery] = run_and_send(schedule)

    assert delivery.status == "sent"
    assert delivery.attached is False
    [message] = mail.outbox
    assert message.attachments == []
    assert f"https://edupath.example/api/v1/reports/runs/{delivery.run_id}/download" in message.body
    assert "too large to attach" in message.body


# SECTION: delivery failures and retries


class RefusingBackend(BaseEmailBackend):
    """An SMTP server that is down: every send fails as smtplib would."""

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class FlakyBackend(BaseEmailBackend):
    """Fails the first send, then delivers to Django's test outbox."""

    calls = 0

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        FlakyBackend.calls += 1
        if FlakyBackend.calls == 1:
            raise smtplib.SMTPDataError(451, b"Try again later")
        mail.outbox.extend(email_messages)
        return len(email_messages)


def pending_delivery(school: School) -> tuple[ReportSchedule, int]:
    definition = class_progress_report(school.teacher)
    schedule = schedules.schedule_create(definition, owner=school.teacher, data=weekly([school.teacher]))
    [delivery_id] = schedules.schedule_run(schedule.pk)
    return schedule, delivery_id


def test_a_failing_send_is_retried_then_failed_and_shown_on_the_schedule(school: School) -> None:
    # given
    schedule, delivery_id = pending_delivery(school)

    # when: the task, as a worker runs it, with its automatic retries (run at once here, without their countdown)
    with override_settings(EMAIL_BACKEND="tests.reports.test_schedules.RefusingBackend"):
        deliver_report.apply(args=(delivery_id,))

    # then
    delivery = ReportDelivery.objects.get(pk=delivery_id)
    assert delivery.status == "failed"
    assert delivery.attempts == schedules.DELIVERY_ATTEMPTS == 3
    assert delivery.error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert delivery.sent_at is None
    schedule.refresh_from_db()
    assert schedule.last_status == "failed"
    assert "SMTPServerDisconnected" in schedule.last_error
    answer = client_for(school.teacher).get(f"/api/v1/reports/schedules/{schedule.pk}").json()
    assert answer["last_status"] == "failed"
    [shown] = answer["deliveries"]
    assert (shown["id"], shown["status"], shown["attempts"], shown["attached"]) == (delivery_id, "failed", 3, False)
    assert shown["error"] == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert shown["recipient"] == {"id": school.teacher.pk, "name": school.teacher.display_name}


def test_a_send_that_fails_once_is_delivered_on_its_retry(school: School) -> None:
    schedule, delivery_id = pending_delivery(school)
    FlakyBackend.calls = 0

    with override_settings(EMAIL_BACKEND="tests.reports.test_schedules.FlakyBackend"):
        deliver_report.apply(args=(delivery_id,))

    delivery = ReportDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts, delivery.error) == ("sent", 2, "")
    assert len(mail.outbox) == 1
    schedule.refresh_from_db()
    assert schedule.last_status == "sent"


def test_a_delivery_sent_already_is_not_sent_again(school: School) -> None:
    _, delivery_id = pending_delivery(school)

    deliver_report.apply(args=(delivery_id,))
    deliver_report.apply(args=(delivery_id,))  # the broker delivered the task twice

    assert len(mail.outbox) == 1
    assert ReportDelivery.objects.get(pk=delivery_id).attempts == 1


# SECTION: who may do what


def test_only_the_reports_owner_changes_its_schedules(school: School) -> None:
    # given: a teacher's report shared with the school's staff, with a schedule
    definition = class_progress_report(school.teacher, visibility="shared")
    schedule = schedules.schedule_create(definition, owner=school.teacher, data=weekly([school.teacher]))
    url = f"/api/v1/reports/schedules/{schedule.pk}"

    for who in (school.admin, school.other_teacher):
        client = client_for(who)
        # they see it ...
        assert client.get(url).status_code == 200
        assert client.get(f"/api/v1/reports/{definition.pk}/schedules").json()["schedules"][0]["editable"] is False
        # ... and may not change it
        assert client.patch(url, {"enabled": False}, format="json").status_code == 403
        assert client.delete(url).status_code == 403
        assert create(client, definition, weekly([who])).status_code == 403
    assert ReportSchedule.objects.get().enabled is True


def test_the_schedules_of_a_report_you_cannot_see_are_not_found(school: School) -> None:
    definition = class_progress_report(school.teacher)
    schedule = schedules.schedule_create(definition, owner=school.teacher, data=weekly([school.teacher]))

    for who in (school.admin, school.other_teacher, school.foreign_admin):
        client = client_for(who)
        missing = client.get(f"/api/v1/reports/schedules/{MISSING_ID}")
        seen = client.get(f"/api/v1/reports/schedules/{schedule.pk}")
        assert (
            (seen.status_code, seen.json()) == (missing.status_code, missing.json()) == (404, {"detail": "Not found."})
        )
        assert client.get(f"/api/v1/reports/{definition.pk}/schedules").status_code == 404
        assert client.patch(f"/api/v1/reports/schedules/{schedule.pk}", {}, format="json").status_code == 404
    assert client_for(school.student).get(f"/api/v1/reports/schedules/{schedule.pk}").status_code == 403

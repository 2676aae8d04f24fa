"""Aggregation jobs (seed 004): an administrator queues a rollup rebuild for a range of days; the job recomputes the
rollups of those days from the raw events; the recent jobs are listed with their status and duration."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.models import User
from analytics.api.aggregations import AggregationIn
from analytics.models import CourseDailyRollup, StudentDailyRollup, StudentItemDay
from analytics.services import events_ingest
from analytics.tasks import rollup_rebuild_run
from core.models import Job
from tests.conftest import School, client_for
from tests.factories import AdminFactory

URL = "/api/v1/analytics/aggregations/"
NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


def stored_events(school: School) -> None:
    """Events of the student and the classmate on 10 and 20 March, and of the student on 20 February."""
    days = [(school.student, 10), (school.classmate, 10), (school.student, 20)]
    for actor, day in days:
        body = {
            "event_id": str(uuid4()),
            "action": "quiz_submit",
            "timestamp": datetime(2026, 3, day, 10, 0, tzinfo=UTC).isoformat(),
            "course": school.course.pk,
            "item": school.item.pk,
            "metadata": {"duration": 120, "score": 8, "max_score": 10},
        }
        outcome = events_ingest(items=[body], principal=actor, now=NOW, horizon=None)
        assert outcome.accepted == 1, outcome.as_dict()
    february = {
        "event_id": str(uuid4()),
        "action": "material_view",
        "timestamp": datetime(2026, 2, 20, 10, 0, tzinfo=UTC).isoformat(),
        "course": school.course.pk,
        "item": school.item.pk,
        "metadata": {"duration": 60},
    }
    assert events_ingest(items=[february], principal=school.student, now=NOW, horizon=None).accepted == 1


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    return {
        "student": sorted(
            StudentDailyRollup.objects.values_list(
                "student_id", "course_id", "day", "events", "active_seconds", "items_completed", "score_sum"
            ),
            key=repr,
        ),
        "course": sorted(
            CourseDailyRollup.objects.values_list("course_id", "day", "active_students", "events", "completions")
        ),
        "items": sorted(StudentItemDay.objects.values_list("student_id", "item_id", "day", "kind")),
    }


def queue(client: Any, body: dict[str, Any], capture: Callable[..., Any]) -> Any:
    """POST the body; the task is enqueued on commit, which the test runs itself (no worker serves the tests)."""
    with capture(execute=False) as enqueued:
        response = client.post(URL, body, format="json")
    assert len(enqueued) == (1 if response.status_code == 202 else 0)
    return response


def test_an_administrator_rebuilds_the_rollups_of_a_range_of_days(
    school: School, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # given rollups kept by ingestion, then damaged: a student's day lost, a class's day miscounted, in March and
    # in February
    stored_events(school)
    correct = snapshot()
    assert [row[1] for row in correct["course"]] == [date(2026, 2, 20), date(2026, 3, 10), date(2026, 3, 20)]
    StudentDailyRollup.objects.filter(student=school.student, day=date(2026, 3, 10)).delete()
    StudentItemDay.objects.filter(day=date(2026, 3, 20)).delete()
    CourseDailyRollup.objects.filter(day=date(2026, 3, 10)).update(events=999, active_students=7)
    CourseDailyRollup.objects.filter(day=date(2026, 2, 20)).update(events=999)
    admin = client_for(school.admin)

    # when the administrator asks for March
    response = queue(admin, {"start_date": "2026-03-01", "end_date": "2026-03-31"}, django_capture_on_commit_callbacks)

    # then the job is queued, and nothing is recomputed yet
    assert response.status_code == 202, response.content
    job = response.json()
    assert (job["kind"], job["status"], job["progress"], job["result"]) == ("rollup-rebuild", "queued", 0, None)
    assert (job["requested_by"], job["organization"]) == (school.admin.pk, school.organization.pk)
    assert response["Location"] == f"/api/v1/jobs/{job['id']}"
    assert CourseDailyRollup.objects.get(day=date(2026, 3, 10)).events == 999

    # when the worker runs it
    rollup_rebuild_run(job["id"])

    # then March is as the raw events say again; February, not asked for, is left as it was
    february = date(2026, 2, 20)
    expected_course = [(*row[:3], 999 if row[1] == february else row[3], row[4]) for row in correct["course"]]
    assert snapshot() == {**correct, "course": expected_course}

    # and the job says so: 31 days in 5 weekly transactions
    done = admin.get(f"/api/v1/jobs/{job['id']}").json()
    assert (done["status"], done["progress"]) == ("succeeded", 100)
    assert done["result"] == {"first_day": "2026-03-01", "last_day": "2026-03-31", "days": 31, "chunks": 5}
    assert done["message"] == "Recomputed the rollups of 31 day(s), 2026-03-01 to 2026-03-31."

    # and the list shows it, with its duration
    listed = admin.get(URL)
    assert listed.status_code == 200, listed.content
    assert listed.json()["count"] == 1
    (row,) = listed.json()["jobs"]
    stored = Job.objects.get(pk=job["id"])
    assert stored.started_at is not None and stored.finished_at is not None
    assert row == {
        "id": job["id"],
        "status": "succeeded",
        "progress": 100,
        "message": done["message"],
        "start_date": "2026-03-01",
        "end_date": "2026-03-31",
        "requested_by": school.admin.pk,
        "created_at": done["created_at"],
        "started_at": done["started_at"],
        "finished_at": done["finished_at"],
        "duration_seconds": round((stored.finished_at - stored.started_at).total_seconds(), 3),
        "result": done["result"],
    }

    # when the same delivery arrives again, nothing runs twice
    CourseDailyRollup.objects.filter(day=date(2026, 3, 10)).update(events=555)
    rollup_rebuild_run(job["id"])
    assert CourseDailyRollup.objects.get(day=date(2026, 3, 10)).events == 555


def test_the_list_is_newest_first_and_says_no_duration_until_finished(
    school: School,
    django_capture_on_commit_callbacks: Callable[..., Any],
    django_assert_num_queries: Callable[..., Any],
) -> None:
    # given a finished job and a newer queued one
    admin = client_for(school.admin)
    first = queue(admin, {"start_date": "2026-01-01", "end_date": "2026-01-07"}, django_capture_on_commit_callbacks)
    second = queue(admin, {"start_date": "2026-02-01", "end_date": "2026-02-01"}, django_capture_on_commit_callbacks)
    rollup_rebuild_run(first.json()["id"])

    # when the list is asked for: the page of jobs and their count, however many there are
    with django_assert_num_queries(2):
        jobs = admin.get(URL).json()["jobs"]

    # then

    assert [(job["id"], job["status"], job["duration_seconds"] is None) for job in jobs] == [
        (second.json()["id"], "queued", True),
        (first.json()["id"], "succeeded", False),
    ]
    assert [job["id"] for job in admin.get(URL, {"limit": 1}).json()["jobs"]] == [second.json()["id"]]
    assert admin.get(URL, {"limit": 1}).json()["count"] == 2


def test_other_kinds_of_job_are_not_listed(school: School) -> None:
    Job.objects.create(kind="roster_import", requested_by=school.admin, organization=school.organization)
    assert client_for(school.admin).get(URL).json() == {"jobs": [], "count": 0}


def test_another_schools_administrator_neither_lists_nor_opens_the_job(
    school: School, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # given a job of Northfield's administrator
    response = queue(
        client_for(school.admin),
        {"start_date": "2026-03-01", "end_date": "2026-03-02"},
        django_capture_on_commit_callbacks,
    )
    job_id = response.json()["id"]
    foreign = client_for(school.foreign_admin)

    # then Southfield's administrator sees none, and the job is missing to them
    assert foreign.get(URL).json() == {"jobs": [], "count": 0}
    assert foreign.get(f"/api/v1/jobs/{job_id}").status_code == 404
    # while another administrator of Northfield, and a platform operator, see it
    colleague = AdminFactory.create(organization=school.organization, username="admin2")
    assert [job["id"] for job in client_for(colleague).get(URL).json()["jobs"]] == [job_id]
    operator = User.objects.create_superuser("operator", "operator@example.test", "pass-word-123")
    assert [job["id"] for job in client_for(operator).get(URL).json()["jobs"]] == [job_id]


def test_a_platform_operator_may_rebuild(
    school: School, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    operator = User.objects.create_superuser("operator", "operator@example.test", "pass-word-123")
    response = queue(
        client_for(operator), {"start_date": "2026-03-01", "end_date": "2026-03-01"}, django_capture_on_commit_callbacks
    )
    assert response.status_code == 202, response.content
    assert response.json()["organization"] is None
    rollup_rebuild_run(response.json()["id"])
    assert Job.objects.get(pk=response.json()["id"]).status == Job.Status.SUCCEEDED


@pytest.mark.parametrize("role", ["teacher", "student"])
def test_teachers_and_students_are_refused(
    school: School, role: str, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    client = client_for(getattr(school, role))
    body = {"start_date": "2026-03-01", "end_date": "2026-03-02"}
    refused = queue(client, body, django_capture_on_commit_callbacks)
    assert (refused.status_code, refused.json()) == (403, {"detail": "Only administrators may do this."})
    assert client.get(URL).status_code == 403
    assert not Job.objects.exists()


def test_anonymous_is_asked_to_sign_in(school: School) -> None:
    assert (
        client_for(None).post(URL, {"start_date": "2026-03-01", "end_date": "2026-03-02"}, format="json").status_code
        == 401
    )
    assert client_for(None).get(URL).status_code == 401


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"end_date": "2026-03-02"}, "start_date", "This field is required."),
        ({"start_date": "2026-03-02"}, "end_date", "This field is required."),
        ({"start_date": "2026-03-02", "end_date": "2026-03-01"}, "end_date", "Must be on or after start_date."),
        ({"start_date": "2025-02-28", "end_date": "2026-03-01"}, "end_date", "At most 366 days from start_date"),
        ({"start_date": "2026-02-30", "end_date": "2026-03-01"}, "start_date", "Not a date; use YYYY-MM-DD."),
        ({"start_date": "1 March 2026", "end_date": "2026-03-01"}, "start_date", "Not a date; use YYYY-MM-DD."),
        (
            {"start_date": "2026-03-01", "end_date": "\uff12\uff10\uff12\uff16-03-02"},
            "end_date",
            "Not a date; use YYYY-MM-DD.",
        ),
        ({"start_date": 20260301, "end_date": "2026-03-02"}, "start_date", "Not a date; use YYYY-MM-DD."),
        ({"start_date": None, "end_date": "2026-03-02"}, "start_date", "This field may not be null."),
        ({"start_date": "2026-03-01", "end_date": "2026-03-02", "org": 1}, "org", "Unknown field."),
    ],
)
def test_bad_bodies_are_refused_naming_the_field(
    school: School, body: dict[str, Any], field: str, says: str, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    response = queue(client_for(school.admin), body, django_capture_on_commit_callbacks)
    assert response.status_code == 400, response.content
    assert says in " ".join(response.json()[field])
    assert not Job.objects.exists()


def test_a_leap_year_is_the_longest_range() -> None:
    today = date(2026, 12, 7)
    assert AggregationIn(
        data={"start_date": "2024-01-01", "end_date": "2024-12-31"}, context={"today": today}
    ).is_valid()
    too_long = AggregationIn(data={"start_date": "2025-01-01", "end_date": "2026-01-02"}, context={"today": today})
    assert not too_long.is_valid()
    assert list(too_long.errors) == ["end_date"]


def test_the_range_ends_tomorrow_at_the_latest() -> None:
    today = date(2026, 12, 7)
    tomorrow = AggregationIn(data={"start_date": "2026-12-01", "end_date": "2026-12-08"}, context={"today": today})
    assert tomorrow.is_valid(), tomorrow.errors
    later = AggregationIn(data={"start_date": "2026-12-01", "end_date": "2026-12-09"}, context={"today": today})
    assert not later.is_valid()
    assert later.errors["end_date"] == ["Must not be after 2026-12-08 (tomorrow in your school's time zone)."]


def test_tomorrow_is_the_schools(school: School, django_capture_on_commit_callbacks: Callable[..., Any]) -> None:
    # Kiritimati is 14 hours ahead of UTC: from 10:00 UTC on, its tomorrow is two UTC days on
    school.organization.time_zone = "Pacific/Kiritimati"
    school.organization.save()
    admin = client_for(school.admin)
    today = timezone.now().astimezone(ZoneInfo("Pacific/Kiritimati")).date()
    week = {"start_date": (today - timedelta(days=6)).isoformat()}

    tomorrow = queue(
        admin, {**week, "end_date": (today + timedelta(days=1)).isoformat()}, django_capture_on_commit_callbacks
    )
    later = queue(
        admin, {**week, "end_date": (today + timedelta(days=2)).isoformat()}, django_capture_on_commit_callbacks
    )

    assert tomorrow.status_code == 202, tomorrow.content
    assert later.status_code == 400
    assert list(later.json()) == ["end_date"]

"""The gamification API: what students, teachers and admins see, and what bad input gets."""

from typing import Any
from uuid import uuid4

import pytest
from django.utils import timezone

from gamification.models import XpRule
from tests.conftest import School, client_for
from tests.factories import EnrollmentFactory, StudentFactory


@pytest.fixture
def active_class(school: School, django_capture_on_commit_callbacks: Any, settings: Any) -> list[Any]:
    """Five students in the class (the minimum for students to see its leaderboard), each with some XP earned
    through the tracking API; real names and emails that must never reach another student."""
    settings.GAMIFICATION_LEADERBOARD_MIN_STUDENTS = 5
    XpRule.objects.filter(organization=None, action="lesson_complete").update(points=20)
    students = [school.student, school.classmate]
    for n in range(3):
        extra = StudentFactory.create(
            organization=school.organization, username=f"peer{n}", first_name=f"Peerfirst{n}", last_name=f"Peerlast{n}"
        )
        EnrollmentFactory.create(user=extra, course=school.course)
        students.append(extra)
    for n, student in enumerate(students):
        student.first_name, student.last_name, student.email = f"First{n}", f"Last{n}", f"secret{n}@example.test"
        student.save()
        for _ in range(n + 1):
            body = {
                "event_id": str(uuid4()),
                "action": "lesson_complete",
                "timestamp": timezone.now().isoformat(),
                "course": school.course.pk,
            }
            with django_capture_on_commit_callbacks(execute=True):
                assert client_for(student).post("/api/v1/events/", body, format="json").status_code == 201
    return students


GAMIFICATION_URLS = [
    "/api/v1/gamification/progress",
    "/api/v1/gamification/progress?days=365",
    "/api/v1/analytics/weekly-xp",
    *[
        f"/api/v1/gamification/leaderboard?timeframe={timeframe}&limit=100{course}"
        for timeframe in ("day", "week", "month", "all-time")
        for course in ("", "&course={course}")
    ],
]


def test_xp_posted_through_the_api_shows_in_progress(school: School, active_class: list[Any]) -> None:
    response = client_for(school.classmate).get("/api/v1/gamification/progress?days=7")
    assert response.status_code == 200
    body = response.json()
    assert body["xp"] == 40  # two lessons at 20 XP
    assert body["xp_trend"][-1]["xp"] == 40
    assert body["streak"]["current"] == 1 and body["streak"]["active_today"] is True
    weekly = client_for(school.classmate).get("/api/v1/analytics/weekly-xp").json()
    assert (weekly["week_total"], len(weekly["days"])) == (40, 7)
    assert weekly["days"][-1]["xp"] == 40


@pytest.mark.parametrize("url", GAMIFICATION_URLS)
def test_a_student_never_sees_another_students_name_or_email(school: School, active_class: list[Any], url: str) -> None:
    response = client_for(school.student).get(url.format(course=school.course.pk))
    assert response.status_code == 200, response.content
    text = response.content.decode()
    for other in active_class[1:]:
        for secret in (other.first_name, other.last_name, other.email, other.username, f'"student":{other.pk}'):
            assert secret not in text, (url, secret)


def test_the_leaderboard_shows_handles_to_students_and_names_to_their_teacher(
    school: School, active_class: list[Any]
) -> None:
    url = f"/api/v1/gamification/leaderboard?course={school.course.pk}&timeframe=all-time&limit=3"
    student_view = client_for(school.student).get(url).json()
    assert [row["xp"] for row in student_view["rows"]] == [100, 80, 60]
    assert all(set(row) == {"rank", "handle", "xp", "is_me"} for row in student_view["rows"])
    # 40 XP for the classmate just above; equal XP would do, since ties go to the lower id (the student's).
    assert student_view["me"] == {"rank": 5, "xp": 20, "percentile": 0.0, "xp_to_next_rank": 20}
    teacher_view = client_for(school.teacher).get(url).json()
    assert [row["name"] for row in teacher_view["rows"]] == ["First4 Last4", "First3 Last3", "First2 Last2"]
    assert teacher_view["me"] is None


def test_a_small_class_hides_its_leaderboard_from_students(school: School, settings: Any) -> None:
    settings.GAMIFICATION_LEADERBOARD_MIN_STUDENTS = 5  # the class has two students
    url = f"/api/v1/gamification/leaderboard?course={school.course.pk}"
    hidden = client_for(school.student).get(url).json()
    assert hidden["hidden"] is True and hidden["rows"] == [] and hidden["me"] is None
    assert client_for(school.teacher).get(url).json()["hidden"] is False


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("timeframe=year", "timeframe"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("course=abc", "course"),
        ("colour=blue", "colour"),
    ],
)
def test_bad_leaderboard_queries_are_400_with_the_field(school: School, query: str, field: str) -> None:
    response = client_for(school.student).get(f"/api/v1/gamification/leaderboard?{query}")
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(("query", "field"), [("days=0", "days"), ("days=366", "days"), ("student=x", "student")])
def test_bad_progress_queries_are_400_with_the_field(school: School, query: str, field: str) -> None:
    response = client_for(school.student).get(f"/api/v1/gamification/progress?{query}")
    assert response.status_code == 400
    assert field in response.json()

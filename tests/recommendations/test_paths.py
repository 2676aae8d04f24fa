"""Path progress recomputed from a student's events: hand-computed steps, current step, time and access; one upsert
for many students, idempotent; what the API shows to whom."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from analytics.models import StudentItemDay
from classroom.selectors import courses_in_common
from recommendations.models import PathProgress
from recommendations.paths import path_progress_refresh, paths_for_student
from tests.conftest import School, client_for
from tests.factories import SubmissionFactory
from tests.recommendations.goal_fixtures import NOW, Paths, paths, queued, send

__all__ = ["paths", "queued", "send"]  # fixtures of tests/recommendations/goal_fixtures.py
pytestmark = pytest.mark.urls("tests.recommendations.goal_urls")

T1, T2, T3 = NOW - timedelta(days=2), NOW - timedelta(days=1, hours=3), NOW - timedelta(hours=5)


def progress_of(student: Any, path: Any) -> PathProgress:
    return PathProgress.objects.get(student=student, path=path)


def test_steps_time_and_access_are_hand_computed(school: School, paths: Paths, send: Any) -> None:
    # given: a viewed and completed (2 min + 30 s), b graded by the teacher without an event, c completed (1 min)
    course = school.course.pk
    send(school.student, "material_view", T1, course=course, item=paths.a.pk, duration=120)
    send(school.student, "material_complete", T2, course=course, item=paths.a.pk, duration=30)
    SubmissionFactory.create(item=paths.b, student=school.student, submitted_at=T2 + timedelta(hours=1))
    send(school.student, "material_complete", T3, course=course, item=paths.c.pk, duration=60)
    send(school.classmate, "material_view", T1, course=course, item=paths.b.pk, duration=45)

    # when
    written = path_progress_refresh(student_ids=[school.student.pk, school.classmate.pk], now=NOW)

    # then: the student and the classmate follow the two paths with items of their class (not "History only", not
    # the other school's)
    assert written == 4
    row = progress_of(school.student, paths.path)
    assert (row.steps_total, row.steps_completed, row.progress) == (4, 3, Decimal("75.00"))
    assert row.current_step is not None and row.current_step.item_id == paths.d.pk  # d: not completed
    assert row.time_spent_seconds == 120 + 30 + 60
    assert row.last_accessed == T3
    assert row.completed_at is None
    inside = progress_of(school.student, paths.inside)
    assert (inside.steps_completed, inside.progress, inside.time_spent_seconds) == (2, Decimal("100.00"), 150)
    assert inside.current_step is None
    assert inside.completed_at == T2 + timedelta(hours=1)  # b's graded hand-in came after a's completion
    mate = progress_of(school.classmate, paths.path)
    assert (mate.steps_completed, mate.progress, mate.time_spent_seconds, mate.last_accessed) == (0, 0, 45, T1)
    assert mate.current_step is not None and mate.current_step.item_id == paths.a.pk
    assert not PathProgress.objects.filter(path__in=[paths.elsewhere, paths.foreign]).exists()


def test_a_completion_in_the_rollups_counts_and_the_path_completes(school: School, paths: Paths) -> None:
    # completions kept only in the rollups (events past retention): 00:00 UTC of their day
    for item in (paths.a, paths.b, paths.c):
        StudentItemDay.objects.create(
            student=school.student, course=school.course, item=item, day=NOW.date(), kind="completed"
        )
    SubmissionFactory.create(item=paths.d, student=school.student, submitted_at=NOW - timedelta(days=3))
    path_progress_refresh(student_ids=[school.student.pk], now=NOW)
    row = progress_of(school.student, paths.path)
    assert (row.steps_completed, row.progress, row.current_step) == (4, Decimal("100.00"), None)
    assert row.completed_at == NOW.replace(hour=0)  # the latest first completion: the rollup day of a, b and c


def test_refresh_is_idempotent_and_a_few_queries_for_many_students(
    school: School, paths: Paths, send: Any, django_assert_num_queries: Any
) -> None:
    send(school.student, "material_complete", T2, course=school.course.pk, item=paths.a.pk, duration=30)
    students = [school.student.pk, school.classmate.pk, school.other_student.pk, school.foreign_student.pk]
    # enrolments, path steps, rollup completions, completion events, graded submissions, time and access, upsert
    with django_assert_num_queries(7):
        first = path_progress_refresh(student_ids=students, now=NOW)
    before = list(PathProgress.objects.order_by("pk").values_list("student", "path", "steps_completed", "progress"))
    assert (
        path_progress_refresh(student_ids=students, now=NOW) == first == 7
    )  # 2 paths each; the foreign student 1 (their school's)
    after = list(PathProgress.objects.order_by("pk").values_list("student", "path", "steps_completed", "progress"))
    assert after == before
    assert path_progress_refresh(student_ids=[], now=NOW) == 0


def test_paths_for_student_and_a_teachers_view(school: School, paths: Paths, send: Any) -> None:
    send(school.student, "material_complete", T2, course=school.course.pk, item=paths.a.pk, duration=30)
    path_progress_refresh(student_ids=[school.student.pk], now=NOW)
    rows = paths_for_student(school.student)
    assert [row["title"] for row in rows] == ["Algebra basics", "Algebra then history"]
    assert rows[0]["progress_percent"] == 50.0
    assert rows[0]["current_step"] is not None and rows[0]["current_step"]["item"] == paths.b.pk
    # a teacher of the class sees only the path lying wholly inside it
    taught = courses_in_common(school.teacher, school.student).values("pk")
    assert [row["title"] for row in paths_for_student(school.student, course_ids=taught)] == ["Algebra basics"]


def test_paths_api_for_each_role(school: School, paths: Paths, send: Any) -> None:
    send(school.student, "material_complete", T2, course=school.course.pk, item=paths.a.pk)
    path_progress_refresh(student_ids=[school.student.pk], now=NOW)
    url = "/api/v1/recommendations/paths/"

    own = client_for(school.student).get(url)
    assert own.status_code == 200
    assert own.json()["student"] == school.student.pk
    assert {row["title"] for row in own.json()["paths"]} == {"Algebra basics", "Algebra then history"}
    assert client_for(school.student).get(url, {"student": school.student.pk}).status_code == 200

    taught = client_for(school.teacher).get(url, {"student": school.student.pk})
    assert taught.status_code == 200
    assert [row["title"] for row in taught.json()["paths"]] == ["Algebra basics"]
    assert client_for(school.admin).get(url, {"student": school.student.pk}).json()["paths"] == own.json()["paths"]

    # outside the requester's scope: 404, as for a student who does not exist
    assert client_for(school.other_teacher).get(url, {"student": school.student.pk}).status_code == 404
    assert client_for(school.classmate).get(url, {"student": school.student.pk}).status_code == 404
    assert client_for(school.foreign_admin).get(url, {"student": school.student.pk}).status_code == 404
    assert client_for(school.student).get(url, {"student": 10**12}).status_code == 404
    # staff must name a student; bad parameters are named
    assert client_for(school.teacher).get(url).json() == {"student": ["Required: the id of a student you may see."]}
    assert client_for(school.student).get(url, {"student": "x"}).status_code == 400
    assert "limit" in client_for(school.student).get(url, {"limit": 3}).json()
    assert client_for(None).get(url).status_code == 401

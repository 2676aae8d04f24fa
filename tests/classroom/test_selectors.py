"""The scoping rules, stated once in classroom.selectors, checked directly."""

from datetime import UTC, datetime

from django.contrib.auth.models import AnonymousUser

from accounts.models import User
from classroom.models import Enrollment
from classroom.selectors import (
    can_view_course,
    can_view_student,
    visible_courses,
    visible_enrollments,
    visible_items,
    visible_students,
    visible_users,
)
from tests.conftest import School


def names(queryset) -> list[str]:
    return sorted(queryset.values_list("username", flat=True))


def test_visible_students(school: School) -> None:
    assert names(visible_students(school.admin)) == ["classmate", "other_student", "student"]
    assert names(visible_students(school.teacher)) == ["classmate", "student"]
    assert names(visible_students(school.other_teacher)) == ["other_student"]
    assert names(visible_students(school.student)) == ["student"]
    assert names(visible_students(AnonymousUser())) == []


def test_visible_users_adds_self_and_staff_for_admins(school: School) -> None:
    assert names(visible_users(school.teacher)) == ["classmate", "student", "teacher"]
    assert names(visible_users(school.student)) == ["student"]
    assert "other_teacher" in names(visible_users(school.admin))
    assert "foreign_admin" not in names(visible_users(school.admin))


def test_teacher_loses_access_when_their_teaching_enrollment_ends(school: School) -> None:
    Enrollment.objects.filter(user=school.teacher).update(status="dropped", ended_at=datetime(2026, 10, 1, tzinfo=UTC))
    assert not can_view_course(school.teacher, school.course.pk)
    assert not can_view_student(school.teacher, school.student.pk)


def test_student_and_course_helpers(school: School) -> None:
    assert can_view_course(school.student, school.course.pk)
    assert not can_view_course(school.student, school.other_course.pk)
    assert can_view_student(school.teacher, school.student.pk)
    assert not can_view_student(school.teacher, school.other_student.pk)
    assert not can_view_student(school.student, school.classmate.pk)
    assert not can_view_student(school.admin, school.foreign_student.pk)


def test_enrollments_and_items(school: School) -> None:
    assert visible_enrollments(school.student).count() == 2  # own row and the teacher's
    assert visible_enrollments(school.teacher).count() == 3
    assert list(visible_items(school.student)) == [school.item]
    assert set(visible_items(school.admin)) == {school.item, school.other_item}


def test_superuser_sees_every_organisation(school: School) -> None:
    operator = User.objects.create_superuser("operator", "op@example.test", "pass-word-123")
    assert visible_courses(operator).count() == 3
    assert "foreign_student" in names(visible_students(operator))

"""Shared fixtures: a small school with two classes, so every permission test has a "someone else" to ask for."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Organization, User
from analytics.partitions import forget_known_partitions
from classroom.models import Course, Enrollment, LearningItem
from tests.factories import (
    AdminFactory,
    CourseFactory,
    EnrollmentFactory,
    LearningItemFactory,
    ModuleFactory,
    OrganizationFactory,
    StudentFactory,
    TeacherFactory,
)


@pytest.fixture(scope="session", autouse=True)
def _end_test_database_sessions(django_db_setup: None) -> Iterator[None]:
    """Before the test database is dropped, end the sessions other threads still hold.

    Async tests run Django code on asgiref's executor threads, whose thread-local connections may still be checked out
    of psycopg's pool when the run ends; Django closes the pool's idle connections only, so the DROP DATABASE found
    "1 other session" now and then and left the database behind (a warning, and a recreate next run)."""
    yield
    database = connection.settings_dict
    with psycopg.connect(
        dbname="postgres",
        host=database["HOST"] or None,
        port=database["PORT"] or None,
        user=database["USER"] or None,
        password=database["PASSWORD"] or None,
        autocommit=True,
    ) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database["NAME"]],
        )


@dataclass
class School:
    """Two classes in one organisation and a second organisation:

    - `teacher` teaches `course`, where `student` and `classmate` study;
    - `other_teacher` teaches `other_course`, where `other_student` studies;
    - `foreign_*` live in another organisation.
    """

    organization: Organization
    admin: User
    teacher: User
    student: User
    classmate: User
    course: Course
    item: LearningItem
    other_teacher: User
    other_student: User
    other_course: Course
    other_item: LearningItem
    foreign_organization: Organization
    foreign_admin: User
    foreign_student: User
    foreign_course: Course


@pytest.fixture(autouse=True)
def _private_report_files(settings: Any, tmp_path: Path) -> None:
    # Report files of each test in a folder of its own: run ids restart with every test database.
    settings.REPORTS_STORAGE_DIR = tmp_path / "report-files"


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    # Throttle counters and cached values live in (test) Redis; each test starts clean.
    cache.clear()
    # Partitions an earlier test created were rolled back with its transaction; the process must not remember them.
    forget_known_partitions()


@pytest.fixture
def school(db: None) -> School:
    organization = OrganizationFactory.create(slug="northfield", name="Northfield")
    admin = AdminFactory.create(organization=organization, username="admin")
    teacher = TeacherFactory.create(organization=organization, username="teacher")
    student = StudentFactory.create(organization=organization, username="student")
    classmate = StudentFactory.create(organization=organization, username="classmate")
    course = CourseFactory.create(organization=organization, code="MATH-1")
    EnrollmentFactory.create(user=teacher, course=course, role=Enrollment.Role.TEACHER)
    EnrollmentFactory.create(user=student, course=course)
    EnrollmentFactory.create(user=classmate, course=course)
    item = LearningItemFactory.create(module=ModuleFactory.create(course=course))

    other_teacher = TeacherFactory.create(organization=organization, username="other_teacher")
    other_student = StudentFactory.create(organization=organization, username="other_student")
    other_course = CourseFactory.create(organization=organization, code="HIST-1")
    EnrollmentFactory.create(user=other_teacher, course=other_course, role=Enrollment.Role.TEACHER)
    EnrollmentFactory.create(user=other_student, course=other_course)
    other_item = LearningItemFactory.create(module=ModuleFactory.create(course=other_course))

    foreign_organization = OrganizationFactory.create(slug="southfield", name="Southfield")
    foreign_admin = AdminFactory.create(organization=foreign_organization, username="foreign_admin")
    foreign_student = StudentFactory.create(organization=foreign_organization, username="foreign_student")
    foreign_course = CourseFactory.create(organization=foreign_organization, code="MATH-1")
    EnrollmentFactory.create(user=foreign_student, course=foreign_course)
    return School(
        organization=organization,
        admin=admin,
        teacher=teacher,
        student=student,
        classmate=classmate,
        course=course,
        item=item,
        other_teacher=other_teacher,
        other_student=other_student,
        other_course=other_course,
        other_item=other_item,
        foreign_organization=foreign_organization,
        foreign_admin=foreign_admin,
        foreign_student=foreign_student,
        foreign_course=foreign_course,
    )


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client

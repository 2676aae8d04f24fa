"""Every URL, asked by anonymous, student, teacher and administrator.

Forbidden objects must be indistinguishable from missing ones: the same status and the same body as an id that does
not exist. test_every_url_is_in_the_matrix fails when a URL is added without a row here.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Organization, User
from classroom.models import Enrollment, LearningItem
from core.jobs import job_create
from core.models import Job
from google_classroom.client import READ_SCOPES as GOOGLE_READ_SCOPES
from google_classroom.models import Connection, SyncedCourse
from google_classroom.summary import class_summary
from recommendations.goals import goal_create
from recommendations.models import Category, Goal, Recommendation
from reports.models import ReportDefinition
from reports.schedules import schedule_create
from reports.services import definition_create, run_execute, run_request
from reports.specs import spec_from
from risk.alerts import alerts_for_predictions
from risk.models import Alert, ModelVersion
from tests.conftest import School
from tests.risk.factories import model_version as risk_model_version
from tests.risk.factories import prediction as risk_prediction

ROLES = ("anonymous", "student", "teacher", "admin")
MISSING_ID = 987654321


@dataclass(frozen=True)
class Case:
    name: str  # the URL name (as in reverse()) this case covers
    url: Callable[[School], str]
    expect: dict[str, int]
    method: str = "get"
    body: Callable[[School], dict[str, Any]] | None = None
    page: bool = False  # a server-rendered page: session login instead of API authentication
    extra: dict[str, Any] = field(default_factory=dict)


def student_cases(name: str, path: str) -> list[Case]:
    """An endpoint about one student: the requester by default (students), or `student=` someone in scope."""

    def url(who: str | None) -> Callable[[School], str]:
        return lambda s: f"/api/v1/{path}" + (f"?student={getattr(s, who).pk}" if who else "")

    return [
        Case(name, url(None), {"anonymous": 401, "student": 200, "teacher": 400, "admin": 400}),
        Case(name, url("student"), {"anonymous": 401, "student": 200, "teacher": 200, "admin": 200}),
        Case(name, url("classmate"), {"anonymous": 401, "student": 404, "teacher": 200, "admin": 200}),
        Case(name, url("other_student"), {"anonymous": 401, "student": 404, "teacher": 404, "admin": 200}),
        Case(name, url("foreign_student"), {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404}),
    ]


def staff_cases(name: str, path: str) -> list[Case]:
    """A class- or school-level endpoint: staff only; a class named in `course` must be in the requester's scope."""

    def url(course: str | None) -> Callable[[School], str]:
        return lambda s: f"/api/v1/{path}" + (f"?course={getattr(s, course).pk}" if course else "")

    return [
        Case(name, url(None), {"anonymous": 401, "student": 403, "teacher": 200, "admin": 200}),
        Case(name, url("course"), {"anonymous": 401, "student": 403, "teacher": 200, "admin": 200}),
        Case(name, url("other_course"), {"anonymous": 401, "student": 403, "teacher": 404, "admin": 200}),
        Case(name, url("foreign_course"), {"anonymous": 401, "student": 403, "teacher": 404, "admin": 404}),
    ]


def message_to(who: str) -> Callable[[School], dict[str, Any]]:
    """A message body to the student of the School attribute `who`."""
    return lambda school: {"students": [getattr(school, who).pk], "subject": "Hello", "body": "See you."}


def with_id(template: str, who: str | None) -> Callable[[School], str]:
    """`template` with the id of the School's `who` (a user or a course), or of nothing (None: a missing id)."""
    return lambda s: template.format(getattr(s, who).pk if who else MISSING_ID)


def class_cases(name: str, path: str) -> list[Case]:
    """An endpoint about one class, named by a required `course` in the requester's scope: staff only."""
    return [
        *[
            Case(name, with_id(f"/api/v1/{path}?course={{}}", who), expect)
            for who, expect in (
                ("course", {"anonymous": 401, "student": 403, "teacher": 200, "admin": 200}),
                ("other_course", {"anonymous": 401, "student": 403, "teacher": 404, "admin": 200}),
                ("foreign_course", {"anonymous": 401, "student": 403, "teacher": 404, "admin": 404}),
                (None, {"anonymous": 401, "student": 403, "teacher": 404, "admin": 404}),
            )
        ],
        Case(name, lambda s: f"/api/v1/{path}", {"anonymous": 401, "student": 403, "teacher": 400, "admin": 400}),
    ]


def job_url(who: str | None) -> Callable[[School], str]:
    """The URL of a job `who` asked for (job_of), or of a missing one."""
    return lambda s: f"/api/v1/jobs/{job_of(s, who)}"


CASES = [
    Case("me", lambda s: "/api/v1/me/", {"anonymous": 401, "student": 200, "teacher": 200, "admin": 200}),
    Case("user-list", lambda s: "/api/v1/users/", {"anonymous": 401, "student": 403, "teacher": 403, "admin": 200}),
    Case(
        "user-detail",
        lambda s: f"/api/v1/users/{s.student.pk}/",
        {"anonymous": 401, "student": 200, "teacher": 200, "admin": 200},
    ),
    # a classmate: the student may not open them; their teacher and the admin may
    Case(
        "user-detail",
        lambda s: f"/api/v1/users/{s.classmate.pk}/",
        {"anonymous": 401, "student": 404, "teacher": 200, "admin": 200},
    ),
    # a student of another class: 404 for the teacher of this class, exactly like a missing id
    Case(
        "user-detail",
        lambda s: f"/api/v1/users/{s.other_student.pk}/",
        {"anonymous": 401, "student": 404, "teacher": 404, "admin": 200},
    ),
    Case(
        "user-detail",
        lambda s: f"/api/v1/users/{s.teacher.pk}/",
        {"anonymous": 401, "student": 404, "teacher": 200, "admin": 200},
    ),
    Case(
        "user-detail",
        lambda s: f"/api/v1/users/{s.foreign_student.pk}/",
        {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404},
    ),
    Case(
        "user-detail",
        lambda s: f"/api/v1/users/{MISSING_ID}/",
        {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404},
    ),
    Case("school-list", lambda s: "/api/v1/schools/", {"anonymous": 401, "student": 403, "teacher": 403, "admin": 200}),
    Case(
        "school-detail",
        lambda s: f"/api/v1/schools/{s.organization.pk}/",
        {"anonymous": 401, "student": 403, "teacher": 403, "admin": 200},
    ),
    Case(
        "school-detail",
        lambda s: f"/api/v1/schools/{s.foreign_organization.pk}/",
        {"anonymous": 401, "student": 403, "teacher": 403, "admin": 404},
    ),
    Case(
        "school-list",
        lambda s: "/api/v1/schools/",
        {"anonymous": 401, "student": 403, "teacher": 403, "admin": 403},
        method="post",
        body=lambda s: {"name": "New School", "slug": "new-school", "time_zone": "Europe/Paris"},
    ),
    Case("course-list", lambda s: "/api/v1/courses/", {"anonymous": 401, "student": 200, "teacher": 200, "admin": 200}),
    Case(
        "course-detail",
        lambda s: f"/api/v1/courses/{s.course.pk}/",
        {"anonymous": 401, "student": 200, "teacher": 200, "admin": 200},
    ),
    Case(
        "course-detail",
        lambda s: f"/api/v1/courses/{s.other_course.pk}/",
        {"anonymous": 401, "student": 404, "teacher": 404, "admin": 200},
    ),
    Case(
        "course-detail",
        lambda s: f"/api/v1/courses/{s.foreign_course.pk}/",
        {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404},
    ),
    Case(
        "course-detail",
        lambda s: f"/api/v1/courses/{MISSING_ID}/",
        {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404},
    ),
    Case(
        "course-enrollments",
        lambda s: f"/api/v1/courses/{s.course.pk}/enrollments/",
        {"anonymous": 401, "student": 200, "teacher": 200, "admin": 200},
    ),
    Case(
        "course-enrollments",
        lambda s: f"/api/v1/courses/{s.other_course.pk}/enrollments/",
        {"anonymous": 401, "student": 404, "teacher": 404, "admin": 200},
    ),
    Case(
        "course-enrollments",
        lambda s: f"/api/v1/courses/{MISSING_ID}/enrollments/",
        {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404},
    ),
    Case(
        "course-items",
        lambda s: f"/api/v1/courses/{s.course.pk}/items/",
        {"anonymous": 401, "student": 200, "teacher": 200, "admin": 200},
    ),
    Case(
        "course-items",
        lambda s: f"/api/v1/courses/{s.foreign_course.pk}/items/",
        {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404},
    ),
    Case(
        "course-items",
        lambda s: f"/api/v1/courses/{MISSING_ID}/items/",
        {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404},
    ),
    # Obtaining a token is public; wrong credentials are 401 for everyone (tests/accounts/test_auth_api.py covers
    # the successful exchange).
    Case(
        "auth-token",
        lambda s: "/api/v1/auth/token/",
        {"anonymous": 401, "student": 401, "teacher": 401, "admin": 401},
        method="post",
        body=lambda s: {"username": "nobody", "password": "wrong-password"},
    ),
    Case(
        "auth-token-refresh",
        lambda s: "/api/v1/auth/token/refresh/",
        {"anonymous": 401, "student": 401, "teacher": 401, "admin": 401},
        method="post",
        body=lambda s: {"refresh": "not-a-token"},
    ),
    Case(
        "auth-logout",
        lambda s: "/api/v1/auth/logout/",
        {"anonymous": 401, "student": 400, "teacher": 400, "admin": 400},
        method="post",
        body=lambda s: {"refresh": "not-a-token"},
    ),
    # The tracking API: anyone signed in records their own events (tests/analytics covers the rest).
    Case(
        "events-ingest",
        lambda s: "/api/v1/events/",
        {"anonymous": 401, "student": 201, "teacher": 201, "admin": 201},
        method="post",
        body=lambda s: {"event_id": str(uuid4()), "action": "page_view", "timestamp": timezone.now().isoformat()},
    ),
    Case(
        "events-ingest-batch",
        lambda s: "/api/v1/events/batch/",
        {"anonymous": 401, "student": 200, "teacher": 200, "admin": 200},
        method="post",
        body=lambda s: {
            "events": [{"event_id": str(uuid4()), "action": "page_view", "timestamp": timezone.now().isoformat()}]
        },
    ),
    Case("api-schema", lambda s: "/api/schema/", {"anonymous": 200, "student": 200, "teacher": 200, "admin": 200}),
    Case("api-docs", lambda s: "/api/docs/", {"anonymous": 200, "student": 200, "teacher": 200, "admin": 200}),
    Case("api-redoc", lambda s: "/api/redoc/", {"anonymous": 200, "student": 200, "teacher": 200, "admin": 200}),
    Case("home", lambda s: "/", {"anonymous": 302, "student": 200, "teacher": 200, "admin": 200}, page=True),
    Case(
        "login",
        lambda s: "/accounts/login/",
        {"anonymous": 200, "student": 302, "teacher": 302, "admin": 302},
        page=True,
    ),
    Case(
        "logout",
        lambda s: "/accounts/logout/",
        {"anonymous": 302, "student": 302, "teacher": 302, "admin": 302},
        method="post",
        page=True,
    ),
    # Django admin is for platform operators (is_staff); organisation roles are sent to its login page.
    Case(
        "admin:index", lambda s: "/admin/", {"anonymous": 302, "student": 302, "teacher": 302, "admin": 302}, page=True
    ),
    # Gamification: a student is themselves by default; staff name a student they may see (else 400 / 404).
    *student_cases("gamification-progress", "gamification/progress"),
    *student_cases("analytics-weekly-xp", "analytics/weekly-xp"),
    *student_cases("analytics-learning-heatmap", "analytics/learning/heatmap"),
    *student_cases("analytics-learning-overview", "analytics/learning/overview"),
    *student_cases("analytics-student-progress", "analytics/student-progress"),
    *student_cases("analytics-subject-mastery", "analytics/subject-mastery"),
    *student_cases("analytics-student-coursework", "analytics/coursework"),
    # Class- and school-level analytics are for staff; a class outside a teacher's scope is 404 like a missing one.
    *staff_cases("analytics-trends-engagement", "analytics/trends/engagement"),
    *staff_cases("analytics-realtime", "analytics/realtime"),
    *staff_cases("analytics-overview", "analytics/overview"),
    *staff_cases("analytics-dashboard", "analytics/dashboard"),
    *staff_cases("analytics-summary", "analytics/summary"),
    *staff_cases("analytics-trends-content", "analytics/trends/content"),
    *staff_cases("analytics-activity-daily", "analytics/activity/daily"),
    *[
        Case(
            "analytics-activity-daily",
            with_id("/api/v1/analytics/activity/daily?student={}", who),
            {"anonymous": 401, "student": 403, "teacher": expect, "admin": 200 if who == "other_student" else expect},
        )
        for who, expect in (("student", 200), ("other_student", 404), ("foreign_student", 404), (None, 404))
    ],
    Case(
        "analytics-system-metrics",
        lambda s: "/api/v1/analytics/system-metrics?hours=24",
        {"anonymous": 401, "student": 403, "teacher": 403, "admin": 200},
    ),
    # Aggregation jobs (issue 15, seed 004): administrators rebuild the rollups of a range of days and list the jobs
    Case(
        "analytics-aggregations",
        lambda s: "/api/v1/analytics/aggregations/",
        {"anonymous": 401, "student": 403, "teacher": 403, "admin": 202},
        method="post",
        body=lambda s: {"start_date": "2026-03-01", "end_date": "2026-03-07"},
    ),
    Case(
        "analytics-aggregations",
        lambda s: "/api/v1/analytics/aggregations/",
        {"anonymous": 401, "student": 403, "teacher": 403, "admin": 200},
    ),
    # Prometheus text for operators: administrators, or a scraper with METRICS_TOKEN (tests/analytics)
    Case("metrics", lambda s: "/metrics", {"anonymous": 403, "student": 403, "teacher": 403, "admin": 200}, page=True),
    Case(
        "analytics-course-analytics",
        lambda s: f"/api/v1/analytics/courses/{s.course.pk}/analytics",
        {"anonymous": 401, "student": 403, "teacher": 200, "admin": 200},
    ),
    Case(
        "analytics-course-analytics",
        lambda s: f"/api/v1/analytics/courses/{s.other_course.pk}/analytics",
        {"anonymous": 401, "student": 403, "teacher": 404, "admin": 200},
    ),
    Case(
        "analytics-course-analytics",
        lambda s: f"/api/v1/analytics/courses/{s.foreign_course.pk}/analytics",
        {"anonymous": 401, "student": 403, "teacher": 404, "admin": 404},
    ),
    Case(
        "analytics-course-analytics",
        lambda s: f"/api/v1/analytics/courses/{MISSING_ID}/analytics",
        {"anonymous": 401, "student": 403, "teacher": 404, "admin": 404},
    ),
    Case(
        "gamification-leaderboard",
        lambda s: "/api/v1/gamification/leaderboard",
        {"anonymous": 401, "student": 200, "teacher": 200, "admin": 200},
    ),
    Case(
        "gamification-leaderboard",
        lambda s: f"/api/v1/gamification/leaderboard?course={s.course.pk}&timeframe=all-time&limit=100",
        {"anonymous": 401, "student": 200, "teacher": 200, "admin": 200},
    ),
    Case(
        "gamification-leaderboard",
        lambda s: f"/api/v1/gamification/leaderboard?course={s.other_course.pk}",
        {"anonymous": 401, "student": 404, "teacher": 404, "admin": 200},
    ),
    Case(
        "gamification-leaderboard",
        lambda s: f"/api/v1/gamification/leaderboard?course={s.foreign_course.pk}",
        {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404},
    ),
    # Issue 5, engagement, progress and per-user analytics.
    *staff_cases("analytics-engagement-metrics", "analytics/engagement-metrics"),
    *student_cases("analytics-progress-tracking", "analytics/progress-tracking"),
    *student_cases("analytics-learning-progress", "analytics/learning-progress"),
    # One user's analytics: a student only themselves; staff the students they may see; else 404 like a missing id.
    Case(
        "analytics-user-analytics",
        lambda s: f"/api/v1/analytics/users/{s.student.pk}/analytics",
        {"anonymous": 401, "student": 200, "teacher": 200, "admin": 200},
    ),
    Case(
        "analytics-user-analytics",
        lambda s: f"/api/v1/analytics/users/{s.classmate.pk}/analytics",
        {"anonymous": 401, "student": 404, "teacher": 200, "admin": 200},
    ),
    Case(
        "analytics-user-analytics",
        lambda s: f"/api/v1/analytics/users/{s.other_student.pk}/analytics",
        {"anonymous": 401, "student": 404, "teacher": 404, "admin": 200},
    ),
    Case(
        "analytics-user-analytics",
        lambda s: f"/api/v1/analytics/users/{s.foreign_student.pk}/analytics",
        {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404},
    ),
    Case(
        "analytics-user-analytics",
        lambda s: f"/api/v1/analytics/users/{s.teacher.pk}/analytics",
        {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404},
    ),
    Case(
        "analytics-user-analytics",
        lambda s: f"/api/v1/analytics/users/{MISSING_ID}/analytics",
        {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404},
    ),
    # Issue 5, the three levels of dashboard (API) and their pages.
    *student_cases("analytics-dashboard-micro", "analytics/dashboards/micro"),
    *class_cases("analytics-dashboard-meso", "analytics/dashboards/meso"),
    # Issue 12: the catalogue's list of metrics, the enrolments' figures and the live stream's snapshots.
    Case(
        "analytics-catalogue",
        lambda s: "/api/v1/analytics/catalogue",
        {"anonymous": 401, "student": 200, "teacher": 200, "admin": 200},
    ),
    *staff_cases("analytics-enrolment-figures", "analytics/progress"),
    *student_cases("realtime-progress-snapshot", "realtime/snapshots/progress"),
    *class_cases("realtime-class-snapshot", "realtime/snapshots/class"),
    Case(
        "analytics-dashboard-macro",
        lambda s: "/api/v1/analytics/dashboards/macro",
        {"anonymous": 401, "student": 403, "teacher": 200, "admin": 200},
    ),
    Case(
        "my-progress",
        lambda s: "/progress/",
        {"anonymous": 302, "student": 200, "teacher": 404, "admin": 404},
        page=True,
    ),
    *[
        Case("student-progress", with_id("/students/{}/progress/", who), expect, page=True)
        for who, expect in (
            ("student", {"anonymous": 302, "student": 200, "teacher": 200, "admin": 200}),
            ("classmate", {"anonymous": 302, "student": 404, "teacher": 200, "admin": 200}),
            ("other_student", {"anonymous": 302, "student": 404, "teacher": 404, "admin": 200}),
            ("foreign_student", {"anonymous": 302, "student": 404, "teacher": 404, "admin": 404}),
            ("teacher", {"anonymous": 302, "student": 404, "teacher": 404, "admin": 404}),
            (None, {"anonymous": 302, "student": 404, "teacher": 404, "admin": 404}),
        )
    ],
    *[
        Case("class-dashboard", with_id("/classes/{}/dashboard/", who), expect, page=True)
        for who, expect in (
            ("course", {"anonymous": 302, "student": 404, "teacher": 200, "admin": 200}),
            ("other_course", {"anonymous": 302, "student": 404, "teacher": 404, "admin": 200}),
            ("foreign_course", {"anonymous": 302, "student": 404, "teacher": 404, "admin": 404}),
            (None, {"anonymous": 302, "student": 404, "teacher": 404, "admin": 404}),
        )
    ],
    Case(
        "institution-dashboard",
        lambda s: "/institution/",
        {"anonymous": 302, "student": 404, "teacher": 200, "admin": 200},
        page=True,
    ),
    # Issue 13, the class dashboard: per-item who-lists (API), and messages to students (API, page form, notices).
    *[
        Case("analytics-course-assignments", with_id("/api/v1/analytics/courses/{}/assignments", who), expect)
        for who, expect in (
            ("course", {"anonymous": 401, "student": 403, "teacher": 200, "admin": 200}),
            ("other_course", {"anonymous": 401, "student": 403, "teacher": 404, "admin": 200}),
            ("foreign_course", {"anonymous": 401, "student": 403, "teacher": 404, "admin": 404}),
            (None, {"anonymous": 401, "student": 403, "teacher": 404, "admin": 404}),
        )
    ],
    *[
        Case(
            "course-messages",
            with_id("/api/v1/courses/{}/messages", course),
            expect,
            method="post",
            body=message_to(who),
        )
        for course, who, expect in (
            ("course", "student", {"anonymous": 401, "student": 403, "teacher": 201, "admin": 201}),
            ("other_course", "other_student", {"anonymous": 401, "student": 403, "teacher": 404, "admin": 201}),
            ("foreign_course", "foreign_student", {"anonymous": 401, "student": 403, "teacher": 404, "admin": 404}),
            (None, "student", {"anonymous": 401, "student": 403, "teacher": 404, "admin": 404}),
        )
    ],
    Case("notices", lambda s: "/api/v1/notices", {"anonymous": 401, "student": 200, "teacher": 200, "admin": 200}),
    *[
        Case(
            "class-messages",
            with_id("/classes/{}/messages/", course),
            expect,
            method="post",
            page=True,
            body=message_to(who),
        )
        for course, who, expect in (
            # sent: back to the class page (302), as the anonymous visitor is sent to the login page
            ("course", "student", {"anonymous": 302, "student": 404, "teacher": 302, "admin": 302}),
            ("other_course", "other_student", {"anonymous": 302, "student": 404, "teacher": 404, "admin": 302}),
            ("foreign_course", "foreign_student", {"anonymous": 302, "student": 404, "teacher": 404, "admin": 404}),
            (None, "student", {"anonymous": 302, "student": 404, "teacher": 404, "admin": 404}),
        )
    ],
    # /health is public and covered for every role in tests/core/test_health.py.
    # A single-use WebSocket ticket for anyone signed in (tests/live covers using it).
    Case(
        "realtime-ticket",
        lambda s: "/api/v1/realtime/ticket",
        {"anonymous": 401, "student": 201, "teacher": 201, "admin": 201},
        method="post",
    ),
    # Issue 13, the roster import (administrators; a dry run here) and the jobs large imports run as: a job is seen by
    # who asked for it and their school's administrators, by anyone else as missing.
    Case(
        "roster-import",
        lambda s: "/api/v1/rosters/import",
        {"anonymous": 401, "student": 403, "teacher": 403, "admin": 200},
        method="post",
        body=lambda s: {"csv": "username,email,first_name,last_name,role,courses\nnewbie,,New,Bie,student,MATH-1\n"},
    ),
    *[
        Case("job-detail", job_url(who), expect)
        for who, expect in (
            ("admin", {"anonymous": 401, "student": 404, "teacher": 404, "admin": 200}),
            ("student", {"anonymous": 401, "student": 200, "teacher": 404, "admin": 200}),
            ("foreign_admin", {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404}),
            (None, {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404}),
        )
    ],
]


def job_of(school: School, who: str | None) -> int:
    """The id of a job `who` asked for, in their school (made on first use); a missing id for None."""
    if who is None:
        return MISSING_ID
    user = getattr(school, who)
    job = Job.objects.filter(requested_by=user).first() or job_create(
        kind="roster_import", requested_by=user, organization_id=user.organization_id
    )
    return job.pk


def enrollment_of(who: str, course: str) -> Callable[[School], int]:
    """The id of the School's `who`'s enrolment in its `course`."""
    return lambda s: Enrollment.objects.get(user=getattr(s, who), course=getattr(s, course)).pk


def enrollment_url(who: str, course: str) -> Callable[[School], str]:
    return lambda s: f"/api/v1/enrollments/{enrollment_of(who, course)(s)}/"


def content_url(kind: str, who: str | None) -> Callable[[School], str]:
    """/api/v1/items/{id}/ of the School's item `who`, or /api/v1/modules/{id}/ of its module (None: missing)."""

    def url(s: School) -> str:
        item = getattr(s, who) if who else None
        found = MISSING_ID if item is None else item.module_id if kind == "module" else item.pk
        return f"/api/v1/{kind}s/{found}/"

    return url


def item_in_module_of(item: str) -> Callable[[School], dict[str, Any]]:
    """A new item's body, in the module of the School's `item`."""
    return lambda s: {"module": getattr(s, item).module_id, "kind": "video", "title": "Intro"}


def rename(s: School) -> dict[str, Any]:
    return {"title": "Renamed"}


# Issue 13, the write API: administrators write within their school, teachers the content of the classes they teach
# (another class: 404), students nothing (403); tests/classroom/test_write_api.py covers the bodies.
WRITE_API_CASES = [
    Case(
        "course-list",
        lambda s: "/api/v1/courses/",
        {"anonymous": 401, "student": 403, "teacher": 403, "admin": 201},
        method="post",
        body=lambda s: {"title": "Algebra", "code": "ALG-1"},
    ),
    *[
        Case(
            "course-detail", with_id("/api/v1/courses/{}/", who), expect, method="patch", body=lambda s: {"title": "x"}
        )
        for who, expect in (
            ("course", {"anonymous": 401, "student": 403, "teacher": 403, "admin": 200}),
            ("foreign_course", {"anonymous": 401, "student": 403, "teacher": 403, "admin": 404}),
        )
    ],
    *[
        Case("course-modules", with_id("/api/v1/courses/{}/modules/", who), expect)
        for who, expect in (
            ("course", {"anonymous": 401, "student": 200, "teacher": 200, "admin": 200}),
            ("other_course", {"anonymous": 401, "student": 404, "teacher": 404, "admin": 200}),
            ("foreign_course", {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404}),
            (None, {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404}),
        )
    ],
    *[
        Case(
            "course-modules",
            with_id("/api/v1/courses/{}/modules/", who),
            expect,
            method="post",
            body=lambda s: {"title": "Week 2"},
        )
        for who, expect in (
            ("course", {"anonymous": 401, "student": 403, "teacher": 201, "admin": 201}),
            ("other_course", {"anonymous": 401, "student": 403, "teacher": 404, "admin": 201}),
            ("foreign_course", {"anonymous": 401, "student": 403, "teacher": 404, "admin": 404}),
        )
    ],
    *[
        Case(
            "course-items",
            with_id("/api/v1/courses/{}/items/", course),
            expect,
            method="post",
            body=item_in_module_of(item),
        )
        for course, item, expect in (
            ("course", "item", {"anonymous": 401, "student": 403, "teacher": 201, "admin": 201}),
            ("other_course", "other_item", {"anonymous": 401, "student": 403, "teacher": 404, "admin": 201}),
        )
    ],
    *[
        Case(f"{kind}-detail", content_url(kind, who), expect, method=method, body=body)
        for kind in ("module", "item")
        for method, body, who, expect in (
            ("get", None, "item", {"anonymous": 401, "student": 200, "teacher": 200, "admin": 200}),
            ("get", None, "other_item", {"anonymous": 401, "student": 404, "teacher": 404, "admin": 200}),
            ("get", None, None, {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404}),
            ("patch", rename, "item", {"anonymous": 401, "student": 403, "teacher": 200, "admin": 200}),
            ("patch", rename, "other_item", {"anonymous": 401, "student": 403, "teacher": 404, "admin": 200}),
        )
    ],
    Case(
        "user-list",
        lambda s: "/api/v1/users/",
        {"anonymous": 401, "student": 403, "teacher": 403, "admin": 201},
        method="post",
        body=lambda s: {"username": "newcomer", "role": "student"},
    ),
    *[
        Case(
            "user-detail", with_id("/api/v1/users/{}/", who), expect, method="patch", body=lambda s: {"first_name": "x"}
        )
        for who, expect in (
            ("student", {"anonymous": 401, "student": 403, "teacher": 403, "admin": 200}),
            ("foreign_student", {"anonymous": 401, "student": 403, "teacher": 403, "admin": 404}),
        )
    ],
    *[
        Case(
            "course-enrollments",
            with_id("/api/v1/courses/{}/enrollments/", who),
            expect,
            method="post",
            body=lambda s: {"user": s.other_student.pk},
        )
        for who, expect in (
            ("course", {"anonymous": 401, "student": 403, "teacher": 403, "admin": 201}),
            ("foreign_course", {"anonymous": 401, "student": 403, "teacher": 403, "admin": 404}),
        )
    ],
    *[
        Case("enrollment-detail", enrollment_url(who, course), expect)
        for who, course, expect in (
            ("student", "course", {"anonymous": 401, "student": 200, "teacher": 200, "admin": 200}),
            ("classmate", "course", {"anonymous": 401, "student": 404, "teacher": 200, "admin": 200}),
            ("other_student", "other_course", {"anonymous": 401, "student": 404, "teacher": 404, "admin": 200}),
            ("foreign_student", "foreign_course", {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404}),
        )
    ],
    Case(
        "enrollment-detail",
        lambda s: f"/api/v1/enrollments/{MISSING_ID}/",
        {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404},
    ),
    *[
        Case("enrollment-detail", enrollment_url(who, course), expect, method=method, body=body)
        for method, body in (("patch", lambda s: {"status": "completed"}), ("delete", None))
        for who, course, expect in (
            (
                "classmate",
                "course",
                {"anonymous": 401, "student": 403, "teacher": 403, "admin": 200 if method == "patch" else 204},
            ),
            ("foreign_student", "foreign_course", {"anonymous": 401, "student": 403, "teacher": 403, "admin": 404}),
        )
    ],
]
CASES.extend(WRITE_API_CASES)


# Issue 14, the risk API: staff only, scoped to their classes (administrators: their school); a student gets 404 on
# every risk URL, as if none existed. `who` names the School's student whose class the row is about.
RISK_STUDENTS = {"student": "course", "other_student": "other_course", "foreign_student": "foreign_course"}


def risk_alert_of(school: School, who: str | None) -> int:
    """The id of the alert (made on first use) on the School's `who` in their class; a missing id for None."""
    if who is None:
        return MISSING_ID
    student = getattr(school, who)
    course = getattr(school, RISK_STUDENTS[who])
    alert = Alert.objects.filter(student=student, course=course).first()
    if alert is None:
        version = risk_model_of(course.organization_id)
        made = risk_prediction(student=student, course=course, as_of=timezone.now(), version=version)
        [alert] = alerts_for_predictions([made])
    return alert.pk


def risk_model_of(organization_id: int) -> ModelVersion:
    """The organisation's model version (made on first use)."""
    return ModelVersion.objects.filter(organization_id=organization_id).first() or risk_model_version(
        organization=Organization.objects.get(pk=organization_id)
    )


def risk_model_url(who: str | None) -> Callable[[School], str]:
    """The URL of the model version of the School's `who`'s organisation, or of a missing one."""
    return lambda s: f"/api/v1/risk/models/{risk_model_of(getattr(s, who).organization_id).pk if who else MISSING_ID}"


def risk_prediction_of(school: School, who: str | None) -> int:
    if who is None:
        return MISSING_ID
    return Alert.objects.get(pk=risk_alert_of(school, who)).prediction_id


def risk_feedback_body(who: str | None) -> Callable[[School], dict[str, Any]]:
    return lambda s: {"prediction": risk_prediction_of(s, who), "verdict": "useful"}


def risk_intervention_body(who: str | None) -> Callable[[School], dict[str, Any]]:
    return lambda s: {"alert": risk_alert_of(s, who), "kind": "meeting", "note": "After class."}


def risk_url(template: str, of: Callable[[School, str | None], int], who: str | None) -> Callable[[School], str]:
    return lambda s: template.format(of(s, who))


# (who, expected statuses): the class's student, another class's (its teacher's, not ours), another school's, none
RISK_SCOPES: list[tuple[str | None, dict[str, int]]] = [
    ("student", {"anonymous": 401, "student": 404, "teacher": 200, "admin": 200}),
    ("other_student", {"anonymous": 401, "student": 404, "teacher": 404, "admin": 200}),
    ("foreign_student", {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404}),
    (None, {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404}),
]
RISK_STAFF = {"anonymous": 401, "student": 404, "teacher": 200, "admin": 200}

RISK_CASES = [
    Case("risk-models", lambda s: "/api/v1/risk/models", RISK_STAFF),
    *[
        Case(
            "risk-model-detail",
            risk_model_url(who),
            expect,
        )
        for who, expect in (
            ("admin", RISK_STAFF),
            ("foreign_admin", {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404}),
            (None, {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404}),
        )
    ],
    Case(
        "risk-model-train",
        lambda s: "/api/v1/risk/models/train",
        {"anonymous": 401, "student": 404, "teacher": 403, "admin": 202},
        method="post",
    ),
    *[Case("risk-student", with_id("/api/v1/risk/students/{}", who), expect) for who, expect in RISK_SCOPES],
    Case("risk-alerts", lambda s: "/api/v1/risk/alerts", RISK_STAFF),
    Case("predictive-alerts", lambda s: "/api/v1/realtime-analytics/predictive-alerts", RISK_STAFF),
    Case("risk-reengagement", lambda s: "/api/v1/risk/reengagement", RISK_STAFF),
    *[
        Case(name, with_id(f"/api/v1/{path}?course={{}}", course), expect)
        for name, path in (
            ("risk-alerts", "risk/alerts"),
            ("predictive-alerts", "realtime-analytics/predictive-alerts"),
            ("risk-reengagement", "risk/reengagement"),
        )
        for course, expect in (
            ("other_course", {"anonymous": 401, "student": 404, "teacher": 404, "admin": 200}),
            ("foreign_course", {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404}),
        )
    ],
    *[
        Case(name, risk_url(template, risk_alert_of, who), expect, method=method)
        for name, template, method in (
            ("risk-alert-detail", "/api/v1/risk/alerts/{}", "get"),
            ("risk-alert-acknowledge", "/api/v1/risk/alerts/{}/acknowledge", "post"),
            ("risk-alert-resolve", "/api/v1/risk/alerts/{}/resolve", "post"),
        )
        for who, expect in RISK_SCOPES
    ],
    *[
        Case(
            "risk-feedback",
            lambda s: "/api/v1/risk/feedback",
            expect,
            method="post",
            body=risk_feedback_body(who),
        )
        for who, expect in RISK_SCOPES
    ],
    *[
        Case(
            "risk-interventions",
            lambda s: "/api/v1/risk/interventions",
            {role: 201 if status == 200 else status for role, status in expect.items()},
            method="post",
            body=risk_intervention_body(who),
        )
        for who, expect in RISK_SCOPES
    ],
    Case("risk-interventions", lambda s: "/api/v1/risk/interventions", RISK_STAFF),
]
CASES.extend(RISK_CASES)

# The risk metric of the catalogue (issue 15's at-risk dataset): a class's students at risk, staff only.
CASES.extend(
    Case("risk-course-students", with_id("/api/v1/risk/courses/{}/students", who), expect)
    for who, expect in (
        ("course", {"anonymous": 401, "student": 403, "teacher": 200, "admin": 200}),
        ("other_course", {"anonymous": 401, "student": 403, "teacher": 404, "admin": 200}),
        ("foreign_course", {"anonymous": 401, "student": 403, "teacher": 404, "admin": 404}),
        (None, {"anonymous": 401, "student": 403, "teacher": 404, "admin": 404}),
    )
)


# Issue 15, reports: staff only (students 403, as for every staff metric). `report_of(school, visibility)` is the
# teacher's report of the class (private: only the teacher sees it; shared: the school's staff too), with a finished
# CSV run; a missing id answers 404 to everyone who may use reports.
def report_of(school: School, visibility: str | None) -> ReportDefinition | None:
    if visibility is None:
        return None
    definition = ReportDefinition.objects.filter(owner=school.teacher, visibility=visibility).first()
    if definition is None:
        spec = spec_from({"dataset": "class-progress", "parameters": {"period": "30d"}}, viewer=school.teacher)
        definition = definition_create(
            owner=school.teacher, name=f"{visibility} report", description="", visibility=visibility, spec=spec
        )
        run = run_request(definition, fmt="csv", run_for=school.teacher, requested_by=school.teacher, enqueue=False)
        run_execute(run.pk)
    return definition


def report_url(template: str, visibility: str | None, part: str = "definition") -> Callable[[School], str]:
    def url(school: School) -> str:
        definition = report_of(school, visibility)
        if definition is None:
            return template.format(MISSING_ID)
        run = definition.runs.get()
        return template.format({"definition": definition.pk, "run": run.pk, "job": run.job_id}[part])

    return url


REPORT_STAFF = {"anonymous": 401, "student": 403, "teacher": 200, "admin": 200}
# (visibility, expected for a GET of the report): the teacher's own private one, a shared one, a missing one
REPORT_SCOPES: list[tuple[str | None, dict[str, int]]] = [
    ("private", {"anonymous": 401, "student": 403, "teacher": 200, "admin": 404}),
    ("shared", REPORT_STAFF),
    (None, {"anonymous": 401, "student": 403, "teacher": 404, "admin": 404}),
]
CLASS_REPORT = {"name": "Classes", "dataset": "class-progress", "parameters": {"period": "7d"}}
REPORT_CASES = [
    Case("report-datasets", lambda s: "/api/v1/reports/datasets", REPORT_STAFF),
    Case("reports", lambda s: "/api/v1/reports", REPORT_STAFF),
    Case(
        "reports",
        lambda s: "/api/v1/reports",
        {"anonymous": 401, "student": 403, "teacher": 201, "admin": 201},
        method="post",
        body=lambda s: CLASS_REPORT,
    ),
    Case(
        "report-preview",
        lambda s: "/api/v1/reports/preview",
        REPORT_STAFF,
        method="post",
        body=lambda s: {"dataset": "class-progress"},
    ),
    Case(
        "report-import",
        lambda s: "/api/v1/reports/import",
        {"anonymous": 401, "student": 403, "teacher": 201, "admin": 201},
        method="post",
        body=lambda s: {"edupath_report": 1, **CLASS_REPORT},
    ),
    *[
        Case(name, report_url(template, visibility), expect)
        for name, template in (
            ("report-detail", "/api/v1/reports/{}"),
            ("report-versions", "/api/v1/reports/{}/versions"),
            ("report-document", "/api/v1/reports/{}/document"),
            ("report-definition-preview", "/api/v1/reports/{}/preview"),
            ("report-export", "/api/v1/reports/{}/export?format=csv"),
            ("report-runs", "/api/v1/reports/{}/runs"),
        )
        for visibility, expect in REPORT_SCOPES
    ],
    *[
        Case(
            "report-generate",
            report_url("/api/v1/reports/{}/generate", visibility),
            {**expect, **{role: 202 for role, code in expect.items() if code == 200}},
            method="post",
            body=lambda s: {"format": "csv"},
        )
        for visibility, expect in REPORT_SCOPES
    ],
    # only the owner changes a report; the school's staff who see a shared one get 403
    *[
        Case(
            "report-detail",
            report_url("/api/v1/reports/{}", visibility),
            expect,
            method="patch",
            body=lambda s: {"name": "Renamed"},
        )
        for visibility, expect in (
            ("private", {"anonymous": 401, "student": 403, "teacher": 200, "admin": 404}),
            ("shared", {"anonymous": 401, "student": 403, "teacher": 200, "admin": 403}),
            (None, {"anonymous": 401, "student": 403, "teacher": 404, "admin": 404}),
        )
    ],
    Case(
        "report-detail",
        report_url("/api/v1/reports/{}", "shared"),
        {"anonymous": 401, "student": 403, "teacher": 204, "admin": 403},
        method="delete",
    ),
    # a run (its file, its job) is seen by whoever it ran for and the school's administrators
    *[
        Case(name, report_url(template, visibility, part), expect)
        for name, template, part in (
            ("report-run", "/api/v1/reports/runs/{}", "run"),
            ("report-run-download", "/api/v1/reports/runs/{}/download", "run"),
            ("report-status", "/api/v1/reports/status/{}", "job"),
        )
        for visibility, expect in (
            ("private", REPORT_STAFF),
            (None, {"anonymous": 401, "student": 403, "teacher": 404, "admin": 404}),
        )
    ],
]
CASES.extend(REPORT_CASES)


# Issue 15, report schedules: seen by whoever sees the report; created, changed and deleted only by its owner (the
# teacher): the administrator who sees a shared report gets 403 on writes, 404 on a private one.
def report_schedule_body(school: School) -> dict[str, Any]:
    return {"recurrence": "weekly", "weekday": 0, "time": "07:30", "format": "csv", "recipients": [school.teacher.pk]}


def report_schedule_url(visibility: str | None) -> Callable[[School], str]:
    def url(school: School) -> str:
        definition = report_of(school, visibility)
        if definition is None:
            return f"/api/v1/reports/schedules/{MISSING_ID}"
        schedule = definition.schedules.first() or schedule_create(
            definition, owner=school.teacher, data=report_schedule_body(school)
        )
        return f"/api/v1/reports/schedules/{schedule.pk}"

    return url


REPORT_OWNER_WRITES: list[tuple[str | None, dict[str, int]]] = [
    ("private", {"anonymous": 401, "student": 403, "teacher": 200, "admin": 404}),
    ("shared", {"anonymous": 401, "student": 403, "teacher": 200, "admin": 403}),
    (None, {"anonymous": 401, "student": 403, "teacher": 404, "admin": 404}),
]
REPORT_SCHEDULE_CASES = [
    *[
        Case("report-schedules", report_url("/api/v1/reports/{}/schedules", visibility), expect)
        for visibility, expect in REPORT_SCOPES
    ],
    *[
        Case(
            "report-schedules",
            report_url("/api/v1/reports/{}/schedules", visibility),
            {role: 201 if code == 200 else code for role, code in expect.items()},
            method="post",
            body=report_schedule_body,
        )
        for visibility, expect in REPORT_OWNER_WRITES
    ],
    *[Case("report-schedule", report_schedule_url(visibility), expect) for visibility, expect in REPORT_SCOPES],
    *[
        Case(
            "report-schedule",
            report_schedule_url(visibility),
            expect,
            method="patch",
            body=lambda s: {"enabled": False},
        )
        for visibility, expect in REPORT_OWNER_WRITES
    ],
    *[
        Case(
            "report-schedule",
            report_schedule_url(visibility),
            {role: 204 if code == 200 else code for role, code in expect.items()},
            method="delete",
        )
        for visibility, expect in REPORT_OWNER_WRITES
    ],
]
CASES.extend(REPORT_SCHEDULE_CASES)


# Issue 15, the report pages: staff only (a student gets the 404 of every staff page); a report the viewer may not
# see answers like a missing one; only its owner opens the builder on it (403 for the staff it is shared with).
REPORT_PAGE_STAFF = {"anonymous": 302, "student": 404, "teacher": 200, "admin": 200}
REPORT_PAGE_MISSING = {"anonymous": 302, "student": 404, "teacher": 404, "admin": 404}
REPORT_PAGE_CASES = [
    Case("reports-page", lambda s: "/reports/", REPORT_PAGE_STAFF, page=True),
    Case("report-new", lambda s: "/reports/new", REPORT_PAGE_STAFF, page=True),
    *[
        Case("report-page", report_url("/reports/{}/", visibility), expect, page=True)
        for visibility, expect in (
            ("private", {"anonymous": 302, "student": 404, "teacher": 200, "admin": 404}),
            ("shared", REPORT_PAGE_STAFF),
            (None, REPORT_PAGE_MISSING),
        )
    ],
    *[
        Case("report-edit", report_url("/reports/{}/edit", visibility), expect, page=True)
        for visibility, expect in (
            ("private", {"anonymous": 302, "student": 404, "teacher": 200, "admin": 404}),
            ("shared", {"anonymous": 302, "student": 404, "teacher": 200, "admin": 403}),
            (None, REPORT_PAGE_MISSING),
        )
    ],
]
CASES.extend(REPORT_PAGE_CASES)


# Issue 16, next steps: a student's own list (staff: `student=` in their scope, as for the student's other figures);
# feedback, dismiss and open only on the student's own recommendations (anyone else's, staff's included: 404 like a
# missing one); intervention ideas on an alert for the staff who see it (students: 404, as on every risk URL); goals
# set and changed by the student alone, paths and goals read like the student's other figures.
REC_STUDENTS = {**RISK_STUDENTS, "classmate": "course"}


def recommendation_of(school: School, who: str | None) -> int:
    """The id of an active recommendation (made on first use) of the School's `who` in their class, on an item of
    the class when it has one; a missing id for None."""
    if who is None:
        return MISSING_ID
    student = getattr(school, who)
    found = Recommendation.objects.filter(student=student, status=Recommendation.Status.ACTIVE).first()
    if found is None:
        course = getattr(school, REC_STUDENTS[who])
        item = LearningItem.objects.filter(module__course=course).first()
        now = timezone.now()
        found = Recommendation.objects.create(
            organization_id=course.organization_id,
            student=student,
            course=course,
            item=item,
            category=Category.RESOURCE,
            kind=item.kind if item else "",
            title=item.title if item else course.title,
            rank=0,
            relevance_score=0.8,
            confidence=0.5,
            reasoning="6 of your 9 classmates opened it in the last 7 days.",
            signals=[{"kind": "class_recent", "opened_7d": 6, "classmates": 9, "since": now.date().isoformat()}],
            strategy="matrix",
            created_at=now,
            expires_at=now + timedelta(days=1),
        )
    return found.pk


def goal_of(school: School, who: str | None) -> int:
    """The id of an active weekly-minutes goal (made on first use) of the School's student `who`; missing for None."""
    if who is None:
        return MISSING_ID
    student = getattr(school, who)
    goal = Goal.objects.filter(student=student).first() or goal_create(
        student=student, kind="weekly_minutes", target=30, now=timezone.now()
    )
    return goal.pk


def feedback_on(who: str | None) -> Callable[[School], dict[str, Any]]:
    return lambda s: {"recommendation_id": recommendation_of(s, who), "rating": 4, "helpful": True, "comments": "Ok"}


OWN_ONLY = {"anonymous": 401, "student": 200, "teacher": 404, "admin": 404}
NOBODYS = {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404}
# (whose recommendation or goal, expected statuses): only the student themselves may act on theirs
OWN_SCOPES: list[tuple[str | None, dict[str, int]]] = [
    ("student", OWN_ONLY),
    ("classmate", NOBODYS),
    ("other_student", NOBODYS),
    ("foreign_student", NOBODYS),
    (None, NOBODYS),
]
RECOMMENDATION_CASES = [
    *student_cases("recommendations", "recommendations/"),
    # staff's view of what was recommended before and what became of it; a student's own list ignores `history`
    *[
        Case("recommendations", with_id("/api/v1/recommendations/?history=true&limit=50&student={}", who), expect)
        for who, expect in (
            ("student", {"anonymous": 401, "student": 200, "teacher": 200, "admin": 200}),
            ("classmate", {"anonymous": 401, "student": 404, "teacher": 200, "admin": 200}),
            ("other_student", {"anonymous": 401, "student": 404, "teacher": 404, "admin": 200}),
            ("foreign_student", {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404}),
            (None, {"anonymous": 401, "student": 404, "teacher": 404, "admin": 404}),
        )
    ],
    Case(
        "recommendations",
        lambda s: "/api/v1/recommendations/?category=skill&limit=1",
        {"anonymous": 401, "student": 200, "teacher": 400, "admin": 400},
    ),
    *student_cases("recommendation-explanation", "recommendations/explanation"),
    *[
        Case(
            "recommendation-feedback",
            lambda s: "/api/v1/recommendations/feedback",
            {role: 201 if code == 200 else code for role, code in expect.items()},
            method="post",
            body=feedback_on(who),
        )
        for who, expect in OWN_SCOPES
    ],
    *[
        Case(name, risk_url(template, recommendation_of, who), expect, method="post")
        for name, template in (
            ("recommendation-dismiss", "/api/v1/recommendations/{}/dismiss"),
            ("recommendation-open", "/api/v1/recommendations/{}/open"),
        )
        for who, expect in OWN_SCOPES
    ],
    *[
        Case("recommendation-alert-ideas", risk_url("/api/v1/recommendations/alerts/{}/ideas", risk_alert_of, who), e)
        for who, e in RISK_SCOPES
    ],
    *student_cases("recommendation-goals", "recommendations/goals/"),
    *student_cases("recommendation-paths", "recommendations/paths/"),
    Case(
        "recommendation-goals",
        lambda s: "/api/v1/recommendations/goals/",
        {"anonymous": 401, "student": 201, "teacher": 403, "admin": 403},
        method="post",
        body=lambda s: {"kind": "weekly_xp", "target": 50},
    ),
    *[
        Case(
            "recommendation-goal-detail",
            risk_url("/api/v1/recommendations/goals/{}", goal_of, who),
            {role: ok if code == 200 else code for role, code in expect.items()},
            method=method,
            body=body,
        )
        for method, body, ok in (("get", None, 200), ("patch", lambda s: {"target": 60}, 200), ("delete", None, 204))
        for who, expect in (("student", OWN_ONLY), ("classmate", NOBODYS), (None, NOBODYS))
    ],
]
CASES.extend(RECOMMENDATION_CASES)


# The Google Classroom connector: staff only (students 403, as for every staff endpoint). The teacher and the other
# teacher have each connected and synced one Google course into their class; the administrator has not connected.
# A Google course id outside the requester's connections (administrators: their school's) answers 404 like a
# missing one; posting a class summary is for the connection's own teacher (an administrator who sees it: 403),
# and this teacher's connection lacks the announcements permission (400).
GOOGLE_COURSES = {"teacher": ("611111111111", "course"), "other_teacher": ("622222222222", "other_course")}


def google_course_of(school: School, who: str | None) -> str:
    """The Google course id `who` (a teacher) synced, connecting them on first use; a missing id for None."""
    if who is None:
        return "699999999999"
    for teacher, (google_course_id, course) in GOOGLE_COURSES.items():
        user = getattr(school, teacher)
        connection, _created = Connection.objects.get_or_create(
            user=user,
            defaults={
                "organization": school.organization,
                "google_user_id": f"g{user.pk}",
                "google_email": f"{teacher}@school.example",
                "scopes": list(GOOGLE_READ_SCOPES),
                "refresh_token_encrypted": "never-decrypted-here",
            },
        )
        SyncedCourse.objects.get_or_create(
            connection=connection,
            google_course_id=google_course_id,
            defaults={"course": getattr(school, course), "name": course, "status": SyncedCourse.Status.OK},
        )
    return GOOGLE_COURSES[who][0]


def google_url(template: str, who: str | None = "teacher") -> Callable[[School], str]:
    return lambda s: "/api/v1/integrations/google-classroom/" + template.format(google_course_of(s, who))


GOOGLE_STAFF = {"anonymous": 401, "student": 403, "teacher": 200, "admin": 200}
# (whose synced course, expected statuses of a read): the teacher's own, the other teacher's, a missing id
GOOGLE_SCOPES: list[tuple[str | None, dict[str, int]]] = [
    ("teacher", GOOGLE_STAFF),
    ("other_teacher", {"anonymous": 401, "student": 403, "teacher": 404, "admin": 200}),
    (None, {"anonymous": 401, "student": 403, "teacher": 404, "admin": 404}),
]
GOOGLE_CLASSROOM_CASES = [
    Case("google-classroom-connection", google_url("connection"), GOOGLE_STAFF),
    Case("google-classroom-connections", google_url("connections"), GOOGLE_STAFF),
    # Google is not set up in the tests: a clear 400 for whoever may connect
    Case(
        "google-classroom-connect",
        google_url("connect"),
        {"anonymous": 401, "student": 403, "teacher": 400, "admin": 400},
        method="post",
        body=lambda s: {"purpose": "connect"},
    ),
    # the administrator has no connection of their own to disconnect or sync
    *[
        Case(name, google_url(path), {"anonymous": 401, "student": 403, "teacher": ok, "admin": 404}, method="post")
        for name, path, ok in (
            ("google-classroom-disconnect", "disconnect", 200),
            ("google-classroom-sync-courses", "sync-courses", 202),
        )
    ],
    *[
        Case(
            "google-classroom-sync-assignments",
            google_url("sync-assignments/{}", who),
            {role: 202 if code == 200 else code for role, code in expect.items()},
            method="post",
        )
        for who, expect in GOOGLE_SCOPES
    ],
    *[
        Case(name, google_url(template, who), expect)
        for name, template in (
            ("google-classroom-analytics", "analytics/{}?period=30d"),
            ("google-classroom-summary", "summary/{}"),
        )
        for who, expect in GOOGLE_SCOPES
    ],
    *[
        Case("google-classroom-summary", google_url("summary/{}", who), expect, method="post")
        for who, expect in (
            ("teacher", {"anonymous": 401, "student": 403, "teacher": 400, "admin": 403}),
            ("other_teacher", {"anonymous": 401, "student": 403, "teacher": 404, "admin": 403}),
            (None, {"anonymous": 401, "student": 403, "teacher": 404, "admin": 404}),
        )
    ],
]
CASES.extend(GOOGLE_CLASSROOM_CASES)


# The Integrations pages (google_classroom/views.py): staff only, a student gets the 404 of every staff page. Google
# is not set up in the tests (connect: a 400 page saying so; the callback: no consent of theirs, a 400 page); the
# administrator has no connection of their own to sync or disconnect (404). A summary is previewed by whoever sees the
# synced course and posted only by the connection's teacher (this one lacks the permission: 400; the admin: 403).
def summary_text_of(who: str | None) -> Callable[[School], dict[str, Any]]:
    """The form posting the summary `who`'s synced class shows now (the preview's text)."""

    def body(school: School) -> dict[str, Any]:
        course = getattr(school, GOOGLE_COURSES[who][1]) if who else school.course
        return {"text": class_summary(course=course, now=timezone.now())["text"]}

    return body


def sync_course_of(who: str | None) -> Callable[[School], dict[str, Any]]:
    return lambda s: {"google_course_id": google_course_of(s, who)}


def integrations_url(path: str, who: str | None = "teacher") -> Callable[[School], str]:
    """An Integrations page, once the teachers have connected (google_course_of)."""
    return lambda s: "/integrations/" + path.format(google_course_of(s, who))


INTEGRATIONS_STAFF = {"anonymous": 302, "student": 404, "teacher": 200, "admin": 200}
INTEGRATIONS_OWN = {"anonymous": 302, "student": 404, "teacher": 302, "admin": 404}
INTEGRATIONS_PAGE_CASES = [
    Case("integrations", integrations_url(""), INTEGRATIONS_STAFF, page=True),
    Case(
        "integrations-connect",
        integrations_url("google-classroom/connect"),
        {"anonymous": 302, "student": 404, "teacher": 400, "admin": 400},
        method="post",
        page=True,
    ),
    Case(
        "integrations-callback",
        integrations_url("google-classroom/callback?state=not-ours&code=4/0abc"),
        {"anonymous": 302, "student": 404, "teacher": 400, "admin": 400},
        page=True,
    ),
    Case("integrations-sync", integrations_url("google-classroom/sync"), INTEGRATIONS_OWN, method="post", page=True),
    *[
        Case(
            "integrations-sync",
            integrations_url("google-classroom/sync"),
            {role: 302 if code == 200 else code for role, code in expect.items()},
            method="post",
            body=sync_course_of(who),
            page=True,
        )
        for who, expect in (
            ("teacher", INTEGRATIONS_STAFF),
            ("other_teacher", {"anonymous": 302, "student": 404, "teacher": 404, "admin": 200}),
            (None, {"anonymous": 302, "student": 404, "teacher": 404, "admin": 404}),
        )
    ],
    Case(
        "integrations-disconnect",
        integrations_url("google-classroom/disconnect"),
        {**INTEGRATIONS_OWN, "teacher": 200},
        page=True,
    ),
    Case(
        "integrations-disconnect",
        integrations_url("google-classroom/disconnect"),
        INTEGRATIONS_OWN,
        method="post",
        page=True,
    ),
    *[
        Case("integrations-summary", integrations_url("google-classroom/courses/{}/summary", who), expect, page=True)
        for who, expect in (
            ("teacher", INTEGRATIONS_STAFF),
            ("other_teacher", {"anonymous": 302, "student": 404, "teacher": 404, "admin": 200}),
            (None, {"anonymous": 302, "student": 404, "teacher": 404, "admin": 404}),
        )
    ],
    *[
        Case(
            "integrations-summary",
            integrations_url("google-classroom/courses/{}/summary", who),
            expect,
            method="post",
            body=summary_text_of(who),
            page=True,
        )
        for who, expect in (
            ("teacher", {"anonymous": 302, "student": 404, "teacher": 400, "admin": 403}),
            ("other_teacher", {"anonymous": 302, "student": 404, "teacher": 404, "admin": 403}),
            (None, {"anonymous": 302, "student": 404, "teacher": 404, "admin": 404}),
        )
    ],
]
CASES.extend(INTEGRATIONS_PAGE_CASES)


# URL names tested elsewhere for every role, with the module that does it.
COVERED_ELSEWHERE = {"health": "tests/core/test_health.py"}


def actor(school: School, role: str) -> User | None:
    return None if role == "anonymous" else getattr(school, role)


def request(case: Case, school: School, role: str) -> Any:
    user = actor(school, role)
    if case.page:
        client: Client | APIClient = Client()
        if user is not None:
            client.force_login(user)
    else:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
    body = case.body(school) if case.body else None
    call = getattr(client, case.method)
    if case.page:
        return call(case.url(school), data=body or {})
    return call(case.url(school), data=body, format="json")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method}-{c.name}")
def test_role_matrix(case: Case, role: str, school: School) -> None:
    response = request(case, school, role)
    assert response.status_code == case.expect[role], (case.url(school), role, response.content[:300])


# (URL of something the actor may not see, the same URL with an id that does not exist)
FORBIDDEN_VS_MISSING = [
    ("/api/v1/users/{0.other_student.pk}/", "/api/v1/users/{missing}/"),
    ("/api/v1/users/{0.foreign_student.pk}/", "/api/v1/users/{missing}/"),
    ("/api/v1/courses/{0.foreign_course.pk}/", "/api/v1/courses/{missing}/"),
    ("/api/v1/courses/{0.other_course.pk}/enrollments/", "/api/v1/courses/{missing}/enrollments/"),
    ("/api/v1/courses/{0.foreign_course.pk}/items/", "/api/v1/courses/{missing}/items/"),
    ("/api/v1/courses/{0.other_course.pk}/modules/", "/api/v1/courses/{missing}/modules/"),
    ("/api/v1/modules/{0.other_item.module_id}/", "/api/v1/modules/{missing}/"),
    ("/api/v1/items/{0.other_item.pk}/", "/api/v1/items/{missing}/"),
    ("/api/v1/gamification/progress?student={0.foreign_student.pk}", "/api/v1/gamification/progress?student={missing}"),
    ("/api/v1/analytics/weekly-xp?student={0.other_student.pk}", "/api/v1/analytics/weekly-xp?student={missing}"),
    (
        "/api/v1/analytics/learning/heatmap?student={0.foreign_student.pk}",
        "/api/v1/analytics/learning/heatmap?student={missing}",
    ),
    (
        "/api/v1/gamification/leaderboard?course={0.foreign_course.pk}",
        "/api/v1/gamification/leaderboard?course={missing}",
    ),
    ("/api/v1/analytics/users/{0.other_student.pk}/analytics", "/api/v1/analytics/users/{missing}/analytics"),
    ("/api/v1/analytics/users/{0.foreign_student.pk}/analytics", "/api/v1/analytics/users/{missing}/analytics"),
    (
        "/api/v1/analytics/progress-tracking?student={0.foreign_student.pk}",
        "/api/v1/analytics/progress-tracking?student={missing}",
    ),
    (
        "/api/v1/analytics/learning-progress?student={0.other_student.pk}",
        "/api/v1/analytics/learning-progress?student={missing}",
    ),
    (
        "/api/v1/analytics/dashboards/micro?student={0.other_student.pk}",
        "/api/v1/analytics/dashboards/micro?student={missing}",
    ),
    # issue 16: a student's next steps, their explanation, goals and paths
    ("/api/v1/recommendations/?student={0.other_student.pk}", "/api/v1/recommendations/?student={missing}"),
    (
        "/api/v1/recommendations/explanation?student={0.foreign_student.pk}",
        "/api/v1/recommendations/explanation?student={missing}",
    ),
    (
        "/api/v1/recommendations/goals/?student={0.other_student.pk}",
        "/api/v1/recommendations/goals/?student={missing}",
    ),
    (
        "/api/v1/recommendations/paths/?student={0.foreign_student.pk}",
        "/api/v1/recommendations/paths/?student={missing}",
    ),
]


@pytest.mark.parametrize("role", ["student", "teacher", "admin"])
@pytest.mark.parametrize(("forbidden", "missing"), FORBIDDEN_VS_MISSING)
def test_forbidden_looks_exactly_like_missing(forbidden: str, missing: str, role: str, school: School) -> None:
    client = APIClient()
    client.force_authenticate(getattr(school, role))
    seen = client.get(forbidden.format(school, missing=MISSING_ID))
    absent = client.get(missing.format(school, missing=MISSING_ID))
    if seen.status_code == 200:
        return  # this actor may legitimately see it (the admin, for another class of their school)
    assert (seen.status_code, seen.json()) == (absent.status_code, absent.json()) == (404, {"detail": "Not found."})


def test_superuser_creates_a_school(school: School) -> None:
    operator = User.objects.create_superuser("operator", "operator@example.test", "pass-word-123")
    client = APIClient()
    client.force_authenticate(operator)
    response = client.post(
        "/api/v1/schools/", {"name": "New School", "slug": "new-school", "time_zone": "Europe/Paris"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["slug"] == "new-school"
    assert response.json()["users_count"] == 0


def _url_names(patterns: list[Any], namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            if pattern.namespace == "admin":
                names.add("admin:index")  # Django's own admin views: one row stands for the site
                continue
            names |= _url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            if pattern.name is None:
                raise AssertionError(f"unnamed URL pattern {pattern.pattern}: name it so it can be tested")
            names.add(f"{namespace}{pattern.name}")
    return names


def test_every_url_is_in_the_matrix() -> None:
    in_matrix = {case.name for case in CASES} | set(COVERED_ELSEWHERE)
    routed = _url_names(get_resolver().url_patterns)
    # DRF's format-suffix and root variants share the names above.
    missing = sorted(routed - in_matrix)
    assert not missing, f"URLs without role tests: {missing}"
    for name in {case.name for case in CASES}:
        roles_tested = {role for case in CASES if case.name == name for role in case.expect}
        assert roles_tested == set(ROLES), name


# Pages: a class or student outside the viewer's scope gets the same 404 page as one that does not exist.
FORBIDDEN_VS_MISSING_PAGES = [
    ("/students/{0.other_student.pk}/progress/", "/students/{missing}/progress/"),
    ("/classes/{0.other_course.pk}/dashboard/", "/classes/{missing}/dashboard/"),
    ("/classes/{0.foreign_course.pk}/dashboard/", "/classes/{missing}/dashboard/"),
    ("/classes/{0.other_course.pk}/dashboard/?item={0.other_item.pk}", "/classes/{missing}/dashboard/?item=1"),
]


@pytest.mark.parametrize("role", ["student", "teacher"])
@pytest.mark.parametrize(("forbidden", "missing"), FORBIDDEN_VS_MISSING_PAGES)
def test_forbidden_page_looks_exactly_like_missing(forbidden: str, missing: str, role: str, school: School) -> None:
    client = Client()
    client.force_login(getattr(school, role))
    seen = client.get(forbidden.format(school, missing=MISSING_ID))
    absent = client.get(missing.format(school, missing=MISSING_ID))
    assert (seen.status_code, seen.content) == (absent.status_code, absent.content)
    assert seen.status_code == 404

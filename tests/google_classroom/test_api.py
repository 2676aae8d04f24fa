"""The Google Classroom API (/api/v1/integrations/google-classroom/): who sees which connection and synced course
(teachers their own, administrators their school's, students nothing), connecting and disconnecting, syncs as
jobs, a synced class's analytics (the class dashboard's figures) and its class summary (counts, no names), posted
back through the local fake Google. Nothing here talks to the real Google."""

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet
from django.utils import timezone

from accounts.models import User
from analytics import selectors as analytics
from analytics.services import events_ingest
from classroom.models import Course, LearningItem
from classroom.selectors import course_zone
from classroom.services import submission_record
from core.daterange import DateRange
from core.models import Job
from google_classroom.client import POST_SCOPE, READ_SCOPES
from google_classroom.crypto import token_encrypt
from google_classroom.jobs import SYNC_JOB
from google_classroom.models import Connection, ConsentRequest, PostedSummary, SyncedCourse
from tests.conftest import School, client_for
from tests.factories import LearningItemFactory, ModuleFactory
from tests.google_classroom.fake_google import FakeGoogle
from tests.google_classroom.fake_school import school_generate

API = "/api/v1/integrations/google-classroom/"
MATH = "611111111111"  # the Google course synced into the teacher's class
HISTORY = "622222222222"  # the Google course synced into the other teacher's class
MISSING = "699999999999"


@pytest.fixture
def token_keys(settings: Any) -> None:
    settings.GOOGLE_TOKEN_KEYS = [Fernet.generate_key().decode()]


def connect(user: User, *, scopes: tuple[str, ...] = READ_SCOPES, refresh_token: str = "refresh-token") -> Connection:  # noqa: S107
    assert user.organization_id is not None
    return Connection.objects.create(
        organization_id=user.organization_id,
        user=user,
        google_user_id=f"g{user.pk}",
        google_email=f"{user.username}@school.example",
        scopes=list(scopes),
        refresh_token_encrypted=token_encrypt(refresh_token),
    )


def synced(connection: Connection, google_course_id: str, course: Course | None, name: str = "") -> SyncedCourse:
    return SyncedCourse.objects.create(
        connection=connection,
        google_course_id=google_course_id,
        course=course,
        name=name or (course.title if course else "Not synced yet"),
        google_state="ACTIVE",
        status=SyncedCourse.Status.OK if course else SyncedCourse.Status.PENDING,
        counts={"students": 2, "written": 5} if course else {},
    )


@pytest.fixture
def connected(school: School, token_keys: None) -> School:
    """The teacher syncs MATH into their class, the other teacher HISTORY into theirs; the admin has not connected."""
    synced(connect(school.teacher), MATH, school.course)
    synced(connect(school.other_teacher), HISTORY, school.other_course)
    return school


# SECTION: who may see what


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "connection"),
        ("post", "connect"),
        ("post", "disconnect"),
        ("get", "connections"),
        ("post", "sync-courses"),
        ("post", f"sync-assignments/{MATH}"),
        ("get", f"analytics/{MATH}"),
        ("get", f"summary/{MATH}"),
        ("post", f"summary/{MATH}"),
    ],
)
def test_students_are_refused_and_anonymous_must_sign_in(connected: School, method: str, url: str) -> None:
    assert getattr(client_for(connected.student), method)(API + url, format="json").status_code == 403
    assert getattr(client_for(None), method)(API + url, format="json").status_code == 401


def test_a_teacher_sees_their_own_connection_and_its_courses(connected: School) -> None:
    # when
    response = client_for(connected.teacher).get(API + "connection")

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["connection"]["connected"] is True
    assert body["connection"]["google_email"] == "teacher@school.example"
    assert body["connection"]["status"] == "active"
    assert body["connection"]["can_post"] is False
    assert body["courses"] == [
        {
            "google_course_id": MATH,
            "name": connected.course.title,
            "google_state": "ACTIVE",
            "status": "ok",
            "course": connected.course.pk,
            "last_synced_at": None,
            "last_error": "",
            "counts": {"students": 2, "written": 5},
        }
    ]
    assert b"refresh" not in response.content


def test_an_administrator_without_a_connection_sees_none_of_their_own(connected: School) -> None:
    response = client_for(connected.admin).get(API + "connection")
    assert response.status_code == 200
    assert response.json() == {"connection": {"connected": False}, "courses": []}


def test_connections_administrators_see_the_schools_teachers_their_own(connected: School) -> None:
    # when
    by_admin = client_for(connected.admin).get(API + "connections")
    by_teacher = client_for(connected.teacher).get(API + "connections")
    by_foreign_admin = client_for(connected.foreign_admin).get(API + "connections")

    # then
    assert by_admin.status_code == by_teacher.status_code == by_foreign_admin.status_code == 200
    assert sorted(row["user"] for row in by_admin.json()["connections"]) == sorted(
        [connected.teacher.pk, connected.other_teacher.pk]
    )
    assert [row["user"] for row in by_teacher.json()["connections"]] == [connected.teacher.pk]
    assert by_foreign_admin.json() == {"connections": [], "total": 0}
    row = by_teacher.json()["connections"][0]
    assert row["google_email"] == "teacher@school.example"
    assert row["courses"] == {"total": 1, "ok": 1, "failed": 0, "pending": 0, "removed": 0}
    assert b"refresh_token" not in by_admin.content and b"encrypted" not in by_admin.content


# SECTION: connecting and disconnecting


def test_connect_answers_googles_consent_screen_and_keeps_the_state(school: School, settings: Any) -> None:
    # given
    settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET = "client-id", "client-secret"
    settings.GOOGLE_TOKEN_KEYS = [Fernet.generate_key().decode()]
    settings.GOOGLE_AUTH_URI = "https://accounts.example/o/oauth2/auth"

    # when
    response = client_for(school.teacher).post(API + "connect", {}, format="json")

    # then
    assert response.status_code == 200, response.content
    url = response.json()["authorization_url"]
    assert url.startswith("https://accounts.example/o/oauth2/auth?")
    query = parse_qs(urlsplit(url).query)
    request = ConsentRequest.objects.get(user=school.teacher)
    assert query["state"] == [request.state]
    assert query["code_challenge_method"] == ["S256"]
    assert query["access_type"] == ["offline"]
    assert request.purpose == "connect"
    assert set(query["scope"][0].split()) == set(READ_SCOPES)


def test_connect_to_post_asks_for_the_announcements_permission(connected: School, settings: Any) -> None:
    settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET = "client-id", "client-secret"
    settings.GOOGLE_AUTH_URI = "https://accounts.example/o/oauth2/auth"
    response = client_for(connected.teacher).post(API + "connect", {"purpose": "post"}, format="json")
    assert response.status_code == 200, response.content
    scopes = parse_qs(urlsplit(response.json()["authorization_url"]).query)["scope"][0].split()
    assert POST_SCOPE in scopes


def test_connect_is_refused_in_plain_words_when_google_is_not_set_up(school: School) -> None:
    response = client_for(school.teacher).post(API + "connect", {"purpose": "connect"}, format="json")
    assert response.status_code == 400
    assert "GOOGLE_CLIENT_ID" in response.json()["detail"]
    assert not ConsentRequest.objects.exists()


def test_connect_refuses_an_unknown_purpose(school: School) -> None:
    response = client_for(school.teacher).post(API + "connect", {"purpose": "everything"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"purpose": ["purpose must be one of: connect, post."]}


def test_disconnect_deletes_the_own_connection_only(connected: School) -> None:
    # when (the test settings point the revocation at a closed port: Google "could not be reached")
    response = client_for(connected.teacher).post(API + "disconnect")

    # then
    assert response.status_code == 200, response.content
    assert response.json() == {"disconnected": True, "revoked_at_google": False}
    assert not Connection.objects.filter(user=connected.teacher).exists()
    assert Connection.objects.filter(user=connected.other_teacher).exists()
    assert Course.objects.filter(pk=connected.course.pk).exists()  # the class stays


def test_disconnect_without_a_connection_is_a_404(connected: School) -> None:
    response = client_for(connected.admin).post(API + "disconnect")
    assert response.status_code == 404
    assert Connection.objects.count() == 2


# SECTION: syncing


def test_sync_courses_queues_a_job_of_the_own_connection(
    connected: School, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # when
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        response = client_for(connected.teacher).post(API + "sync-courses", {}, format="json")

    # then
    assert response.status_code == 202, response.content
    job = response.json()
    assert (job["kind"], job["status"], job["result"]) == (SYNC_JOB, "queued", None)
    assert response["Location"] == f"/api/v1/jobs/{job['id']}"
    assert len(enqueued) == 1
    connection = Connection.objects.get(user=connected.teacher)
    assert Job.objects.get(pk=job["id"]).params == {"connection_id": connection.pk, "google_course_ids": None}
    assert connection.last_sync_job_id == job["id"]


def test_sync_courses_needs_a_connection_that_works(
    connected: School, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    Connection.objects.filter(user=connected.teacher).update(
        status=Connection.Status.NEEDS_RECONNECT, status_message="Google says the access was revoked."
    )
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        refused = client_for(connected.teacher).post(API + "sync-courses", format="json")
        missing = client_for(connected.admin).post(API + "sync-courses", format="json")
    assert refused.status_code == 400
    assert refused.json()["connection"] == ["Google says the access was revoked."]
    assert missing.status_code == 404
    assert enqueued == [] and not Job.objects.exists()


def test_sync_courses_refuses_fields(connected: School) -> None:
    response = client_for(connected.teacher).post(API + "sync-courses", {"everything": True}, format="json")
    assert response.status_code == 400
    assert "everything" in response.json()


def test_sync_assignments_queues_one_course(
    connected: School, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        response = client_for(connected.teacher).post(API + f"sync-assignments/{MATH}")
    assert response.status_code == 202, response.content
    assert len(enqueued) == 1
    assert Job.objects.get(pk=response.json()["id"]).params["google_course_ids"] == [MATH]


def test_a_course_id_not_in_the_connection_is_a_404_like_a_missing_one(connected: School) -> None:
    teacher = client_for(connected.teacher)
    for url in ("sync-assignments/{}", "analytics/{}", "summary/{}"):
        method = teacher.post if url.startswith("sync") else teacher.get
        others, missing = method(API + url.format(HISTORY)), method(API + url.format(MISSING))
        assert (
            (others.status_code, others.json())
            == (missing.status_code, missing.json())
            == (404, {"detail": "Not found."})
        )
    assert not Job.objects.exists()


def test_an_administrator_syncs_a_course_of_their_school(
    connected: School, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        response = client_for(connected.admin).post(API + f"sync-assignments/{HISTORY}")
        foreign = client_for(connected.foreign_admin).post(API + f"sync-assignments/{HISTORY}")
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.params["connection_id"] == Connection.objects.get(user=connected.other_teacher).pk
    assert foreign.status_code == 404


# SECTION: analytics


@pytest.fixture
def activity(connected: School) -> School:
    """The teacher's class with work due (one quiz handed in on time by the student, late by the classmate; one
    assignment nobody handed in) and two days of events from the student only."""
    now = timezone.now()
    module = ModuleFactory.create(course=connected.course, title="Fractions")
    quiz = LearningItemFactory.create(
        module=module, kind=LearningItem.Kind.QUIZ, due_at=now - timedelta(days=2), max_points=Decimal(10)
    )
    LearningItemFactory.create(
        module=module, kind=LearningItem.Kind.ASSIGNMENT, due_at=now - timedelta(days=1), max_points=Decimal(10)
    )
    submission_record(item=quiz, student=connected.student, submitted_at=now - timedelta(days=3), score=Decimal(8))
    submission_record(item=quiz, student=connected.classmate, submitted_at=now - timedelta(hours=30), score=Decimal(6))
    events = [
        {
            "event_id": str(uuid.UUID(int=500 + index)),
            "action": action,
            "timestamp": (now - timedelta(days=index, minutes=5)).isoformat(),
            "course": connected.course.pk,
            "item": quiz.pk,
            "metadata": {"duration": 60},
        }
        for index, action in enumerate(["material_view", "material_view", "material_view"])
    ]
    outcome = events_ingest(items=events, principal=connected.student, now=now, horizon=None)
    assert outcome.accepted == 3, outcome.rejected
    return connected


def test_analytics_are_the_class_figures_of_the_period(activity: School) -> None:
    # when
    response = client_for(activity.teacher).get(API + f"analytics/{MATH}?timeframe=30d")

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    course = activity.course
    period = DateRange.last_days(30, now=timezone.now(), zone=course_zone(course))
    expected = analytics.course_analytics(course=course, period=period)
    assert (body["course_id"], body["course"], body["period"]) == (MATH, course.pk, "30d")
    assert body["first_day"] == period.first.isoformat() and body["last_day"] == period.last.isoformat()
    assert body["engagement"] == {
        "active_students": expected["active_students"],
        "total_students": expected["students_enrolled"],
        "engagement_rate": expected["engagement_rate"],
    }
    assert body["engagement"] == {"active_students": 1, "total_students": 2, "engagement_rate": 50.0}
    assert body["activity"]["events"] == expected["events"] == 3
    assert body["activity"]["submissions_received"] == 2
    assert body["activity"]["items_created"] == 3  # the school's first item and the two above, all made today
    assert body["activity"]["announcements_posted"] == 0
    timeliness = expected["assignment_timeliness"]
    completion = body["assignment_completion"]
    assert {key: completion[key] for key in ("expected", "on_time", "late", "missing", "excused")} == {
        key: timeliness[key] for key in ("expected", "on_time", "late", "missing", "excused")
    }
    assert (completion["expected"], completion["on_time"], completion["late"], completion["missing"]) == (4, 1, 1, 2)
    assert (completion["on_time_percent"], completion["late_percent"], completion["missing_percent"]) == (25, 25, 50)
    assert body["average_grade_percent"] == expected["average_score_percent"]
    rows = {row["student"]: row for row in body["students"]}
    assert rows[activity.student.pk]["events"] == 3
    assert rows[activity.student.pk]["active_days"] == 3
    assert (rows[activity.student.pk]["on_time"], rows[activity.student.pk]["missing"]) == (1, 1)
    assert rows[activity.student.pk]["average_score_percent"] == 80.0
    assert (rows[activity.classmate.pk]["events"], rows[activity.classmate.pk]["late"]) == (0, 1)


def test_analytics_default_to_the_last_7_days(activity: School) -> None:
    body = client_for(activity.admin).get(API + f"analytics/{MATH}").json()
    assert body["period"] == "7d"
    period = DateRange.last_days(7, now=timezone.now(), zone=course_zone(activity.course))
    assert body["first_day"] == period.first.isoformat()


@pytest.mark.parametrize("query", ["timeframe=1y", "timeframe=14d", "period=all", "timeframe=", "period=5d"])
def test_analytics_take_only_7_30_or_90_days(connected: School, query: str) -> None:
    response = client_for(connected.teacher).get(API + f"analytics/{MATH}?{query}")
    assert response.status_code == 400
    name = query.split("=")[0]
    assert response.json() == {name: ["period must be one of: 7d, 30d, 90d."]}


def test_analytics_of_a_course_not_synced_yet_is_a_404_saying_so(connected: School) -> None:
    synced(Connection.objects.get(user=connected.teacher), MISSING, None)
    response = client_for(connected.teacher).get(API + f"analytics/{MISSING}")
    assert response.status_code == 404
    assert "not synced yet" in response.json()["detail"]


# SECTION: the class summary


def test_the_summary_holds_counts_and_no_student_name(activity: School) -> None:
    # given: names that no sentence of the summary could hold by chance
    User.objects.filter(pk=activity.student.pk).update(first_name="Zephyrine", last_name="Quillfeather")
    User.objects.filter(pk=activity.classmate.pk).update(first_name="Ottoline", last_name="Brackenridge")

    # when
    response = client_for(activity.teacher).get(API + f"summary/{MATH}")

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["figures"] == {
        "days": 7,
        "students": 2,
        "active_students": 1,
        "expected": 4,
        "on_time": 1,
        "late": 1,
        "missing": 2,
        "average_grade_percent": body["figures"]["average_grade_percent"],
    }
    assert "1 of 2 students were active" in body["text"]
    assert "1 handed in on time, 1 late, 2 missing" in body["text"]
    for student in User.objects.filter(pk__in=[activity.student.pk, activity.classmate.pk]):
        for said in (student.first_name, student.last_name, student.email, f"@{student.username}"):
            assert said not in body["text"]


def test_posting_needs_the_announcements_permission(activity: School) -> None:
    response = client_for(activity.teacher).post(API + f"summary/{MATH}")
    assert response.status_code == 400
    assert "connection" in response.json()
    assert not PostedSummary.objects.exists()


def test_an_administrator_may_not_post_with_a_teachers_account(activity: School) -> None:
    Connection.objects.filter(user=activity.teacher).update(scopes=[*READ_SCOPES, POST_SCOPE])
    response = client_for(activity.admin).post(API + f"summary/{MATH}")
    assert response.status_code == 403
    assert not PostedSummary.objects.exists()


@pytest.fixture
def google(settings: Any) -> Iterator[FakeGoogle]:
    with FakeGoogle(school_generate(courses=1, students_per_course=2, course_work_per_course=1, teachers=1)) as fake:
        settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET = fake.client_id, fake.client_secret
        settings.GOOGLE_TOKEN_URI = fake.token_uri
        settings.GOOGLE_CLASSROOM_ENDPOINT = fake.classroom_endpoint
        yield fake
    assert fake.errors == []


def test_posting_the_summary_leaves_a_draft_announcement_in_classroom(
    school: School, token_keys: None, google: FakeGoogle
) -> None:
    # given: the teacher connected the fake school's teacher account, with the announcements permission
    [google_course_id] = list(google.school.courses)
    teacher_email = next(
        profile["emailAddress"] for profile in google.school.users.values() if profile.get("verifiedTeacher")
    )
    tokens = google.grant(teacher_email)
    connection = connect(school.teacher, scopes=(*READ_SCOPES, POST_SCOPE), refresh_token=tokens["refresh_token"])
    synced(connection, google_course_id, school.course)

    # when
    response = client_for(school.teacher).post(API + f"summary/{google_course_id}")

    # then
    assert response.status_code == 201, response.content
    body = response.json()
    posted = PostedSummary.objects.get()
    assert body["id"] == posted.pk and body["posted_by"] == school.teacher.pk
    assert body["state"] == "DRAFT"
    [announcement] = google.school.announcements[google_course_id]
    assert announcement["id"] == body["google_announcement_id"]
    preview = client_for(school.teacher).get(API + f"summary/{google_course_id}").json()
    assert announcement["text"] == posted.text == preview["text"]
    assert google.violations == []

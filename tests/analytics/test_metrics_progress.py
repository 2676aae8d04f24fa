"""engagement-metrics, progress-tracking, learning-progress and users/{id}/analytics: hand-computed numbers for the
fixed fixture of test_metrics.py (a course in New York in a London school) plus recent activity with sessions in a
second class (London), pinned query counts, and bad input."""

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from django.utils import timezone

from analytics import selectors
from analytics.services import events_ingest
from tests.analytics import test_metrics
from tests.analytics.test_metrics import NEW_YORK, NOW
from tests.conftest import School, client_for
from tests.factories import EnrollmentFactory

activity = test_metrics.activity  # the hand-computed events of test_metrics.py, which `recent` builds on


@pytest.fixture
def recent(school: School, activity: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any) -> None:
    """On top of `activity`: the student and the classmate also attend the second class (HIST-1, London), and
    these events of the last hours before NOW (31 March 18:00 UTC = 14:00 in New York, 19:00 in London):

    | UTC   | who           | class  | action            | item       | session | seconds |
    | 11:00 | other_student | HIST-1 | material_view     | other_item |         | 60      |
    | 16:00 | classmate     | MATH-1 | material_view     | item       | s-2     | 600     |
    | 17:20 | student       | MATH-1 | page_view         | item       | s-1     | 120     |
    | 17:30 | student       | MATH-1 | page_view         | item       | s-1     | 180     |
    | 17:45 | student       | HIST-1 | material_complete | other_item | s-3     | 240     |

    with activity's (student: material_view 30 Mar 02:30 = 29th in New York, lesson_complete 31 Mar 12:00; classmate:
    quiz_submit 13:00, 8/10). The endpoints see NOW as the time."""
    for user in (school.student, school.classmate):
        EnrollmentFactory.create(user=user, course=school.other_course, enrolled_at=NOW.replace(month=1))

    def post(student: Any, when: str, action: str, course: Any, item: Any, session: str, seconds: int) -> None:
        body = {"event_id": str(uuid4()), "action": action, "timestamp": when, "course": course.pk, "item": item.pk}
        body.update(session_id=session, metadata={"duration": seconds})
        with django_capture_on_commit_callbacks(execute=True):
            assert events_ingest(items=[body], principal=student, now=NOW, horizon=None).accepted == 1

    post(school.other_student, "2026-03-31T11:00:00Z", "material_view", school.other_course, school.other_item, "", 60)
    post(school.classmate, "2026-03-31T16:00:00Z", "material_view", school.course, school.item, "s-2", 600)
    post(school.student, "2026-03-31T17:20:00Z", "page_view", school.course, school.item, "s-1", 120)
    post(school.student, "2026-03-31T17:30:00Z", "page_view", school.course, school.item, "s-1", 180)
    post(
        school.student, "2026-03-31T17:45:00Z", "material_complete", school.other_course, school.other_item, "s-3", 240
    )
    monkeypatch.setattr(timezone, "now", lambda: NOW)


LONDON_DAY_31 = "2026-03-31T00:00:00+01:00"  # British Summer Time began on the 29th


def get(user: Any, url: str) -> dict[str, Any]:
    response = client_for(user).get(url)
    assert response.status_code == 200, response.content
    return dict(response.json())


def courses_of(school: School) -> dict[str, Any]:
    return {
        "hist": (school.other_course.pk, "HIST-1", school.other_course.title),
        "math": (school.course.pk, "MATH-1", school.course.title),
    }


def course_row(course: tuple[int, str, str], active: int, events: int, views: int, interactions: int) -> dict[str, Any]:
    pk, code, title = course
    return {
        "course": pk,
        "code": code,
        "title": title,
        "active_users": active,
        "events": events,
        "page_views": views,
        "interactions": interactions,
    }


# --- engagement-metrics ------------------------------------------------------------------------------------------


def test_engagement_last_hour_reads_events(school: School, recent: None) -> None:
    # 17:00-18:00 UTC: the student's two page views of the same item (one view, session s-1, 120 + 180 s) in
    # MATH-1 and their completion in HIST-1 (session s-3, 240 s)
    c = courses_of(school)
    assert get(school.admin, "/api/v1/analytics/engagement-metrics?timeframe=1h") == {
        "as_of": "2026-03-31T18:00:00Z",
        "timeframe": "1h",
        "source": "events",
        "start": "2026-03-31T17:00:00Z",
        "first_day": None,
        "last_day": None,
        "active_users": 1,  # the student, in both classes: once
        "events": 3,
        "page_views": 1,
        "interactions": 1,
        "interaction_rate": 100.0,  # 1 interaction per 1 page view, in percent
        "interactions_per_active_user": 1.0,
        "sessions": 2,
        "average_session_seconds": 270.0,  # (120 + 180 + 240) / 2
        "course_engagement": [course_row(c["hist"], 1, 1, 0, 1), course_row(c["math"], 1, 2, 1, 0)],
    }
    # the teacher of MATH-1 sees only it: the two page views, one session of 300 s
    teacher = get(school.teacher, "/api/v1/analytics/engagement-metrics?timeframe=1h")
    assert {key: teacher[key] for key in ("active_users", "events", "page_views", "interactions")} == {
        "active_users": 1,
        "events": 2,
        "page_views": 1,
        "interactions": 0,
    }
    assert (teacher["interaction_rate"], teacher["interactions_per_active_user"]) == (0.0, 0.0)
    assert (teacher["sessions"], teacher["average_session_seconds"]) == (1, 300.0)
    assert teacher["course_engagement"] == [course_row(c["math"], 1, 2, 1, 0)]


def test_engagement_six_hours_includes_the_start(school: School, recent: None) -> None:
    # 12:00-18:00 UTC: the lesson completion at 12:00 sharp counts; the other student's view at 11:00 does not.
    # MATH-1: student (lesson_complete, 2 page views), classmate (quiz_submit, material_view s-2 600 s)
    c = courses_of(school)
    answer = get(school.admin, "/api/v1/analytics/engagement-metrics?timeframe=6h")
    assert answer["start"] == "2026-03-31T12:00:00Z"
    assert {key: answer[key] for key in ("active_users", "events", "page_views", "interactions")} == {
        "active_users": 2,
        "events": 6,
        "page_views": 2,  # (student, item) and (classmate, item)
        "interactions": 3,  # (student, item), (classmate, item) in MATH-1 and (student, other_item) in HIST-1
    }
    assert (answer["interaction_rate"], answer["interactions_per_active_user"]) == (150.0, 1.5)
    assert (answer["sessions"], answer["average_session_seconds"]) == (3, 380.0)  # (300 + 600 + 240) / 3
    assert answer["course_engagement"] == [course_row(c["hist"], 1, 1, 0, 1), course_row(c["math"], 2, 5, 2, 2)]


def test_engagement_days_read_the_rollups(school: School, recent: None) -> None:
    # 1d: the London school's 31 March (from 23:00 UTC on the 30th); each class counts its own days: MATH-1 New
    # York's 31st (everything but the material view of the 29th), HIST-1 London's 31st (the other student too)
    c = courses_of(school)
    today = get(school.admin, "/api/v1/analytics/engagement-metrics?timeframe=1d")
    assert {key: today[key] for key in today if key != "course_engagement"} == {
        "as_of": "2026-03-31T18:00:00Z",
        "timeframe": "1d",
        "source": "rollups",
        "start": LONDON_DAY_31,
        "first_day": "2026-03-31",
        "last_day": "2026-03-31",
        "active_users": 3,
        "events": 7,
        "page_views": 3,  # per learner, item and day: student/item, classmate/item, other_student/other_item
        "interactions": 3,
        "interaction_rate": 100.0,
        "interactions_per_active_user": 1.0,
        "sessions": 3,
        "average_session_seconds": 380.0,
    }
    assert today["course_engagement"] == [course_row(c["hist"], 2, 2, 1, 1), course_row(c["math"], 2, 5, 2, 2)]
    # 7d adds New York's 29th in MATH-1: the student's material view (a view on another day is another view)
    week = get(school.admin, "/api/v1/analytics/engagement-metrics?timeframe=7d")
    assert (week["start"], week["first_day"]) == ("2026-03-25T00:00:00Z", "2026-03-25")  # still GMT on the 25th
    assert (week["active_users"], week["events"], week["page_views"], week["interactions"]) == (3, 8, 4, 3)
    assert (week["interaction_rate"], week["sessions"], week["average_session_seconds"]) == (75.0, 3, 380.0)
    assert week["course_engagement"] == [course_row(c["hist"], 2, 2, 1, 1), course_row(c["math"], 2, 6, 3, 2)]
    month = get(school.admin, f"/api/v1/analytics/engagement-metrics?timeframe=30d&course={school.course.pk}")
    assert month["course_engagement"] == [course_row(c["math"], 2, 6, 3, 2)]
    assert (month["active_users"], month["first_day"], month["sessions"]) == (2, "2026-03-02", 2)


def test_engagement_today_depends_on_the_time_zone(school: School, recent: None) -> None:
    # 30 March 03:00 UTC is still the 29th in New York (23:00) but already the 30th in London (04:00): only New
    # York's "today" holds the student's material view of the 29th (no session id: no sessions)
    now = datetime(2026, 3, 30, 3, 0, tzinfo=UTC)
    ids = [school.course.pk, school.other_course.pk]
    new_york = selectors.engagement_metrics(course_ids=ids, timeframe="1d", now=now, zone=NEW_YORK)
    assert (new_york["first_day"], new_york["active_users"], new_york["events"], new_york["page_views"]) == (
        date(2026, 3, 29),
        1,
        1,
        1,
    )
    # one view and no completion: a rate of 0; no session ids: no average
    assert (new_york["sessions"], new_york["average_session_seconds"], new_york["interaction_rate"]) == (0, None, 0.0)
    london = selectors.engagement_metrics(course_ids=ids, timeframe="1d", now=now, zone=ZoneInfo("Europe/London"))
    assert (london["first_day"], london["active_users"], london["events"]) == (date(2026, 3, 30), 0, 0)
    assert london["interactions_per_active_user"] is None


# --- progress-tracking -------------------------------------------------------------------------------------------


def test_progress_tracking_of_a_student(school: School, recent: None) -> None:
    # HIST-1: other_item completed (1 of 1); MATH-1: the quiz item completed by the lesson_complete, the assignment
    # not (1 of 2)
    c = courses_of(school)
    assert get(school.student, "/api/v1/analytics/progress-tracking") == {
        "student": school.student.pk,
        "course": None,
        "as_of": "2026-03-31T18:00:00Z",
        "total_learning_paths": 2,
        "completed_paths": 1,
        "in_progress_paths": 1,
        "not_started_paths": 0,
        "completion_rate": 50.0,
        "average_progress": 75.0,  # (100 + 50) / 2
        "paths": [
            {
                "course": c["hist"][0],
                "code": "HIST-1",
                "title": c["hist"][2],
                "items_total": 1,
                "items_completed": 1,
                "progress_percent": 100.0,
                "status": "completed",
            },
            {
                "course": c["math"][0],
                "code": "MATH-1",
                "title": c["math"][2],
                "items_total": 2,
                "items_completed": 1,
                "progress_percent": 50.0,
                "status": "in_progress",
            },
        ],
        "recent_completions": [
            {
                "completed_at": "2026-03-31T17:45:00Z",
                "action": "material_complete",
                "course": c["hist"][0],
                "item": school.other_item.pk,
                "title": school.other_item.title,
            },
            {
                "completed_at": "2026-03-31T12:00:00Z",
                "action": "lesson_complete",
                "course": c["math"][0],
                "item": school.item.pk,
                "title": school.item.title,
            },
        ],
        "learning_paths": [],  # none in this school (tests/recommendations/test_paths.py has some)
    }


def test_progress_tracking_as_staff(school: School, recent: None) -> None:
    # the classmate: MATH-1 half done (the quiz), HIST-1 not started
    classmate = get(school.admin, f"/api/v1/analytics/progress-tracking?student={school.classmate.pk}")
    assert [(p["code"], p["status"], p["progress_percent"]) for p in classmate["paths"]] == [
        ("HIST-1", "not_started", 0.0),
        ("MATH-1", "in_progress", 50.0),
    ]
    assert (classmate["completion_rate"], classmate["average_progress"], classmate["not_started_paths"]) == (
        0.0,
        25.0,
        1,
    )
    # the teacher of MATH-1 sees only the class they share with the student
    student = get(school.teacher, f"/api/v1/analytics/progress-tracking?student={school.student.pk}")
    assert (student["total_learning_paths"], student["completed_paths"], student["average_progress"]) == (1, 0, 50.0)
    assert [r["action"] for r in student["recent_completions"]] == ["lesson_complete"]
    named = get(
        school.admin, f"/api/v1/analytics/progress-tracking?student={school.student.pk}&course={school.course.pk}"
    )
    assert (named["course"], named["total_learning_paths"], named["in_progress_paths"]) == (school.course.pk, 1, 1)
    # a class of the student's that the teacher does not teach: 404, as if it did not exist
    response = client_for(school.teacher).get(
        f"/api/v1/analytics/progress-tracking?student={school.student.pk}&course={school.other_course.pk}"
    )
    assert response.status_code == 404


# --- learning-progress -------------------------------------------------------------------------------------------


def test_learning_progress_per_course_and_module(school: School, recent: None) -> None:
    answer = get(school.student, "/api/v1/analytics/learning-progress")
    assert (answer["student"], answer["course"], answer["as_of"]) == (school.student.pk, None, "2026-03-31T18:00:00Z")
    hist, math = answer["courses"]
    assert hist == {
        "course": school.other_course.pk,
        "code": "HIST-1",
        "title": school.other_course.title,
        "items_total": 1,
        "items_completed": 1,
        "lessons_total": 0,
        "lessons_completed": 0,
        "topics_total": 1,
        "topics_completed": 1,
        "progress_percent": 100.0,
        "modules": [
            {
                "module": school.other_item.module_id,
                "title": school.other_item.module.title,
                "position": school.other_item.module.position,
                "items_total": 1,
                "items_completed": 1,
                "progress_percent": 100.0,
            }
        ],
        "events": 1,
        "active_minutes": 4.0,  # 240 s
        "last_activity_date": "2026-03-31",
        "average_score_percent": None,
    }
    # MATH-1: the quiz item's module done, the assignment's not; events 29th + 31st (600 + 1200 + 120 + 180 s)
    assert [(m["module"], m["items_completed"], m["items_total"], m["progress_percent"]) for m in math["modules"]] == [
        (school.item.module_id, 1, 1, 100.0),
        (activity_assignment_module(school), 0, 1, 0.0),
    ]
    assert {key: math[key] for key in math if key != "modules"} == {
        "course": school.course.pk,
        "code": "MATH-1",
        "title": school.course.title,
        "items_total": 2,
        "items_completed": 1,
        "lessons_total": 0,
        "lessons_completed": 0,
        "topics_total": 2,
        "topics_completed": 1,
        "progress_percent": 50.0,
        "events": 4,
        "active_minutes": 35.0,
        "last_activity_date": "2026-03-31",  # New York's day of the class
        "average_score_percent": None,
    }


def activity_assignment_module(school: School) -> int:
    return int(
        school.course.modules.exclude(pk=school.item.module_id).values_list("pk", flat=True).get()  # the assignment's
    )


def test_learning_progress_of_one_course_as_teacher(school: School, recent: None) -> None:
    answer = get(
        school.teacher, f"/api/v1/analytics/learning-progress?student={school.classmate.pk}&course={school.course.pk}"
    )
    assert answer["course"] == school.course.pk
    [math] = answer["courses"]
    # the classmate's quiz (8 / 10) and material view on the 31st: 300 + 600 s
    assert (math["items_completed"], math["items_total"], math["progress_percent"]) == (1, 2, 50.0)
    assert (math["events"], math["active_minutes"], math["average_score_percent"]) == (2, 15.0, 80.0)
    assert math["last_activity_date"] == "2026-03-31"


# --- users/{id}/analytics ----------------------------------------------------------------------------------------


def zero_days(*days: str) -> list[dict[str, Any]]:
    return [{"date": day, "events": 0, "active_minutes": 0.0, "items_completed": 0, "xp": 0} for day in days]


def test_user_analytics_for_the_student_hides_small_classes(school: School, recent: None) -> None:
    # the London school's 25-31 March; rollup days: MATH-1 29th (view, 600 s, 2 XP) and 31st (lesson 1200 s 20 XP,
    # two page views 300 s); HIST-1 31st (completion, 240 s, 10 XP)
    answer = get(school.student, f"/api/v1/analytics/users/{school.student.pk}/analytics?days=7")
    hidden = {
        "students": 2,
        "hidden": True,
        "reason": "Class figures are shown to students when at least 5 students contribute.",
        "average_events": None,
        "average_active_minutes": None,
        "average_score_percent": None,
        "events_percentile": None,
    }
    assert answer == {
        "student": school.student.pk,
        "as_of": "2026-03-31T18:00:00Z",
        "days": 7,
        "first_day": "2026-03-25",
        "last_day": "2026-03-31",
        "sessions": 2,  # s-1 and s-3
        "active_minutes": 39.0,  # 2340 s
        "average_session_minutes": 19.5,
        "active_days": 2,
        "events": 5,
        "materials_viewed": 2,
        "materials_completed": 2,
        "xp_earned": 32,
        "average_score_percent": None,
        "daily": [
            *zero_days("2026-03-25", "2026-03-26", "2026-03-27", "2026-03-28"),
            {"date": "2026-03-29", "events": 1, "active_minutes": 10.0, "items_completed": 0, "xp": 2},
            *zero_days("2026-03-30"),
            {"date": "2026-03-31", "events": 4, "active_minutes": 29.0, "items_completed": 2, "xp": 30},
        ],
        "courses": [
            {
                "course": school.other_course.pk,
                "code": "HIST-1",
                "title": school.other_course.title,
                "events": 1,
                "active_minutes": 4.0,
                "items_viewed": 0,
                "items_completed": 1,
                "xp": 10,
                "average_score_percent": None,
                "class_comparison": hidden,
            },
            {
                "course": school.course.pk,
                "code": "MATH-1",
                "title": school.course.title,
                "events": 4,
                "active_minutes": 35.0,
                "items_viewed": 2,
                "items_completed": 1,
                "xp": 22,
                "average_score_percent": None,
                "class_comparison": hidden,
            },
        ],
    }


@override_settings(ANALYTICS_PEER_MIN_STUDENTS=2)
def test_user_analytics_shows_classes_that_are_large_enough(school: School, recent: None) -> None:
    # two active students in each class now suffice; only the classmate has a score, so the score stays hidden.
    # MATH-1: student 4 events 2100 s, classmate 2 events 900 s; HIST-1: student 1 event 240 s, other_student 60 s
    answer = get(school.student, f"/api/v1/analytics/users/{school.student.pk}/analytics?days=7")
    score_hidden = "The class average score is shown to students when at least 2 have scores."
    assert [course["class_comparison"] for course in answer["courses"]] == [
        {
            "students": 2,
            "hidden": False,
            "reason": score_hidden,
            "average_events": 1.0,
            "average_active_minutes": 2.5,
            "average_score_percent": None,
            "events_percentile": 0.0,  # nobody has fewer events than the student
        },
        {
            "students": 2,
            "hidden": False,
            "reason": score_hidden,
            "average_events": 3.0,
            "average_active_minutes": 25.0,
            "average_score_percent": None,
            "events_percentile": 50.0,  # the classmate has fewer
        },
    ]


def test_user_analytics_for_a_teacher_shows_the_shared_class(school: School, recent: None) -> None:
    answer = get(school.teacher, f"/api/v1/analytics/users/{school.student.pk}/analytics?days=7")
    assert (answer["events"], answer["active_minutes"], answer["sessions"], answer["average_session_minutes"]) == (
        4,
        35.0,
        1,
        35.0,
    )
    assert (answer["materials_viewed"], answer["materials_completed"], answer["xp_earned"]) == (2, 1, 22)
    assert answer["daily"][-1] == {
        "date": "2026-03-31",
        "events": 3,
        "active_minutes": 25.0,
        "items_completed": 1,
        "xp": 20,
    }
    [math] = answer["courses"]
    assert math["class_comparison"] == {
        "students": 2,
        "hidden": False,
        "reason": None,
        "average_events": 3.0,
        "average_active_minutes": 25.0,
        "average_score_percent": 80.0,  # the classmate's quiz
        "events_percentile": 50.0,
    }
    # the classmate, seen by the teacher: their 80 % is their own average
    classmate = get(school.teacher, f"/api/v1/analytics/users/{school.classmate.pk}/analytics?days=7")
    assert (classmate["events"], classmate["average_score_percent"]) == (2, 80.0)
    assert classmate["courses"][0]["class_comparison"]["events_percentile"] == 0.0


# --- query counts and bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        # courses, per-course figures, distinct learners, sessions
        ("/api/v1/analytics/engagement-metrics?timeframe=1h", 4),
        ("/api/v1/analytics/engagement-metrics?timeframe=30d", 4),
        # + the 404 check of the named course
        ("/api/v1/analytics/engagement-metrics?timeframe=6h&course={course}", 5),
        # student, completed items, items, courses, recent completions
        # + the student's learning paths (recommendations: the student, their path progress)
        ("/api/v1/analytics/progress-tracking?student={student}", 7),
        ("/api/v1/analytics/progress-tracking?student={student}&course={course}", 8),
        # student, completed items, items, rollups, courses
        ("/api/v1/analytics/learning-progress?student={student}", 5),
        ("/api/v1/analytics/learning-progress?student={student}&course={course}", 6),
        # student, courses, learning_activity (rollups, sessions), the student's days, the class's students
        ("/api/v1/analytics/users/{student}/analytics?days=30", 6),
    ],
)
def test_query_counts_are_pinned(
    school: School, recent: None, url: str, queries: int, django_assert_num_queries: Any
) -> None:
    client = client_for(school.teacher)
    with django_assert_num_queries(queries):
        response = client.get(url.format(course=school.course.pk, student=school.student.pk))
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("url", "field", "message"),
    [
        ("engagement-metrics?timeframe=2h", "timeframe", "period must be one of: 1h, 6h, 1d, 7d, 30d, 90d."),
        ("engagement-metrics?timeframe=", "timeframe", "period must be one of: 1h, 6h, 1d, 7d, 30d, 90d."),
        ("engagement-metrics?period=2h", "period", "period must be one of: 1h, 6h, 1d, 7d, 30d, 90d."),
        ("engagement-metrics?course=MATH", "course", "Must be a positive integer id."),
        ("engagement-metrics?days=2", "days", "period must be one of: 1h, 6h, 1d, 7d, 30d, 90d."),
        ("engagement-metrics?since=7", "since", "Unknown parameter; a parameter must be one of: course, period."),
        ("progress-tracking?student=x", "student", "Must be a positive integer id."),
        ("progress-tracking?student={student}&course=0", "course", "Must be a positive integer id."),
        ("progress-tracking?user_id=3", "user_id", "Unknown parameter; a parameter must be one of: course, student."),
        ("learning-progress?student=1.5", "student", "Must be a positive integer id."),
        ("learning-progress?student={student}&course=-3", "course", "Must be a positive integer id."),
        ("learning-progress?userId=3", "userId", "Unknown parameter; a parameter must be one of: course, student."),
        ("users/{student}/analytics?days=0", "days", "period must be 1d to 365d"),
        ("users/{student}/analytics?days=366", "days", "period must be 1d to 365d"),
        ("users/{student}/analytics?days=week", "days", "Must be a whole number of days"),
        ("users/{student}/analytics?period=week", "period", "period must be 1d to 365d"),
        ("users/{student}/analytics?student={student}", "student", "a parameter must be one of: period."),
    ],
)
def test_bad_parameters_are_400_naming_them(school: School, url: str, field: str, message: str) -> None:
    response = client_for(school.admin).get("/api/v1/analytics/" + url.format(student=school.student.pk))
    assert response.status_code == 400
    assert message in response.json()[field][0]


def test_staff_must_name_the_student(school: School) -> None:
    for path in ("progress-tracking", "learning-progress"):
        response = client_for(school.teacher).get(f"/api/v1/analytics/{path}")
        assert response.status_code == 400 and "student" in response.json()

"""Metric selectors and their endpoints: hand-computed numbers for a fixed fixture (explicit times, a course in New
York in a London school), pinned query counts, and bad input."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from analytics import selectors
from analytics.services import events_ingest
from classroom.models import Course, LearningItem, Submission
from core.daterange import DateRange
from tests.conftest import School, client_for
from tests.factories import LearningItemFactory, ModuleFactory, SubmissionFactory

NOW = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def activity(school: School, django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    school.course.time_zone = "America/New_York"
    school.course.save()
    assignment = LearningItemFactory.create(
        module=ModuleFactory.create(course=school.course),
        kind=LearningItem.Kind.ASSIGNMENT,
        max_points=Decimal(10),
        due_at=datetime(2026, 3, 30, 12, 0, tzinfo=UTC),
    )
    SubmissionFactory.create(
        item=assignment,
        student=school.student,
        submitted_at=datetime(2026, 3, 30, 11, 0, tzinfo=UTC),
        state=Submission.State.ON_TIME,
        score=Decimal(8),
        max_points=Decimal(10),
    )

    def post(student: Any, when: str, action: str, **metadata: Any) -> None:
        body = {"event_id": str(uuid4()), "action": action, "timestamp": when, "course": school.course.pk}
        body.update(item=school.item.pk, metadata=metadata)
        with django_capture_on_commit_callbacks(execute=True):  # XP is awarded after commit
            assert events_ingest(items=[body], principal=student, now=NOW, horizon=None).accepted == 1

    # 30 March 02:30 UTC is 22:30 on the 29th in New York (EDT): the course's day is the 29th.
    post(school.student, "2026-03-30T02:30:00Z", "material_view", duration=600)  # 2 XP (default rule)
    post(school.student, "2026-03-31T12:00:00Z", "lesson_complete", duration=1200)  # 20 XP
    post(school.classmate, "2026-03-31T13:00:00Z", "quiz_submit", duration=300, score=8, max_score=10)  # 10 + 5
    return {"assignment": assignment}


def period(days: int = 3) -> DateRange:
    return DateRange.last_days(days, now=NOW, zone=NEW_YORK)


def test_engagement_trend_counts_each_student_once_per_course_day(school: School, activity: Any) -> None:
    points = selectors.engagement_trend(course_ids=[school.course.pk, school.other_course.pk], period=period())
    assert points == [
        {"date": date(2026, 3, 29), "active_students": 1, "events": 1, "active_minutes": 10.0},
        {"date": date(2026, 3, 30), "active_students": 0, "events": 0, "active_minutes": 0.0},
        {"date": date(2026, 3, 31), "active_students": 2, "events": 2, "active_minutes": 25.0},
    ]


def test_weekly_buckets_start_on_monday(school: School, activity: Any) -> None:
    weekly = DateRange(date(2026, 3, 23), date(2026, 4, 5), NEW_YORK, NOW, "week")
    points = selectors.engagement_trend(course_ids=[school.course.pk], period=weekly)
    assert [(p["date"], p["active_students"], p["events"]) for p in points] == [
        (date(2026, 3, 23), 1, 1),  # the 29th is a Sunday
        (date(2026, 3, 30), 2, 2),
    ]


def test_learning_heatmap_has_events_minutes_and_xp_per_day(school: School, activity: Any) -> None:
    assert selectors.learning_heatmap(student_id=school.student.pk, period=period()) == [
        {"date": date(2026, 3, 29), "events": 1, "active_minutes": 10.0, "xp": 2},
        {"date": date(2026, 3, 30), "events": 0, "active_minutes": 0.0, "xp": 0},
        {"date": date(2026, 3, 31), "events": 1, "active_minutes": 20.0, "xp": 20},
    ]


def test_course_analytics_by_hand(school: School, activity: Any) -> None:
    answer = selectors.course_analytics(course=school.course, period=period())
    assert answer["students_enrolled"] == 2
    assert answer["active_students"] == 2
    assert answer["engagement_rate"] == 100.0
    assert answer["events"] == 3
    assert answer["items_completed"] == 2  # the lesson and the quiz, one distinct item each that day
    assert answer["xp"] == 2 + 20 + 15
    assert answer["average_score_percent"] == 80.0
    # the assignment was due on the 30th: the student handed it in on time, the classmate did not
    assert answer["assignment_timeliness"] == {"on_time": 1, "late": 0, "missing": 1, "excused": 0, "expected": 2}
    # 8/10 twice: the student's assignment, and the classmate's quiz_submit event, which records its submission
    # (issue 12; the quiz is due in September, so it is not in this period's timeliness)
    bands = {band["from_percent"]: band["submissions"] for band in answer["score_distribution"]}
    assert bands[80] == 2 and sum(bands.values()) == 2


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        ("/api/v1/analytics/trends/engagement?days=30", 1),
        ("/api/v1/analytics/courses/{course}/analytics?days=30", 7),
        ("/api/v1/analytics/learning/heatmap?days=30&student={student}", 2),
        ("/api/v1/analytics/overview?days=30", 5),
        ("/api/v1/analytics/realtime", 3),
        ("/api/v1/analytics/dashboard?time_range=month", 3),
        ("/api/v1/analytics/summary", 1),
        # a teacher's view of a student counts their classes only, without achievements (issue 13): fewer queries
        ("/api/v1/analytics/learning/overview?student={student}", 5),
        ("/api/v1/analytics/trends/content?days=30", 3),
        ("/api/v1/analytics/system-metrics?hours=24", 3),
        ("/api/v1/analytics/weekly-xp?student={student}", 3),
        ("/api/v1/analytics/student-progress?student={student}", 4),
        ("/api/v1/analytics/subject-mastery?student={student}", 3),
        ("/api/v1/gamification/progress?student={student}", 4),
        ("/api/v1/gamification/leaderboard?course={course}", 3),
    ],
)
def test_query_counts_are_pinned(school: School, url: str, queries: int, django_assert_num_queries: Any) -> None:
    client = client_for(school.admin if "system-metrics" in url else school.teacher)
    with django_assert_num_queries(queries):
        response = client.get(url.format(course=school.course.pk, student=school.student.pk))
    assert response.status_code == 200, response.content


def test_endpoints_answer_with_todays_activity(school: School, django_capture_on_commit_callbacks: Any) -> None:
    body = {
        "event_id": str(uuid4()),
        "action": "lesson_complete",
        "timestamp": timezone.now().isoformat(),
        "course": school.course.pk,
        "metadata": {"duration": 120},
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(school.student).post("/api/v1/events/", body, format="json").status_code == 201
    trend = client_for(school.teacher).get("/api/v1/analytics/trends/engagement?days=7").json()
    assert (trend["total_events"], trend["daily"][-1]["active_students"], len(trend["daily"])) == (1, 1, 7)
    heatmap = client_for(school.student).get("/api/v1/analytics/learning/heatmap?days=7").json()
    assert heatmap["heatmap"][-1] == {
        "date": heatmap["heatmap"][-1]["date"],
        "events": 1,
        "active_minutes": 2.0,
        "xp": 20,
    }
    course = client_for(school.admin).get(f"/api/v1/analytics/courses/{school.course.pk}/analytics?days=7").json()
    assert (course["events"], course["active_students"], course["students_enrolled"]) == (1, 1, 2)


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/analytics/trends/engagement?days=0", "days"),
        ("/api/v1/analytics/trends/engagement?days=366", "days"),
        ("/api/v1/analytics/trends/engagement?days=week", "days"),
        ("/api/v1/analytics/trends/engagement?course=abc", "course"),
        ("/api/v1/analytics/trends/engagement?timeframe=week", "timeframe"),
        ("/api/v1/analytics/trends/engagement?period=7", "period"),
        ("/api/v1/analytics/trends/engagement?period=30d&days=30", "days"),
        ("/api/v1/analytics/learning/heatmap?days=367&student={student}", "days"),
        ("/api/v1/analytics/learning/heatmap?student=x", "student"),
        ("/api/v1/analytics/courses/{course}/analytics?days=-1", "days"),
    ],
)
def test_bad_parameters_are_400_naming_them(school: School, url: str, field: str) -> None:
    response = client_for(school.admin).get(url.format(course=school.course.pk, student=school.student.pk))
    assert response.status_code == 400
    assert field in response.json()
    assert list(response.json()) == [field]
    message = response.json()[field][0]
    assert "must be" in message.lower() or "id" in message or "not several" in message


def test_overview_by_hand(school: School, activity: Any) -> None:
    answer = selectors.overview(course_ids=[school.course.pk], period=period())
    assert {key: answer[key] for key in answer if key not in ("as_of", "first_day", "last_day")} == {
        "students_total": 2,
        "students_active": 2,
        "classes_total": 1,
        "classes_active": 1,
        "events": 3,
        "average_score_percent": 80.0,
        "engagement_rate": 100.0,
        "attendance_rate": 100.0,
        # the assignment, and the classmate's quiz_submit event (issue 12: it records its submission)
        "assignments": {"handed_in": 2, "late": 0, "graded": 2},
    }


def test_realtime_by_hand(school: School, activity: Any) -> None:
    # three minutes after the classmate's quiz; New York's 31 March began at 04:00 UTC
    answer = selectors.realtime(
        course_ids=[school.course.pk], now=datetime(2026, 3, 31, 13, 3, tzinfo=UTC), zone=NEW_YORK
    )
    assert answer["active_last_5_minutes"] == 1
    assert answer["events_today"] == 2
    assert [(a["action"], a["student"]) for a in answer["recent_activities"]] == [
        ("quiz_submit", school.classmate.pk),
        ("lesson_complete", school.student.pk),
    ]


def test_learning_activity_by_hand(school: School, activity: Any) -> None:
    assert selectors.learning_activity(student_id=school.student.pk, period=period()) == {
        "sessions": 0,  # the fixture's events name no session
        "active_minutes": 30.0,
        "average_session_minutes": None,
        "active_days": 2,
        "events": 2,
        "materials_viewed": 1,
        "materials_completed": 1,
        "xp_earned": 22,
    }


def test_learning_overview_endpoint(school: School, django_capture_on_commit_callbacks: Any) -> None:
    for session, minutes in (("s-1", 10), ("s-1", 5), ("s-2", 3)):
        body = {
            "event_id": str(uuid4()),
            "action": "lesson_complete",
            "timestamp": timezone.now().isoformat(),
            "course": school.course.pk,
            "session_id": session,
            "metadata": {"duration": minutes * 60},
        }
        with django_capture_on_commit_callbacks(execute=True):
            assert client_for(school.student).post("/api/v1/events/", body, format="json").status_code == 201
    answer = client_for(school.student).get("/api/v1/analytics/learning/overview?days=7").json()
    assert (answer["sessions"], answer["active_minutes"], answer["average_session_minutes"]) == (2, 18.0, 9.0)
    assert (answer["events"], answer["xp_earned"], answer["xp_total"]) == (3, 60, 60)
    assert answer["current_streak"] == 1 and answer["achievements_earned"] >= 1


def test_summary_and_top_performers_by_hand(school: School, activity: Any) -> None:
    answer = selectors.summary(course_ids=[school.course.pk], period=period())
    assert {key: answer[key] for key in answer if key not in ("as_of", "start_date", "end_date")} == {
        "active_students": 2,
        "events": 3,
        "xp_total": 37,
        "xp_per_active_student": 18.5,
        "items_completed": 2,
        "attempts": 0,
        "scored_events": 1,
        "average_score_percent": 80.0,
    }
    assert selectors.top_performers(course_ids=[school.course.pk], period=period()) == [
        {"student": school.student.pk, "xp": 22, "events": 2},
        {"student": school.classmate.pk, "xp": 15, "events": 1},
    ]
    completions = selectors.recent_completions(course_ids=[school.course.pk], now=NOW)
    assert [(c["action"], c["student"]) for c in completions] == [
        ("quiz_submit", school.classmate.pk),
        ("lesson_complete", school.student.pk),
    ]


def test_dashboard_names_top_performers_for_their_teacher(
    school: School, django_capture_on_commit_callbacks: Any
) -> None:
    body: dict[str, Any] = {"event_id": str(uuid4()), "action": "lesson_complete", "course": school.course.pk}
    body["timestamp"] = timezone.now().isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(school.student).post("/api/v1/events/", body, format="json").status_code == 201
    answer = client_for(school.teacher).get("/api/v1/analytics/dashboard?time_range=day").json()
    assert answer["top_performers"] == [
        {
            "student": school.student.pk,
            "xp": 20,
            "events": 1,
            "name": school.student.get_full_name() or school.student.username,
            "handle": school.student.public_handle,
        }
    ]
    assert [c["action"] for c in answer["recent_completions"]] == ["lesson_complete"]
    assert client_for(school.other_teacher).get("/api/v1/analytics/dashboard").json()["top_performers"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("time_range=decade", "time_range"),
        ("time_range=", "time_range"),
    ],
)
def test_dashboard_bad_time_range(school: School, query: str, field: str) -> None:
    response = client_for(school.teacher).get(f"/api/v1/analytics/dashboard?{query}")
    assert response.status_code == 400
    assert response.json()[field] == ["time_range must be one of: day, week, month, year."]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("start_date=2026-03-10&end_date=2026-03-01", "start_date", "Must not be after end_date."),
        ("start_date=yesterday", "start_date", "Not a date; use YYYY-MM-DD."),
        ("end_date=2026-13-01", "end_date", "Not a date; use YYYY-MM-DD."),
        ("start_date=2024-01-01&end_date=2026-03-01", "start_date", "At most 366 days"),
        ("course=MATH", "course", "Must be a positive integer id."),
    ],
)
def test_summary_bad_dates(school: School, query: str, field: str, message: str) -> None:
    response = client_for(school.admin).get(f"/api/v1/analytics/summary?{query}")
    assert response.status_code == 400
    assert message in response.json()[field][0]


def test_summary_endpoint_between_dates(school: School, activity: Any) -> None:
    answer = (
        client_for(school.teacher)
        .get(f"/api/v1/analytics/summary?start_date=2026-03-29&end_date=2026-03-31&course={school.course.pk}")
        .json()
    )
    assert (answer["active_students"], answer["events"], answer["xp_total"]) == (2, 3, 37)


def test_course_progress_by_hand(school: School, activity: Any) -> None:
    # the fixture's course holds two items (the school's quiz and the assignment), in two modules; the classmate
    # completed the quiz (quiz_submit on it), the student only viewed it and completed a lesson on it
    rows = selectors.course_progress(student_id=school.classmate.pk, courses=Course.objects.filter(pk=school.course.pk))
    assert [(r["items_completed"], r["items_total"], r["topics_completed"], r["topics_total"]) for r in rows] == [
        (1, 2, 1, 2)
    ]
    assert rows[0]["progress_percent"] == 50.0


def test_student_progress_and_subject_mastery_endpoints(school: School, activity: Any) -> None:
    progress = client_for(school.classmate).get("/api/v1/analytics/student-progress").json()
    assert (progress["items_completed"], progress["items_total"], progress["overall_progress_percent"]) == (1, 2, 50.0)
    assert progress["xp"] == 15
    assert progress["rank"]["rank"] == 2  # the student has 22 XP
    mastery = client_for(school.teacher).get(f"/api/v1/analytics/subject-mastery?student={school.classmate.pk}").json()
    assert [(s["code"], s["progress_percent"]) for s in mastery["subjects"]] == [("MATH-1", 50.0)]
    # another teacher's class of the same student is not shown to this teacher
    assert (
        client_for(school.other_teacher)
        .get(f"/api/v1/analytics/subject-mastery?student={school.classmate.pk}")
        .status_code
        == 404
    )


def test_content_trends_by_hand(school: School, activity: Any) -> None:
    answer = selectors.content_trends(course_ids=[school.course.pk], period=period())
    # the student viewed the quiz item on the 29th (New York); the lesson and the quiz completions are on the 31st
    assert [(row["item"], row["views"], row["learners"]) for row in answer["most_viewed"]] == [(school.item.pk, 1, 1)]
    assert answer["completions_by_course"] == [{"course": school.course.pk, "items_completed": 2}]
    assert [(d["items_viewed"], d["items_completed"]) for d in answer["daily"]] == [(1, 0), (0, 0), (0, 2)]

"""The seed documents' fields that docs/api-map.md lists as served (issue 12): the enrolments' average progress,
completion rate and engagement score in overview, dashboard, summary, content trends, meso and macro; macro's
recent activities; engagement-metrics' 90d; seed 004's dashboard?timeframe=30d&filters={}; error types in system
metrics. Hand-computed on test_metrics' fixture, plus a class that one student has finished.

The school (NOW: 31 March 18:00 UTC; MATH-1 keeps New York's days, HIST-1 and the school London's):

| class  | enrolled (active)  | items | completed (ever)                   | days with activity                 |
| MATH-1 | student, classmate | 2     | each the quiz item (1 of 2)        | student 29th, 31st; classmate 31st |
| HIST-1 | other_student      | 1     | other_item (material_complete) 1/1 | other_student 31st                 |

so average progress (1/2 + 1/2 + 1) / 3 = 66.7 %, completion rate 1 of 3 enrolments = 33.3 %, and 4 active
enrolment-days; MATH-1 alone: 50.0 %, 0.0 %, 3 active enrolment-days of 2 students.
"""

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from django.utils import timezone

from analytics import selectors
from analytics.request_metrics import record, request_metrics_flush
from analytics.services import events_ingest
from tests.analytics import test_metrics, test_request_metrics
from tests.analytics.test_metrics import NOW
from tests.conftest import School, client_for
from tests.factories import TeacherFactory

activity = test_metrics.activity
clean_redis = test_request_metrics.clean_redis

PROGRESS = ("average_progress_percent", "completion_rate", "engagement_score")


@pytest.fixture
def finished(school: School, activity: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any) -> None:
    """On top of `activity`: other_student completes HIST-1's only item on the 31st (240 s, 10 XP); the endpoints
    see NOW as the time."""
    body: dict[str, Any] = {"event_id": str(uuid4()), "action": "material_complete"}
    body["timestamp"] = "2026-03-31T10:00:00Z"
    body.update(course=school.other_course.pk, item=school.other_item.pk, metadata={"duration": 240})
    with django_capture_on_commit_callbacks(execute=True):
        assert events_ingest(items=[body], principal=school.other_student, now=NOW, horizon=None).accepted == 1
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def get(user: Any, url: str) -> dict[str, Any]:
    response = client_for(user).get(url)
    assert response.status_code == 200, response.content
    return dict(response.json())


def progress(answer: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(answer[key] for key in PROGRESS)


def test_overview_has_the_enrolments_progress(school: School, finished: None) -> None:
    # 7 days: 4 active enrolment-days of 3 enrolments * 7 days, times 10 = 1.90
    assert progress(get(school.admin, "/api/v1/analytics/overview?days=7")) == (66.7, 33.3, 1.9)
    # MATH-1: 3 of 2 * 7, times 10 = 2.14
    math = get(school.admin, f"/api/v1/analytics/overview?days=7&course={school.course.pk}")
    assert progress(math) == (50.0, 0.0, 2.1)


def test_summary_has_the_enrolments_progress(school: School, finished: None) -> None:
    # given the default 30 days ending today (2 to 31 March)
    answer = get(school.admin, "/api/v1/analytics/summary")
    # then the totals are the rollups' (summary()) and the progress figures the enrolments': 4 of 3 * 30 days
    assert {key: answer[key] for key in answer if key not in PROGRESS} == {
        "as_of": "2026-03-31T18:00:00Z",
        "start_date": "2026-03-02",
        "end_date": "2026-03-31",
        "active_students": 3,
        "events": 4,
        "xp_total": 47,  # 2 + 20 (student), 15 (classmate), 10 (other_student)
        "xp_per_active_student": 15.7,
        "items_completed": 3,
        "attempts": 0,
        "scored_events": 1,
        "average_score_percent": 80.0,
    }
    assert progress(answer) == (66.7, 33.3, 0.4)


def test_summary_between_dates_of_one_class(school: School, finished: None) -> None:
    # 29 to 31 March in MATH-1 (the teacher's): 3 active enrolment-days of 2 students * 3 days, times 10 = 5.0
    url = f"/api/v1/analytics/summary?start_date=2026-03-29&end_date=2026-03-31&course={school.course.pk}"
    answer = get(school.teacher, url)
    assert (answer["active_students"], answer["events"], answer["xp_total"]) == (2, 3, 37)
    assert progress(answer) == (50.0, 0.0, 5.0)
    # progress is a state: the same figures for a period without activity, whose engagement is 0
    before = get(school.teacher, "/api/v1/analytics/summary?start_date=2026-03-01&end_date=2026-03-07")
    assert (before["active_students"], before["events"]) == (0, 0)
    assert progress(before) == (50.0, 0.0, 0.0)


def test_summary_totals_equal_the_summary_selector(school: School, finished: None) -> None:
    # the endpoint reads the totals through the dashboard's statement; summary() through the ORM
    period = test_metrics.period(days=30)
    ids = [school.course.pk, school.other_course.pk]
    with_progress = selectors.summary_with_progress(course_ids=ids, period=period)
    assert {key: with_progress[key] for key in with_progress if key not in PROGRESS} == selectors.summary(
        course_ids=ids, period=period
    )


def test_summary_of_a_teacher_without_classes(school: School, finished: None) -> None:
    answer = get(TeacherFactory.create(organization=school.organization), "/api/v1/analytics/summary")
    assert (answer["active_students"], answer["events"], answer["xp_per_active_student"]) == (0, 0, None)
    assert progress(answer) == (None, None, None)


def test_dashboard_has_the_enrolments_progress(school: School, finished: None) -> None:
    # a month: 4 active enrolment-days of 3 enrolments * 30 days, times 10 = 0.44
    month = get(school.admin, "/api/v1/analytics/dashboard?time_range=month")
    assert progress(month) == (66.7, 33.3, 0.4)
    # a day (the 31st): the student, classmate and other_student were each active: 3 of 3 * 1, times 10
    assert progress(get(school.admin, "/api/v1/analytics/dashboard?time_range=day")) == (66.7, 33.3, 10.0)


def test_dashboard_answers_seed_004s_timeframe_and_filters(school: School, finished: None) -> None:
    # seed 004: GET /dashboard?timeframe=30d&filters={} is the last 30 days of every class in scope
    month = get(school.admin, "/api/v1/analytics/dashboard?time_range=month")
    seed = get(school.admin, "/api/v1/analytics/dashboard?timeframe=30d&filters={}")
    assert seed == {**month, "time_range": "30d"}
    # a filter names a class: as course= does (MATH-1: 3 active enrolment-days of 2 students * 30 days)
    math = get(school.admin, f'/api/v1/analytics/dashboard?timeframe=30d&filters={{"course": {school.course.pk}}}')
    assert math == get(school.admin, f"/api/v1/analytics/dashboard?timeframe=30d&course={school.course.pk}")
    assert (math["active_students"], math["events"]) == (2, 3)
    assert progress(math) == (50.0, 0.0, 0.5)
    # 90d reaches back to 1 January: the same activity over three times the days (4 of 3 * 90, times 10 = 0.15)
    quarter = get(school.admin, "/api/v1/analytics/dashboard?timeframe=90d")
    assert (quarter["start_date"], quarter["events"], quarter["engagement_score"]) == ("2026-01-01", 4, 0.1)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("timeframe=2w", "timeframe", "period must be 1d to 365d (local days ending today), e.g. 7d."),
        ("timeframe=30d&time_range=month", "time_range", "Give one of time_range, timeframe, not several."),
        ("period=30d&days=30", "days", "Give one of period, days, not several."),
        ("filters=[1]", "filters", "Must be a JSON object"),
        ("filters={", "filters", "Must be a JSON object"),
        ('filters={"school": 1}', "filters", "Unknown filter 'school'; a filter must be one of: course."),
        ('filters={"course": "x"}', "filters", "course: Must be a positive integer id."),
        ('filters={"course": 1}&course=2', "filters", "course: also given as the course parameter."),
    ],
)
def test_dashboard_refuses_bad_timeframes_and_filters(school: School, query: str, field: str, message: str) -> None:
    response = client_for(school.admin).get(f"/api/v1/analytics/dashboard?{query}")
    assert response.status_code == 400
    assert message in response.json()[field][0]


def test_dashboard_filter_outside_the_scope_is_404(school: School) -> None:
    url = f'/api/v1/analytics/dashboard?filters={{"course": {school.other_course.pk}}}'
    assert client_for(school.teacher).get(url).status_code == 404


def test_content_trends_have_each_class_completion_rate(school: School, finished: None) -> None:
    # items completed in the 7 days, and now: the share of the class's students who completed every item, and
    # their average progress
    answer = get(school.admin, "/api/v1/analytics/trends/content?days=7")
    assert answer["completions_by_course"] == [
        {
            "course": school.other_course.pk,
            "items_completed": 1,
            "completion_rate": 100.0,
            "average_progress_percent": 100.0,
        },
        {"course": school.course.pk, "items_completed": 2, "completion_rate": 0.0, "average_progress_percent": 50.0},
    ]


def test_meso_and_macro_have_completion_rate_engagement_score_and_recent_activities(
    school: School, finished: None
) -> None:
    meso = get(school.teacher, f"/api/v1/analytics/dashboards/meso?course={school.course.pk}&days=7")
    # MATH-1: both students half done; 3 active days of 2 students * 7, times 10 = 2.14
    assert progress(meso) == (50.0, 0.0, 2.1)
    macro = get(school.admin, "/api/v1/analytics/dashboards/macro?days=7")
    assert progress(macro) == (66.7, 33.3, 1.9)
    # the latest completions of the 7 days, newest first
    assert [(row["action"], row["student"], row["course"]) for row in macro["recent_activities"]] == [
        ("quiz_submit", school.classmate.pk, school.course.pk),
        ("lesson_complete", school.student.pk, school.course.pk),
        ("material_complete", school.other_student.pk, school.other_course.pk),
    ]
    # a teacher's macro covers their classes only
    teacher = get(school.teacher, "/api/v1/analytics/dashboards/macro?days=7")
    assert progress(teacher) == (50.0, 0.0, 2.1)
    assert {row["course"] for row in teacher["recent_activities"]} == {school.course.pk}


def test_engagement_metrics_over_ninety_days(school: School, finished: None) -> None:
    # the London school's 90 days ending 31 March: 1 January (GMT) to 31 March
    answer = get(school.admin, "/api/v1/analytics/engagement-metrics?timeframe=90d")
    assert (answer["timeframe"], answer["source"], answer["start"]) == ("90d", "rollups", "2026-01-01T00:00:00Z")
    assert (answer["first_day"], answer["last_day"]) == ("2026-01-01", "2026-03-31")
    # MATH-1: 3 events, the student's material view; HIST-1: other_student's completion
    assert (answer["active_users"], answer["events"], answer["page_views"], answer["interactions"]) == (3, 4, 1, 3)


def test_system_metrics_name_the_error_types(school: School, clean_redis: Any) -> None:
    # given the school's requests of a minute: 3 answered, 2 not found, 1 throttled, 1 server error
    at = NOW - timedelta(minutes=3)
    organization = school.organization.pk
    for status in (200, 200, 200, 404, 404, 429, 500):
        record(method="GET", route="api/v1/courses/", status=status, ms=5, at=at, organization_id=organization)
    record(method="GET", route="api/v1/courses/", status=503, ms=5, at=at)  # nobody's: not the school's
    request_metrics_flush(now=NOW)
    # when the school's system metrics are read
    answer = selectors.system_metrics(hours=1, now=NOW, organization_id=organization)
    # then each status of 400 and above is counted with its kind, and the rates follow from them
    assert answer["errors_by_status"] == [
        {"status": 404, "kind": "client", "requests": 2},
        {"status": 429, "kind": "client", "requests": 1},
        {"status": 500, "kind": "server", "requests": 1},
    ]
    assert (answer["requests"], answer["error_rate_percent"], answer["client_error_rate_percent"]) == (7, 14.29, 42.86)
    # a platform operator's figures hold the request of nobody's too
    everyone = selectors.system_metrics(hours=1, now=NOW, organization_id=None)
    assert [row["status"] for row in everyone["errors_by_status"]] == [404, 429, 500, 503]

"""Micro, meso and macro dashboards (dashboards.selectors), their API reads and their pages: hand-computed numbers
for the fixed fixture of test_metrics (a course in New York, in a London school), the peer-comparison minimum,
pinned query counts and bad input."""

import re
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from classroom.selectors import courses_in_common, visible_courses
from dashboards import selectors as dashboards
from tests.analytics import test_metrics
from tests.analytics.test_metrics import NOW, period
from tests.conftest import School, client_for

activity = test_metrics.activity  # the hand-computed events of test_metrics.py


def test_micro_by_hand_for_the_student_themselves(school: School, activity: Any) -> None:
    student = school.student
    answer = dashboards.micro(
        student=student, courses=courses_in_common(student, student), period=period(), viewer=student
    )
    # the class has two items (the fixture's and the assignment); the student completed the first one
    assert (answer["items_completed"], answer["items_total"], answer["overall_progress_percent"]) == (1, 2, 50.0)
    [course] = answer["courses"]
    assert (course["course"], course["progress_percent"]) == (school.course.pk, 50.0)
    # two students take part, fewer than the minimum of 5: a student sees no class average
    assert course["peers"] == {
        "hidden": True,
        "reason": "Shown when at least 5 students take part.",
        "students": 2,
        "has_activity": True,
    }
    assert answer["activity"] == {
        "sessions": 0,
        "active_minutes": 30.0,  # 600 s + 1200 s
        "average_session_minutes": None,
        "active_days": 2,
        "events": 2,
        "materials_viewed": 1,
        "materials_completed": 1,
        "xp_earned": 22,
    }
    assert [day["events"] for day in answer["heatmap"]] == [1, 0, 1]
    assert (answer["xp"], answer["level"], answer["xp_to_next_level"]) == (22, 1, 78)
    assert [row["action"] for row in answer["recent_activity"]] == ["lesson_complete", "material_view"]
    assert answer["as_of"] == NOW


def test_micro_shows_teachers_the_class_average_and_percentile(school: School, activity: Any) -> None:
    answer = dashboards.micro(
        student=school.student,
        courses=courses_in_common(school.teacher, school.student),
        period=period(),
        viewer=school.teacher,
    )
    # both students completed one of the two items: average 50 %, nobody below the student
    assert answer["courses"][0]["peers"] == {
        "hidden": False,
        "students": 2,
        "has_activity": True,
        "class_average_percent": 50.0,
        "percentile": 0.0,
    }


@override_settings(ANALYTICS_PEER_MIN_STUDENTS=2)
def test_the_peer_minimum_is_configurable(school: School, activity: Any) -> None:
    student = school.student
    answer = dashboards.micro(
        student=student, courses=courses_in_common(student, student), period=period(), viewer=student
    )
    assert answer["courses"][0]["peers"]["hidden"] is False


def test_meso_by_hand(school: School, activity: Any) -> None:
    answer = dashboards.meso(course=school.course, period=period(), viewer=school.teacher)
    assert (answer["students_enrolled"], answer["active_students"], answer["events"]) == (2, 2, 3)
    assert answer["average_progress_percent"] == 50.0
    bands = {band["from_percent"]: band["students"] for band in answer["progress_distribution"]}
    assert bands[50] == 2 and sum(bands.values()) == 2
    students = {row["student"]: row for row in answer["students"]}
    assert {k: v for k, v in students[school.student.pk].items() if k not in ("student", "name")} == {
        "events": 2,
        "active_minutes": 30.0,
        "active_days": 2,
        "progress_percent": 50.0,
        "last_active": date(2026, 3, 31),
        # issue 13: their graded work among the items counted (the quiz handed in on time, 8 of 10)
        "on_time": 1,
        "late": 0,
        "missing": 0,
        "excused": 0,
        "score_average_percent": 80.0,
    }
    assert students[school.classmate.pk]["events"] == 1
    assert students[school.classmate.pk]["active_minutes"] == 5.0
    # this ISO week (from Monday 30 March, London): 2 + 20 XP for the student, 10 + 5 for the classmate
    assert [(row["rank"], row["student"], row["xp"]) for row in answer["leaderboard"]["rows"]] == [
        (1, school.student.pk, 22),
        (2, school.classmate.pk, 15),
    ]


def test_macro_by_hand(school: School, activity: Any) -> None:
    answer = dashboards.macro(courses=visible_courses(school.admin), period=period(), include_system=True)
    assert (answer["students_total"], answer["students_active"], answer["events"]) == (3, 2, 3)
    assert (answer["classes_total"], answer["classes_active"]) == (2, 1)
    assert answer["average_score_percent"] == 80.0
    by_code = {row["code"]: row for row in answer["courses"]}
    assert {k: by_code["MATH-1"][k] for k in ("students_enrolled", "active_students", "engagement_rate", "events")} == {
        "students_enrolled": 2,
        "active_students": 2,
        "engagement_rate": 100.0,
        "events": 3,
    }
    assert by_code["MATH-1"]["items_completed"] == 2
    assert by_code["MATH-1"]["average_score_percent"] == 80.0
    assert by_code["MATH-1"]["last_active_day"] == date(2026, 3, 31)
    assert by_code["HIST-1"]["events"] == 0 and by_code["HIST-1"]["engagement_rate"] == 0.0
    assert answer["system"] is not None
    teacher = dashboards.macro(courses=visible_courses(school.teacher), period=period(), include_system=False)
    assert [row["code"] for row in teacher["courses"]] == ["MATH-1"] and teacher["system"] is None


@pytest.mark.parametrize(
    ("url", "who", "queries"),
    [
        # micro: + the coursework (3 queries) and each class's leaderboard (the classes, then 1 to 4 per class)
        ("/api/v1/analytics/dashboards/micro?student={student}", "teacher", 18),
        ("/api/v1/analytics/dashboards/micro", "student", 21),
        # issue 13: + the filters' modules and items (2) and the most and least viewed items (2)
        ("/api/v1/analytics/dashboards/meso?course={course}", "teacher", 18),
        ("/api/v1/analytics/dashboards/macro", "admin", 12),
    ],
)
def test_api_query_counts_are_pinned(
    school: School,
    activity: Any,
    url: str,
    who: str,
    queries: int,
    django_assert_num_queries: Any,
) -> None:
    client = client_for(getattr(school, who))
    with django_assert_num_queries(queries):
        response = client.get(url.format(course=school.course.pk, student=school.student.pk))
    assert response.status_code == 200, response.content


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The views ask django.utils.timezone.now(); here it is the fixture's NOW."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def test_api_numbers_are_the_selectors(school: School, activity: Any, frozen: None) -> None:
    meso = client_for(school.teacher).get(f"/api/v1/analytics/dashboards/meso?course={school.course.pk}").json()
    assert (meso["events"], meso["students_enrolled"], meso["average_progress_percent"]) == (3, 2, 50.0)
    assert meso["as_of"] == "2026-03-31T18:00:00Z" and len(meso["engagement"]) == 30
    micro = client_for(school.student).get("/api/v1/analytics/dashboards/micro?days=7").json()
    assert (micro["items_completed"], micro["days"], len(micro["heatmap"])) == (1, 7, 7)


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/analytics/dashboards/meso", "course"),
        ("/api/v1/analytics/dashboards/meso?course=abc", "course"),
        ("/api/v1/analytics/dashboards/meso?course={course}&days=0", "days"),
        ("/api/v1/analytics/dashboards/macro?days=400", "days"),
        ("/api/v1/analytics/dashboards/macro?timeframe=week", "timeframe"),
        ("/api/v1/analytics/dashboards/micro?student={student}&days=x", "days"),
    ],
)
def test_api_bad_input_names_the_field(school: School, url: str, field: str) -> None:
    response = client_for(school.admin).get(url.format(course=school.course.pk, student=school.student.pk))
    assert response.status_code == 400
    assert field in response.json()


def _page_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("url", "who", "queries"),
    [
        ("/progress/", "student", 31),  # issue 16: + paths and goals, next steps
        ("/students/{student}/progress/", "teacher", 29),  # issue 14: + the risk history; 16: + next steps, history
        ("/classes/{course}/dashboard/", "teacher", 24),  # issue 13: as the meso metric, + 4; issue 14: at risk, + 3
        ("/institution/", "admin", 19),  # issue 14: + the model cards, + re-engagement (3)
    ],
)
def test_pages_show_the_selectors_numbers(
    school: School,
    activity: Any,
    url: str,
    who: str,
    queries: int,
    django_assert_num_queries: Any,
) -> None:
    client = _page_client(getattr(school, who))
    with django_assert_num_queries(queries):
        response = client.get(url.format(course=school.course.pk, student=school.student.pk) + "?days=7")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-metric="as_of"' in html and "chart.umd.min.js" in html
    fragment = client.get(url.format(course=school.course.pk, student=school.student.pk) + "?days=30&fragment=1")
    assert fragment.status_code == 200
    assert "<html" not in fragment.content.decode() and "<table" in fragment.content.decode()


def test_class_page_lists_the_students_with_a_drill_down(
    school: School,
    activity: Any,
    frozen: None,
) -> None:
    html = _page_client(school.teacher).get(f"/classes/{school.course.pk}/dashboard/").content.decode()
    assert f'href="/students/{school.student.pk}/progress/"' in html
    assert 'data-metric="events">3<' in html and 'data-metric="average_progress_percent">50.0<' in html


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/progress/?period=5d", "period: period must be one of: 7d, 30d, 90d, 365d."),
        ("/progress/?days=5", "days: period must be one of: 7d, 30d, 90d, 365d."),
        ("/institution/?days=abc", "days: Must be a whole number of days (or use period, e.g. period=30d)."),
        ("/classes/{course}/dashboard/?period=0d", "period: period must be one of: 7d, 30d, 90d, 365d."),
    ],
)
def test_pages_refuse_an_unknown_timeframe(school: School, url: str, message: str) -> None:
    who = school.student if url.startswith("/progress") else school.admin
    response = _page_client(who).get(url.format(course=school.course.pk))
    assert response.status_code == 400
    assert response.content.decode() == message


def test_pages_read_the_seed_spelling_of_the_period(school: School) -> None:
    # days=7 (the spelling of earlier links) is period=7d: the same page, the picker on 7 days
    client = _page_client(school.admin)
    seed, canonical = (client.get(f"/institution/?{query}").content.decode() for query in ("days=7", "period=7d"))
    assert '<option value="7d" selected>' in seed and '<option value="7d" selected>' in canonical
    metrics = re.compile(r'data-metric="[^"]+">[^<]*<')
    assert metrics.findall(seed) == metrics.findall(canonical) != []

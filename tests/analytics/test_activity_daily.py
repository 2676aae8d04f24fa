"""analytics/activity/daily: per local day, class and student of the requester's classes, from rollups built by the
ingestion service; its pages (keyset cursor) and its stream (what reports read) give the same rows; scope, 404s
and bad input."""

import inspect
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from django.db.models import Sum
from django.http import Http404
from django.utils import timezone

from analytics.models import StudentDailyRollup
from analytics.selectors.activity import STREAM_CHUNK
from analytics.services import events_ingest
from classroom.selectors import metric_scope
from core.metrics import metric
from core.params import query_of
from gamification.models import XpAward
from tests.conftest import School, client_for
from tests.factories import StudentFactory

NOW = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)
URL = "/api/v1/analytics/activity/daily"
RANGE = "start_date=2026-03-28&end_date=2026-03-31"


@pytest.fixture
def activity(school: School, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The class MATH-1 keeps New York's calendar; HIST-1 and the school keep London's (GMT until 29 March, then
    BST). The classmate has no full name, so they are named by their username."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    school.course.time_zone = "America/New_York"
    school.course.save()
    school.classmate.first_name = school.classmate.last_name = ""
    school.classmate.save()

    def post(student: Any, when: str, action: str, course: Any = None, item: Any = None, **metadata: Any) -> None:
        body: dict[str, Any] = {"event_id": str(uuid4()), "action": action, "timestamp": when, "metadata": metadata}
        if course is not None:
            body.update(course=course.pk, item=item.pk)
        with django_capture_on_commit_callbacks(execute=True):  # XP is awarded after commit
            assert events_ingest(items=[body], principal=student, now=NOW, horizon=None).accepted == 1

    math, history = school.course, school.other_course
    # 30 March 02:30 UTC is 22:30 on the 29th in New York (EDT): MATH-1's day is the 29th
    post(school.student, "2026-03-30T02:30:00Z", "material_view", math, school.item, duration=600)  # 2 XP
    post(school.student, "2026-03-31T12:00:00Z", "lesson_complete", math, school.item, duration=1200)  # 20 XP
    # the classmate's first and second attempt at the quiz: 80 % then 50 %
    first_try, second_try = {"score": 8, "max_score": 10, "attempts": 1}, {"score": 5, "max_score": 10, "attempts": 2}
    post(school.classmate, "2026-03-31T13:00:00Z", "quiz_submit", math, school.item, duration=300, **first_try)
    post(school.classmate, "2026-03-31T14:00:00Z", "quiz_submit", math, school.item, duration=90, **second_try)
    # 28 March 23:30 UTC is still the 28th in London (GMT); 29 March 23:30 UTC is the 30th (BST)
    post(school.other_student, "2026-03-28T23:30:00Z", "material_view", history, school.other_item, duration=60)
    post(school.other_student, "2026-03-29T23:30:00Z", "material_view", history, school.other_item, duration=60)
    # outside any class: in the rollups with no course, never a row here
    post(school.student, "2026-03-31T15:00:00Z", "search_query", query="fractions")
    assert StudentDailyRollup.objects.filter(student=school.student, course=None).exists()


def awarded(student: Any) -> int:
    """The XP of the gamification ledger (what the rollups' xp adds up), all of `student`'s."""
    return XpAward.objects.filter(student=student).aggregate(total=Sum("amount"))["total"] or 0


def get(user: Any, query: str = RANGE) -> Any:
    return client_for(user).get(f"{URL}?{query}")


def answer_of(user: Any, query: str = RANGE) -> dict[str, Any]:
    response = get(user, query)
    assert response.status_code == 200, response.content
    return response.json()


def test_rows_by_hand(school: School, activity: None) -> None:
    answer = answer_of(school.admin)

    math, history = school.course.pk, school.other_course.pk
    student, classmate, other = school.student, school.classmate, school.other_student
    common = {"attempts": 0, "average_score_percent": None}
    expected_rows = [
        {"day": "2026-03-28", "course": history, "course_code": "HIST-1", "student": other.pk,
         "name": other.display_name, "events": 1, "active_minutes": 1.0, "items_viewed": 1, "items_completed": 0,
         "xp": 2, **common},
        {"day": "2026-03-29", "course": math, "course_code": "MATH-1", "student": student.pk,
         "name": student.display_name, "events": 1, "active_minutes": 10.0, "items_viewed": 1, "items_completed": 0,
         "xp": 2, **common},
        {"day": "2026-03-30", "course": history, "course_code": "HIST-1", "student": other.pk,
         "name": other.display_name, "events": 1, "active_minutes": 1.0, "items_viewed": 1, "items_completed": 0,
         "xp": 2, **common},
        {"day": "2026-03-31", "course": math, "course_code": "MATH-1", "student": student.pk,
         "name": student.display_name, "events": 1, "active_minutes": 20.0, "items_viewed": 0, "items_completed": 1,
         "xp": 20, **common},
        # attempts 1 and 2 reported (3), 80 % and 50 %: 65.0 on average; 6.5 minutes; one item completed
        {"day": "2026-03-31", "course": math, "course_code": "MATH-1", "student": classmate.pk,
         "name": "classmate", "events": 2, "active_minutes": 6.5, "items_viewed": 0, "items_completed": 1,
         "attempts": 3, "average_score_percent": 65.0, "xp": awarded(classmate)},
    ]  # fmt: skip
    if student.pk > classmate.pk:  # the order is day, class, student
        expected_rows[3], expected_rows[4] = expected_rows[4], expected_rows[3]
    assert answer == {
        "first_day": "2026-03-28",
        "last_day": "2026-03-31",
        "as_of": "2026-03-31T18:00:00Z",
        "rows": expected_rows,
        "next": None,
    }
    assert awarded(classmate) >= 15  # the first attempt alone: 10 for the quiz, 5 for its 80 % band


def test_days_are_the_classes_own_and_the_default_range_ends_today_in_the_schools_zone(
    school: School, activity: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # New York's 29th holds an event at 02:30 UTC on the 30th; London's 30th one at 23:30 UTC on the 29th
    only_29th = answer_of(school.admin, "start_date=2026-03-29&end_date=2026-03-29")["rows"]
    assert [(row["course_code"], row["day"]) for row in only_29th] == [("MATH-1", "2026-03-29")]
    only_30th = answer_of(school.admin, "start_date=2026-03-30&end_date=2026-03-30")["rows"]
    assert [(row["course_code"], row["day"]) for row in only_30th] == [("HIST-1", "2026-03-30")]

    # 23:30 UTC on 31 March is 1 April in London (BST): the default 30 days end on 1 April
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 3, 31, 23, 30, tzinfo=UTC))
    answer = answer_of(school.admin, "")
    assert (answer["first_day"], answer["last_day"]) == ("2026-03-03", "2026-04-01")
    assert len(answer["rows"]) == 5


def test_pages_followed_to_the_end_are_the_stream(school: School, activity: None) -> None:
    # given every page of two rows
    pages, query = [], f"{RANGE}&limit=2"
    while True:
        page = answer_of(school.admin, query)
        pages.append(page["rows"])
        if page["next"] is None:
            break
        query = f"{RANGE}&limit=2&after={page['next']}"

    # when the stream of the same question is read (as a report reads it)
    activity_daily = metric("analytics-activity-daily")
    assert activity_daily.stream is not None
    validated = query_of(activity_daily.query, {"start_date": "2026-03-28", "end_date": "2026-03-31", "limit": "2"})
    scope = metric_scope(viewer=school.admin, subject=activity_daily.subject, query=validated, now=NOW)
    stream = activity_daily.stream(scope, validated)

    # then the pages hold each row once, in order, and the stream yields the same rows
    assert [len(rows) for rows in pages] == [2, 2, 1]
    assert inspect.isgenerator(stream)
    streamed = [{**row, "day": row["day"].isoformat()} for row in stream]
    assert [row for rows in pages for row in rows] == streamed


def test_a_teacher_sees_only_their_classes(school: School, activity: None) -> None:
    assert {row["course_code"] for row in answer_of(school.teacher)["rows"]} == {"MATH-1"}
    assert {row["course_code"] for row in answer_of(school.other_teacher)["rows"]} == {"HIST-1"}
    # one class, one student
    rows = answer_of(school.admin, f"{RANGE}&course={school.course.pk}&student={school.student.pk}")["rows"]
    assert [(row["course_code"], row["student"], row["day"]) for row in rows] == [
        ("MATH-1", school.student.pk, "2026-03-29"),
        ("MATH-1", school.student.pk, "2026-03-31"),
    ]


def test_classes_and_students_out_of_sight_answer_as_if_they_did_not_exist(school: School, activity: None) -> None:
    missing = 2**40
    nonexistent = get(school.teacher, f"{RANGE}&course={missing}")
    assert nonexistent.status_code == 404
    for course in (school.foreign_course, school.other_course):
        response = get(school.teacher, f"{RANGE}&course={course.pk}")
        assert (response.status_code, response.json()) == (404, nonexistent.json())

    nobody = get(school.teacher, f"{RANGE}&student={missing}")
    assert nobody.status_code == 404
    for student in (school.foreign_student, school.other_student):
        response = get(school.teacher, f"{RANGE}&student={student.pk}")
        assert (response.status_code, response.json()) == (404, nobody.json())
    assert get(school.foreign_admin, f"{RANGE}&student={school.student.pk}").status_code == 404
    # and the stream, which a report reads, refuses before the first row
    activity_daily = metric("analytics-activity-daily")
    assert activity_daily.stream is not None
    validated = query_of(activity_daily.query, {"student": str(school.other_student.pk)})
    scope = metric_scope(viewer=school.teacher, subject=activity_daily.subject, query=validated, now=NOW)
    with pytest.raises(Http404):
        activity_daily.stream(scope, validated)


def test_students_are_refused(school: School, activity: None) -> None:
    assert get(school.student).status_code == 403


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("start_date=2026-03-31&end_date=2026-03-30", "start_date"),
        ("start_date=2023-03-30&end_date=2026-03-31", "start_date"),  # 1098 days
        ("start_date=2026-02-30", "start_date"),
        ("after=yesterday", "after"),
        ("after=2026-03-31.12", "after"),
        ("after=2026-02-30.1.2", "after"),
        ("after=2026-03-31.0.2", "after"),
        ("after=2026-03-31.1.99999999999999999999", "after"),
        ("after=2026-03-31.1.2%0A", "after"),
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("limit=100001", "limit"),
        ("limit=ten", "limit"),
        ("student=0", "student"),
        ("days=30", "days"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(school: School, query: str, parameter: str) -> None:
    response = get(school.admin, query)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [parameter]


def test_the_range_limit_is_named(school: School) -> None:
    response = get(school.admin, "start_date=2023-03-30&end_date=2026-03-31")
    assert response.json() == {"start_date": ["At most 1096 days from start_date to end_date."]}


def test_the_longest_range_and_page_are_accepted(school: School, activity: None) -> None:
    answer = answer_of(school.admin, "start_date=2023-04-01&end_date=2026-03-31&limit=10000")
    assert len(answer["rows"]) == 5 and answer["next"] is None


def test_a_page_costs_one_query(school: School, activity: None, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):
        assert get(school.teacher, f"{RANGE}&after=2026-03-29.{school.course.pk}.1").status_code == 200
    with django_assert_num_queries(2):  # the student's visibility, then the page
        assert get(school.teacher, f"{RANGE}&student={school.student.pk}").status_code == 200


def test_the_stream_reads_many_rows_page_after_page(school: School) -> None:
    # given more rows than two of the stream's pages hold
    students = StudentFactory.create_batch(31, organization=school.organization)
    first = date(2025, 4, 1)
    StudentDailyRollup.objects.bulk_create(
        StudentDailyRollup(student=student, course=school.course, day=first + timedelta(days=day), events=1)
        for student in students
        for day in range(366)
    )
    total = 31 * 366
    assert total > 2 * STREAM_CHUNK
    activity_daily = metric("analytics-activity-daily")
    assert activity_daily.stream is not None
    validated = query_of(activity_daily.query, {"start_date": "2025-04-01", "end_date": "2026-04-01"})
    scope = metric_scope(viewer=school.admin, subject=activity_daily.subject, query=validated, now=NOW)

    # when it is streamed
    stream = activity_daily.stream(scope, validated)

    # then rows come one at a time, every one of them, in order
    assert inspect.isgenerator(stream)
    count, previous = 0, None
    for row in stream:
        key = (row["day"], row["course"], row["student"])
        assert previous is None or key > previous
        previous, count = key, count + 1
    assert count == total

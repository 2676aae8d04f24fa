"""The class dashboard's assignments, filters and students table (issue 13): hand-computed who-lists for a fixed class
with a student who enrolled late, the same numbers through the selectors, the API (meso, course analytics, course
assignments) and the page, and bad filters refused with the parameter named."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from analytics import selectors
from analytics.services import events_ingest
from classroom.models import Enrollment, LearningItem, Submission
from core.daterange import DateRange
from dashboards import selectors as dashboards
from tests.conftest import School, client_for
from tests.factories import (
    EnrollmentFactory,
    LearningItemFactory,
    ModuleFactory,
    StudentFactory,
    SubmissionFactory,
)

NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")


def at(day: int, month: int = 9, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The views and the catalogue ask django.utils.timezone.now(); here it is NOW."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)


@pytest.fixture
def work(school: School) -> dict[str, Any]:
    """MATH-1 with three graded items already due and one due later; `student` and `classmate` enrolled on 1 September,
    `late` on 22 September (after A2 and A1 were due):

    | item (due)      | student          | classmate       | late                      |
    |-----------------|------------------|-----------------|---------------------------|
    | A2 (10 Sep)     | marked missing   | excused         | not counted (before)      |
    | A1 (20 Sep)     | on time, 9/10    | nothing: missing| late, 5/10 (handed in)    |
    | Q1 (25 Sep)     | late, 6/10       | on time, 10/10  | nothing: missing          |
    | A3 (10 Oct)     | not due yet      |                 |                           |
    """
    school.item.due_at = None  # the conftest's quiz: not part of this table
    school.item.save()
    late = StudentFactory.create(organization=school.organization, username="late")
    EnrollmentFactory.create(user=late, course=school.course, enrolled_at=at(22))
    week1 = ModuleFactory.create(course=school.course, title="Week 1")
    week2 = ModuleFactory.create(course=school.course, title="Week 2")
    a2 = LearningItemFactory.create(module=week1, kind=LearningItem.Kind.ASSIGNMENT, title="A2", due_at=at(10))
    a1 = LearningItemFactory.create(module=week2, kind=LearningItem.Kind.ASSIGNMENT, title="A1", due_at=at(20))
    q1 = LearningItemFactory.create(module=week2, kind=LearningItem.Kind.QUIZ, title="Q1", due_at=at(25))
    a3 = LearningItemFactory.create(module=week2, kind=LearningItem.Kind.ASSIGNMENT, title="A3", due_at=at(10, 10))
    lesson = LearningItemFactory.create(module=week2, kind=LearningItem.Kind.LESSON, title="Reading", due_at=None)

    def hand_in(item: Any, student: Any, state: str, when: datetime | None, score: int | None) -> None:
        SubmissionFactory.create(
            item=item,
            student=student,
            state=state,
            submitted_at=when,
            score=None if score is None else Decimal(score),
            max_points=Decimal(10),
        )

    hand_in(a2, school.student, Submission.State.MISSING, None, None)
    hand_in(a2, school.classmate, Submission.State.EXCUSED, None, None)
    hand_in(a1, school.student, Submission.State.ON_TIME, at(19), 9)
    hand_in(a1, late, Submission.State.LATE, at(23), 5)
    hand_in(q1, school.student, Submission.State.LATE, at(26), 6)
    hand_in(q1, school.classmate, Submission.State.ON_TIME, at(24), 10)
    return {"late": late, "a1": a1, "a2": a2, "q1": q1, "a3": a3, "lesson": lesson, "week1": week1, "week2": week2}


def period(days: int = 30) -> DateRange:
    return DateRange.last_days(days, now=NOW, zone=LONDON)  # the class's time zone (tests.factories)


def who(row: Any) -> dict[str, set[int]]:
    return {state: set(ids) for state, ids in row["who"].items()}


def test_work_due_before_a_student_enrolled_is_not_missing_for_them(school: School, work: Any) -> None:
    """The bug of issue 13: a student enrolled this week counted as missing for everything due earlier."""
    # when
    totals = selectors.assignment_timeliness(course=school.course, period=period())

    # then: 8 expected, not 9 (late's A2 is not theirs), A1 handed in anyway counts as late
    assert totals == {"on_time": 2, "late": 2, "missing": 3, "excused": 1, "expected": 8}


def test_each_item_lists_exactly_who_and_its_average_score(school: School, work: Any) -> None:
    student, classmate, late = school.student.pk, school.classmate.pk, work["late"].pk
    assignments = selectors.class_assignments(course=school.course, period=period())
    rows = {row["title"]: row for row in assignments.items}

    assert [row["title"] for row in assignments.items] == ["A2", "A1", "Q1"]  # by due time; A3 is not due yet
    assert who(rows["A2"]) == {"on_time": set(), "late": set(), "missing": {student}, "excused": {classmate}}
    assert who(rows["A1"]) == {"on_time": {student}, "late": {late}, "missing": {classmate}, "excused": set()}
    assert who(rows["Q1"]) == {"on_time": {classmate}, "late": {student}, "missing": {late}, "excused": set()}
    assert [rows[name]["expected"] for name in ("A2", "A1", "Q1")] == [2, 3, 3]
    assert [rows[name]["average_score_percent"] for name in ("A2", "A1", "Q1")] == [None, 70.0, 80.0]
    assert assignments.by_student[student] == {
        "on_time": 1,
        "late": 1,
        "missing": 1,
        "excused": 0,
        "score_average_percent": 75.0,
    }
    assert assignments.by_student[late] == {
        "on_time": 0,
        "late": 1,
        "missing": 1,
        "excused": 0,
        "score_average_percent": 50.0,
    }


def test_one_item_counts_whenever_it_was_due_and_a_module_narrows(school: School, work: Any) -> None:
    # A2 was due 21 days ago: outside a 5-day period (nothing was due in it), but named, it is counted
    [row] = selectors.class_assignments(course=school.course, period=period(5), item=work["a2"].pk).items
    assert row["title"] == "A2" and row["missing"] == 1
    assert selectors.class_assignments(course=school.course, period=period(5)).items == []
    named = selectors.class_assignments(course=school.course, period=period(), module=work["week2"].pk)
    assert [row["title"] for row in named.items] == ["A1", "Q1"]


def test_the_status_filter_keeps_exactly_those_students(
    school: School, work: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given: the student was active yesterday; nobody else ever
    body: dict[str, Any] = {"event_id": str(uuid4()), "action": "material_view", "timestamp": "2026-09-30T10:00:00Z"}
    body |= {"course": school.course.pk, "item": work["lesson"].pk, "metadata": {"duration": 60}}
    with django_capture_on_commit_callbacks(execute=True):
        assert events_ingest(items=[body], principal=school.student, now=NOW, horizon=None).accepted == 1

    def names(**filters: Any) -> set[int]:
        answer = dashboards.meso(course=school.course, period=period(), viewer=school.teacher, **filters)
        return {row["student"] for row in answer["students"]}

    # then
    everyone = {school.student.pk, school.classmate.pk, work["late"].pk}
    assert names() == everyone
    assert names(item=work["a1"].pk, status="missing") == {school.classmate.pk}
    assert names(item=work["a1"].pk, status="late") == {work["late"].pk}
    assert names(status="missing") == everyone
    assert names(status="excused") == {school.classmate.pk}
    assert names(status="active") == {school.student.pk}
    assert names(status="inactive", inactive_days=7) == {school.classmate.pk, work["late"].pk}
    assert names(status="inactive", inactive_days=1) == everyone  # nobody was active today (1 October)


def test_most_and_least_viewed_items(school: School, work: Any, django_capture_on_commit_callbacks: Any) -> None:
    for student, item in (
        (school.student, work["lesson"]),
        (school.classmate, work["lesson"]),
        (school.student, work["a1"]),
    ):
        body: dict[str, Any] = {
            "event_id": str(uuid4()),
            "action": "material_view",
            "timestamp": "2026-09-30T10:00:00Z",
        }
        body |= {"course": school.course.pk, "item": item.pk, "metadata": {"duration": 60}}
        with django_capture_on_commit_callbacks(execute=True):
            assert events_ingest(items=[body], principal=student, now=NOW, horizon=None).accepted == 1

    ranked = selectors.class_item_views(course=school.course, period=period(), limit=3)

    assert [(row["title"], row["views"], row["learners"]) for row in ranked["most_viewed"]] == [
        ("Reading", 2, 2),
        ("A1", 1, 1),
    ]
    assert all(row["views"] == 0 for row in ranked["least_viewed"])  # 6 items, 4 never opened: those come first
    assert "Reading" not in {row["title"] for row in ranked["least_viewed"]}


def test_the_api_takes_the_filters_and_names_the_students(school: School, work: Any, frozen: None) -> None:
    teacher = client_for(school.teacher)
    course = school.course.pk

    meso = teacher.get(f"/api/v1/analytics/dashboards/meso?course={course}&item={work['a1'].pk}&status=missing")
    assignments = teacher.get(f"/api/v1/analytics/courses/{course}/assignments?module={work['week2'].pk}")
    analytics = teacher.get(f"/api/v1/analytics/courses/{course}/analytics?item={work['q1'].pk}")

    assert meso.status_code == 200, meso.content
    assert [row["student"] for row in meso.json()["students"]] == [school.classmate.pk]
    assert meso.json()["filters"] == {"module": None, "item": work["a1"].pk, "status": "missing", "inactive_days": 7}
    assert assignments.status_code == 200, assignments.content
    answer = assignments.json()
    assert [row["title"] for row in answer["items"]] == ["A1", "Q1"]
    assert answer["totals"] == {"on_time": 2, "late": 2, "missing": 2, "excused": 0, "expected": 6}
    assert {row["student"] for row in answer["students"]} == {school.student.pk, school.classmate.pk, work["late"].pk}
    assert analytics.json()["assignment_timeliness"] == {
        "on_time": 1,
        "late": 1,
        "missing": 1,
        "excused": 0,
        "expected": 3,
    }


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("item", lambda s, w: s.other_item.pk),  # an item of another class
        ("item", lambda s, w: w["lesson"].pk),  # not an assignment or quiz
        ("item", lambda s, w: 987654321),  # no such item
        ("module", lambda s, w: s.other_item.module_id),  # a module of another class
    ],
)
@pytest.mark.parametrize(
    "path", ["analytics/dashboards/meso?course={course}&", "analytics/courses/{course}/assignments?"]
)
def test_a_filter_naming_another_class_is_a_400_naming_it(
    school: School, work: Any, parameter: str, value: Any, path: str
) -> None:
    url = "/api/v1/" + path.format(course=school.course.pk) + f"{parameter}={value(school, work)}"
    response = client_for(school.teacher).get(url)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [parameter]


def test_an_item_of_another_module_than_the_one_named_is_refused(school: School, work: Any) -> None:
    url = f"/api/v1/analytics/courses/{school.course.pk}/assignments?module={work['week1'].pk}&item={work['a1'].pk}"
    response = client_for(school.teacher).get(url)
    assert (response.status_code, list(response.json())) == (400, ["item"])


def test_an_unknown_status_is_refused(school: School) -> None:
    response = client_for(school.teacher).get(f"/api/v1/analytics/dashboards/meso?course={school.course.pk}&status=x")
    assert response.status_code == 400 and "status" in response.json()


def test_the_page_keeps_the_filters_and_lists_who(school: School, work: Any, frozen: None) -> None:
    # given
    client = Client()
    client.force_login(school.teacher)
    base = f"/classes/{school.course.pk}/dashboard/"

    # when: the page with one assignment chosen, and the "missing" count of that assignment followed
    page = client.get(f"{base}?days=30&module=&item={work['a1'].pk}&status=&inactive_days=7").content.decode()
    missing = client.get(f"{base}?days=30&item={work['a1'].pk}&status=missing").content.decode()

    # then: the filters are selected, each count links to its who-list, and the list holds exactly who
    assert f'<option value="{work["a1"].pk}" selected>' in page
    assert f"?period=30d&amp;item={work['a1'].pk}&amp;status=missing" in page
    assert page.count("data-select-student") == 3
    assert missing.count("data-select-student") == 1
    assert f'data-student="{school.classmate.pk}"' in missing
    assert f'name="filtered" value="{school.classmate.pk}"' in missing
    assert "No activity for 7 days" in missing and "Most viewed" in missing and "Least viewed" in missing


def test_the_page_refuses_an_item_of_another_class(school: School, work: Any) -> None:
    client = Client()
    client.force_login(school.teacher)
    response = client.get(f"/classes/{school.course.pk}/dashboard/?item={school.other_item.pk}")
    assert response.status_code == 400
    assert b"item: Not an assignment or quiz of this class." in response.content


def test_the_timeliness_figure_is_unchanged_for_students_enrolled_before_the_work(school: School) -> None:
    """The enrolment rule moves no figure for a class whose students were all enrolled before the work was due."""
    item = LearningItemFactory.create(module=school.item.module, kind=LearningItem.Kind.QUIZ, due_at=at(20))
    SubmissionFactory.create(item=item, student=school.student, submitted_at=at(19))
    assert Enrollment.objects.filter(course=school.course, enrolled_at__gt=at(20)).count() == 0
    totals = selectors.assignment_timeliness(course=school.course, period=period())
    # the fixture's own quiz (due 8 September) counts too: both missing for the classmate
    assert (totals["on_time"], totals["missing"], totals["expected"]) == (1, 3, 4)

"""risk.features: figures computed from known rows, and no look-ahead."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from classroom.models import Enrollment, LearningItem
from classroom.services import submission_record
from risk.features import FEATURES, features_as_of
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    LearningItemFactory,
    ModuleFactory,
    OrganizationFactory,
    StudentFactory,
)
from tests.risk.school import noon, view_event

START = date(2026, 1, 5)
# Midnight in London (UTC in January) two weeks after the start: days 0-13 are before it.
AS_OF = datetime(2026, 1, 19, 0, 0, tzinfo=UTC)


@pytest.fixture
def setting() -> dict:
    organization = OrganizationFactory.create()
    earlier = CourseFactory.create(
        organization=organization, subject="Physics", start_date=date(2025, 9, 1), end_date=date(2025, 12, 1)
    )
    course = CourseFactory.create(
        organization=organization, subject="Physics", start_date=START, end_date=START + timedelta(days=69)
    )
    module = ModuleFactory.create(course=course)
    items = [LearningItemFactory.create(module=module, kind=LearningItem.Kind.LESSON, due_at=None) for _ in range(3)]
    due = LearningItemFactory.create(
        module=module,
        kind=LearningItem.Kind.ASSIGNMENT,
        max_points=Decimal(10),
        due_at=noon(START + timedelta(days=10)),
    )
    later = LearningItemFactory.create(
        module=module,
        kind=LearningItem.Kind.ASSIGNMENT,
        max_points=Decimal(10),
        due_at=noon(START + timedelta(days=20)),
    )
    students = [StudentFactory.create(organization=organization) for _ in range(3)]
    enrollments = [
        EnrollmentFactory.create(user=student, course=course, enrolled_at=noon(START - timedelta(days=3)))
        for student in students
    ]
    # the first student took the course before (and ended it)
    EnrollmentFactory.create(
        user=students[0],
        course=earlier,
        enrolled_at=noon(date(2025, 8, 25)),
        status="completed",
        ended_at=noon(date(2025, 12, 1)),
    )
    a, b, _ = students
    for day, item in [(0, 0), (0, 1), (1, 0), (12, 2), (13, 0)]:  # a: active on days 0, 1, 12, 13
        view_event(student_id=a.pk, course=course, item=items[item], moment=noon(START + timedelta(days=day)))
    view_event(student_id=b.pk, course=course, item=items[0], moment=noon(START + timedelta(days=2)))  # b: day 2
    submission_record(item=due, student=a, submitted_at=noon(START + timedelta(days=9)), score=Decimal(8))
    submission_record(item=due, student=b, submitted_at=noon(START + timedelta(days=12)), score=Decimal(4))
    return {
        "course": course,
        "students": students,
        "enrollments": enrollments,
        "items": items,
        "due": due,
        "later": later,
    }


def _row(table, position: int) -> dict[str, float]:
    return dict(zip(FEATURES, table.values[position], strict=True))


@pytest.mark.django_db
def test_features_are_computed_from_the_stored_rows(setting: dict) -> None:
    # when
    table = features_as_of([enrollment.pk for enrollment in setting["enrollments"]], AS_OF)

    # then
    a, b, c = (_row(table, position) for position in range(3))
    assert (a["days_elapsed"], a["course_share_elapsed"]) == (14, pytest.approx(14 / 69))
    assert (a["events_total"], a["active_days_total"], a["distinct_items"]) == (5, 4, 3)
    assert (a["events_7"], a["active_days_7"], a["days_since_activity"]) == (2, 2, 1)
    assert (b["events_total"], b["days_since_activity"]) == (1, 12)
    assert c["events_total"] == 0 and c["days_since_activity"] == 17  # since enrolling, 3 days before the start
    assert (a["assessments_due"], a["assessments_on_time"], a["assessments_late"], a["assessments_missing"]) == (
        1,
        1,
        0,
        0,
    )
    assert (b["assessments_on_time"], b["assessments_late"], b["assessments_missing"]) == (0, 1, 0)
    assert (c["assessments_missing"], c["missing_share"]) == (1, 1.0)
    assert (a["mean_score"], b["mean_score"]) == (80, 40) and np.isnan(c["mean_score"])
    assert (a["previous_attempts"], b["previous_attempts"]) == (1, 0)
    assert a["enrolled_days_before_start"] == pytest.approx(2.5)  # noon three days before midnight of the start
    # class-relative: a is the most active of three, c the least; mean score z-scores of 80 and 40 are +1 / -1
    assert a["events_total_pct"] > b["events_total_pct"] > c["events_total_pct"]
    assert (a["mean_score_z"], b["mean_score_z"]) == (pytest.approx(1.0), pytest.approx(-1.0))
    # the class medians, the factors' reference: median of 5, 1, 0 events
    assert table.class_medians[0, FEATURES.index("events_total")] == 1


@pytest.mark.django_db
def test_nothing_after_as_of_changes_a_feature(setting: dict) -> None:
    # given
    ids = [enrollment.pk for enrollment in setting["enrollments"]]
    before = features_as_of(ids, AS_OF)
    a, b, c = setting["students"]
    course = setting["course"]

    # when: events (later that same day, and after), submissions, outcomes and a new classmate, all after as_of
    for moment in (AS_OF + timedelta(hours=1), AS_OF + timedelta(days=3)):
        for student in (a, b, c):
            view_event(student_id=student.pk, course=course, item=setting["items"][1], moment=moment)
    submission_record(item=setting["due"], student=c, submitted_at=AS_OF + timedelta(hours=2), score=Decimal(10))
    submission_record(item=setting["later"], student=b, submitted_at=AS_OF + timedelta(days=1), score=Decimal(1))
    Enrollment.objects.filter(pk__in=ids).update(final_result="fail", result_at=AS_OF + timedelta(days=30))
    newcomer = StudentFactory.create(organization=course.organization)
    EnrollmentFactory.create(user=newcomer, course=course, enrolled_at=AS_OF + timedelta(days=1))
    view_event(student_id=newcomer.pk, course=course, item=setting["items"][0], moment=AS_OF + timedelta(days=2))

    # then
    after = features_as_of(ids, AS_OF)
    np.testing.assert_array_equal(before.values, after.values)
    np.testing.assert_array_equal(before.class_medians, after.class_medians)
    # and the later data is seen from a later moment
    assert not np.array_equal(features_as_of(ids, AS_OF + timedelta(days=5)).values, before.values)

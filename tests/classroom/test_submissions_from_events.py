"""classroom.services.submissions_record_from_events: work handed in as learning events report it, recorded set-wise
as submission_record records it (the tracking API's side: tests/analytics/test_submissions_from_events.py)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from classroom.models import LearningItem, Submission
from classroom.services import HandedIn, submission_state_for, submissions_record_from_events
from tests.conftest import School
from tests.factories import LearningItemFactory, ModuleFactory

DUE = datetime(2026, 9, 8, 17, 0, tzinfo=UTC)
RECORDED = datetime(2026, 9, 10, 8, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


@pytest.mark.parametrize("due_at", [DUE, None], ids=["due", "nothing due"])
@pytest.mark.parametrize("submitted_at", [DUE - TICK, DUE, DUE + TICK], ids=["before", "at", "after"])
def test_the_state_is_submission_state_fors(school: School, due_at: datetime | None, submitted_at: datetime) -> None:
    # given
    item = LearningItemFactory.create(module=ModuleFactory.create(course=school.course), due_at=due_at)

    # when
    handed_in = HandedIn(item_id=item.pk, student_id=school.student.pk, submitted_at=submitted_at)
    assert submissions_record_from_events(handed_in=[handed_in], recorded_at=RECORDED) == 1

    # then
    recorded = Submission.objects.get()
    assert recorded.state == submission_state_for(item=item, submitted_at=submitted_at)
    assert (recorded.attempt, recorded.submitted_at, recorded.score, recorded.max_points) == (
        1,
        submitted_at,
        None,
        Decimal(10),
    )


@pytest.mark.parametrize(
    ("max_points", "raw", "maximum", "scaled", "points"),
    [
        (Decimal(20), Decimal(18), Decimal(20), None, Decimal("18.00")),
        (Decimal(20), Decimal(6), Decimal(10), None, Decimal("12.00")),  # an LMS's own scale
        (Decimal(10), Decimal(2), Decimal(3), None, Decimal("6.67")),
        (Decimal(20), Decimal(1), Decimal(2), Decimal("0.9"), Decimal("18.00")),  # the scaled score comes first
        (Decimal(20), Decimal(12), None, None, Decimal("12.00")),  # raw alone, read on the item's scale
        (Decimal(20), Decimal(30), None, None, None),  # ... unless it cannot be
        (Decimal(20), Decimal(-4), Decimal(10), None, Decimal("0.00")),  # a negative mark earns no points
        (Decimal(20), None, None, Decimal("-0.5"), Decimal("0.00")),
        (None, Decimal(5), Decimal(10), None, None),  # an assignment without points
        (Decimal(20), None, None, None, None),
    ],
)
def test_the_score_on_the_items_scale(
    school: School,
    max_points: Decimal | None,
    raw: Decimal | None,
    maximum: Decimal | None,
    scaled: Decimal | None,
    points: Decimal | None,
) -> None:
    item = LearningItemFactory.create(
        module=ModuleFactory.create(course=school.course), kind=LearningItem.Kind.ASSIGNMENT, max_points=max_points
    )
    work = HandedIn(
        item_id=item.pk,
        student_id=school.student.pk,
        submitted_at=DUE,
        score_raw=raw,
        score_max=maximum,
        score_scaled=scaled,
    )
    submissions_record_from_events(handed_in=[work], recorded_at=RECORDED)
    recorded = Submission.objects.get()
    assert (recorded.score, recorded.max_points) == (points, max_points)


def test_only_students_work_at_assignments_and_quizzes_is_recorded(school: School) -> None:
    # given: a lesson, the quiz, and an id no item has
    lesson = LearningItemFactory.create(
        module=ModuleFactory.create(course=school.course), kind=LearningItem.Kind.LESSON, max_points=None
    )
    work = [
        HandedIn(item_id=lesson.pk, student_id=school.student.pk, submitted_at=DUE),
        HandedIn(item_id=school.item.pk, student_id=school.teacher.pk, submitted_at=DUE),
        HandedIn(item_id=999_999, student_id=school.student.pk, submitted_at=DUE),
        HandedIn(item_id=school.item.pk, student_id=school.classmate.pk, submitted_at=DUE),
    ]

    # when
    recorded = submissions_record_from_events(handed_in=work, recorded_at=RECORDED)

    # then
    assert recorded == 1
    assert list(Submission.objects.values_list("item_id", "student_id")) == [(school.item.pk, school.classmate.pk)]


def test_nothing_handed_in_asks_nothing(school: School, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert submissions_record_from_events(handed_in=[], recorded_at=RECORDED) == 0

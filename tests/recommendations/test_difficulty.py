"""An item's difficulty derived from classmates' scores (graded items) and time (the others), hand-computed: only
from at least five students, only within the courses asked for, and never over a difficulty a person set."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from accounts.models import User
from analytics.models import Action
from analytics.services import ResolvedEvent, events_store
from analytics.validation import EventIn
from classroom.models import Course, Enrollment, LearningItem, Submission
from recommendations.difficulty import difficulty_derive, level_from_score, levels_from_times
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    LearningItemFactory,
    ModuleFactory,
    OrganizationFactory,
    StudentFactory,
)

AT = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)


def test_score_bands() -> None:
    assert level_from_score(Decimal("0.59")) == "advanced"
    assert level_from_score(Decimal("0.6")) == "intermediate"
    assert level_from_score(Decimal("0.7999")) == "intermediate"
    assert level_from_score(Decimal("0.8")) == "beginner"


def test_time_thirds() -> None:
    # shares of the course's items with a strictly shorter median: 0, 1/4, 2/4, 3/4 (ties share a level)
    assert levels_from_times({1: 60.0, 2: 120.0, 3: 600.0, 4: 900.0}) == {
        1: "beginner",
        2: "beginner",
        3: "intermediate",
        4: "advanced",
    }
    assert levels_from_times({1: 60.0, 2: 60.0, 3: 600.0}) == {1: "beginner", 2: "beginner", 3: "advanced"}
    # two items are no thirds
    assert levels_from_times({1: 60.0, 2: 600.0}) == {}


def class_of(count: int) -> tuple[Course, list[User]]:
    organization = OrganizationFactory.create()
    course = CourseFactory.create(organization=organization)
    students = [StudentFactory.create(organization=organization) for _ in range(count)]
    for student in students:
        EnrollmentFactory.create(user=student, course=course, role=Enrollment.Role.STUDENT)
    return course, students


def scored(item: LearningItem, students: list[User], scores: list[str]) -> None:
    for student, score in zip(students, scores, strict=False):
        Submission.objects.create(
            item=item,
            student=student,
            attempt=1,
            submitted_at=AT,
            state=Submission.State.ON_TIME,
            score=Decimal(score),
            max_points=item.max_points,
        )


def spent(course: Course, item: LearningItem, students: list[User], seconds: list[int]) -> None:
    """Each student's time on the item, as two events (their total is what counts)."""
    events: list[ResolvedEvent] = []
    for student, total in zip(students, seconds, strict=False):
        for half in (total // 2, total - total // 2):
            event = EventIn(
                event_id=uuid4(),
                action=Action.MATERIAL_VIEW,
                occurred_at=AT + timedelta(minutes=len(events)),
                course_id=course.pk,
                item_id=item.pk,
                duration_seconds=half,
            )
            events.append(ResolvedEvent(event, student.pk, course.organization_id))
    events_store(events=events, received_at=AT + timedelta(days=1))


def level(item: LearningItem) -> tuple[str, str]:
    item.refresh_from_db()
    return item.difficulty, item.difficulty_source


@pytest.mark.django_db
def test_graded_items_from_the_mean_of_latest_scores() -> None:
    # given: six students; quizzes out of 10 (and one out of 20)
    course, students = class_of(6)
    module = ModuleFactory.create(course=course)
    quiz = {name: LearningItemFactory.create(module=module, kind="quiz", max_points=Decimal(10)) for name in "abcde"}
    # a: 5, 6, 7, 8, 9 → mean 0.70 → intermediate
    scored(quiz["a"], students, ["5", "6", "7", "8", "9"])
    # b: 8, 8, 9, 10, 10 → 0.90 → beginner
    scored(quiz["b"], students, ["8", "8", "9", "10", "10"])
    # c: 2, 4, 6, 8, 9.5 → 0.59 → advanced
    scored(quiz["c"], students, ["2", "4", "6", "8", "9.5"])
    # d: only four students scored → none
    scored(quiz["d"], students, ["1", "1", "1", "1"])
    # e: six at 6 → 0.6 → intermediate; the first student's earlier attempt (0) gives way to their latest
    scored(quiz["e"], students, ["6"] * 6)
    Submission.objects.create(
        item=quiz["e"], student=students[0], attempt=2, submitted_at=AT, state="late", score=Decimal(6), max_points=10
    )
    Submission.objects.filter(item=quiz["e"], student=students[0], attempt=1).update(score=0)
    # an assignment out of 20: 10, 12, 14, 16, 18 → 0.70 → intermediate
    essay = LearningItemFactory.create(module=module, kind="assignment", max_points=Decimal(20))
    scored(essay, students, ["10", "12", "14", "16", "18"])

    # when
    changed = difficulty_derive(course_ids=[course.pk])

    # then
    assert changed == 5
    assert {name: level(item) for name, item in quiz.items()} == {
        "a": ("intermediate", "derived"),
        "b": ("beginner", "derived"),
        "c": ("advanced", "derived"),
        "d": ("", ""),
        "e": ("intermediate", "derived"),
    }
    assert level(essay) == ("intermediate", "derived")
    # a second run changes nothing
    assert difficulty_derive(course_ids=[course.pk]) == 0


@pytest.mark.django_db
def test_other_items_from_the_median_time_against_the_courses_items() -> None:
    # given: four lessons, three with five students' time
    course, students = class_of(5)
    module = ModuleFactory.create(course=course)
    lessons = [LearningItemFactory.create(module=module, kind="lesson", max_points=None) for _ in range(4)]
    spent(course, lessons[0], students, [30, 50, 60, 70, 4000])  # median 60 s
    spent(course, lessons[1], students, [100, 110, 120, 130, 140])  # median 120 s
    spent(course, lessons[2], students, [500, 550, 600, 650, 700])  # median 600 s
    spent(course, lessons[3], students[:4], [9000, 9000, 9000, 9000])  # four students only

    # when
    difficulty_derive(course_ids=[course.pk])

    # then: thirds of the three with enough data; the fourth has none
    assert [level(lesson)[0] for lesson in lessons] == ["beginner", "intermediate", "advanced", ""]


@pytest.mark.django_db
def test_too_few_students_or_items_leave_it_blank_and_clear_a_derived_one() -> None:
    # given: two lessons with five students' time (no thirds of two), a quiz scored by four, and a difficulty
    # derived earlier that the data no longer tell
    course, students = class_of(5)
    module = ModuleFactory.create(course=course)
    first, second = (LearningItemFactory.create(module=module, kind="video", max_points=None) for _ in range(2))
    spent(course, first, students, [60] * 5)
    spent(course, second, students, [600] * 5)
    quiz = LearningItemFactory.create(module=module, kind="quiz")
    scored(quiz, students[:4], ["1", "1", "1", "1"])
    LearningItem.objects.filter(pk=quiz.pk).update(difficulty="beginner", difficulty_source="derived")

    # when
    changed = difficulty_derive(course_ids=[course.pk])

    # then
    assert changed == 1
    assert [level(item) for item in (first, second, quiz)] == [("", ""), ("", ""), ("", "")]


@pytest.mark.django_db
def test_a_persons_difficulty_is_never_overwritten() -> None:
    # given: a quiz everyone finds easy, which a teacher set as advanced, and one they set and then cleared
    course, students = class_of(5)
    module = ModuleFactory.create(course=course)
    kept = LearningItemFactory.create(module=module, kind="quiz", max_points=Decimal(10))
    cleared = LearningItemFactory.create(module=module, kind="quiz", max_points=Decimal(10))
    for item in (kept, cleared):
        scored(item, students, ["10"] * 5)
    LearningItem.objects.filter(pk=kept.pk).update(difficulty="advanced", difficulty_source="set")

    # when
    difficulty_derive()

    # then: the teacher's stays; the cleared one is derived
    assert level(kept) == ("advanced", "set")
    assert level(cleared) == ("beginner", "derived")


@pytest.mark.django_db
def test_only_the_courses_asked_for() -> None:
    course, students = class_of(5)
    other, other_students = class_of(5)
    items = []
    for each, people in ((course, students), (other, other_students)):
        item = LearningItemFactory.create(module=ModuleFactory.create(course=each), kind="quiz", max_points=10)
        scored(item, people, ["10"] * 5)
        items.append(item)

    assert difficulty_derive(course_ids=[other.pk]) == 1
    assert [level(item)[0] for item in items] == ["", "beginner"]

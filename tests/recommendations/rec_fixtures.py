"""A class with a history for the recommendation tests (imported by them): ten students, a week of reading, a quiz
due in three days, an earlier quiz the student did badly in, and views stored through the real tracking path."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from accounts.models import User
from analytics.services import events_ingest
from classroom.models import LearningItem, Module
from tests.conftest import School
from tests.factories import EnrollmentFactory, LearningItemFactory, ModuleFactory, StudentFactory, SubmissionFactory

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # week 12 of the class (it starts on 1 September 2026)


@dataclass
class History:
    school: School
    students: list[User]  # the eight other classmates
    week10: Module
    week9: Module
    reading: list[LearningItem]  # r1 .. r6
    due_quiz: LearningItem  # due in 3 days; two classmates handed it in
    past_quiz: LearningItem  # week 9: the student scored 4/10, classmates 8/10


def view(student: User, item: LearningItem, when: datetime) -> None:
    body: dict[str, Any] = {
        "event_id": str(uuid4()),
        "action": "material_view",
        "timestamp": when.isoformat(),
        "course": item.module.course_id,
        "item": item.pk,
    }
    outcome = events_ingest(items=[body], principal=student, now=NOW, horizon=None)
    assert outcome.accepted == 1 and not outcome.dead_letters, outcome


@pytest.fixture
def history(school: School) -> History:
    course = school.course
    others = [StudentFactory.create(organization=school.organization) for _ in range(8)]
    for student in others:
        EnrollmentFactory.create(user=student, course=course)
    week9 = ModuleFactory.create(course=course, title="Week 9")
    week10 = ModuleFactory.create(course=course, title="Week 10")
    reading = [
        LearningItemFactory.create(
            module=week10,
            kind=LearningItem.Kind.RESOURCE,
            title=f"Reading {n}",
            max_points=None,
            due_at=None,
            estimated_minutes=None,
        )
        for n in range(1, 7)
    ]
    due_quiz = LearningItemFactory.create(module=week10, title="Week 10 quiz", due_at=NOW + timedelta(days=3))
    past_quiz = LearningItemFactory.create(module=week9, title="Week 9 quiz", due_at=NOW - timedelta(days=14))
    r1, r2, r3, r4, r5, _ = reading
    classmates = [school.classmate, *others]
    # r1: six classmates in the last 7 days; r2: three of them 10 days ago, two others in the last 7 days
    for n, student in enumerate(classmates[:6]):
        view(student, r1, NOW - timedelta(days=1 + n % 5, hours=1))
    for student in classmates[:3]:
        view(student, r2, NOW - timedelta(days=10))
        view(student, r3, NOW - timedelta(days=9))
    for student in classmates[6:8]:
        view(student, r2, NOW - timedelta(days=2))
    view(classmates[8], r4, NOW - timedelta(days=20))
    # the student: r3 last week, r5 this morning (both not to be suggested)
    view(school.student, r3, NOW - timedelta(days=8))
    view(school.student, r5, NOW - timedelta(hours=3))
    # graded work: the student trails the class in week 9; two classmates handed in the quiz due in 3 days
    SubmissionFactory.create(
        item=past_quiz, student=school.student, score=Decimal(4), submitted_at=NOW - timedelta(days=15)
    )
    for student in classmates[:4]:
        SubmissionFactory.create(
            item=past_quiz, student=student, score=Decimal(8), submitted_at=NOW - timedelta(days=15)
        )
    for student in classmates[:2]:
        SubmissionFactory.create(item=due_quiz, student=student, score=Decimal(9), submitted_at=NOW - timedelta(days=1))
    return History(
        school=school,
        students=others,
        week10=week10,
        week9=week9,
        reading=reading,
        due_quiz=due_quiz,
        past_quiz=past_quiz,
    )

"""Small synthetic classes for the model tests, written through the real services: events through
analytics.services.events_store (which keeps the rollups), submissions through classroom.services.submission_record.

Each student has an engagement between 0 and 1 that drives how often they are active and how they do on the
assessments; their final result follows it (or, with `random_results`, is drawn independently of it: nothing to
learn, for the acceptance gate).
"""

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from accounts.models import Organization
from analytics.models import Action
from analytics.services import ResolvedEvent, events_store
from analytics.validation import EventIn
from classroom.models import Course, Enrollment, LearningItem
from classroom.services import submission_record
from tests.factories import CourseFactory, EnrollmentFactory, LearningItemFactory, ModuleFactory, StudentFactory

ASSESSMENT_WEEKS = (2, 4, 6, 8)


@dataclass
class SyntheticClass:
    course: Course
    items: list[LearningItem]
    assessments: list[LearningItem]
    engagement: dict[int, float]  # enrolment id -> engagement


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def synthetic_class(
    *,
    organization: Organization,
    code: str,
    start: date,
    weeks: int = 10,
    students: int = 40,
    seed: int = 0,
    results: bool = True,
    random_results: bool = False,
) -> SyntheticClass:
    generator = random.Random(seed)
    course = CourseFactory.create(
        organization=organization,
        code=code,
        subject="Statistics",
        start_date=start,
        end_date=start + timedelta(weeks=weeks) - timedelta(days=1),
    )
    module = ModuleFactory.create(course=course, position=1)
    items = [LearningItemFactory.create(module=module, kind=LearningItem.Kind.LESSON, due_at=None) for _ in range(6)]
    assessments = [
        LearningItemFactory.create(
            module=module,
            kind=LearningItem.Kind.ASSIGNMENT,
            max_points=Decimal(10),
            due_at=noon(start + timedelta(weeks=week)),
        )
        for week in ASSESSMENT_WEEKS
        if week < weeks
    ]
    engagement: dict[int, float] = {}
    events: list[ResolvedEvent] = []
    course_end = start + timedelta(weeks=weeks)
    for _ in range(students):
        student = StudentFactory.create(organization=organization)
        level = generator.random()
        at_risk = generator.random() < 0.5 if random_results else level < 0.45
        withdrawn_on = start + timedelta(weeks=6) if at_risk and generator.random() < 0.5 else None
        last_day = withdrawn_on or course_end
        ended = datetime.combine(last_day, time(18), tzinfo=UTC)
        enrollment = EnrollmentFactory.create(
            user=student,
            course=course,
            enrolled_at=noon(start - timedelta(days=7)),
            status=Enrollment.Status.DROPPED if withdrawn_on else Enrollment.Status.COMPLETED,
            ended_at=ended,
        )
        if results:
            enrollment.final_result = (
                Enrollment.FinalResult.WITHDRAWN
                if withdrawn_on
                else Enrollment.FinalResult.FAIL
                if at_risk
                else Enrollment.FinalResult.PASS
            )
            enrollment.result_at = ended
            enrollment.save(update_fields=["final_result", "result_at"])
        engagement[enrollment.pk] = level
        day = start
        while day < last_day:
            if generator.random() < 0.05 + 0.6 * level:
                for item in generator.sample(items, k=generator.randint(1, 3)):
                    events.append(_view(student.pk, organization.pk, course.pk, item.pk, noon(day)))
            day += timedelta(days=1)
        for assessment in assessments:
            due = assessment.due_at
            if due is None or due.date() >= last_day or generator.random() > level + 0.2:
                continue
            late = generator.random() > level
            submission_record(
                item=assessment,
                student=student,
                submitted_at=due + (timedelta(days=2) if late else -timedelta(days=1)),
                score=Decimal(round(10 * min(1.0, level + 0.2 * generator.random()), 1)),
            )
    events_store(events=events, received_at=noon(course_end))
    return SyntheticClass(course=course, items=items, assessments=assessments, engagement=engagement)


def _view(student_id: int, organization_id: int, course_id: int, item_id: int, moment: datetime) -> ResolvedEvent:
    return ResolvedEvent(
        EventIn(
            event_id=uuid.uuid4(),
            action=Action.MATERIAL_VIEW,
            occurred_at=moment,
            course_id=course_id,
            item_id=item_id,
        ),
        student_id,
        organization_id,
    )


def view_event(*, student_id: int, course: Course, item: LearningItem, moment: datetime) -> None:
    """One more event (through the real service, rollups included)."""
    events_store(
        events=[_view(student_id, course.organization_id, course.pk, item.pk, moment)],
        received_at=moment,
    )

"""Writes for the teaching structure. Each checks the rules a database constraint cannot express (same
organisation, roles that match) and leaves the rest to the named constraints in models.py."""

from datetime import date, datetime
from decimal import Decimal

from django.db import transaction

from accounts.models import Organization, Role, User
from classroom.models import Course, Enrollment, LearningItem, LearningPath, LearningPathStep, Module, Submission
from core.exceptions import ApplicationError


@transaction.atomic
def course_create(
    *,
    organization: Organization,
    title: str,
    code: str,
    subject: str = "",
    start_date: date | None = None,
    end_date: date | None = None,
    time_zone: str | None = None,
    external_source: str = "",
    external_id: str = "",
) -> Course:
    course = Course(
        organization=organization,
        title=title,
        code=code,
        subject=subject,
        start_date=start_date,
        end_date=end_date,
        time_zone=time_zone or organization.time_zone,
        external_source=external_source,
        external_id=external_id,
    )
    course.full_clean()
    course.save()
    return course


@transaction.atomic
def enrollment_create(
    *, user: User, course: Course, role: str = Enrollment.Role.STUDENT, enrolled_at: datetime
) -> Enrollment:
    if user.organization_id != course.organization_id:
        raise ApplicationError(
            "The person belongs to another organisation.", errors={"user": ["Not in this course's organisation."]}
        )
    if role == Enrollment.Role.TEACHER and user.role not in (Role.TEACHER, Role.ADMIN):
        raise ApplicationError("Only teachers can teach a course.", errors={"role": ["User is not a teacher."]})
    if role == Enrollment.Role.STUDENT and user.role != Role.STUDENT:
        raise ApplicationError("Only students can attend a course.", errors={"role": ["User is not a student."]})
    if Enrollment.objects.filter(user=user, course=course, status=Enrollment.Status.ACTIVE).exists():
        raise ApplicationError("Already enrolled.", errors={"user": ["Already has an active enrolment here."]})
    return Enrollment.objects.create(user=user, course=course, role=role, enrolled_at=enrolled_at)


@transaction.atomic
def enrollment_end(*, enrollment: Enrollment, status: str, ended_at: datetime) -> Enrollment:
    if status not in (Enrollment.Status.DROPPED, Enrollment.Status.COMPLETED):
        raise ApplicationError("An enrolment ends as dropped or completed.", errors={"status": ["Invalid."]})
    if enrollment.status != Enrollment.Status.ACTIVE:
        raise ApplicationError("The enrolment has already ended.", errors={"status": ["Not active."]})
    enrollment.status = status
    enrollment.ended_at = ended_at
    enrollment.save(update_fields=["status", "ended_at", "updated_at"])
    return enrollment


@transaction.atomic
def module_create(
    *, course: Course, title: str, position: int, external_source: str = "", external_id: str = ""
) -> Module:
    return Module.objects.create(
        course=course, title=title, position=position, external_source=external_source, external_id=external_id
    )


@transaction.atomic
def learning_item_create(
    *,
    module: Module,
    kind: str,
    title: str,
    position: int = 0,
    max_points: Decimal | None = None,
    due_at: datetime | None = None,
    estimated_minutes: int | None = None,
    external_source: str = "",
    external_id: str = "",
) -> LearningItem:
    item = LearningItem(
        module=module,
        kind=kind,
        title=title,
        position=position,
        max_points=max_points,
        due_at=due_at,
        estimated_minutes=estimated_minutes,
        external_source=external_source,
        external_id=external_id,
    )
    item.full_clean()
    item.save()
    return item


def submission_state_for(*, item: LearningItem, submitted_at: datetime | None) -> str:
    """On time when handed in by the due time (or when nothing is due), late after it, missing when not handed in."""
    if submitted_at is None:
        return Submission.State.MISSING
    if item.due_at is None or submitted_at <= item.due_at:
        return Submission.State.ON_TIME
    return Submission.State.LATE


@transaction.atomic
def submission_record(
    *,
    item: LearningItem,
    student: User,
    submitted_at: datetime | None,
    score: Decimal | None = None,
    attempt: int = 1,
    excused: bool = False,
) -> Submission:
    """Record one attempt (idempotent per item, student and attempt: recording it again updates it)."""
    if student.role != Role.STUDENT:
        raise ApplicationError("Only students submit work.", errors={"student": ["Not a student."]})
    if score is not None and item.max_points is None:
        raise ApplicationError("This item is not graded.", errors={"score": ["The item has no maximum points."]})
    if score is not None and item.max_points is not None and not (0 <= score <= item.max_points):
        raise ApplicationError("Score out of range.", errors={"score": [f"Must be between 0 and {item.max_points}."]})
    state = Submission.State.EXCUSED if excused else submission_state_for(item=item, submitted_at=submitted_at)
    submission, _ = Submission.objects.update_or_create(
        item=item,
        student=student,
        attempt=attempt,
        defaults={"submitted_at": submitted_at, "state": state, "score": score, "max_points": item.max_points},
    )
    return submission


@transaction.atomic
def learning_path_create(
    *, organization: Organization, title: str, items: list[LearningItem], description: str = ""
) -> LearningPath:
    foreign = [item.pk for item in items if item.module.course.organization_id != organization.pk]
    if foreign:
        raise ApplicationError(
            "A path may only hold items of its organisation.", errors={"items": [f"Foreign items: {foreign}"]}
        )
    path = LearningPath.objects.create(organization=organization, title=title, description=description)
    LearningPathStep.objects.bulk_create(
        LearningPathStep(path=path, item=item, position=position) for position, item in enumerate(items, start=1)
    )
    return path

"""The invariants live in the database: each named constraint refuses a row that breaks it."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.models import User
from classroom.models import Enrollment, Submission
from classroom.services import enrollment_create, enrollment_end, submission_record, submission_state_for
from core.exceptions import ApplicationError
from tests.conftest import School
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    LearningItemFactory,
    OrganizationFactory,
    StudentFactory,
    SubmissionFactory,
    TeacherFactory,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def refused(constraint: str, create) -> None:
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        create()


def test_one_active_enrollment_per_user_and_course() -> None:
    enrollment = EnrollmentFactory.create()
    refused(
        "classroom_enrollment_one_active",
        lambda: EnrollmentFactory.create(user=enrollment.user, course=enrollment.course),
    )
    # a history row next to an active one is fine (re-enrolment after dropping)
    EnrollmentFactory.create(user=enrollment.user, course=enrollment.course, status="dropped", ended_at=T0)


def test_enrollment_end_time_matches_status() -> None:
    refused(
        "classroom_enrollment_ended_iff_not_active", lambda: EnrollmentFactory.create(status="dropped", ended_at=None)
    )
    refused("classroom_enrollment_ended_iff_not_active", lambda: EnrollmentFactory.create(ended_at=T0))
    refused(
        "classroom_enrollment_ends_after_start",
        lambda: EnrollmentFactory.create(status="completed", enrolled_at=T0, ended_at=datetime(2026, 8, 1, tzinfo=UTC)),
    )


def test_course_dates_and_codes() -> None:
    refused(
        "classroom_course_ends_after_start",
        lambda: CourseFactory.create(start_date=date(2026, 9, 1), end_date=date(2026, 8, 1)),
    )
    course = CourseFactory.create(code="X-1")
    refused(
        "classroom_course_code_unique_per_org",
        lambda: CourseFactory.create(code="X-1", organization=course.organization),
    )
    CourseFactory.create(code="X-1")  # same code in another organisation


def test_score_cannot_exceed_the_maximum() -> None:
    refused(
        "classroom_submission_score_lte_max",
        lambda: SubmissionFactory.create(score=Decimal("11"), max_points=Decimal("10")),
    )
    refused("classroom_submission_score_needs_max", lambda: SubmissionFactory.create(score=Decimal("-1")))
    refused("classroom_submission_score_needs_max", lambda: SubmissionFactory.create(max_points=None))


def test_submission_state_and_time_agree() -> None:
    refused(
        "classroom_submission_state_matches_time", lambda: SubmissionFactory.create(state="on_time", submitted_at=None)
    )
    refused("classroom_submission_state_matches_time", lambda: SubmissionFactory.create(state="missing", score=None))
    refused("classroom_submission_attempt_unique", lambda: _two_first_attempts())
    refused("classroom_submission_attempt_positive", lambda: SubmissionFactory.create(attempt=0))


def _two_first_attempts() -> None:
    first = SubmissionFactory.create()
    SubmissionFactory.create(item=first.item, student=first.student, attempt=1)


def test_item_max_points_positive() -> None:
    refused("classroom_item_max_points_positive", lambda: LearningItemFactory.create(max_points=Decimal("0")))


def test_members_need_an_organisation() -> None:
    refused("accounts_user_member_has_organization", lambda: StudentFactory.create(organization=None))


def test_email_unique_ignoring_case() -> None:
    StudentFactory.create(email="Ada@Example.test")
    refused("accounts_user_email_unique_ci", lambda: StudentFactory.create(email="ada@example.TEST"))
    StudentFactory.create(email="")  # several accounts may have no email
    StudentFactory.create(email="")


def test_public_handles_are_stable_and_distinct() -> None:
    a, b = StudentFactory.create(), StudentFactory.create()
    assert a.public_handle != b.public_handle
    handle = a.public_handle
    a.first_name = "Changed"
    a.save()
    a.refresh_from_db()
    assert a.public_handle == handle
    assert str(a.pk) not in handle


def test_createsuperuser_makes_a_platform_administrator() -> None:
    operator = User.objects.create_superuser("root-op", "root@example.test", "pass-word-123")
    assert operator.role == "admin"
    assert operator.organization is None


# services


def test_submission_state_from_due_time() -> None:
    item = LearningItemFactory.create(due_at=datetime(2026, 9, 8, 17, 0, tzinfo=UTC))
    assert submission_state_for(item=item, submitted_at=datetime(2026, 9, 8, 17, 0, tzinfo=UTC)) == "on_time"
    assert submission_state_for(item=item, submitted_at=datetime(2026, 9, 8, 17, 0, 1, tzinfo=UTC)) == "late"
    assert submission_state_for(item=item, submitted_at=None) == "missing"


def test_submission_record_is_idempotent_per_attempt(school: School) -> None:
    for score in (Decimal("6"), Decimal("7")):
        submission_record(item=school.item, student=school.student, submitted_at=T0, score=score)
    rows = Submission.objects.filter(item=school.item, student=school.student)
    assert [(row.attempt, row.score, row.max_points, row.state) for row in rows] == [
        (1, Decimal("7.00"), Decimal("10.00"), "on_time")
    ]


def test_submission_record_rejects_out_of_range_scores(school: School) -> None:
    with pytest.raises(ApplicationError) as error:
        submission_record(item=school.item, student=school.student, submitted_at=T0, score=Decimal("10.5"))
    assert error.value.errors == {"score": ["Must be between 0 and 10."]}


def test_enrollment_rules(school: School) -> None:
    with pytest.raises(ApplicationError):
        enrollment_create(user=school.foreign_student, course=school.course, enrolled_at=T0)
    with pytest.raises(ApplicationError):
        enrollment_create(user=school.student, course=school.course, enrolled_at=T0)  # already active
    with pytest.raises(ApplicationError):
        enrollment_create(user=school.student, course=school.other_course, role="teacher", enrolled_at=T0)
    enrollment = Enrollment.objects.get(user=school.student, course=school.course)
    enrollment_end(enrollment=enrollment, status="completed", ended_at=T0)
    with pytest.raises(ApplicationError):
        enrollment_end(enrollment=enrollment, status="dropped", ended_at=T0)
    # after completing, re-enrolling is allowed
    enrollment_create(user=school.student, course=school.course, enrolled_at=datetime(2027, 1, 1, tzinfo=UTC))


def test_teacher_enrollment_across_organisations_refused() -> None:
    teacher = TeacherFactory.create()
    course = CourseFactory.create(organization=OrganizationFactory.create())
    with pytest.raises(ApplicationError):
        enrollment_create(user=teacher, course=course, role="teacher", enrolled_at=T0)

"""factory_boy factories for the domain model. Times are explicit, never the wall clock."""

from datetime import UTC, date, datetime
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from accounts.models import Organization, Role, User
from classroom.models import Course, Enrollment, LearningItem, Module, Submission

FIXED_TIME = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
# When a factory's enrolment begins: before every event the tests post (the earliest, in the spring of 2026), since an
# event counts in a class only within the learner's enrolment (classroom.references).
ENROLLED_AT = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)


class OrganizationFactory(DjangoModelFactory[Organization]):
    class Meta:
        model = Organization
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"School {n}")
    slug = factory.Sequence(lambda n: f"school-{n}")
    time_zone = "Europe/London"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = factory.Sequence(lambda n: f"Last{n}")
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.STUDENT
    password = factory.django.Password("pass-word-123")


class StudentFactory(UserFactory):
    role = Role.STUDENT


class TeacherFactory(UserFactory):
    role = Role.TEACHER


class AdminFactory(UserFactory):
    role = Role.ADMIN


class CourseFactory(DjangoModelFactory[Course]):
    class Meta:
        model = Course

    organization = factory.SubFactory(OrganizationFactory)
    title = factory.Sequence(lambda n: f"Course {n}")
    code = factory.Sequence(lambda n: f"C-{n:03d}")
    subject = "Mathematics"
    start_date = date(2026, 9, 1)
    end_date = date(2026, 12, 18)
    time_zone = "Europe/London"


class EnrollmentFactory(DjangoModelFactory[Enrollment]):
    class Meta:
        model = Enrollment

    user = factory.SubFactory(StudentFactory)
    course = factory.SubFactory(CourseFactory)
    role = Enrollment.Role.STUDENT
    status = Enrollment.Status.ACTIVE
    enrolled_at = ENROLLED_AT


class ModuleFactory(DjangoModelFactory[Module]):
    class Meta:
        model = Module

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"Module {n}")
    position = factory.Sequence(lambda n: n + 1)


class LearningItemFactory(DjangoModelFactory[LearningItem]):
    class Meta:
        model = LearningItem

    module = factory.SubFactory(ModuleFactory)
    kind = LearningItem.Kind.QUIZ
    title = factory.Sequence(lambda n: f"Item {n}")
    max_points = Decimal("10")
    due_at = datetime(2026, 9, 8, 17, 0, tzinfo=UTC)
    estimated_minutes = 15


class SubmissionFactory(DjangoModelFactory[Submission]):
    class Meta:
        model = Submission

    item = factory.SubFactory(LearningItemFactory)
    student = factory.SubFactory(StudentFactory)
    attempt = 1
    submitted_at = datetime(2026, 9, 7, 12, 0, tzinfo=UTC)
    state = Submission.State.ON_TIME
    score = Decimal("8")
    max_points = Decimal("10")

"""Create the demo organisation used by ./dev run: an administrator, teachers, students, classes, enrolments and
coursework with submissions. Idempotent: running it again creates only what is missing.

The demo is generated (a seeded pseudo-random generator decides who submits what), and written through the same
services as real data.
"""

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, Role, User
from accounts.services import organization_create, user_create
from classroom.models import Course, Enrollment, LearningItem
from classroom.services import (
    course_create,
    enrollment_create,
    enrollment_end,
    learning_item_create,
    learning_path_create,
    module_create,
    submission_record,
)

ORG_SLUG = "demo"
ORG_TIME_ZONE = "Europe/London"
STUDENT_COUNT = 24


@dataclass(frozen=True)
class DemoCourse:
    code: str
    title: str
    subject: str
    teacher: str
    students: range  # student numbers (1-based)


DEMO_COURSES = [
    DemoCourse("MATH-101", "Algebra foundations", "Mathematics", "teacher1", range(1, 17)),
    DemoCourse("SCI-201", "Cell biology", "Science", "teacher1", range(9, 25)),
    DemoCourse("HIST-110", "Modern history", "History", "teacher2", range(1, 25, 2)),
]
MODULE_TITLES = ["Getting started", "Core ideas", "Going further", "Review"]
ITEM_PLAN: list[tuple[str, str, int | None, int]] = [
    # kind, title suffix, max points, estimated minutes
    (LearningItem.Kind.LESSON, "Lesson", None, 20),
    (LearningItem.Kind.VIDEO, "Video walkthrough", None, 12),
    (LearningItem.Kind.QUIZ, "Quiz", 10, 10),
    (LearningItem.Kind.ASSIGNMENT, "Assignment", 100, 45),
]


class Command(BaseCommand):
    help = "Create (or complete) the demo organisation, people, classes and coursework."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--quiet", action="store_true", help="Do not print the demo logins.")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        self._password_hash = make_password(settings.DEMO_PASSWORD)
        with transaction.atomic():
            organization = self._organization()
            people = self._people(organization)
            for spec in DEMO_COURSES:
                self._course(organization, spec, people, now=now)
            self._path(organization)
        if not options["quiet"]:
            self._print_logins()

    def _organization(self) -> Organization:
        existing = Organization.objects.filter(slug=ORG_SLUG).first()
        return existing or organization_create(name="Northfield Academy (demo)", slug=ORG_SLUG, time_zone=ORG_TIME_ZONE)

    def _person(self, organization: Organization, username: str, role: str, first: str, last: str) -> User:
        existing = User.objects.filter(username=username).first()
        if existing:
            return existing
        user = user_create(
            username=username,
            organization=organization,
            role=role,
            email=f"{username}@demo.edupath.invalid",
            first_name=first,
            last_name=last,
        )
        # One hash for every demo account: hashing is deliberately slow, and 27 of them took seconds.
        user.password = self._password_hash
        user.save(update_fields=["password"])
        return user

    def _people(self, organization: Organization) -> dict[str, User]:
        people: dict[str, User] = {}
        admin = self._person(organization, "admin", Role.ADMIN, "Ada", "Admin")
        if not (admin.is_staff and admin.is_superuser):
            admin.is_staff = admin.is_superuser = True
            admin.save(update_fields=["is_staff", "is_superuser"])
        people["admin"] = admin
        people["teacher1"] = self._person(organization, "teacher1", Role.TEACHER, "Tomás", "Okafor")
        people["teacher2"] = self._person(organization, "teacher2", Role.TEACHER, "Priya", "Lindqvist")
        first_names = [
            "Amara",
            "Ben",
            "Chloé",
            "Dmitri",
            "Eva",
            "Farid",
            "Grace",
            "Hiro",
            "Ines",
            "Jonah",
            "Kaia",
            "Luis",
            "Maya",
            "Noah",
            "Olu",
            "Pia",
            "Quinn",
            "Rosa",
            "Sami",
            "Tara",
            "Uma",
            "Viktor",
            "Wen",
            "Yara",
        ]
        for number in range(1, STUDENT_COUNT + 1):
            name = f"student{number}"
            people[name] = self._person(organization, name, Role.STUDENT, first_names[number - 1], "Demo")
        return people

    def _course(self, organization: Organization, spec: DemoCourse, people: dict[str, User], *, now: datetime) -> None:
        if Course.objects.filter(organization=organization, code=spec.code).exists():
            return
        zone = ZoneInfo(ORG_TIME_ZONE)
        start = (now - timedelta(weeks=5)).astimezone(zone).date()
        course = course_create(
            organization=organization,
            title=spec.title,
            code=spec.code,
            subject=spec.subject,
            start_date=start,
            end_date=start + timedelta(weeks=12),
            time_zone=ORG_TIME_ZONE,
        )
        starts_at = datetime.combine(start, time(8, 0), tzinfo=zone)
        enrollment_create(user=people[spec.teacher], course=course, role=Enrollment.Role.TEACHER, enrolled_at=starts_at)
        students = [people[f"student{n}"] for n in spec.students]
        for student in students:
            enrollment_create(user=student, course=course, enrolled_at=starts_at)

        # One student per class drops out in week three, as real classes have withdrawals.
        rng = random.Random(f"edupath-demo-{spec.code}")  # noqa: S311 -- demo generator, not security
        dropped = rng.choice(students)
        dropped_at = starts_at + timedelta(weeks=3)
        dropped_enrollment = Enrollment.objects.get(user=dropped, course=course, status=Enrollment.Status.ACTIVE)
        enrollment_end(enrollment=dropped_enrollment, status=Enrollment.Status.DROPPED, ended_at=dropped_at)

        for week, module_title in enumerate(MODULE_TITLES, start=1):
            module = module_create(course=course, title=f"Week {week}: {module_title}", position=week)
            for position, (kind, suffix, max_points, minutes) in enumerate(ITEM_PLAN, start=1):
                due_at = starts_at + timedelta(weeks=week, hours=9) if max_points else None
                item = learning_item_create(
                    module=module,
                    kind=kind,
                    title=f"{module_title}: {suffix}",
                    position=position,
                    max_points=Decimal(max_points) if max_points else None,
                    due_at=due_at,
                    estimated_minutes=minutes,
                )
                if due_at is not None and due_at < now:
                    # A dropped student hands in nothing due after leaving.
                    submitters = [s for s in students if s != dropped or due_at <= dropped_at]
                    self._submissions(item, submitters, due_at, rng)

    def _submissions(self, item: LearningItem, students: list[User], due_at: datetime, rng: random.Random) -> None:
        if item.max_points is None:
            return
        for student in students:
            roll = rng.random()
            if roll < 0.08:
                submission_record(item=item, student=student, submitted_at=None)
                continue
            # Most hand in during the two days before the deadline; some are late by up to three days.
            offset = timedelta(hours=rng.uniform(-48, 0) if roll < 0.85 else rng.uniform(1, 72))
            fraction = Decimal(str(round(min(1.0, max(0.0, rng.gauss(0.74, 0.16))), 2)))
            submission_record(
                item=item,
                student=student,
                submitted_at=due_at + offset,
                score=(item.max_points * fraction).quantize(Decimal("0.01")),
            )

    def _path(self, organization: Organization) -> None:
        title = "Science literacy"
        if organization.learning_paths.filter(title=title).exists():
            return
        items = list(
            LearningItem.objects.filter(
                module__course__organization=organization,
                module__course__code__in=["MATH-101", "SCI-201"],
                kind__in=[LearningItem.Kind.LESSON, LearningItem.Kind.QUIZ],
                module__position__lte=2,
            )
            .select_related("module__course")
            .order_by("module__course__code", "module__position", "position")
        )
        learning_path_create(
            organization=organization,
            title=title,
            description="Algebra and biology basics, in order, across two classes.",
            items=items,
        )

    def _print_logins(self) -> None:
        password = settings.DEMO_PASSWORD
        self.stdout.write(f"Demo logins (password for all: {password}):")
        self.stdout.write("  admin     administrator, Django admin at /admin/")
        self.stdout.write("  teacher1  teaches MATH-101 and SCI-201")
        self.stdout.write("  teacher2  teaches HIST-110")
        self.stdout.write(f"  student1 … student{STUDENT_COUNT}  students")

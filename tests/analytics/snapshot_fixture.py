"""A fixed, fully explicit school for answer snapshots and parity tests: names, codes, titles, handles and times are
all given (never a factory sequence or the wall clock), so two runs produce the same JSON once ids are replaced by
the names of what they identify (`labels`).

What it holds (NOW is Tuesday 31 March 2026, 18:00 UTC; the school is in London):
- MATH (New York time) taught by `teacher`: s1-s5 active, s6 dropped; two modules with a lesson, a video, a quiz due
  yesterday, an assignment due two days ago and one due in three days; hand-entered submissions for the assignment
  (on time, late, excused; s4 nothing);
- SCI (London) taught by `teacher`: s1 and s2; a resource and a quiz due five days ago;
- HIST (London) taught by `teacher2`: s3; one lesson;
- EMPTY (London) taught by `teacher`: s1, and no items at all;
- s5 has no events (no XP); s1 also has an event outside any course;
- `foreign_*`: a second organisation with its own class, student and events;
- request metrics for the last day, of both organisations.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from accounts.models import Organization, Role, User
from analytics.models import RequestMetricMinute
from analytics.services import events_ingest
from classroom.models import Course, Enrollment, LearningItem, Module
from classroom.services import enrollment_end, submission_record

NOW = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)


@dataclass
class Snapshot:
    """The objects by name, and `labels`: id -> name for every object an answer may name."""

    users: dict[str, User] = field(default_factory=dict)
    courses: dict[str, Course] = field(default_factory=dict)
    items: dict[str, LearningItem] = field(default_factory=dict)
    modules: dict[str, Module] = field(default_factory=dict)
    organizations: dict[str, Organization] = field(default_factory=dict)

    def labels(self) -> dict[str, dict[int, str]]:
        return {
            "user": {user.pk: name for name, user in self.users.items()},
            "course": {course.pk: name for name, course in self.courses.items()},
            "item": {item.pk: name for name, item in self.items.items()},
            "module": {module.pk: name for name, module in self.modules.items()},
        }

    def ids(self) -> dict[str, int]:
        """Every object's id by its name, for URL templates."""
        return {
            **{name: user.pk for name, user in self.users.items()},
            **{name: course.pk for name, course in self.courses.items()},
            **{name: item.pk for name, item in self.items.items()},
        }


def _user(school: Snapshot, name: str, organization: Organization | None, role: str, **extra: Any) -> User:
    user = User.objects.create_user(
        username=f"snap-{name}",
        password="pass-word-123",
        email=f"{name}@snapshot.test",
        first_name=name.capitalize(),
        last_name="Snapshot",
        role=role,
        organization=organization,
        public_handle=f"learner-snap-{name}",
        **extra,
    )
    school.users[name] = user
    return user


def _course(school: Snapshot, code: str, organization: Organization, zone: str) -> Course:
    course = Course.objects.create(
        organization=organization, code=code, title=f"{code} course", subject="Snapshots", time_zone=zone
    )
    school.courses[code] = course
    return course


def _enrol(user: User, course: Course, role: str = Enrollment.Role.STUDENT, **extra: Any) -> Enrollment:
    return Enrollment.objects.create(
        user=user, course=course, role=role, enrolled_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC), **extra
    )


def _item(school: Snapshot, name: str, module: Module, kind: str, position: int, **extra: Any) -> LearningItem:
    item = LearningItem.objects.create(
        module=module, kind=kind, title=f"{name} title", position=position, estimated_minutes=15, **extra
    )
    school.items[name] = item
    return item


def _module(school: Snapshot, name: str, course: Course, position: int) -> Module:
    module = Module.objects.create(course=course, title=f"{name} title", position=position)
    school.modules[name] = module
    return module


def build_snapshot_school(capture_on_commit: Any) -> Snapshot:
    """Create the school; `capture_on_commit` is pytest-django's django_capture_on_commit_callbacks (XP is awarded
    after each ingestion commits)."""
    school = Snapshot()
    london = Organization.objects.create(name="Snapshot school", slug="snapshot", time_zone="Europe/London")
    foreign = Organization.objects.create(name="Foreign school", slug="snapshot-foreign", time_zone="Asia/Tokyo")
    school.organizations.update(london=london, foreign=foreign)

    _user(school, "admin", london, Role.ADMIN)
    _user(school, "operator", None, Role.ADMIN, is_staff=True, is_superuser=True)
    teacher = _user(school, "teacher", london, Role.TEACHER)
    teacher2 = _user(school, "teacher2", london, Role.TEACHER)
    students = [_user(school, f"s{n}", london, Role.STUDENT) for n in range(1, 7)]
    s1, s2, s3, s4, s5, s6 = students
    _user(school, "foreign_admin", foreign, Role.ADMIN)
    foreign_student = _user(school, "foreign_student", foreign, Role.STUDENT)

    math = _course(school, "MATH", london, "America/New_York")
    sci = _course(school, "SCI", london, "Europe/London")
    hist = _course(school, "HIST", london, "Europe/London")
    empty = _course(school, "EMPTY", london, "Europe/London")
    foreign_course = _course(school, "FOREIGN", foreign, "Asia/Tokyo")

    for course in (math, sci, empty):
        _enrol(teacher, course, Enrollment.Role.TEACHER)
    _enrol(teacher2, hist, Enrollment.Role.TEACHER)
    for student in (s1, s2, s3, s4, s5):
        _enrol(student, math)
    dropped = _enrol(s6, math)  # ends after their one event below
    for student in (s1, s2):
        _enrol(student, sci)
    _enrol(s3, hist)
    _enrol(s1, empty)
    _enrol(foreign_student, foreign_course)

    week1 = _module(school, "math-week1", math, 1)
    week2 = _module(school, "math-week2", math, 2)
    _item(school, "lesson1", week1, LearningItem.Kind.LESSON, 1)
    _item(school, "video1", week1, LearningItem.Kind.VIDEO, 2)
    _item(school, "quiz1", week1, LearningItem.Kind.QUIZ, 3, max_points=Decimal(10), due_at=NOW - timedelta(days=1))
    assignment1 = _item(
        school, "assignment1", week1, LearningItem.Kind.ASSIGNMENT, 4, max_points=Decimal(20), due_at=NOW - timedelta(2)
    )
    _item(school, "lesson2", week2, LearningItem.Kind.LESSON, 1)
    _item(
        school, "assignment2", week2, LearningItem.Kind.ASSIGNMENT, 2, max_points=Decimal(20), due_at=NOW + timedelta(3)
    )
    sci_module = _module(school, "sci-unit", sci, 1)
    _item(school, "resource1", sci_module, LearningItem.Kind.RESOURCE, 1)
    _item(school, "quiz2", sci_module, LearningItem.Kind.QUIZ, 2, max_points=Decimal(10), due_at=NOW - timedelta(5))
    _item(school, "lesson_hist", _module(school, "hist-unit", hist, 1), LearningItem.Kind.LESSON, 1)
    _item(school, "lesson_foreign", _module(school, "foreign-unit", foreign_course, 1), LearningItem.Kind.LESSON, 1)

    # hand-entered work (as in admin): on time, late, excused; s4 nothing
    submission_record(item=assignment1, student=s1, submitted_at=NOW - timedelta(days=3), score=Decimal(18), attempt=1)
    submission_record(item=assignment1, student=s2, submitted_at=NOW - timedelta(days=1), score=Decimal(12))
    submission_record(item=assignment1, student=s3, submitted_at=None, excused=True)

    counter = iter(range(1, 10_000))

    def post(student: User, at: datetime, action: str, *, course: Course | None, item: str | None = None, **meta: Any):
        body: dict[str, Any] = {
            "event_id": str(UUID(int=next(counter))),
            "action": action,
            "timestamp": at.isoformat(),
            "session_id": f"session-{student.username}-{at.date()}",
            "metadata": meta,
        }
        if course is not None:
            body["course"] = course.pk
        if item is not None:
            body["item"] = school.items[item].pk
        with capture_on_commit(execute=True):
            outcome = events_ingest(items=[body], principal=student, now=NOW, horizon=None)
        assert outcome.accepted == 1, outcome

    day = timedelta(days=1)
    # ten days of MATH, across the European DST change (29 March) and New York's late evenings
    for offset in range(10):
        at = NOW - offset * day - timedelta(hours=3)
        post(s1, at, "material_view", course=math, item="lesson1", duration=300 + 30 * offset)
        if offset % 2 == 0:
            post(s2, at + timedelta(minutes=7), "video_play", course=math, item="video1", duration=240)
        if offset % 3 == 0:
            post(s3, at + timedelta(minutes=11), "page_view", course=math, item="lesson2", duration=60)
    post(s1, NOW - 2 * day, "lesson_complete", course=math, item="lesson1", duration=900)
    post(s2, NOW - 2 * day, "video_complete", course=math, item="video1", duration=600)
    post(s1, NOW - day - timedelta(hours=2), "quiz_submit", course=math, item="quiz1", score=9, max_score=10)
    post(s2, NOW - timedelta(hours=20), "quiz_submit", course=math, item="quiz1", score=6, max_score=10)
    post(s3, NOW - timedelta(hours=5), "quiz_attempt", course=math, item="quiz1", attempts=1)
    post(s4, NOW - 4 * day, "material_view", course=math, item="lesson1", duration=120)
    post(s6, NOW - 6 * day, "material_view", course=math, item="lesson1", duration=200)
    enrollment_end(enrollment=dropped, status=Enrollment.Status.DROPPED, ended_at=NOW - 5 * day)
    # SCI, HIST, outside any course, and the last five minutes (realtime)
    post(s1, NOW - 6 * day, "quiz_submit", course=sci, item="quiz2", score=7, max_score=10)
    post(s2, NOW - 3 * day, "material_view", course=sci, item="resource1", duration=420)
    post(s2, NOW - 3 * day + timedelta(minutes=9), "material_complete", course=sci, item="resource1", duration=60)
    post(s3, NOW - 2 * day, "lesson_complete", course=hist, item="lesson_hist", duration=1500)
    post(s1, NOW - 8 * day, "search_query", course=None)
    post(s1, NOW - timedelta(minutes=2), "page_view", course=math, item="lesson2", duration=30)
    post(s3, NOW - timedelta(minutes=4), "material_view", course=hist, item="lesson_hist", duration=45)
    post(foreign_student, NOW - day, "lesson_complete", course=foreign_course, item="lesson_foreign", duration=700)
    post(foreign_student, NOW - timedelta(minutes=1), "page_view", course=foreign_course, item="lesson_foreign")

    buckets = [3, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0]
    for minutes_ago, organization, method, route, count, errors in [
        (30, london, "GET", "api/v1/analytics/overview", 7, 0),
        (90, london, "POST", "api/v1/events/", 5, 1),
        (600, foreign, "GET", "api/v1/courses/", 1, 0),
    ]:
        RequestMetricMinute.objects.create(
            minute=NOW - timedelta(minutes=minutes_ago),
            organization=organization,
            method=method,
            route=route,
            count=count,
            errors=errors,
            total_ms=12.5 * count,
            buckets=buckets,
        )
    return school

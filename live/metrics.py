"""The live stream's two snapshots as catalogue metrics: what a page shows before its first live frame, and what
every frame carries. Each has a reference composed from the catalogue's selectors (`compute`) and the one-statement
fast path the stream itself runs (live.selectors), held equal by tests/test_metric_parity.py."""

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, TypedDict

from django.db.models import Q, Sum

from accounts.models import User
from analytics.models import StudentDailyRollup
from analytics.selectors import average_progress, class_completions, course_progress, overview
from classroom.models import Course
from classroom.selectors import course_zone
from core.daterange import DateRange
from core.figures import percent
from core.metrics import Audience, Cache, Metric, Scope, Subject, register
from core.params import IdParam, QuerySerializer
from gamification import selectors as gamification
from gamification.levels import level_progress
from gamification.selectors import LevelAndStreak
from live import selectors as fast


class SnapshotCourse(TypedDict):
    course: int
    items_completed: int
    items_total: int
    progress_percent: float | None


class StudentSnapshot(LevelAndStreak):
    """A student's headline figures over their classes the requester may see."""

    overall_progress_percent: float | None
    items_completed: int
    items_total: int
    courses: list[SnapshotCourse]
    events_today: Annotated[int, "Events today, each class's own day (its time zone)."]


class ClassSnapshot(TypedDict):
    """A class's figures for today, in the class's time zone."""

    students_total: Annotated[int, "Actively enrolled students."]
    active_students_today: int
    events_today: int
    engagement_rate_today: float | None
    average_progress_percent: float | None


def student_snapshot(
    *, student_id: int, course_ids: Sequence[int], now: datetime, whole_student: bool = True
) -> StudentSnapshot:
    """live.selectors.student_progress_snapshot from the selectors the progress page reads (XP and streak over all
    the student's learning with `whole_student`, else earned in `course_ids`, as the page counts them)."""
    student = User.objects.select_related("organization").get(pk=student_id)
    courses = Course.objects.filter(pk__in=course_ids).select_related("organization")
    per_course = sorted(course_progress(student_id=student_id, courses=courses), key=lambda row: row["course"])
    today = gamification.local_today(student.organization, now)
    counted = None if whole_student else list(course_ids)
    local_days = Q()
    for course in courses:
        local_days |= Q(course_id=course.pk, day=now.astimezone(course_zone(course)).date())
    events_today = (
        StudentDailyRollup.objects.filter(local_days, student_id=student_id).aggregate(n=Sum("events"))["n"]
        if courses
        else 0
    )
    done = sum(row["items_completed"] for row in per_course)
    total = sum(row["items_total"] for row in per_course)
    return {
        **gamification.level_and_streak(
            level_progress(gamification.total_xp(student, counted)), gamification.streak(student, today, counted)
        ),
        "overall_progress_percent": percent(done, total),
        "items_completed": done,
        "items_total": total,
        "courses": [
            {
                "course": row["course"],
                "items_completed": row["items_completed"],
                "items_total": row["items_total"],
                "progress_percent": row["progress_percent"],
            }
            for row in per_course
        ],
        "events_today": events_today or 0,
    }


def class_snapshot(*, course: Course, now: datetime) -> ClassSnapshot:
    """live.selectors.class_engagement_snapshot from overview() for today and the class's completions."""
    figures = overview(course_ids=[course.pk], period=DateRange.last_days(1, now=now, zone=course_zone(course)))
    return {
        "students_total": figures["students_total"],
        "active_students_today": figures["students_active"],
        "events_today": figures["events"],
        "engagement_rate_today": figures["engagement_rate"],
        "average_progress_percent": average_progress(class_completions([course.pk])[course.pk].values()),
    }


class StudentQuery(QuerySerializer):
    student = IdParam(help_text="Staff: a student they may see. Students: themselves (the default).")


class ClassQuery(QuerySerializer):
    course = IdParam(help_text="Required: a class the requester may see.")


def _course_ids(scope: Scope) -> list[int]:
    return list(scope.courses.values_list("pk", flat=True))


def _register() -> None:
    for metric in (
        Metric(
            name="realtime-progress-snapshot",
            path="realtime/snapshots/progress",
            summary="A student's live headline figures",
            description="What the live stream's progress frames carry (docs/realtime.md): XP, level, streak, "
            "progress per class and today's events, over the student's classes the requester may see.",
            output=StudentSnapshot,
            query=StudentQuery,
            subject=Subject.STUDENT,
            audience=Audience.EVERYONE,
            owner="live",
            rows="courses",
            cache=Cache.NONE,
            compute=lambda scope, query: student_snapshot(
                student_id=scope.student.pk,
                course_ids=_course_ids(scope),
                now=scope.now,
                whole_student=scope.whole_student,
            ),
            fast=lambda scope, query: fast.student_progress_snapshot(
                student_id=scope.student.pk,
                course_ids=_course_ids(scope),
                now=scope.now,
                whole_student=scope.whole_student,
            ),
        ),
        Metric(
            name="realtime-class-snapshot",
            path="realtime/snapshots/class",
            summary="A class's live figures for today",
            description="What the live stream's engagement frames carry (docs/realtime.md): enrolled and active "
            "students, events and the engagement rate of today (the class's time zone), and the average progress.",
            output=ClassSnapshot,
            query=ClassQuery,
            subject=Subject.COURSE,
            audience=Audience.STAFF,
            owner="live",
            cache=Cache.NONE,
            compute=lambda scope, query: class_snapshot(course=scope.course, now=scope.now),
            fast=lambda scope, query: fast.class_engagement_snapshot(course_id=scope.course.pk, now=scope.now),
        ),
    ):
        register(metric)


register_metrics = _register

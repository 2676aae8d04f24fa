"""What the live stream sends, read from the rollups and totals through the analytics, dashboards and gamification
selectors (the same figures the pages and the REST API show). Called by the consumers' process, never by ingestion.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Sum

from accounts.models import Role, User
from analytics import selectors as analytics
from analytics.daterange import DateRange
from analytics.models import LearningEvent, StudentDailyRollup, StudentItemDay
from classroom.models import Course, Enrollment, LearningItem
from dashboards.selectors import class_progress
from gamification import selectors as gamification
from gamification.levels import level_progress

# Learner actions announced per change notification at most (a batch import is not replayed action by action).
USER_EVENTS_MAX = 50


def student_progress_snapshot(*, student_id: int, course_ids: Sequence[int], now: datetime) -> dict[str, Any]:
    """A student's headline figures: XP, level, streak, and progress and today's events over `course_ids` (the
    student's classes the viewer may see). Six small indexed reads of rollups and totals: it runs for every event
    of a watched student (the same numbers as dashboards.selectors.micro, which the page re-reads)."""
    student = User.objects.select_related("organization").get(pk=student_id)
    today = gamification.local_today(student.organization, now)
    items = dict(
        LearningItem.objects.filter(module__course_id__in=course_ids)
        .values("module__course_id")
        .annotate(n=Count("id"))
        .values_list("module__course_id", "n")
    )
    # completed items per class: the partial index on completed item-days (course, student, item)
    completed = dict(
        StudentItemDay.objects.filter(
            course_id__in=course_ids, student_id=student_id, kind=StudentItemDay.Kind.COMPLETED
        )
        .values("course_id")
        .annotate(n=Count("item_id", distinct=True))
        .values_list("course_id", "n")
    )
    events_today = (
        StudentDailyRollup.objects.filter(student_id=student_id, course_id__in=course_ids, day=today).aggregate(
            n=Sum("events")
        )["n"]
        or 0
    )
    level = level_progress(gamification.total_xp(student))
    streak = gamification.streak(student, today)
    total = sum(items.values())
    done = sum(completed.get(course_id, 0) for course_id in items)
    return {
        "xp": level.xp,
        "level": level.level,
        "xp_into_level": level.xp_into_level,
        "xp_to_next_level": level.xp_to_next_level,
        "level_progress_percent": level.progress_percent,
        "streak": {"current": streak.current, "longest": streak.longest, "at_risk_today": streak.at_risk},
        "overall_progress_percent": round(100 * done / total, 1) if total else None,
        "items_completed": done,
        "items_total": total,
        "courses": [
            {
                "course": course_id,
                "items_completed": completed.get(course_id, 0),
                "items_total": count,
                "progress_percent": round(100 * completed.get(course_id, 0) / count, 1),
            }
            for course_id, count in sorted(items.items())
        ],
        "events_today": events_today,
    }


def class_engagement_snapshot(*, course_id: int, now: datetime) -> dict[str, Any]:
    """A class's figures for today (its time zone): active students, events, engagement rate, average progress."""
    course = Course.objects.select_related("organization").get(pk=course_id)
    zone = ZoneInfo(course.time_zone or course.organization.time_zone)
    figures = analytics.overview(course_ids=[course_id], period=DateRange.last_days(1, now=now, zone=zone))
    progress = list(class_progress([course_id])[course_id].values())
    return {
        "students_total": figures["students_total"],
        "active_students_today": figures["students_active"],
        "events_today": figures["events"],
        "engagement_rate_today": figures["engagement_rate"],
        "average_progress_percent": round(sum(progress) / len(progress), 1) if progress else None,
    }


def course_student_ids(*, course_id: int) -> list[int]:
    """Students whose events change a class's figures (any enrolment status: history stays in the class)."""
    return list(
        Enrollment.objects.filter(course_id=course_id, role=Enrollment.Role.STUDENT, user__role=Role.STUDENT)
        .values_list("user_id", flat=True)
        .distinct()
    )


def course_user_events(
    *, course_id: int, student_ids: Sequence[int], first: datetime, last: datetime, received_since: datetime
) -> list[dict[str, Any]]:
    """The learner actions a change notification announced: the events of those students in this class that
    occurred first..last and arrived recently (through the (actor_id, occurred_at) index)."""
    rows = (
        LearningEvent.objects.filter(
            actor_id__in=list(student_ids),
            course_id=course_id,
            occurred_at__gte=first,
            occurred_at__lte=last,
            received_at__gte=received_since,
        )
        .order_by("occurred_at", "id")
        .values_list(
            "event_id",
            "actor_id",
            "action",
            "item_id",
            "occurred_at",
            "actor__first_name",
            "actor__last_name",
            "actor__username",
        )[:USER_EVENTS_MAX]
    )
    return [
        {
            "event_id": str(event_id),
            "student": actor_id,
            "name": f"{first_name} {last_name}".strip() or username,
            "action": action,
            "item": item_id,
            "occurred_at": occurred_at,
        }
        for event_id, actor_id, action, item_id, occurred_at, first_name, last_name, username in rows
    ]


def received_window(at: datetime) -> datetime:
    """How far back a notification's events may have arrived (the request's clock ran before its commit)."""
    return at - timedelta(seconds=30)

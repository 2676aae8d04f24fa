"""The three levels of dashboard, each composed from the metric selectors (analytics.selectors) and the
gamification selectors (this app depends on both; analytics does not depend on gamification), so the API (api.py)
and the pages (views.py) show the same numbers:

- micro: one student: progress per class, with the class's average and the student's percentile where allowed;
  learning activity, heatmap, XP, level, streak, achievements, recent activity;
- meso: one class: the course analytics (engagement trend, assignment timeliness, score distribution), the
  progress distribution, a students table (activity in the period, progress, last active day) and the week's
  leaderboard;
- macro: a set of classes (an organisation, or a teacher's classes): headline figures, the engagement trend and a
  cross-course comparison; system metrics for administrators.

Who may see which student or class is settled by the caller through classroom.selectors.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, OuterRef, QuerySet, Subquery, Sum

from accounts.models import Role, User
from analytics import selectors
from analytics.daterange import DateRange
from analytics.models import LearningEvent, StudentDailyRollup, StudentItemDay
from classroom.models import Course, Enrollment, LearningItem
from gamification import selectors as gamification
from gamification.levels import level_progress

PROGRESS_BANDS = selectors.SCORE_BANDS  # 0-10 % ... 90-100 %, the last band including 100 %
RECENT_ACTIVITY = 10


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _band(percent: float) -> int:
    return min(int(percent // 10), len(PROGRESS_BANDS) - 1)


def class_progress(course_ids: list[int]) -> dict[int, dict[int, float]]:
    """Per class: each actively enrolled student's progress (items with a completion, out of the class's items, in
    percent); students without any completion count as 0."""
    items = dict(
        LearningItem.objects.filter(module__course_id__in=course_ids)
        .values("module__course_id")
        .annotate(n=Count("id"))
        .values_list("module__course_id", "n")
    )
    enrolled = list(
        Enrollment.objects.filter(
            course_id__in=course_ids, role=Enrollment.Role.STUDENT, status=Enrollment.Status.ACTIVE
        ).values_list("course_id", "user_id")
    )
    # Only the enrolled students' completions are counted (through analytics_itemday_done_idx), not the whole
    # history of everyone who ever took the class; no enrolled student, no query.
    completed = (
        {
            (course_id, student_id): n
            for course_id, student_id, n in StudentItemDay.objects.filter(
                course_id__in=course_ids,
                kind=StudentItemDay.Kind.COMPLETED,
                student_id__in=sorted({student_id for _, student_id in enrolled}),
            )
            .values("course_id", "student_id")
            .annotate(n=Count("item_id", distinct=True))
            .values_list("course_id", "student_id", "n")
        }
        if enrolled
        else {}
    )
    result: dict[int, dict[int, float]] = {course_id: {} for course_id in course_ids}
    for course_id, student_id in enrolled:
        total = items.get(course_id, 0)
        result[course_id][student_id] = percent(completed.get((course_id, student_id), 0), total) or 0.0
    return result


def peer_comparison(*, student_id: int, progress: dict[int, float], viewer_is_student: bool) -> dict[str, Any]:
    """The class average progress and where the student stands (percent of classmates with less progress). Hidden
    from students when fewer than ANALYTICS_PEER_MIN_STUDENTS students contribute."""
    minimum = int(settings.ANALYTICS_PEER_MIN_STUDENTS)
    if viewer_is_student and len(progress) < minimum:
        return {
            "hidden": True,
            "reason": f"Shown when at least {minimum} students take part.",
            "students": len(progress),
        }
    values = list(progress.values())
    mine = progress.get(student_id)
    others = [value for key, value in progress.items() if key != student_id]
    return {
        "hidden": False,
        "students": len(values),
        "class_average_percent": round(sum(values) / len(values), 1) if values else None,
        "percentile": (
            round(100 * sum(value < mine for value in others) / len(others), 1) if others and mine is not None else None
        ),
    }


def recent_activity(*, student_id: int, now: datetime, limit: int = RECENT_ACTIVITY) -> list[dict[str, Any]]:
    """The student's latest events (through the (actor_id, occurred_at) index), with item titles."""
    rows = list(
        LearningEvent.objects.filter(
            actor_id=student_id, occurred_at__lte=now, occurred_at__gte=now - timedelta(days=90)
        )
        .order_by("-occurred_at")
        .values_list("occurred_at", "action", "course_id", "item_id")[:limit]
    )
    titles = dict(LearningItem.objects.filter(pk__in={row[3] for row in rows if row[3]}).values_list("pk", "title"))
    return [
        {"occurred_at": at, "action": action, "course": course_id, "item": item_id, "title": titles.get(item_id)}
        for at, action, course_id, item_id in rows
    ]


def micro(*, student: User, courses: QuerySet[Course], period: DateRange, viewer: User) -> dict[str, Any]:
    """One student: everything their progress page shows."""
    # Read once and shared with the progress and achievement figures below, which would each read them again.
    completed_items = selectors.completed_item_ids(student.pk)
    per_course = selectors.course_progress(student_id=student.pk, courses=courses, completed_items=completed_items)
    classes = class_progress([row["course"] for row in per_course])
    viewer_is_student = viewer.role == Role.STUDENT and not viewer.is_superuser
    for row in per_course:
        row["peers"] = peer_comparison(
            student_id=student.pk, progress=classes[row["course"]], viewer_is_student=viewer_is_student
        )
    items = sum(row["items_total"] for row in per_course)
    done = sum(row["items_completed"] for row in per_course)
    today = gamification.local_today(student.organization, period.now)
    xp = gamification.total_xp(student)
    level = level_progress(xp)
    streak = gamification.streak(student, today)
    return {
        "student": student.pk,
        "name": student.get_full_name() or student.username,
        "as_of": period.now,
        "first_day": period.first,
        "last_day": period.last,
        "days": period.days,
        "overall_progress_percent": percent(done, items),
        "items_completed": done,
        "items_total": items,
        "courses": per_course,
        "activity": selectors.learning_activity(student_id=student.pk, period=period),
        "heatmap": selectors.learning_heatmap(student_id=student.pk, period=period),
        "xp": level.xp,
        "level": level.level,
        "xp_into_level": level.xp_into_level,
        "xp_to_next_level": level.xp_to_next_level,
        "level_progress_percent": level.progress_percent,
        "streak": {"current": streak.current, "longest": streak.longest, "at_risk_today": streak.at_risk},
        "achievements": gamification.achievements_for(
            student, today, xp=xp, longest_streak=streak.longest, completed_items=completed_items
        ),
        "recent_activity": recent_activity(student_id=student.pk, now=period.now),
    }


def class_students(*, course: Course, period: DateRange, progress: dict[int, float]) -> list[dict[str, Any]]:
    """The class's actively enrolled students: activity in the period, progress, and the last local day with any
    activity in this class (ever), ordered by name."""
    in_period = {
        row["student_id"]: row
        for row in StudentDailyRollup.objects.filter(course=course, day__range=(period.first, period.last))
        .values("student_id")
        .annotate(events=Sum("events"), active_seconds=Sum("active_seconds"), days=Count("day"))
    }
    # One probe per student down the (student, course, day) unique index: no scan of the class's whole history.
    last_day = StudentDailyRollup.objects.filter(student_id=OuterRef("user_id"), course=course).order_by("-day")
    rows = []
    for student_id, first_name, last_name, username, last_active in (
        Enrollment.objects.filter(course=course, role=Enrollment.Role.STUDENT, status=Enrollment.Status.ACTIVE)
        .annotate(last_active=Subquery(last_day.values("day")[:1]))
        .order_by("user__last_name", "user__first_name", "user__username")
        .values_list("user_id", "user__first_name", "user__last_name", "user__username", "last_active")
    ):
        activity = in_period.get(student_id, {})
        rows.append(
            {
                "student": student_id,
                "name": f"{first_name} {last_name}".strip() or username,
                "events": activity.get("events") or 0,
                "active_minutes": round((activity.get("active_seconds") or 0) / 60, 1),
                "active_days": activity.get("days") or 0,
                "progress_percent": progress.get(student_id, 0.0),
                "last_active": last_active,
            }
        )
    return rows


def progress_distribution(progress: dict[int, float]) -> list[dict[str, Any]]:
    counts = [0] * len(PROGRESS_BANDS)
    for value in progress.values():
        counts[_band(value)] += 1
    return [
        {"from_percent": low, "to_percent": high, "students": count}
        for (low, high), count in zip(PROGRESS_BANDS, counts, strict=True)
    ]


def meso(*, course: Course, period: DateRange, viewer: User) -> dict[str, Any]:
    """One class: everything the teacher's class dashboard shows."""
    progress = class_progress([course.pk])[course.pk]
    values = list(progress.values())
    return {
        **selectors.course_analytics(course=course, period=period),
        "code": course.code,
        "title": course.title,
        "days": period.days,
        "average_progress_percent": round(sum(values) / len(values), 1) if values else None,
        "progress_distribution": progress_distribution(progress),
        "students": class_students(course=course, period=period, progress=progress),
        "leaderboard": gamification.leaderboard(
            viewer=viewer, organization=course.organization, course=course, timeframe="week", limit=10, now=period.now
        ),
    }


def course_comparison(*, courses: QuerySet[Course], period: DateRange) -> list[dict[str, Any]]:
    """Per class, side by side: enrolment, active students, engagement rate, events, completions, average score."""
    # The classes first: their ids then reach the rollup query as constants, which the planner reads better than a
    # subquery it estimates at one row (and macro passes the same ids on to the other figures).
    course_rows = list(courses.order_by("code").values_list("pk", "code", "title"))
    course_ids = [pk for pk, _, _ in course_rows]
    activity = {
        row["course_id"]: row
        for row in StudentDailyRollup.objects.filter(course_id__in=course_ids, day__range=(period.first, period.last))
        .values("course_id")
        .annotate(
            active=Count("student_id", distinct=True),
            events=Sum("events"),
            completed=Sum("items_completed"),
            score_sum=Sum("score_sum"),
            score_count=Sum("score_count"),
            last_day=Max("day"),
        )
    }
    enrolled = dict(
        Enrollment.objects.filter(
            course_id__in=course_ids, role=Enrollment.Role.STUDENT, status=Enrollment.Status.ACTIVE
        )
        .values("course_id")
        .annotate(n=Count("id"))
        .values_list("course_id", "n")
    )
    rows = []
    for course_id, code, title in course_rows:
        row = activity.get(course_id, {})
        active = row.get("active", 0)
        score_count = row.get("score_count") or 0
        rows.append(
            {
                "course": course_id,
                "code": code,
                "title": title,
                "students_enrolled": enrolled.get(course_id, 0),
                "active_students": active,
                "engagement_rate": percent(active, enrolled.get(course_id, 0)),
                "events": row.get("events") or 0,
                "items_completed": row.get("completed") or 0,
                "average_score_percent": round(float(row["score_sum"]) / score_count, 1) if score_count else None,
                "last_active_day": row.get("last_day"),
            }
        )
    return rows


def macro(*, courses: QuerySet[Course], period: DateRange, include_system: bool) -> dict[str, Any]:
    """A set of classes (the organisation for administrators): headline figures, trend, comparison."""
    comparison = course_comparison(courses=courses, period=period)
    course_ids = [row["course"] for row in comparison]
    trend = selectors.engagement_trend(course_ids=course_ids, period=period)
    return {
        **selectors.overview(course_ids=course_ids, period=period),
        "days": period.days,
        "engagement": trend,
        "growth_percent": selectors.growth_percent(trend, "events"),
        "courses": comparison,
        "system": selectors.system_metrics(hours=24, now=period.now) if include_system else None,
    }

"""Reading XP, levels, streaks, achievements and leaderboards. Who may see whom is decided by classroom.selectors;
these functions take the already-checked student or course and the viewer."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Q, Sum

from accounts.models import Organization, Role, User
from analytics.models import COMPLETE_ACTIONS, LearningEvent
from analytics.selectors import completed_item_ids
from classroom.models import Course, Enrollment, LearningItem
from classroom.selectors import visible_students
from gamification.levels import level_for, level_progress
from gamification.models import Achievement, Period, StudentAchievement, XpAward, XpTotal
from gamification.services import ALL_TIME

# "all" as well as "all-time": the name the seed documents' clients use.
TIMEFRAMES = {"day": Period.DAY, "week": Period.WEEK, "month": Period.MONTH, "all-time": Period.ALL, "all": Period.ALL}


def local_today(organization: Organization | None, now: datetime) -> date:
    return now.astimezone(ZoneInfo(organization.time_zone if organization else "UTC")).date()


def period_start(period: str, today: date) -> date:
    if period == Period.DAY:
        return today
    if period == Period.WEEK:
        return today - timedelta(days=today.weekday())  # ISO weeks start on Monday
    if period == Period.MONTH:
        return today.replace(day=1)
    return ALL_TIME


def total_xp(student: User) -> int:
    row = XpTotal.objects.filter(
        student=student, organization=student.organization, course__isnull=True, period=Period.ALL
    ).first()
    return row.xp if row else 0


def daily_xp(student: User, first: date, last: date) -> list[tuple[date, int]]:
    """XP per day of the organisation's calendar, first..last, zero-filled."""
    earned = dict(
        XpAward.objects.filter(student=student, day__range=(first, last))
        .values("day")
        .annotate(xp=Sum("amount"))
        .values_list("day", "xp")
    )
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [(day, earned.get(day, 0)) for day in days]


@dataclass(frozen=True)
class Streak:
    current: int
    longest: int
    active_today: bool
    at_risk: bool  # a streak that ends unless the student is active today
    min_daily_xp: int


def streak(student: User, today: date) -> Streak:
    """Consecutive days (organisation's calendar) with at least GAMIFICATION_STREAK_MIN_DAILY_XP XP. The current
    streak ends today, or yesterday if today is not active yet (then it is at risk)."""
    minimum = int(settings.GAMIFICATION_STREAK_MIN_DAILY_XP)
    days = list(
        XpAward.objects.filter(student=student, day__lte=today)
        .values("day")
        .annotate(xp=Sum("amount"))
        .filter(xp__gte=minimum)
        .order_by("day")
        .values_list("day", flat=True)
    )
    return streak_of_days(days, today, minimum)


def streak_of_days(days: Sequence[date], today: date, minimum: int) -> Streak:
    """The streak made by `days` (ascending, each with at least `minimum` XP, none after `today`)."""
    longest = run = 0
    previous: date | None = None
    for day in days:
        run = run + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        longest = max(longest, run)
        previous = day
    active_today = bool(days) and days[-1] == today
    alive = bool(days) and days[-1] >= today - timedelta(days=1)
    current = run if alive else 0
    return Streak(current, longest, active_today, at_risk=alive and not active_today, min_daily_xp=minimum)


def achievements_for(
    student: User,
    today: date,
    *,
    xp: int | None = None,
    longest_streak: int | None = None,
    completed_items: set[int] | None = None,
) -> list[dict[str, Any]]:
    """Every active achievement offered to the student: earned ones with their time, others with progress. A caller
    that has already read the student's total XP, streak or completed items passes them, so they are not read
    again."""
    earned = {
        row.achievement_id: row.earned_at
        for row in StudentAchievement.objects.filter(student=student).only("achievement_id", "earned_at")
    }
    offered = Achievement.objects.filter(is_active=True).filter(
        Q(organization__isnull=True) | Q(organization_id=student.organization_id)
    )
    if xp is None:
        xp = total_xp(student)
    measures = _progress_measures(
        student, xp, offered, today, longest_streak=longest_streak, completed_items=completed_items
    )
    rows = []
    for achievement in offered:
        current, target = measures[achievement.kind](achievement)
        earned_at = earned.get(achievement.pk)
        rows.append(
            {
                "code": achievement.code,
                "name": achievement.name,
                "description": achievement.description,
                "kind": achievement.kind,
                "earned": earned_at is not None,
                "earned_at": earned_at,
                "progress": {
                    "current": target if earned_at is not None else min(current, target),
                    "target": target,
                    "percent": 100.0 if earned_at is not None else round(100 * min(current, target) / target, 1),
                },
            }
        )
    return rows


def _progress_measures(
    student: User,
    xp: int,
    offered: Any,
    today: date,
    *,
    longest_streak: int | None = None,
    completed_items: set[int] | None = None,
) -> dict[str, Any]:
    kinds = {a.kind for a in offered}
    longest = 0
    if Achievement.Kind.STREAK_DAYS in kinds:
        longest = streak(student, today).longest if longest_streak is None else longest_streak
    perfect = False
    if completed_items is None and Achievement.Kind.MODULE_COMPLETE in kinds:
        completed_items = completed_item_ids(student.pk)
    # A completed item is a completion event: the event store is asked only when no item is known to be completed.
    any_completion = Achievement.Kind.FIRST_COMPLETION in kinds and (
        bool(completed_items) or LearningEvent.objects.filter(actor_id=student.pk, action__in=COMPLETE_ACTIONS).exists()
    )
    if Achievement.Kind.MODULE_COMPLETE not in kinds:
        completed_items = set()
    if Achievement.Kind.PERFECT_QUIZ in kinds:
        perfect = (
            LearningEvent.objects.filter(actor_id=student.pk, action="quiz_submit")
            .filter(
                Q(score_scaled__gte=1) | Q(score_scaled__isnull=True, score_max__gt=0, score_raw__gte=F("score_max"))
            )
            .exists()
        )
    best_module = (0, 1)
    if Achievement.Kind.MODULE_COMPLETE in kinds and completed_items:
        # Per module with a completed item: its items, and how many of them are completed (one query).
        per_module = (
            LearningItem.objects.filter(
                module_id__in=LearningItem.objects.filter(id__in=completed_items).values("module_id")
            )
            .values("module_id")
            .annotate(total=Count("id"), done=Count("id", filter=Q(id__in=completed_items)))
            .order_by("module_id")
            .values_list("done", "total")
        )
        for count, total in per_module:
            if count / total > best_module[0] / best_module[1]:
                best_module = (count, total)
    level = level_for(xp)
    return {
        Achievement.Kind.XP_TOTAL: lambda a: (xp, a.threshold),
        Achievement.Kind.LEVEL_REACHED: lambda a: (level, a.threshold),
        Achievement.Kind.STREAK_DAYS: lambda a: (longest, a.threshold),
        Achievement.Kind.FIRST_COMPLETION: lambda a: (int(any_completion), 1),
        Achievement.Kind.PERFECT_QUIZ: lambda a: (int(perfect), 1),
        Achievement.Kind.MODULE_COMPLETE: lambda a: best_module,
    }


def progress(student: User, *, days: int, now: datetime) -> dict[str, Any]:
    today = local_today(student.organization, now)
    xp = total_xp(student)
    level = level_progress(xp)
    current = streak(student, today)
    return {
        "student": student.pk,
        "as_of": now,
        "xp": xp,
        "level": level.level,
        "level_start_xp": level.level_start_xp,
        "next_level_xp": level.next_level_xp,
        "xp_into_level": level.xp_into_level,
        "xp_to_next_level": level.xp_to_next_level,
        "level_progress_percent": level.progress_percent,
        "streak": {
            "current": current.current,
            "longest": current.longest,
            "active_today": current.active_today,
            "at_risk_today": current.at_risk,
            "min_daily_xp": current.min_daily_xp,
        },
        "achievements": achievements_for(student, today, xp=xp, longest_streak=current.longest),
        "xp_trend": [
            {"date": day, "xp": amount} for day, amount in daily_xp(student, today - timedelta(days=days - 1), today)
        ],
    }


def weekly_xp(student: User, *, now: datetime) -> dict[str, Any]:
    today = local_today(student.organization, now)
    days = daily_xp(student, today - timedelta(days=6), today)
    total = sum(amount for _, amount in days)
    current = streak(student, today)
    return {
        "student": student.pk,
        "as_of": now,
        "days": [{"date": day, "day_of_week": day.strftime("%A"), "xp": amount} for day, amount in days],
        "week_total": total,
        "daily_average": round(total / 7, 1),
        "streak": current.current,
        "streak_at_risk_today": current.at_risk,
    }


def _population(organization_id: int, course: Course | None) -> int:
    """How many students the leaderboard ranks (those without XP in the period rank after those with some)."""
    if course is not None:
        return Enrollment.objects.filter(
            course=course, role=Enrollment.Role.STUDENT, status=Enrollment.Status.ACTIVE
        ).count()
    return User.objects.filter(organization_id=organization_id, role=Role.STUDENT, is_active=True).count()


def leaderboard(
    *, viewer: User, organization: Organization, course: Course | None, timeframe: str, limit: int, now: datetime
) -> dict[str, Any]:
    """The top `limit` students of a course (or the organisation) by XP in the current day, ISO week, month or all
    time (organisation's calendar). Ties go to the lower student id, so ranks are stable. Students see public
    handles only, and nothing of a leaderboard over fewer than GAMIFICATION_LEADERBOARD_MIN_STUDENTS students."""
    period = TIMEFRAMES[timeframe]
    start = period_start(period, local_today(organization, now))
    rows = XpTotal.objects.filter(organization=organization, course=course, period=period, period_start=start, xp__gt=0)
    population = _population(organization.pk, course)
    minimum = int(settings.GAMIFICATION_LEADERBOARD_MIN_STUDENTS)
    is_student = viewer.role == Role.STUDENT and not viewer.is_superuser
    answer: dict[str, Any] = {
        "course": course.pk if course else None,
        "timeframe": timeframe,
        "period_start": start,
        "as_of": now,
        "students": population,
        "hidden": False,
        "rows": [],
        "me": None,
    }
    if is_student and population < minimum:
        answer["hidden"] = True
        answer["reason"] = f"Shown to students when at least {minimum} students take part."
        return answer
    top = list(rows.order_by("-xp", "student_id").values_list("student_id", "xp", "student__public_handle")[:limit])
    named = set(visible_students(viewer).filter(pk__in=[row[0] for row in top]).values_list("pk", flat=True))
    names = (
        {}
        if is_student
        else {
            user.pk: (user.get_full_name() or user.username)
            for user in User.objects.filter(pk__in=named).only("first_name", "last_name", "username")
        }
    )
    for rank, (student_id, xp, handle) in enumerate(top, start=1):
        row: dict[str, Any] = {"rank": rank, "handle": handle, "xp": xp, "is_me": student_id == viewer.pk}
        if student_id in names:
            row["student"] = student_id
            row["name"] = names[student_id]
        answer["rows"].append(row)
    if is_student:
        answer["me"] = _own_standing(viewer, rows, population)
    return answer


def _own_standing(student: User, rows: Any, population: int) -> dict[str, Any]:
    mine = rows.filter(student=student).values_list("xp", flat=True).first() or 0
    ahead = rows.filter(Q(xp__gt=mine) | Q(xp=mine, student_id__lt=student.pk)) if mine else rows
    rank = ahead.count() + 1
    above = ahead.order_by("xp", "-student_id").values_list("xp", "student_id").first()
    to_pass = None
    if above is not None:
        # Equal XP is a tie, and ties go to the lower id: passing someone with a lower id takes one XP more.
        to_pass = above[0] - mine + (1 if above[1] < student.pk else 0)
    ranked = max(population, rank)
    return {
        "rank": rank,
        "xp": mine,
        "percentile": round(100 * (ranked - rank) / ranked, 1) if ranked else 0.0,
        "xp_to_next_rank": to_pass,
    }


def all_time_standing(student: User, course: Course | None = None) -> dict[str, Any]:
    """The student's all-time rank, percentile and XP to pass the next rank, in a course or the whole school."""
    rows = XpTotal.objects.filter(
        organization=student.organization, course=course, period=Period.ALL, period_start=ALL_TIME, xp__gt=0
    )
    return _own_standing(student, rows, _population(student.organization_id or 0, course))

"""Reading XP, levels, streaks, achievements and leaderboards. Who may see whom is decided by classroom.selectors;
these functions take the already-checked student or course and the viewer."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, NotRequired, TypedDict

from django.conf import settings
from django.db.models import Count, F, Q, Sum

from accounts.models import Organization, Role, User
from accounts.permissions import is_student, small_group_minimum
from accounts.selectors import organization_zone
from analytics.models import COMPLETE_ACTIONS, LearningEvent
from analytics.selectors import completed_item_ids, course_progress, learning_activity
from analytics.selectors.students import LearningActivity
from classroom.models import Course, Enrollment, LearningItem
from classroom.selectors import visible_students
from core.daterange import DateRange
from core.figures import percent, percentile_rank, withhold_small_group
from gamification.levels import LevelProgress, level_for, level_progress
from gamification.models import Achievement, Period, StudentAchievement, XpAward, XpTotal
from gamification.services import ALL_TIME

# "all" as well as "all-time": the name the seed documents' clients use.
TIMEFRAMES = {"day": Period.DAY, "week": Period.WEEK, "month": Period.MONTH, "all-time": Period.ALL, "all": Period.ALL}


def local_today(organization: Organization | None, now: datetime) -> date:
    return now.astimezone(organization_zone(organization)).date()


def period_start(period: str, today: date) -> date:
    if period == Period.DAY:
        return today
    if period == Period.WEEK:
        return today - timedelta(days=today.weekday())  # ISO weeks start on Monday
    if period == Period.MONTH:
        return today.replace(day=1)
    return ALL_TIME


# Classes a figure about a student counts: None for all of the student's (the student, their school's administrators),
# else the ids (a list or a subquery) of the classes the viewer shares with them (classroom.selectors.metric_scope).
CourseIds = Any


def total_xp(student: User, course_ids: CourseIds = None) -> int:
    """The student's all-time XP: in the whole school, or earned in the classes `course_ids` only."""
    totals = XpTotal.objects.filter(student=student, organization=student.organization, period=Period.ALL)
    if course_ids is not None:
        return totals.filter(course_id__in=course_ids).aggregate(xp=Sum("xp"))["xp"] or 0
    row = totals.filter(course__isnull=True).first()
    return row.xp if row else 0


def daily_xp(student: User, first: date, last: date, course_ids: CourseIds = None) -> list[tuple[date, int]]:
    """XP per day of the organisation's calendar, first..last, zero-filled (with `course_ids`: earned in those)."""
    awards = XpAward.objects.filter(student=student, day__range=(first, last))
    if course_ids is not None:
        awards = awards.filter(course_id__in=course_ids)
    earned = dict(awards.values("day").annotate(xp=Sum("amount")).values_list("day", "xp"))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [(day, earned.get(day, 0)) for day in days]


@dataclass(frozen=True)
class Streak:
    current: int
    longest: int
    active_today: bool
    at_risk: bool  # a streak that ends unless the student is active today
    min_daily_xp: int


def streak(student: User, today: date, course_ids: CourseIds = None) -> Streak:
    """Consecutive days (organisation's calendar) with at least GAMIFICATION_STREAK_MIN_DAILY_XP XP (with
    `course_ids`: earned in those classes). The current streak ends today, or yesterday if today is not active yet
    (then it is at risk)."""
    minimum = int(settings.GAMIFICATION_STREAK_MIN_DAILY_XP)
    awards = XpAward.objects.filter(student=student, day__lte=today)
    if course_ids is not None:
        awards = awards.filter(course_id__in=course_ids)
    days = list(
        awards.values("day")
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


class StreakFigures(TypedDict):
    current: Annotated[int, "Consecutive days with enough XP, ending today (or yesterday, when at risk)."]
    longest: int
    at_risk_today: Annotated[bool, "The streak ends unless the student is active today."]


class LevelAndStreak(TypedDict):
    """A student's XP, level and streak, as the progress page and the live stream show them."""

    xp: int
    level: int
    xp_into_level: int
    xp_to_next_level: int
    level_progress_percent: float
    streak: StreakFigures


def level_and_streak(level: LevelProgress, current: Streak) -> LevelAndStreak:
    return {
        "xp": level.xp,
        "level": level.level,
        "xp_into_level": level.xp_into_level,
        "xp_to_next_level": level.xp_to_next_level,
        "level_progress_percent": level.progress_percent,
        "streak": {"current": current.current, "longest": current.longest, "at_risk_today": current.at_risk},
    }


class AchievementProgress(TypedDict):
    current: int
    target: int
    percent: float


class AchievementRow(TypedDict):
    code: str
    name: str
    description: str
    kind: str
    earned: bool
    earned_at: datetime | None
    progress: AchievementProgress


def achievements_for(
    student: User,
    today: date,
    *,
    xp: int | None = None,
    longest_streak: int | None = None,
    completed_items: set[int] | None = None,
) -> list[AchievementRow]:
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
    rows: list[AchievementRow] = []
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
                    "percent": 100.0 if earned_at is not None else percent(min(current, target), target) or 0.0,
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


class StreakDetail(StreakFigures):
    active_today: bool
    min_daily_xp: Annotated[int, "XP a day needs to count for a streak."]


class XpDay(TypedDict):
    date: date
    xp: int


EVERY_CLASS = (
    "The figures count all of the student's learning (as the student and their school's administrators see it); "
    "false: only the classes the requester teaches, and no achievements (they are earned across every class)."
)


class GamificationProgress(TypedDict):
    """XP, level, streak, achievements and the XP trend of a student."""

    student: int
    as_of: datetime
    every_class: Annotated[bool, EVERY_CLASS]
    xp: int
    level: int
    level_start_xp: int
    next_level_xp: int
    xp_into_level: int
    xp_to_next_level: int
    level_progress_percent: float
    streak: StreakDetail
    achievements: list[AchievementRow]
    xp_trend: list[XpDay]


def progress(student: User, *, days: int, now: datetime, course_ids: CourseIds = None) -> GamificationProgress:
    """XP, level, streak and the XP trend over all the student's learning, or (`course_ids`, a teacher's view) what
    was earned in those classes; achievements only over all of it."""
    today = local_today(student.organization, now)
    xp = total_xp(student, course_ids)
    level = level_progress(xp)
    current = streak(student, today, course_ids)
    return {
        "student": student.pk,
        "as_of": now,
        "every_class": course_ids is None,
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
        "achievements": (
            achievements_for(student, today, xp=xp, longest_streak=current.longest) if course_ids is None else []
        ),
        "xp_trend": [
            {"date": day, "xp": amount}
            for day, amount in daily_xp(student, today - timedelta(days=days - 1), today, course_ids)
        ],
    }


class WeekDay(TypedDict):
    date: date
    day_of_week: str
    xp: int


class WeeklyXp(TypedDict):
    """XP of the last 7 days (the organisation's calendar)."""

    student: int
    as_of: datetime
    days: list[WeekDay]
    week_total: int
    daily_average: float
    streak: int
    streak_at_risk_today: bool


def weekly_xp(student: User, *, now: datetime, course_ids: CourseIds = None) -> WeeklyXp:
    """The last 7 days' XP and the streak: all of the student's, or earned in the classes `course_ids`."""
    today = local_today(student.organization, now)
    days = daily_xp(student, today - timedelta(days=6), today, course_ids)
    total = sum(amount for _, amount in days)
    current = streak(student, today, course_ids)
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
        return Enrollment.objects.active_students().filter(course=course).count()
    return User.objects.filter(organization_id=organization_id, role=Role.STUDENT, is_active=True).count()


class LeaderboardRow(TypedDict):
    rank: int
    handle: Annotated[str, "The student's public handle."]
    xp: int
    is_me: bool
    student: NotRequired[Annotated[int, "Staff, for students they may see."]]
    name: NotRequired[Annotated[str, "Staff, for students they may see."]]


class Standing(TypedDict):
    rank: int
    xp: int
    percentile: Annotated[float, "Share of the ranked students (the student included) ranked below."]
    xp_to_next_rank: Annotated[int | None, "XP needed to pass the next student up; empty at the top."]


class Leaderboard(TypedDict):
    """The top students by XP of a class or school in the current day, ISO week, month or all time."""

    course: int | None
    timeframe: str
    period_start: date
    as_of: datetime
    students: Annotated[int, "Students ranked (actively enrolled in the class, or of the school)."]
    hidden: Annotated[bool, "Withheld from students when fewer than the minimum take part."]
    reason: NotRequired[str]
    rows: list[LeaderboardRow]
    me: Annotated[Standing | None, "The requesting student's own standing."]


def leaderboard(
    *,
    viewer: User,
    organization: Organization,
    course: Course | None,
    timeframe: str,
    limit: int,
    now: datetime,
    days: int | None = None,
) -> Leaderboard:
    """The top `limit` students of a course (or the organisation) by XP in the current day, ISO week, month or all
    time (organisation's calendar); with `days`, over the last `days` days up to today instead (the dashboards'
    timeframe picker; `timeframe` then reads "<days>d"). Ties go to the lower student id, so ranks are stable.
    Students see public handles only, and nothing of a leaderboard over fewer than
    GAMIFICATION_LEADERBOARD_MIN_STUDENTS students."""
    today = local_today(organization, now)
    rows: Any  # XpTotal rows, or per-student sums of day rows; either way with `total`
    if days is None:
        start = period_start(TIMEFRAMES[timeframe], today)
        rows = XpTotal.objects.filter(
            organization=organization, course=course, period=TIMEFRAMES[timeframe], period_start=start, xp__gt=0
        ).annotate(total=F("xp"))
    else:
        # The day rows of the window, summed per student: the same totals the week and month rows hold, any width.
        timeframe, start = f"{days}d", today - timedelta(days=days - 1)
        rows = (
            XpTotal.objects.filter(organization=organization, course=course, period=Period.DAY, period_start__gte=start)
            .values("student_id", "student__public_handle")
            .annotate(total=Sum("xp"))
            .filter(total__gt=0)
        )
    population = _population(organization.pk, course)
    viewer_is_student = is_student(viewer)
    minimum = small_group_minimum(viewer, "GAMIFICATION_LEADERBOARD_MIN_STUDENTS")
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
    answer = withhold_small_group(
        answer,
        contributors=population,
        minimum=minimum,
        fields=(),
        reason=f"Shown to students when at least {minimum} students take part.",
    )
    if answer["hidden"]:
        return answer  # type: ignore[return-value]
    ranked = rows.order_by("-total", "student_id")
    top = list(ranked.values_list("student_id", "total", "student__public_handle")[:limit])
    named = set(visible_students(viewer).filter(pk__in=[row[0] for row in top]).values_list("pk", flat=True))
    names = (
        {}
        if viewer_is_student
        else {
            user.pk: user.display_name
            for user in User.objects.filter(pk__in=named).only("first_name", "last_name", "username")
        }
    )
    for rank, (student_id, xp, handle) in enumerate(top, start=1):
        row: dict[str, Any] = {"rank": rank, "handle": handle, "xp": xp, "is_me": student_id == viewer.pk}
        if student_id in names:
            row["student"] = student_id
            row["name"] = names[student_id]
        answer["rows"].append(row)
    if viewer_is_student:
        answer["me"] = _own_standing(viewer, rows, population)
    return answer  # type: ignore[return-value]


def _own_standing(student: User, rows: Any, population: int) -> Standing:
    """`rows`: one per student with XP in the period, its XP annotated as `total`."""
    # ordered by the student, as first() needs: a window of day rows is a per-student aggregate, unordered
    mine = rows.filter(student=student).order_by("student_id").values_list("total", flat=True).first() or 0
    ahead = rows.filter(Q(total__gt=mine) | Q(total=mine, student_id__lt=student.pk)) if mine else rows
    rank = ahead.count() + 1
    above = ahead.order_by("total", "-student_id").values_list("total", "student_id").first()
    to_pass = None
    if above is not None:
        # Equal XP is a tie, and ties go to the lower id: passing someone with a lower id takes one XP more.
        to_pass = above[0] - mine + (1 if above[1] < student.pk else 0)
    ranked = max(population, rank)
    return {
        "rank": rank,
        "xp": mine,
        "percentile": percentile_rank(ranked - rank, ranked) or 0.0,
        "xp_to_next_rank": to_pass,
    }


def all_time_standing(student: User, course: Course | None = None) -> Standing:
    """The student's all-time rank, percentile and XP to pass the next rank, in a course or the whole school."""
    rows = XpTotal.objects.filter(
        organization=student.organization, course=course, period=Period.ALL, period_start=ALL_TIME, xp__gt=0
    ).annotate(total=F("xp"))
    return _own_standing(student, rows, _population(student.organization_id or 0, course))


class LearningOverview(LearningActivity):
    """A student's last days of learning, and where they stand now."""

    student: int
    as_of: datetime
    days: int
    every_class: Annotated[bool, EVERY_CLASS]
    xp_total: int
    level: int
    current_streak: int
    longest_streak: int
    achievements_earned: Annotated[int | None, "Empty when not every class is counted (every_class false)."]
    achievements_earned_in_period: int | None


def learning_overview(student: User, *, period: DateRange, course_ids: CourseIds = None) -> LearningOverview:
    """Sessions and their length, materials viewed and completed and XP earned over the period; and now: XP, level,
    streak and achievements earned (in all, and in the period). With `course_ids` (a teacher's view), only what
    happened in those classes, and no achievements."""
    today = local_today(student.organization, period.now)
    level = level_progress(total_xp(student, course_ids))
    current = streak(student, today, course_ids)
    earned = StudentAchievement.objects.filter(student=student)
    every_class = course_ids is None
    return {
        "student": student.pk,
        "as_of": period.now,
        "days": period.days,
        "every_class": every_class,
        **learning_activity(student_id=student.pk, period=period, course_ids=course_ids),
        "xp_total": level.xp,
        "level": level.level,
        "current_streak": current.current,
        "longest_streak": current.longest,
        "achievements_earned": earned.count() if every_class else None,
        "achievements_earned_in_period": earned.filter(earned_at__gte=period.start()).count() if every_class else None,
    }


class StudentProgress(TypedDict):
    """Overall progress in a student's classes (or one), XP and the all-time rank."""

    student: int
    as_of: datetime
    course: int | None
    overall_progress_percent: Annotated[float | None, "Items completed out of all in the classes."]
    items_completed: int
    items_total: int
    lessons_completed: int
    lessons_total: int
    xp: Annotated[int, "All-time: in the school, or earned in the classes counted (a teacher's, or the one named)."]
    rank: Annotated[
        Standing | None,
        "All-time, in the school (or the class named); empty for a teacher who names no class (the school's ranking "
        "counts classes they do not teach).",
    ]


def student_progress(
    student: User, *, courses: Any, course: Course | None, now: datetime, course_ids: CourseIds = None
) -> StudentProgress:
    """Overall progress in `courses`; XP over all the student's learning or (`course_ids`) those classes; the
    all-time rank in the class named, or in the school for a viewer who sees all of the student."""
    per_course = course_progress(student_id=student.pk, courses=courses)
    items = sum(row["items_total"] for row in per_course)
    done = sum(row["items_completed"] for row in per_course)
    return {
        "student": student.pk,
        "as_of": now,
        "course": course.pk if course else None,
        "overall_progress_percent": percent(done, items),
        "items_completed": done,
        "items_total": items,
        "lessons_completed": sum(row["lessons_completed"] for row in per_course),
        "lessons_total": sum(row["lessons_total"] for row in per_course),
        "xp": total_xp(student, course_ids),
        "rank": all_time_standing(student, course) if course is not None or course_ids is None else None,
    }

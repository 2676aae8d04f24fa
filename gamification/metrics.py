"""The metrics gamification owns (XP, levels, streaks, achievements, leaderboards, and the student figures that
combine them with analytics'), registered in the catalogue when the app is ready."""

from typing import Any

from core.daterange import DateRange
from core.metrics import Audience, Metric, Scope, Subject, register
from core.params import CALENDAR_PERIODS, CountParam, IdParam, PeriodParam, QuerySerializer
from gamification import selectors
from gamification.selectors import (
    GamificationProgress,
    Leaderboard,
    LearningOverview,
    StudentProgress,
    WeeklyXp,
)

STUDENT_HELP = "Staff: a student they may see. Students: themselves (the default)."


class ProgressQuery(QuerySerializer):
    student = IdParam(help_text=STUDENT_HELP)
    period = PeriodParam(default="30d", days=365, help_text="1d to 365d: the local days ending today (default 30d).")


class WeeklyXpQuery(QuerySerializer):
    student = IdParam(help_text=STUDENT_HELP)


class LeaderboardQuery(QuerySerializer):
    course = IdParam(help_text="A class the requester may see; omit for the whole organisation.")
    period = PeriodParam(
        default="week",
        days=365,
        calendar=CALENDAR_PERIODS,
        help_text="The current day, ISO week or month, all time, or 1d to 365d: the local days ending today "
        "(default week).",
    )
    limit = CountParam(default=10, maximum=100, unit="rows", help_text="1 to 100 rows.")


class StudentProgressQuery(QuerySerializer):
    student = IdParam(help_text=STUDENT_HELP)
    course = IdParam(help_text="Only this class of the student's.")


def leaderboard(scope: Scope, query: dict[str, Any]) -> Leaderboard:
    return selectors.leaderboard(
        viewer=scope.viewer,
        organization=scope.organization,
        course=scope.course,
        timeframe=query["period"].calendar or "",
        days=query["period"].days,
        limit=query["limit"],
        now=scope.now,
    )


def student_progress(scope: Scope, query: dict[str, Any]) -> StudentProgress:
    course = scope.courses.first() if query.get("course") is not None else None
    return selectors.student_progress(
        scope.student, courses=scope.courses, course=course, now=scope.now, course_ids=scope.student_course_ids
    )


def _register() -> None:
    student: dict[str, Any] = {"subject": Subject.STUDENT, "audience": Audience.EVERYONE, "owner": "gamification"}
    for metric in (
        Metric(
            name="gamification-progress",
            path="gamification/progress",
            summary="A student's XP, level, streak and achievements",
            description="XP, level and progress to the next level, streak, achievements (earned with their time, "
            "the others with progress) and XP per day over the period (the last 30 days by default).",
            output=GamificationProgress,
            query=ProgressQuery,
            rows="xp_trend",
            compute=lambda scope, query: selectors.progress(
                scope.student, days=query["period"].days, now=scope.now, course_ids=scope.student_course_ids
            ),
            **student,
        ),
        Metric(
            name="gamification-leaderboard",
            path="gamification/leaderboard",
            summary="Top students by XP",
            description="Top students by XP of a course (or the organisation) over the current day, week, month or "
            "all time. Students see public handles and their own rank, percentile and XP needed to pass the next "
            "rank; teachers see the names of students in their classes; fewer than "
            "GAMIFICATION_LEADERBOARD_MIN_STUDENTS students hides it from students.",
            output=Leaderboard,
            query=LeaderboardQuery,
            subject=Subject.RANKING,
            audience=Audience.EVERYONE,
            owner="gamification",
            rows="rows",
            small_group_setting="GAMIFICATION_LEADERBOARD_MIN_STUDENTS",
            compute=leaderboard,
        ),
        Metric(
            name="analytics-weekly-xp",
            path="analytics/weekly-xp",
            summary="A student's XP of the last 7 days",
            description="XP of the last 7 days (organisation's calendar) with the day of the week, the week's total, "
            "the daily average and the current streak.",
            output=WeeklyXp,
            query=WeeklyXpQuery,
            rows="days",
            compute=lambda scope, query: selectors.weekly_xp(
                scope.student, now=scope.now, course_ids=scope.student_course_ids
            ),
            **student,
        ),
        Metric(
            name="analytics-student-progress",
            path="analytics/student-progress",
            summary="A student's overall progress, XP and rank",
            description="Overall progress (items completed out of all in the student's classes, or one class), "
            "lessons completed out of all, XP and the all-time rank in the school (or the class).",
            output=StudentProgress,
            query=StudentProgressQuery,
            compute=student_progress,
            **student,
        ),
        Metric(
            name="analytics-learning-overview",
            path="analytics/learning/overview",
            summary="A student's last days of learning",
            description="A student's last `days` days: sessions and their length, materials viewed and completed, XP "
            "earned, and now: level, streak and achievements earned.",
            output=LearningOverview,
            query=ProgressQuery,
            compute=lambda scope, query: selectors.learning_overview(
                scope.student,
                period=DateRange.last_days(query["period"].days, now=scope.now, zone=scope.zone),
                course_ids=scope.student_course_ids,
            ),
            **student,
        ),
    ):
        register(metric)


register_metrics = _register

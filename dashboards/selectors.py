"""The three levels of dashboard, each composed from the catalogue's selectors (analytics.selectors and
gamification.selectors; this app depends on both), so the API (the micro, meso and macro metrics, dashboards.metrics)
and the pages (views.py) show the same numbers:

- micro: one student: progress per class, with the class's average and the student's percentile where allowed;
  learning activity, heatmap, XP, level, streak, achievements, recent activity;
- meso: one class: the course analytics (engagement trend, assignment timeliness, score distribution), the
  progress distribution, completion rate and engagement score, a students table (activity in the period,
  progress, last active day) and the week's leaderboard;
- macro: a set of classes (an organisation, or a teacher's classes): headline figures with the enrolments'
  progress, the engagement trend, a cross-course comparison, the latest completions; system metrics for
  administrators (of their school; every school's for platform operators).

Who may see which student or class is settled by the caller through classroom.selectors; no query lives here.
"""

from datetime import date, datetime
from typing import Annotated, Any

from accounts.models import User
from accounts.permissions import small_group_minimum
from analytics import selectors
from analytics.selectors.classes import ClassStudent, CourseAnalytics
from analytics.selectors.engagement import EngagementPoint
from analytics.selectors.progress import CourseProgress, ProgressBand
from analytics.selectors.school import Completion, CourseComparison, SchoolOverview
from analytics.selectors.students import ActivityEntry, HeatmapDay, LearningActivity, PeerComparison
from analytics.selectors.system import SystemMetrics
from classroom.models import Course
from core.daterange import DateRange
from core.figures import percent
from gamification import selectors as gamification
from gamification.levels import level_progress
from gamification.selectors import AchievementRow, Leaderboard, LevelAndStreak


class MicroCourse(CourseProgress):
    peers: PeerComparison


class Micro(LevelAndStreak):
    """Everything a student's progress page shows."""

    student: int
    name: str
    as_of: datetime
    first_day: date
    last_day: date
    days: int
    overall_progress_percent: Annotated[float | None, "Items completed out of all in the classes."]
    items_completed: int
    items_total: int
    courses: list[MicroCourse]
    activity: LearningActivity
    heatmap: list[HeatmapDay]
    achievements: list[AchievementRow]
    recent_activity: list[ActivityEntry]


def micro(*, student: User, courses: Any, period: DateRange, viewer: User) -> Micro:
    """One student: everything their progress page shows."""
    # Read once and shared with the progress and achievement figures below, which would each read them again.
    completed_items = selectors.completed_item_ids(student.pk)
    per_course: list[Any] = selectors.course_progress(
        student_id=student.pk, courses=courses, completed_items=completed_items
    )
    classes = selectors.class_completions([row["course"] for row in per_course])
    minimum = small_group_minimum(viewer, "ANALYTICS_PEER_MIN_STUDENTS")
    for row in per_course:
        row["peers"] = selectors.peer_comparison(
            student_id=student.pk, completions=classes[row["course"]], minimum=minimum
        )
    items = sum(row["items_total"] for row in per_course)
    done = sum(row["items_completed"] for row in per_course)
    today = gamification.local_today(student.organization, period.now)
    xp = gamification.total_xp(student)
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
        **gamification.level_and_streak(level_progress(xp), streak),
        "achievements": gamification.achievements_for(
            student, today, xp=xp, longest_streak=streak.longest, completed_items=completed_items
        ),
        "recent_activity": selectors.recent_activity(student_id=student.pk, now=period.now),
    }


class Meso(CourseAnalytics):
    """Everything a teacher's class dashboard shows."""

    code: str
    title: str
    days: int
    average_progress_percent: Annotated[float | None, "Items completed out of all, averaged over the students."]
    completion_rate: Annotated[float | None, "Students with every item completed, out of all, in percent."]
    engagement_score: Annotated[
        float | None, "0-10: the mean share of the period's days on which a student was active in the class."
    ]
    progress_distribution: list[ProgressBand]
    students: list[ClassStudent]
    leaderboard: Leaderboard


def meso(*, course: Course, period: DateRange, viewer: User) -> Meso:
    """One class: everything the teacher's class dashboard shows."""
    completions = selectors.class_completions([course.pk])[course.pk]
    progress = selectors.progress_of(completions)
    students = selectors.class_students(course=course, period=period, progress=progress)
    return {
        **selectors.course_analytics(course=course, period=period),
        "code": course.code,
        "title": course.title,
        "days": period.days,
        "average_progress_percent": selectors.average_progress(completions.values()),
        "completion_rate": selectors.completion_rate(completions.values()),
        "engagement_score": selectors.class_engagement_score(students, period.days),
        "progress_distribution": selectors.progress_distribution(progress),
        "students": students,
        "leaderboard": gamification.leaderboard(
            viewer=viewer, organization=course.organization, course=course, timeframe="week", limit=10, now=period.now
        ),
    }


class Macro(SchoolOverview):
    """A set of classes side by side, with the school's (or the teacher's) headline figures."""

    days: int
    engagement: list[EngagementPoint]
    growth_percent: float | None
    courses: list[CourseComparison]
    recent_activities: Annotated[list[Completion], "The latest completions of the last 7 days."]
    system: Annotated[SystemMetrics | None, "The last 24 hours' system metrics (administrators)."]


def macro(*, courses: Any, period: DateRange, include_system: bool, organization_id: int | None = None) -> Macro:
    """A set of classes (the organisation for administrators): headline figures, trend, comparison, the latest
    completions, and, with `include_system`, the system metrics of `organization_id` (None: every organisation,
    for platform operators)."""
    comparison = selectors.course_comparison(courses=courses, period=period)
    course_ids = [row["course"] for row in comparison]
    trend = selectors.engagement_trend(course_ids=course_ids, period=period)
    recent: list[Any] = selectors.recent_completions(course_ids=course_ids, now=period.now)
    return {
        **selectors.school_overview(course_ids=course_ids, period=period),
        "days": period.days,
        "engagement": trend,
        "growth_percent": selectors.growth_percent(trend, "events"),
        "courses": comparison,
        "recent_activities": recent,
        "system": (
            selectors.system_metrics(hours=24, now=period.now, organization_id=organization_id)
            if include_system
            else None
        ),
    }

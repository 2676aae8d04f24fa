"""The three levels of dashboard, each composed from the catalogue's selectors (analytics.selectors and
gamification.selectors; this app depends on both), so the API (the micro, meso and macro metrics, dashboards.metrics)
and the pages (views.py) show the same numbers:

- micro: one student: progress per class, with the class's average and the student's percentile where allowed;
  learning activity, heatmap, XP, level, streak, achievements, recent activity;
- meso: one class: the course analytics (engagement trend, assignment timeliness, score distribution), the
  progress distribution, completion rate and engagement score, the assignments per item with who handed them in,
  a students table (activity in the period, progress, last active day, on-time / late / missing counts, score
  average; narrowed by a status), the most and least viewed items and the leaderboard of the period;
- macro: a set of classes (an organisation, or a teacher's classes): headline figures with the enrolments'
  progress, the engagement trend, a cross-course comparison, the latest completions; system metrics for
  administrators (of their school; every school's for platform operators).

Who may see which student or class is settled by the caller through classroom.selectors; no query lives here.
"""

from datetime import date, datetime
from typing import Annotated, Any, TypedDict

from accounts.models import User
from accounts.permissions import small_group_minimum
from analytics import selectors
from analytics.selectors.assignments import AssignmentRow, FilterChoices
from analytics.selectors.classes import ClassStudent, CourseAnalytics
from analytics.selectors.coursework import Coursework
from analytics.selectors.engagement import EngagementPoint
from analytics.selectors.progress import CourseProgress, ProgressBand
from analytics.selectors.school import Completion, CourseComparison, SchoolOverview, ViewedItem
from analytics.selectors.students import ActivityEntry, HeatmapDay, LearningActivity, PeerComparison
from analytics.selectors.system import SystemMetrics
from classroom.models import Course
from core.daterange import DateRange
from core.figures import percent
from gamification import selectors as gamification
from gamification.levels import level_progress
from gamification.selectors import EVERY_CLASS, AchievementRow, Leaderboard, LevelAndStreak


class MicroCourse(CourseProgress):
    peers: PeerComparison


class ClassLeaderboard(Leaderboard):
    """The leaderboard of one of the student's classes over the page's period (gamification.selectors.leaderboard)."""

    code: str
    title: str


class Micro(LevelAndStreak):
    """Everything a student's progress page shows. For a teacher, every figure counts only the classes they teach
    (every_class false): events, minutes, XP, level, streak, heatmap and recent activity; achievements, earned
    across every class, are left out."""

    student: int
    name: str
    as_of: datetime
    first_day: date
    last_day: date
    days: int
    every_class: Annotated[bool, EVERY_CLASS]
    overall_progress_percent: Annotated[float | None, "Items completed out of all in the classes."]
    items_completed: int
    items_total: int
    courses: list[MicroCourse]
    activity: LearningActivity
    heatmap: list[HeatmapDay]
    achievements: list[AchievementRow]
    recent_activity: Annotated[list[ActivityEntry], "The latest events (of 90 days), each with its class."]
    coursework: Annotated[Coursework, "Due soon, overdue, and grades with the class average (analytics-coursework)."]
    leaderboards: Annotated[
        list[ClassLeaderboard],
        "This week's leaderboard of each class (public handles for students; withheld from students below "
        "GAMIFICATION_LEADERBOARD_MIN_STUDENTS).",
    ]


def micro(*, student: User, courses: Any, period: DateRange, viewer: User, course_ids: Any = None) -> Micro:
    """One student: everything their progress page shows, over `courses` (the student's classes the viewer may
    see). `course_ids` (classroom's Scope.student_course_ids) are the classes whose learning counts: None for a
    viewer who sees all of the student (the student, their school's administrators), else a teacher's own classes;
    the same argument as every other metric about the student, so the API and the page agree."""
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
    xp = gamification.total_xp(student, course_ids)
    streak = gamification.streak(student, today, course_ids)
    every_class = course_ids is None
    return {
        "student": student.pk,
        "name": student.display_name,
        "as_of": period.now,
        "first_day": period.first,
        "last_day": period.last,
        "days": period.days,
        "every_class": every_class,
        "overall_progress_percent": percent(done, items),
        "items_completed": done,
        "items_total": items,
        "courses": per_course,
        "activity": selectors.learning_activity(student_id=student.pk, period=period, course_ids=course_ids),
        "heatmap": selectors.learning_heatmap(student_id=student.pk, period=period, course_ids=course_ids),
        **gamification.level_and_streak(level_progress(xp), streak),
        "achievements": (
            gamification.achievements_for(
                student, today, xp=xp, longest_streak=streak.longest, completed_items=completed_items
            )
            if every_class
            else []
        ),
        "recent_activity": selectors.recent_activity(student_id=student.pk, now=period.now, course_ids=course_ids),
        "coursework": selectors.student_coursework(
            student_id=student.pk, courses=courses, now=period.now, peer_minimum=minimum
        ),
        "leaderboards": [
            {
                **gamification.leaderboard(
                    viewer=viewer,
                    organization=course.organization,
                    course=course,
                    timeframe="",
                    days=period.days,  # the page's period, as every other figure on it
                    limit=10,
                    now=period.now,
                ),
                "code": course.code,
                "title": course.title,
            }
            for course in courses.select_related("organization").order_by("code")
        ],
    }


class MesoFilters(TypedDict):
    """The filters the answer was computed with."""

    module: int | None
    item: int | None
    status: Annotated[str | None, "active, inactive, missing, late, on_time or excused; none: every student."]
    inactive_days: int


class Meso(CourseAnalytics):
    """Everything a teacher's class dashboard shows."""

    code: str
    title: str
    days: int
    filters: MesoFilters
    filter_choices: Annotated[FilterChoices, "The modules and graded items the filters may name."]
    average_progress_percent: Annotated[float | None, "Items completed out of all, averaged over the students."]
    completion_rate: Annotated[float | None, "Students with every item completed, out of all, in percent."]
    engagement_score: Annotated[
        float | None, "0-10: the mean share of the period's days on which a student was active in the class."
    ]
    progress_distribution: list[ProgressBand]
    assignments: Annotated[list[AssignmentRow], "Per assignment and quiz counted: who handed in on time, late, ..."]
    students: Annotated[list[ClassStudent], "The students the status filter keeps (every one without it)."]
    most_viewed: list[ViewedItem]
    least_viewed: Annotated[list[ViewedItem], "Every item of the class counts, unviewed ones (0 views) first."]
    leaderboard: Leaderboard


def meso(
    *,
    course: Course,
    period: DateRange,
    viewer: User,
    module: int | None = None,
    item: int | None = None,
    status: str | None = None,
    inactive_days: int = 7,
) -> Meso:
    """One class: everything the teacher's class dashboard shows. `module` / `item` narrow the graded work counted
    (timeliness, per-item rows, the students' counts); `status` narrows the students table (the class's figures,
    engagement score included, stay over every student)."""
    completions = selectors.class_completions([course.pk])[course.pk]
    progress = selectors.progress_of(completions)
    assignments = selectors.class_assignments(course=course, period=period, module=module, item=item)
    students = selectors.class_students(course=course, period=period, progress=progress, work=assignments.by_student)
    views = selectors.class_item_views(course=course, period=period)
    return {
        **selectors.course_analytics(course=course, period=period, assignments=assignments),
        "code": course.code,
        "title": course.title,
        "days": period.days,
        "filters": {"module": module, "item": item, "status": status, "inactive_days": inactive_days},
        "filter_choices": selectors.filter_choices(course=course),
        "average_progress_percent": selectors.average_progress(completions.values()),
        "completion_rate": selectors.completion_rate(completions.values()),
        "engagement_score": selectors.class_engagement_score(students, period.days),
        "progress_distribution": selectors.progress_distribution(progress),
        "assignments": assignments.items,
        "students": selectors.students_with_status(
            students, status=status, today=period.last, inactive_days=inactive_days
        ),
        "most_viewed": views["most_viewed"],
        "least_viewed": views["least_viewed"],
        # the page's timeframe, as every other figure on it (the API's own leaderboard keeps its calendar periods)
        "leaderboard": gamification.leaderboard(
            viewer=viewer,
            organization=course.organization,
            course=course,
            timeframe="week",
            limit=10,
            now=period.now,
            days=period.days,
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

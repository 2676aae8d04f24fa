"""One class: its analytics over a period, assignment timeliness, scores, and its students' activity and progress."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, TypedDict

from django.db.models import Count, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from analytics.models import StudentDailyRollup, StudentItemDay
from analytics.selectors.assignments import ClassAssignments, StudentWork, class_assignments, no_work
from analytics.selectors.engagement import EngagementPoint, engagement_trend
from analytics.selectors.progress import SCORE_BANDS
from analytics.selectors.school import ViewedItem, most_viewed, summary
from classroom.models import Course, Enrollment, LearningItem, Submission
from core.daterange import DateRange
from core.figures import engagement_rate, engagement_score, minutes


class AssignmentTimeliness(TypedDict):
    """Assignments and quizzes due in the period (and already due), for every actively enrolled student, by the
    latest attempt. Work due before a student enrolled counts only if they handed it in."""

    on_time: int
    late: int
    missing: Annotated[int, "No submission, or one marked missing (never work due before the student enrolled)."]
    excused: int
    expected: Annotated[int, "Items due times the students each is expected of."]


def assignment_timeliness(
    *, course: Course, period: DateRange, module: int | None = None, item: int | None = None
) -> AssignmentTimeliness:
    """For every assignment and quiz of the course due in the range and already due at `now` (narrowed to one module,
    or the one item named), and every student actively enrolled: on time, late, missing (no submission, or marked
    missing) or excused, by the latest attempt; work due before a student enrolled is not missing for them
    (analytics.selectors.assignments.counted_state)."""
    assignments = class_assignments(course=course, period=period, module=module, item=item)
    return assignments.totals  # type: ignore[return-value]


class ScoreBand(TypedDict):
    from_percent: int
    to_percent: int
    submissions: int


def score_distribution(*, course: Course, period: DateRange) -> list[ScoreBand]:
    """Scored submissions handed in during the range, by percentage band of 10."""
    percents = [
        Decimal(100) * score / maximum
        for score, maximum in Submission.objects.filter(
            item__module__course=course,
            score__isnull=False,
            max_points__gt=0,
            submitted_at__gte=period.start(),
            submitted_at__lt=period.end(),
        ).values_list("score", "max_points")
        if score is not None and maximum  # both guaranteed by the filter; said again for the type checker
    ]
    bands: list[ScoreBand] = []
    for low, high in SCORE_BANDS:
        inside = [p for p in percents if low <= p < high or (high == 100 and p == 100)]
        bands.append({"from_percent": low, "to_percent": high, "submissions": len(inside)})
    return bands


class CourseAnalytics(TypedDict):
    """One class over a period."""

    course: int
    first_day: date
    last_day: date
    as_of: datetime
    students_enrolled: Annotated[int, "Actively enrolled students."]
    active_students: Annotated[int, "Students with an event in the class in the period."]
    engagement_rate: Annotated[float | None, "Active students per 100 enrolled."]
    events: int
    items_completed: int
    xp: int
    average_score_percent: float | None
    engagement: list[EngagementPoint]
    assignment_timeliness: AssignmentTimeliness
    score_distribution: list[ScoreBand]


def course_analytics(
    *,
    course: Course,
    period: DateRange,
    module: int | None = None,
    item: int | None = None,
    assignments: ClassAssignments | None = None,
) -> CourseAnalytics:
    """One class over a period: the summary figures, enrolment and engagement rate, the daily engagement trend,
    assignment timeliness (of one module's or one item's work, when named; from `assignments` when the caller has
    counted them already) and the score distribution."""
    if assignments is None:
        assignments = class_assignments(course=course, period=period, module=module, item=item)
    totals = summary(course_ids=[course.pk], period=period)
    enrolled = Enrollment.objects.active_students().filter(course=course).count()
    active = totals["active_students"]
    return {
        "course": course.pk,
        "first_day": period.first,
        "last_day": period.last,
        "as_of": period.now,
        "students_enrolled": enrolled,
        "active_students": active,
        "engagement_rate": engagement_rate(active, enrolled),
        "events": totals["events"],
        "items_completed": totals["items_completed"],
        "xp": totals["xp_total"],
        "average_score_percent": totals["average_score_percent"],
        "engagement": engagement_trend(course_ids=[course.pk], period=period),
        "assignment_timeliness": assignments.totals,  # type: ignore[typeddict-item]
        "score_distribution": score_distribution(course=course, period=period),
    }


class ClassStudent(StudentWork):
    """One actively enrolled student of a class, with their graded work among the items counted (on time, late,
    missing, excused, score average: analytics.selectors.assignments)."""

    student: int
    name: str
    events: Annotated[int, "Events in the class in the period."]
    active_minutes: float
    active_days: Annotated[int, "Days of the period with activity in the class."]
    progress_percent: Annotated[float, "Items of the class completed, out of all."]
    last_active: Annotated[date | None, "The last local day with activity in this class, ever."]


def class_students(
    *,
    course: Course,
    period: DateRange,
    progress: dict[int, float],
    work: dict[int, StudentWork] | None = None,
) -> list[ClassStudent]:
    """The class's actively enrolled students: activity in the period, progress, the last local day with any
    activity in this class (ever), and their graded work (`work`, from class_assignments; counted here when not
    given), ordered by name."""
    if work is None:
        work = class_assignments(course=course, period=period).by_student
    in_period = {
        row["student_id"]: row
        for row in StudentDailyRollup.objects.filter(course=course, day__range=(period.first, period.last))
        .values("student_id")
        .annotate(events=Sum("events"), active_seconds=Sum("active_seconds"), days=Count("day"))
    }
    # One probe per student down the (student, course, day) unique index: no scan of the class's whole history.
    last_day = StudentDailyRollup.objects.filter(student_id=OuterRef("user_id"), course=course).order_by("-day")
    rows: list[ClassStudent] = []
    for student_id, first_name, last_name, username, last_active in (
        Enrollment.objects.active_students()
        .filter(course=course)
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
                "active_minutes": minutes(activity.get("active_seconds")),
                "active_days": activity.get("days") or 0,
                "progress_percent": progress.get(student_id, 0.0),
                "last_active": last_active,
                **work.get(student_id, no_work()),
            }
        )
    return rows


# The students table's status filter: active in the period; not seen for N days; with work in one state.
STUDENT_STATUSES = ("active", "inactive", "missing", "late", "on_time", "excused")


def students_with_status(
    rows: list[ClassStudent], *, status: str | None, today: date, inactive_days: int
) -> list[ClassStudent]:
    """The rows of class_students a status names: `active`, any event in the period; `inactive`, no activity on the
    last `inactive_days` local days (today included; never active counts too); `missing`, `late`, `on_time` or
    `excused`, at least one item counted in that state. None: every row."""
    if status is None:
        return rows
    if status == "active":
        return [row for row in rows if row["events"] > 0]
    if status == "inactive":
        since = today - timedelta(days=inactive_days - 1)
        return [row for row in rows if row["last_active"] is None or row["last_active"] < since]
    return [row for row in rows if row[status] > 0]  # type: ignore[literal-required]


def class_engagement_score(students: list[ClassStudent], days: int) -> float | None:
    """analytics.selectors.enrolments.enrolment_figures' engagement score for one class, from its students table."""
    return engagement_score(sum(row["active_days"] for row in students), len(students), days)


class ItemViews(TypedDict):
    """The class's items viewed most and least in the period (distinct learners per day, summed)."""

    most_viewed: Annotated[list[ViewedItem], "As analytics/trends/content?course= lists them."]
    least_viewed: Annotated[list[ViewedItem], "Every item of the class counts, unviewed ones (0) first."]


def class_item_views(*, course: Course, period: DateRange, limit: int = 5) -> ItemViews:
    """The `limit` items of one class viewed most (analytics.selectors.school.most_viewed, the content trends'
    definition) and least in the period: the least viewed are chosen among all the class's items, so an item no
    one opened leads that list; ties go to the item listed first in the course."""
    viewed = StudentItemDay.objects.filter(
        item_id=OuterRef("pk"),
        course_id=course.pk,
        day__range=(period.first, period.last),
        kind=StudentItemDay.Kind.VIEWED,
    )
    least = (
        LearningItem.objects.filter(module__course=course)
        .annotate(
            views=Coalesce(Subquery(viewed.values("item_id").annotate(n=Count("id")).values("n")[:1]), 0),
            learners=Coalesce(
                Subquery(viewed.values("item_id").annotate(n=Count("student_id", distinct=True)).values("n")[:1]), 0
            ),
        )
        .order_by("views", "module__position", "position", "id")
        .values("id", "title", "views", "learners")[:limit]
    )
    return {
        "most_viewed": most_viewed(ids=[course.pk], period=period, limit=limit),
        "least_viewed": [
            {"item": row["id"], "title": row["title"], "views": row["views"], "learners": row["learners"]}
            for row in least
        ],
    }

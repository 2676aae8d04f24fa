"""One class: its analytics over a period, assignment timeliness, scores, and its students' activity and progress."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, TypedDict

from django.db.models import Count, OuterRef, Subquery, Sum

from analytics.models import StudentDailyRollup
from analytics.selectors.engagement import EngagementPoint, engagement_trend
from analytics.selectors.progress import SCORE_BANDS
from analytics.selectors.school import summary
from classroom.models import Course, Enrollment, LearningItem, Submission
from core.daterange import DateRange
from core.figures import engagement_rate, engagement_score, minutes


class AssignmentTimeliness(TypedDict):
    """Assignments and quizzes due in the period (and already due), for every actively enrolled student, by the
    latest attempt."""

    on_time: int
    late: int
    missing: Annotated[int, "No submission, or one marked missing."]
    excused: int
    expected: Annotated[int, "Items due times students."]


def assignment_timeliness(*, course: Course, period: DateRange) -> AssignmentTimeliness:
    """For every assignment and quiz of the course due in the range and already due at `now`, and every student
    actively enrolled: on time, late, missing (no submission, or marked missing) or excused, by the latest attempt."""
    due = list(
        LearningItem.objects.filter(
            module__course=course,
            kind__in=[LearningItem.Kind.ASSIGNMENT, LearningItem.Kind.QUIZ],
            due_at__gte=period.start(),
            due_at__lt=min(period.end(), period.now),
        ).values_list("id", flat=True)
    )
    students = list(Enrollment.objects.active_students().filter(course=course).values_list("user_id", flat=True))
    latest: dict[tuple[int, int], str] = {}
    for item_id, student_id, state in (
        Submission.objects.filter(item_id__in=due, student_id__in=students)
        .order_by("item_id", "student_id", "attempt")
        .values_list("item_id", "student_id", "state")
    ):
        latest[(item_id, student_id)] = state  # the last attempt wins
    counts = {"on_time": 0, "late": 0, "missing": 0, "excused": 0}
    for item_id in due:
        for student_id in students:
            counts[latest.get((item_id, student_id), Submission.State.MISSING)] += 1
    return {**counts, "expected": len(due) * len(students)}  # type: ignore[typeddict-item]


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


def course_analytics(*, course: Course, period: DateRange) -> CourseAnalytics:
    """One class over a period: the summary figures, enrolment and engagement rate, the daily engagement trend,
    assignment timeliness and the score distribution."""
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
        "assignment_timeliness": assignment_timeliness(course=course, period=period),
        "score_distribution": score_distribution(course=course, period=period),
    }


class ClassStudent(TypedDict):
    """One actively enrolled student of a class."""

    student: int
    name: str
    events: Annotated[int, "Events in the class in the period."]
    active_minutes: float
    active_days: Annotated[int, "Days of the period with activity in the class."]
    progress_percent: Annotated[float, "Items of the class completed, out of all."]
    last_active: Annotated[date | None, "The last local day with activity in this class, ever."]


def class_students(*, course: Course, period: DateRange, progress: dict[int, float]) -> list[ClassStudent]:
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
            }
        )
    return rows


def class_engagement_score(students: list[ClassStudent], days: int) -> float | None:
    """analytics.selectors.enrolments.enrolment_figures' engagement score for one class, from its students table."""
    return engagement_score(sum(row["active_days"] for row in students), len(students), days)

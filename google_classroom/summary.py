"""Reads of a synced class for its teacher: its analytics over the last days (what the Integrations API answers
for a Google course) and the class summary posted back to Classroom. Every figure comes from analytics' selectors
over the class's EduPath course, with the definitions the metric catalogue serves for one class
(`analytics/courses/{course}/analytics`), so the numbers here are the class dashboard's.

The class summary goes to a Google Classroom stream that students read: it holds counts only, never a student's
name, handle or e-mail."""

from datetime import date, datetime
from typing import Annotated, TypedDict

from analytics import selectors as analytics
from classroom.models import Course, LearningItem, Submission
from classroom.selectors import course_zone
from core.daterange import DateRange
from core.figures import percent
from google_classroom.models import PostedSummary, SyncedCourse

# The class summary covers one school week: recent enough to act on, long enough to say something.
SUMMARY_DAYS = 7


class Activity(TypedDict):
    events: Annotated[int, "Learning events in the class in the period."]
    submissions_received: Annotated[int, "Submissions handed in during the period."]
    items_created: Annotated[int, "Learning items of the class created in the period (synced or written here)."]
    announcements_posted: Annotated[int, "Class summaries posted to Classroom in the period."]


class Engagement(TypedDict):
    active_students: Annotated[int, "Students with an event in the class in the period."]
    total_students: Annotated[int, "Actively enrolled students."]
    engagement_rate: Annotated[float | None, "Active students per 100 enrolled."]


class AssignmentCompletion(TypedDict):
    """Assignments and quizzes due in the period (and already due), for every actively enrolled student, by the
    latest attempt (analytics' assignment timeliness)."""

    expected: Annotated[int, "Items due times the students each is expected of."]
    on_time: int
    late: int
    missing: int
    excused: int
    on_time_percent: Annotated[float | None, "Out of expected; empty when nothing was due."]
    late_percent: float | None
    missing_percent: float | None


class StudentRow(TypedDict):
    student: int
    name: str
    events: Annotated[int, "Events in the class in the period."]
    active_days: Annotated[int, "Days of the period with activity in the class."]
    on_time: int
    late: int
    missing: int
    average_score_percent: Annotated[float | None, "The mean score of their latest scored attempts, in percent."]


class ClassAnalytics(TypedDict):
    course_id: Annotated[str, "The Google Classroom course id."]
    course: Annotated[int, "The EduPath class it is synced into."]
    period: Annotated[str, "The period counted: 7d, 30d or 90d (local days of the class ending today)."]
    first_day: Annotated[date, "The first day counted."]
    last_day: Annotated[date, "The last day counted (today, in the class's time zone)."]
    as_of: datetime
    activity: Activity
    engagement: Engagement
    assignment_completion: AssignmentCompletion
    average_grade_percent: Annotated[float | None, "The mean score of the period's scored events, in percent."]
    students: Annotated[list[StudentRow], "Every actively enrolled student, by name."]


class SummaryFigures(TypedDict):
    days: Annotated[int, "The days counted (the last 7, today included)."]
    students: Annotated[int, "Actively enrolled students."]
    active_students: Annotated[int, "Students with an event in the class in those days."]
    expected: Annotated[int, "Assignments due in those days, times the students each is expected of."]
    on_time: int
    late: int
    missing: int
    average_grade_percent: Annotated[float | None, "The mean score of those days' scored events, in percent."]


class ClassSummary(TypedDict):
    text: Annotated[str, "What would be posted: counts only, no student's name."]
    figures: SummaryFigures


def _period(course: Course, *, days: int, now: datetime) -> DateRange:
    return DateRange.last_days(days, now=now, zone=course_zone(course))


def class_analytics(*, synced: SyncedCourse, course: Course, days: int, now: datetime) -> ClassAnalytics:
    """The synced class `course` over its last `days` local days: the class's analytics (course_analytics), what
    happened in it, and each actively enrolled student's activity and graded work (class_students)."""
    period = _period(course, days=days, now=now)
    assignments = analytics.class_assignments(course=course, period=period)
    figures = analytics.course_analytics(course=course, period=period, assignments=assignments)
    progress = analytics.progress_of(analytics.class_completions([course.pk])[course.pk])
    students = analytics.class_students(course=course, period=period, progress=progress, work=assignments.by_student)
    timeliness = figures["assignment_timeliness"]
    expected = timeliness["expected"]
    start, end = period.start(), period.end()
    return {
        "course_id": synced.google_course_id,
        "course": course.pk,
        "period": f"{days}d",
        "first_day": period.first,
        "last_day": period.last,
        "as_of": period.now,
        "activity": {
            "events": figures["events"],
            "submissions_received": Submission.objects.filter(
                item__module__course=course, submitted_at__gte=start, submitted_at__lt=end
            ).count(),
            "items_created": LearningItem.objects.filter(
                module__course=course, created_at__gte=start, created_at__lt=end
            ).count(),
            "announcements_posted": PostedSummary.objects.filter(
                synced_course__course=course, posted_at__gte=start, posted_at__lt=end
            ).count(),
        },
        "engagement": {
            "active_students": figures["active_students"],
            "total_students": figures["students_enrolled"],
            "engagement_rate": figures["engagement_rate"],
        },
        "assignment_completion": {
            "expected": expected,
            "on_time": timeliness["on_time"],
            "late": timeliness["late"],
            "missing": timeliness["missing"],
            "excused": timeliness["excused"],
            "on_time_percent": percent(timeliness["on_time"], expected),
            "late_percent": percent(timeliness["late"], expected),
            "missing_percent": percent(timeliness["missing"], expected),
        },
        "average_grade_percent": figures["average_score_percent"],
        "students": [
            {
                "student": row["student"],
                "name": row["name"],
                "events": row["events"],
                "active_days": row["active_days"],
                "on_time": row["on_time"],
                "late": row["late"],
                "missing": row["missing"],
                "average_score_percent": row["score_average_percent"],
            }
            for row in students
        ],
    }


def class_summary(*, course: Course, now: datetime) -> ClassSummary:
    """The class summary of the last SUMMARY_DAYS days, as posted to Classroom: counts only. Built from the same
    figures as class_analytics, never from anything naming a student."""
    period = _period(course, days=SUMMARY_DAYS, now=now)
    figures = analytics.course_analytics(course=course, period=period)
    timeliness = figures["assignment_timeliness"]
    summary: SummaryFigures = {
        "days": SUMMARY_DAYS,
        "students": figures["students_enrolled"],
        "active_students": figures["active_students"],
        "expected": timeliness["expected"],
        "on_time": timeliness["on_time"],
        "late": timeliness["late"],
        "missing": timeliness["missing"],
        "average_grade_percent": figures["average_score_percent"],
    }
    return {"text": summary_text(summary, first_day=period.first.isoformat()), "figures": summary}


def summary_text(figures: SummaryFigures, *, first_day: str) -> str:
    lines = [
        f"Class summary for the last {figures['days']} days (since {first_day}), from EduPath:",
        f"- {figures['active_students']} of {figures['students']} students were active.",
    ]
    if figures["expected"]:
        lines.append(
            f"- Work due: {figures['on_time']} handed in on time, {figures['late']} late, "
            f"{figures['missing']} missing (of {figures['expected']} expected)."
        )
    else:
        lines.append("- No work was due.")
    grade = figures["average_grade_percent"]
    lines.append(f"- Average grade: {grade:.0f}%." if grade is not None else "- No graded work yet.")
    return "\n".join(lines)

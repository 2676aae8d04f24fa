"""The progress and regularity of a set of classes' enrolments: how far the actively enrolled students have got
(average progress, completion rate) and how regularly they learn (engagement score), per class and overall.

Two implementations of one metric (analytics-enrolment-figures): `enrolment_figures`, composed from the progress
selectors (the reference, several small queries), and `enrolment_figures_fast`, one statement for the headline
reads that cannot afford more queries (overview, dashboard, engagement metrics, content trends). This module is
declared a hot path (docs/architecture.md): its statement reads classroom's tables; tests/test_metric_parity.py
holds the two equal over a matrix of schools.
"""

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from fractions import Fraction
from typing import Annotated, Any, TypedDict

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, QuerySet
from psycopg import sql

from analytics.models import StudentDailyRollup
from analytics.selectors.progress import average_progress, class_completions, completion_rate
from classroom.models import Course
from core.daterange import DateRange
from core.figures import engagement_score, percent

CourseIds = Iterable[int] | QuerySet[Any]


class ClassEnrolmentFigures(TypedDict):
    """One class's enrolments."""

    course: int
    code: str
    title: str
    students_enrolled: Annotated[int, "Actively enrolled students."]
    items: Annotated[int, "Learning items of the class."]
    average_progress_percent: Annotated[float | None, "Items completed out of all, averaged over the students."]
    completion_rate: Annotated[float | None, "Students with every item completed, out of all, in percent."]
    engagement_score: Annotated[
        float | None, "0-10: the mean share of the period's days on which a student was active in the class."
    ]


class EnrolmentFigures(TypedDict):
    """The progress and regularity of the active student enrolments of a set of classes."""

    as_of: datetime
    first_day: date
    last_day: date
    students_total: Annotated[int, "Distinct actively enrolled students."]
    enrolments: int
    average_progress_percent: Annotated[
        float | None, "Items completed out of all, averaged over enrolments in classes with items."
    ]
    completion_rate: Annotated[float | None, "Enrolments with every item of their class completed, out of all."]
    engagement_score: Annotated[
        float | None, "0-10: the mean over enrolments of the share of the period's days with activity in that class."
    ]
    courses: list[ClassEnrolmentFigures]


def _figures(period: DateRange, rows: list[dict[str, Any]], students: int) -> EnrolmentFigures:
    """The answer from per-class rows holding `completions` [(done, items)] and `active_days`."""
    courses: list[ClassEnrolmentFigures] = []
    completions: list[tuple[int, int]] = []
    active_days = 0
    for row in rows:
        completions += row["completions"]
        active_days += row["active_days"]
        courses.append(
            {
                "course": row["course"],
                "code": row["code"],
                "title": row["title"],
                "students_enrolled": len(row["completions"]),
                "items": row["items"],
                "average_progress_percent": average_progress(row["completions"]),
                "completion_rate": completion_rate(row["completions"]),
                "engagement_score": engagement_score(row["active_days"], len(row["completions"]), period.days),
            }
        )
    return {
        "as_of": period.now,
        "first_day": period.first,
        "last_day": period.last,
        "students_total": students,
        "enrolments": len(completions),
        "average_progress_percent": average_progress(completions),
        "completion_rate": completion_rate(completions),
        "engagement_score": engagement_score(active_days, len(completions), period.days),
        "courses": courses,
    }


def enrolment_figures(*, course_ids: CourseIds, period: DateRange) -> EnrolmentFigures:
    """The reference implementation, from the progress selectors and the student-day rollups."""
    courses = list(Course.objects.filter(pk__in=course_ids).order_by("code").values_list("pk", "code", "title"))
    ids = [pk for pk, _, _ in courses]
    completions = class_completions(ids)
    days = {
        (course_id, student_id): n
        for course_id, student_id, n in StudentDailyRollup.objects.filter(
            course_id__in=ids, day__range=(period.first, period.last)
        )
        .values("course_id", "student_id")
        .annotate(n=Count("day"))
        .values_list("course_id", "student_id", "n")
    }
    items = {pk: next(iter(students.values()))[1] for pk, students in completions.items() if students}
    items.update(
        Course.objects.filter(pk__in=[pk for pk in ids if pk not in items])
        .annotate(n=Count("modules__items"))
        .values_list("pk", "n")
    )
    rows = [
        {
            "course": pk,
            "code": code,
            "title": title,
            "items": items.get(pk, 0),
            "completions": list(completions[pk].values()),
            "active_days": sum(days.get((pk, student), 0) for student in completions[pk]),
        }
        for pk, code, title in courses
    ]
    students = len({student for per_class in completions.values() for student in per_class})
    return _figures(period, rows, students)


# One pass for every class in scope: the active student enrolments, each with its completed items (the completed
# item-day rollups, through analytics_itemday_done_idx) and its active days in the period (the student-day
# rollups, through their unique index), grouped per class and overall (GROUPING SETS). Joins of grouped sets are
# not expressible in the ORM, hence SQL; `{courses}` is the caller's queryset of course ids compiled by Django, the
# rest constants and parameters.
ENROLMENT_FIGURES = sql.SQL(
    """
    WITH course AS (
        SELECT c.id, c.code, c.title FROM classroom_course c WHERE c.id IN ({courses})
    ),
    enrolled AS (
        SELECT e.course_id, e.user_id FROM classroom_enrollment e
        WHERE e.course_id IN (SELECT id FROM course) AND e.role = 'student' AND e.status = 'active'
    ),
    items AS (
        SELECT m.course_id, count(*) AS n
        FROM classroom_learningitem i JOIN classroom_module m ON m.id = i.module_id
        WHERE m.course_id IN (SELECT id FROM course)
        GROUP BY m.course_id
    ),
    done AS (
        SELECT d.course_id, d.student_id, count(DISTINCT d.item_id) AS n
        FROM analytics_studentitemday d
        JOIN enrolled e ON e.course_id = d.course_id AND e.user_id = d.student_id
        WHERE d.kind = 'completed'
        GROUP BY d.course_id, d.student_id
    ),
    active AS (
        SELECT r.course_id, r.student_id, count(*) AS n
        FROM analytics_studentdailyrollup r
        JOIN enrolled e ON e.course_id = r.course_id AND e.user_id = r.student_id
        WHERE r.day BETWEEN %s AND %s
        GROUP BY r.course_id, r.student_id
    ),
    per_enrolment AS (
        SELECT e.course_id, e.user_id, COALESCE(i.n, 0) AS items, COALESCE(d.n, 0) AS done, COALESCE(a.n, 0) AS days
        FROM enrolled e
        LEFT JOIN items i ON i.course_id = e.course_id
        LEFT JOIN done d ON d.course_id = e.course_id AND d.student_id = e.user_id
        LEFT JOIN active a ON a.course_id = e.course_id AND a.student_id = e.user_id
    )
    SELECT c.id, c.code, c.title, COALESCE((SELECT n FROM items WHERE items.course_id = c.id), 0),
           count(p.user_id), count(DISTINCT p.user_id), COALESCE(sum(p.done) FILTER (WHERE p.items > 0), 0)::bigint,
           count(*) FILTER (WHERE p.items > 0 AND p.done >= p.items), COALESCE(sum(p.days), 0)::bigint
    FROM course c LEFT JOIN per_enrolment p ON p.course_id = c.id
    GROUP BY GROUPING SETS ((c.id, c.code, c.title), ())
    ORDER BY c.code
    """
)


# The statement's columns: id, code, title, items, enrolments, distinct students, completed items, completed
# enrolments, active days (one row per class, and one total row whose id is NULL).
ENROLMENT_FIGURES_COLUMNS = 9


# A subquery of no course. Django refuses to compile a filter that can match nothing (an empty list, a selector's
# .none(): EmptyResultSet), which is what a teacher without classes or a school without any asks about.
NO_COURSES = "SELECT NULL::bigint AS id WHERE false"


def compiled_course_ids(course_ids: CourseIds) -> tuple[str, tuple[Any, ...]]:
    """The SQL and parameters of a subquery of the ids in `course_ids` (a list or a lazy queryset), for statements
    that take the caller's scope as a subquery."""
    try:
        query, params = Course.objects.filter(pk__in=course_ids).order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:
        return NO_COURSES, ()
    return query, tuple(params)


def enrolment_figures_statement(*, course_ids: CourseIds, period: DateRange) -> tuple[sql.Composed, list[Any]]:
    """ENROLMENT_FIGURES for these classes and period, with its parameters: for enrolment_figures_fast, and for a
    selector that folds the figures into a statement of its own (school.summary_with_progress) and reads its first
    ENROLMENT_FIGURES_COLUMNS columns back with enrolment_figures_of."""
    courses, params = compiled_course_ids(course_ids)
    return ENROLMENT_FIGURES.format(courses=sql.SQL(courses)), [*params, period.first, period.last]


def enrolment_figures_fast(*, course_ids: CourseIds, period: DateRange) -> EnrolmentFigures:
    """enrolment_figures in one statement. Per class it returns the sum of its students' completed items, so the
    average progress is computed from the same fractions as the reference (done / items per enrolment)."""
    statement, params = enrolment_figures_statement(course_ids=course_ids, period=period)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    return enrolment_figures_of(rows, period)


def enrolment_figures_of(rows: Sequence[Sequence[Any]], period: DateRange) -> EnrolmentFigures:
    """The answer from ENROLMENT_FIGURES' rows (their first ENROLMENT_FIGURES_COLUMNS columns)."""
    students = next((row[5] for row in rows if row[0] is None), 0)
    shares: list[tuple[Fraction, int]] = []  # per class with items: (sum of done / items, enrolments)
    classes: list[ClassEnrolmentFigures] = []
    enrolments_total = completed_total = active_total = 0
    for pk, code, title, items, enrolments, _, done, completed, active_days in (
        row[:ENROLMENT_FIGURES_COLUMNS] for row in rows
    ):
        if pk is None:
            continue
        enrolments_total += enrolments
        completed_total += completed
        active_total += active_days
        if items and enrolments:
            shares.append((Fraction(done, items), enrolments))
        classes.append(
            {
                "course": pk,
                "code": code,
                "title": title,
                "students_enrolled": enrolments,
                "items": items,
                "average_progress_percent": (
                    round(float(100 * Fraction(done, items) / enrolments), 1) if items and enrolments else None
                ),
                "completion_rate": percent(completed, enrolments),
                "engagement_score": engagement_score(active_days, enrolments, period.days),
            }
        )
    with_items = sum(count for _, count in shares)
    return {
        "as_of": period.now,
        "first_day": period.first,
        "last_day": period.last,
        "students_total": students,
        "enrolments": enrolments_total,
        "average_progress_percent": (
            round(float(100 * sum((share for share, _ in shares), Fraction(0)) / with_items), 1) if with_items else None
        ),
        "completion_rate": percent(completed_total, enrolments_total),
        "engagement_score": engagement_score(active_total, enrolments_total, period.days),
        "courses": classes,
    }

"""A set of classes (a teacher's, a school's): headline figures, totals of a period, top students, recent
completions, content trends and the classes side by side."""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Annotated, Any, NotRequired, TypedDict

from django.db import connection
from django.db.models import Count, Max, Q, QuerySet, Sum
from psycopg import sql

from analytics.models import COMPLETE_ACTIONS, CourseDailyRollup, StudentDailyRollup, StudentItemDay
from analytics.selectors.enrolments import (
    ENROLMENT_FIGURES_COLUMNS,
    EnrolmentFigures,
    compiled_course_ids,
    enrolment_figures_fast,
    enrolment_figures_of,
    enrolment_figures_statement,
)
from classroom.models import Course, Submission, active_student_filter
from core.daterange import DateRange
from core.figures import engagement_rate, mean, percent, score_average

CourseIds = Iterable[int] | QuerySet[Any]


class Summary(TypedDict):
    """Totals of a period over a set of classes, from the student-day rollups."""

    as_of: datetime
    start_date: date
    end_date: date
    active_students: Annotated[int, "Distinct students with an event in the classes in the period."]
    events: int
    xp_total: int
    xp_per_active_student: float | None
    items_completed: Annotated[int, "Items completed, once per student, item and day."]
    attempts: int
    scored_events: int
    average_score_percent: Annotated[float | None, "Mean percentage of the scored events."]


def _summary(period: DateRange, totals: dict[str, Any]) -> Summary:
    active = totals["active_students"] or 0
    return {
        "as_of": period.now,
        "start_date": period.first,
        "end_date": period.last,
        "active_students": active,
        "events": totals["events"] or 0,
        "xp_total": totals["xp"] or 0,
        "xp_per_active_student": mean(totals["xp"], active),
        "items_completed": totals["completed"] or 0,
        "attempts": totals["attempts"] or 0,
        "scored_events": totals["score_count"] or 0,
        "average_score_percent": score_average(totals["score_sum"], totals["score_count"]),
    }


def summary(*, course_ids: CourseIds, period: DateRange) -> Summary:
    """Totals of a period: active learners, events, XP (sum and per active learner), completions and scores."""
    totals = StudentDailyRollup.objects.filter(
        course_id__in=course_ids, day__range=(period.first, period.last)
    ).aggregate(
        active_students=Count("student_id", distinct=True),
        events=Sum("events"),
        xp=Sum("xp"),
        completed=Sum("items_completed"),
        attempts=Sum("attempts"),
        score_sum=Sum("score_sum"),
        score_count=Sum("score_count"),
    )
    return _summary(period, totals)


class TopPerformer(TypedDict):
    student: int
    xp: int
    events: int
    name: NotRequired[Annotated[str | None, "The student's name (staff)."]]
    handle: NotRequired[Annotated[str | None, "The student's public handle."]]


# The period's totals and its top students by XP in one pass over the student-day rollups: the totals are window
# sums over the per-student groups, so the dashboard reads the rows once where `summary` and a top list each scanned
# them (and has a query to spare for the enrolment figures). Window sums over groups are not expressible in the
# ORM, hence SQL; the course subquery is the caller's queryset compiled by Django.
SUMMARY_AND_TOP = sql.SQL(
    """
    SELECT student_id, xp, events, count(*) OVER (), sum(events) OVER ()::bigint, sum(xp) OVER ()::bigint,
           sum(completed) OVER ()::bigint, sum(attempts) OVER ()::bigint, sum(score_sum) OVER (),
           sum(score_count) OVER ()::bigint
    FROM (
        SELECT student_id, sum(xp)::bigint AS xp, sum(events)::bigint AS events,
               sum(items_completed) AS completed, sum(attempts) AS attempts, sum(score_sum) AS score_sum,
               sum(score_count) AS score_count
        FROM analytics_studentdailyrollup
        WHERE course_id IN ({courses}) AND day BETWEEN %s AND %s
        GROUP BY student_id
    ) AS per_student
    ORDER BY xp DESC, student_id
    LIMIT %s
    """
)


SUMMARY_TOTALS = ("active_students", "events", "xp", "completed", "attempts", "score_sum", "score_count")


def summary_and_top_performers(
    *, course_ids: CourseIds, period: DateRange, limit: int = 5
) -> tuple[Summary, list[TopPerformer]]:
    """summary() and top_performers() of the same classes and period, from one query."""
    courses, params = compiled_course_ids(course_ids)
    with connection.cursor() as cursor:
        cursor.execute(SUMMARY_AND_TOP.format(courses=sql.SQL(courses)), [*params, period.first, period.last, limit])
        rows = cursor.fetchall()
    totals = dict(zip(SUMMARY_TOTALS, rows[0][3:], strict=True)) if rows else dict.fromkeys(SUMMARY_TOTALS)
    top: list[TopPerformer] = [
        {"student": student_id, "xp": xp, "events": events} for student_id, xp, events, *_ in rows if xp > 0
    ]
    return _summary(period, totals), top


def top_performers(*, course_ids: CourseIds, period: DateRange, limit: int = 5) -> list[TopPerformer]:
    """Students with the most XP in the period over these classes (ties: lower id first). Ids only: the caller
    decides whose names the viewer may see."""
    return [
        {"student": student_id, "xp": xp, "events": events}
        for student_id, xp, events in StudentDailyRollup.objects.filter(
            course_id__in=course_ids, day__range=(period.first, period.last)
        )
        .values("student_id")
        .annotate(total_xp=Sum("xp"), total_events=Sum("events"))
        .filter(total_xp__gt=0)
        .order_by("-total_xp", "student_id")
        .values_list("student_id", "total_xp", "total_events")[:limit]
    ]


# The latest completions of a set of classes. Per class, the newest completion events are read backwards down the
# (course_id, occurred_at) index, stopping after `limit`; then the newest `limit` of those. The ORM's form (course_id IN
# (...) ORDER BY occurred_at DESC) fetched every event of the 7 days of every class and sorted them (49 ms for an
# organisation at 10 M events). A LATERAL join is not expressible in the ORM, hence SQL; the course subquery is the
# caller's queryset compiled by Django, the rest constants and parameters.
RECENT_COMPLETIONS = sql.SQL(
    """
    SELECT e.occurred_at, e.action, e.course_id, e.item_id, e.actor_id
    FROM ({courses}) AS c (id)
    CROSS JOIN LATERAL (
        SELECT occurred_at, action, course_id, item_id, actor_id
        FROM analytics_learningevent
        WHERE course_id = c.id AND action = ANY(%s) AND occurred_at >= %s AND occurred_at <= %s
        ORDER BY occurred_at DESC
        LIMIT %s
    ) AS e
    ORDER BY e.occurred_at DESC
    LIMIT %s
    """
)


class Completion(TypedDict):
    occurred_at: datetime
    action: str
    course: int | None
    item: int | None
    student: int
    name: NotRequired[Annotated[str | None, "The student's name (staff)."]]
    handle: NotRequired[Annotated[str | None, "The student's public handle."]]


def recent_completions(*, course_ids: CourseIds, now: datetime, limit: int = 10) -> list[Completion]:
    """The latest completion events (of the last 7 days) in these classes."""
    courses, course_params = compiled_course_ids(course_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            RECENT_COMPLETIONS.format(courses=sql.SQL(courses)),
            [*course_params, sorted(COMPLETE_ACTIONS), now - timedelta(days=7), now, limit, limit],
        )
        rows = cursor.fetchall()
    return [
        {"occurred_at": occurred_at, "action": action, "course": course_id, "item": item_id, "student": actor_id}
        for occurred_at, action, course_id, item_id, actor_id in rows
    ]


class AssignmentStatistics(TypedDict):
    handed_in: Annotated[int, "Submissions handed in during the period."]
    late: int
    graded: int


class Overview(TypedDict):
    """The headline figures of a set of classes over a period."""

    as_of: datetime
    first_day: date
    last_day: date
    students_total: Annotated[int, "Distinct actively enrolled students."]
    students_active: Annotated[int, "Distinct students with an event in the period."]
    classes_total: int
    classes_active: Annotated[int, "Classes with an event in the period."]
    events: int
    average_score_percent: float | None
    engagement_rate: Annotated[float | None, "Active students per 100 enrolled."]
    attendance_rate: Annotated[float | None, "Enrolments with any activity in the period, out of all."]
    assignments: AssignmentStatistics


class ProgressFigures(TypedDict):
    average_progress_percent: Annotated[
        float | None, "Items completed out of all, averaged over enrolments in classes with items (now)."
    ]
    completion_rate: Annotated[float | None, "Enrolments with every item of their class completed, out of all (now)."]
    engagement_score: Annotated[
        float | None, "0-10: the mean over enrolments of the share of the period's days with activity in that class."
    ]


class SchoolOverview(Overview, ProgressFigures):
    """The headline figures of a set of classes over a period, with their enrolments' progress."""


def progress_figures(figures: EnrolmentFigures) -> ProgressFigures:
    return {
        "average_progress_percent": figures["average_progress_percent"],
        "completion_rate": figures["completion_rate"],
        "engagement_score": figures["engagement_score"],
    }


class SummaryWithProgress(Summary, ProgressFigures):
    """Totals of a period over a set of classes, with their enrolments' progress (as of now) and engagement score
    (over the period)."""


# summary()'s totals (the same aggregate over the student-day rollups, as SQL) beside the enrolment figures of the
# same classes, in one statement: each of the enrolment figures' rows (one per class, one total) carries the one row
# of totals. The summary endpoint thereby answers its progress figures without a second query. A plain aggregate,
# not SUMMARY_AND_TOP's window sums over per-student groups, which take twice as long when no top list is wanted.
# `{figures}` is the enrolment figures' statement as its selector composes it; `{courses}` the caller's scope.
SUMMARY_WITH_PROGRESS = sql.SQL(
    """
    SELECT figures.*, totals.*
    FROM ({figures}) AS figures CROSS JOIN (
        SELECT count(DISTINCT student_id), sum(events)::bigint, sum(xp)::bigint, sum(items_completed)::bigint,
               sum(attempts)::bigint, sum(score_sum), sum(score_count)::bigint
        FROM analytics_studentdailyrollup
        WHERE course_id IN ({courses}) AND day BETWEEN %s AND %s
    ) AS totals
    ORDER BY figures.code
    """
)


def summary_with_progress(*, course_ids: CourseIds, period: DateRange) -> SummaryWithProgress:
    """summary() with the average progress and completion rate of the classes' active enrolments (now: progress is
    a state, not a sum over days) and their engagement score over the period, from one query."""
    figures, figure_params = enrolment_figures_statement(course_ids=course_ids, period=period)
    courses, course_params = compiled_course_ids(course_ids)
    statement = SUMMARY_WITH_PROGRESS.format(figures=figures, courses=sql.SQL(courses))
    with connection.cursor() as cursor:
        cursor.execute(statement, [*figure_params, *course_params, period.first, period.last])
        rows = cursor.fetchall()
    # the totals follow the figures' columns
    totals = dict(zip(SUMMARY_TOTALS, rows[0][ENROLMENT_FIGURES_COLUMNS:], strict=True))
    return {**_summary(period, totals), **progress_figures(enrolment_figures_of(rows, period))}


def overview(*, course_ids: CourseIds, period: DateRange) -> Overview:
    """The headline figures of a set of classes over a period."""
    return _overview(course_ids=course_ids, period=period)[0]


def school_overview(*, course_ids: CourseIds, period: DateRange) -> SchoolOverview:
    """overview() with the progress figures of the same enrolments (and the same number of queries)."""
    answer, enrolled = _overview(course_ids=course_ids, period=period)
    return {**answer, **progress_figures(enrolled)}


def _overview(*, course_ids: CourseIds, period: DateRange) -> tuple[Overview, EnrolmentFigures]:
    # The ids as constants: the planner then knows which (and how many) courses it reads, not a subquery it
    # estimates at one row.
    ids = list(Course.objects.filter(pk__in=course_ids).values_list("pk", flat=True))
    # Students, enrolments and their progress and engagement figures, in one query.
    enrolled = enrolment_figures_fast(course_ids=ids, period=period)
    in_period = {"course_id__in": ids, "day__range": (period.first, period.last)}
    # Who was active: the distinct (class, student) pairs first (hashed, 16 bytes a row), then the distinct
    # students, the pairs (attendance) and the classes among them, in one query; the period's sums do not need the
    # students at all (below).
    totals = (
        StudentDailyRollup.objects.filter(**in_period)
        .values("course_id", "student_id")
        .distinct()
        .aggregate(
            active_students=Count("student_id", distinct=True),
            attending=Count("course_id"),
            active_classes=Count("course_id", distinct=True),
        )
    )
    # Events and scores from the course-day rollups: a class-day's figures are the sums of its students' days (both
    # rows are added to from the same events by ROLLUP_UPSERTS and recomputed alike by ROLLUP_REBUILD; XP-only
    # student days add nothing to them), so the same numbers from 30 rows a class instead of every student-day.
    sums = CourseDailyRollup.objects.filter(**in_period).aggregate(
        events=Sum("events"), score_sum=Sum("score_sum"), score_count=Sum("score_count")
    )
    submissions = Submission.objects.filter(
        item__module__course_id__in=ids, submitted_at__gte=period.start(), submitted_at__lt=period.end()
    ).aggregate(
        handed_in=Count("id"),
        late=Count("id", filter=Q(state=Submission.State.LATE)),
        graded=Count("id", filter=Q(score__isnull=False)),
    )
    students_total = enrolled["students_total"]
    answer: Overview = {
        "as_of": period.now,
        "first_day": period.first,
        "last_day": period.last,
        "students_total": students_total,
        "students_active": totals["active_students"],
        "classes_total": len(ids),
        "classes_active": totals["active_classes"],
        "events": sums["events"] or 0,
        "average_score_percent": score_average(sums["score_sum"], sums["score_count"]),
        "engagement_rate": engagement_rate(totals["active_students"], students_total),
        # share of (student, class) enrolments with any activity in the period
        "attendance_rate": percent(totals["attending"], enrolled["enrolments"]),
        "assignments": submissions,  # type: ignore[typeddict-item]
    }
    return answer, enrolled


class ViewedItem(TypedDict):
    item: int
    title: str | None
    views: Annotated[int, "Distinct learners per day, summed."]
    learners: int


class CourseCompletions(TypedDict):
    course: int
    items_completed: Annotated[int, "Items completed in the period (once per student, item and day)."]


class CourseCompletionsWithProgress(CourseCompletions):
    completion_rate: Annotated[float | None, "Students with every item of the class completed, out of all (now)."]
    average_progress_percent: Annotated[float | None, "Progress averaged over the class's students (now)."]


class ContentDay(TypedDict):
    date: date
    items_viewed: int
    items_completed: int


class ContentTrends(TypedDict):
    """What is consumed."""

    as_of: datetime
    most_viewed: list[ViewedItem]
    completions_by_course: list[CourseCompletions]
    daily: list[ContentDay]


class ContentTrendsWithProgress(TypedDict):
    """What is consumed, with each class's completion rate and average progress."""

    as_of: datetime
    most_viewed: list[ViewedItem]
    completions_by_course: list[CourseCompletionsWithProgress]
    daily: list[ContentDay]


def content_trends(*, course_ids: CourseIds, period: DateRange, limit: int = 10) -> ContentTrends:
    """What is consumed: the most viewed items (distinct learners per day, summed) with their titles, items
    completed per class, and items viewed and completed per day."""
    ids = list(Course.objects.filter(pk__in=course_ids).order_by("code").values_list("pk", flat=True))
    return _content_trends(ids=ids, period=period, limit=limit)


def most_viewed(*, ids: list[int], period: DateRange, limit: int) -> list[ViewedItem]:
    """The `limit` items of these classes viewed most in the period (distinct learners per day, summed), with their
    titles: the reference (ORM) form of most_viewed_fast."""
    # The title comes with the rows (grouped by item and title): a correlated subquery for it would be grouped by
    # too, and so evaluated for every item-day row.
    top = (
        StudentItemDay.objects.filter(
            day__range=(period.first, period.last), course_id__in=ids, kind=StudentItemDay.Kind.VIEWED
        )
        .values("item_id", "item__title")
        .annotate(views=Count("id"), learners=Count("student_id", distinct=True))
        .order_by("-views", "item_id")[:limit]
    )
    return [
        {"item": row["item_id"], "title": row["item__title"], "views": row["views"], "learners": row["learners"]}
        for row in top
    ]


# most_viewed in one statement that ranks the item-days first and then joins the titles of the top `limit` only: the
# ORM form joins every item-day row of the period to its item before grouping (35 % slower at 10 M events). A hot
# path reading classroom's items (docs/architecture.md): the fast path of analytics-trends-content, held equal to
# most_viewed by tests/test_metric_parity.py.
MOST_VIEWED = """
WITH top AS (
    SELECT item_id, count(*) AS views, count(DISTINCT student_id) AS learners
    FROM analytics_studentitemday
    WHERE day BETWEEN %(first)s AND %(last)s AND course_id = ANY(%(courses)s) AND kind = %(kind)s
    GROUP BY item_id
    ORDER BY views DESC, item_id
    LIMIT %(limit)s
)
SELECT top.item_id, i.title, top.views, top.learners
FROM top JOIN classroom_learningitem i ON i.id = top.item_id
ORDER BY top.views DESC, top.item_id
"""


def most_viewed_fast(*, ids: list[int], period: DateRange, limit: int) -> list[ViewedItem]:
    with connection.cursor() as cursor:
        cursor.execute(
            MOST_VIEWED,
            {
                "first": period.first,
                "last": period.last,
                "courses": ids,
                "kind": StudentItemDay.Kind.VIEWED.value,
                "limit": limit,
            },
        )
        rows = cursor.fetchall()
    return [
        {"item": item, "title": title, "views": views, "learners": learners} for item, title, views, learners in rows
    ]


def _content_trends(*, ids: list[int], period: DateRange, limit: int, fast: bool = False) -> ContentTrends:
    """content_trends of these classes (ids ordered by code); `fast`: the top items by most_viewed_fast."""
    top = (most_viewed_fast if fast else most_viewed)(ids=ids, period=period, limit=limit)
    # Completions per class and the daily series in one pass over the student-day rollups (through their
    # (day, course) index) instead of counting item-day rows: a student-day's items_completed is exactly the number
    # of items that student first completed that day, i.e. its completed item-day rows (ROLLUP_UPSERTS counts them
    # as the unique index lets them in; ROLLUP_REBUILD as distinct items), so the sums are the same numbers.
    completed: dict[int, int] = {}
    daily: dict[date, dict[str, int]] = {}
    for course_id, day, viewed, completed_that_day in (
        StudentDailyRollup.objects.filter(course_id__in=ids, day__range=(period.first, period.last))
        .values("course_id", "day")
        .annotate(viewed=Sum("items_viewed"), completed=Sum("items_completed"))
        .values_list("course_id", "day", "viewed", "completed")
    ):
        completed[course_id] = completed.get(course_id, 0) + completed_that_day
        totals = daily.setdefault(day, {"viewed": 0, "completed": 0})
        totals["viewed"] += viewed
        totals["completed"] += completed_that_day
    return {
        "as_of": period.now,
        "most_viewed": top,
        "completions_by_course": [
            {"course": course_id, "items_completed": completed.get(course_id, 0)} for course_id in ids
        ],
        "daily": [
            {
                "date": day,
                "items_viewed": daily.get(day, {}).get("viewed", 0),
                "items_completed": daily.get(day, {}).get("completed", 0),
            }
            for day in period.buckets()
        ],
    }


def content_trends_with_progress(
    *, course_ids: CourseIds, period: DateRange, limit: int = 10, fast: bool = False
) -> ContentTrendsWithProgress:
    """content_trends() with each class's completion rate and average progress (the enrolment figures, whose
    statement also gives the classes in order: no query for them); `fast`: the top items by most_viewed_fast."""
    classes = enrolment_figures_fast(course_ids=course_ids, period=period)["courses"]
    progress = {row["course"]: row for row in classes}
    trends = _content_trends(ids=[row["course"] for row in classes], period=period, limit=limit, fast=fast)
    return {
        **trends,
        "completions_by_course": [
            {
                **row,
                "completion_rate": progress[row["course"]]["completion_rate"],
                "average_progress_percent": progress[row["course"]]["average_progress_percent"],
            }
            for row in trends["completions_by_course"]
        ],
    }


class CourseComparison(TypedDict):
    """One class beside the others."""

    course: int
    code: str
    title: str
    students_enrolled: int
    active_students: int
    engagement_rate: float | None
    events: int
    items_completed: int
    average_score_percent: float | None
    last_active_day: date | None


def course_comparison(*, courses: QuerySet[Course], period: DateRange) -> list[CourseComparison]:
    """Per class, side by side: enrolment, active students, engagement rate, events, completions, average score."""
    # The classes with their enrolment first: their ids then reach the rollup query as constants, which the planner
    # reads better than a subquery it estimates at one row (and macro passes the same ids on to the other figures).
    course_rows = list(
        courses.order_by("code")
        .annotate(enrolled=Count("enrollments", filter=active_student_filter("enrollments__")))
        .values_list("pk", "code", "title", "enrolled")
    )
    course_ids = [pk for pk, _, _, _ in course_rows]
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
    rows: list[CourseComparison] = []
    for course_id, code, title, enrolled in course_rows:
        row = activity.get(course_id, {})
        active = row.get("active", 0)
        rows.append(
            {
                "course": course_id,
                "code": code,
                "title": title,
                "students_enrolled": enrolled,
                "active_students": active,
                "engagement_rate": engagement_rate(active, enrolled),
                "events": row.get("events") or 0,
                "items_completed": row.get("completed") or 0,
                "average_score_percent": score_average(row.get("score_sum"), row.get("score_count")),
                "last_active_day": row.get("last_day"),
            }
        )
    return rows

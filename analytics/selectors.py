"""Metric selectors: one per chart, each reading the rollups for a DateRange and returning zero-filled buckets. The
API, the pages and the reports call these; who may ask about which course or student is settled before (by
classroom.selectors), so these take already-checked ids."""

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, Exists, F, Func, IntegerField, Max, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Trunc
from psycopg import sql

from analytics.daterange import DateRange
from analytics.models import (
    COMPLETE_ACTIONS,
    VIEW_ACTIONS,
    CourseDailyRollup,
    LearningEvent,
    RequestMetricMinute,
    StudentDailyRollup,
    StudentItemDay,
)
from analytics.request_metrics import BUCKETS_MS, percentile_ms
from classroom.models import Course, Enrollment, LearningItem, Submission

SCORE_BANDS = [(low, low + 10) for low in range(0, 100, 10)]  # 0-10 % ... 90-100 % (100 % falls in the last)


def _bucket(period: DateRange) -> Any:
    return Trunc("day", period.interval, output_field=StudentDailyRollup._meta.get_field("day"))


def engagement_trend(*, course_ids: Iterable[int] | QuerySet[Any], period: DateRange) -> list[dict[str, Any]]:
    """Per bucket: distinct active students, events and active minutes over the courses (a student active in two
    of them counts once). `course_ids` may be a subquery (values_list of a selector)."""
    in_range = StudentDailyRollup.objects.filter(course_id__in=course_ids, day__range=(period.first, period.last))
    rows = {
        row["bucket"]: row
        for row in in_range.annotate(bucket=_bucket(period))
        .values("bucket")
        .annotate(
            active_students=Count("student_id", distinct=True),
            events=Sum("events"),
            active_seconds=Sum("active_seconds"),
        )
    }
    return [
        {
            "date": bucket,
            "active_students": rows.get(bucket, {}).get("active_students", 0),
            "events": rows.get(bucket, {}).get("events") or 0,
            "active_minutes": round((rows.get(bucket, {}).get("active_seconds") or 0) / 60, 1),
        }
        for bucket in period.buckets()
    ]


def growth_percent(points: list[dict[str, Any]], key: str, width: int = 7) -> float | None:
    """Change of `key` between the first and the last `width` buckets, in percent; None when it cannot be said
    (too short a series, or nothing in the first part)."""
    if len(points) < 2 * width:
        return None
    before = sum(point[key] for point in points[:width])
    after = sum(point[key] for point in points[-width:])
    return None if before == 0 else round(100 * (after - before) / before, 1)


def learning_heatmap(*, student_id: int, period: DateRange) -> list[dict[str, Any]]:
    """Per day (each course's own calendar): events, active minutes and XP of one student over all their courses."""
    rows = {
        row["day"]: row
        for row in StudentDailyRollup.objects.filter(student_id=student_id, day__range=(period.first, period.last))
        .values("day")
        .annotate(events=Sum("events"), active_seconds=Sum("active_seconds"), xp=Sum("xp"))
    }
    return [
        {
            "date": day,
            "events": rows.get(day, {}).get("events") or 0,
            "active_minutes": round((rows.get(day, {}).get("active_seconds") or 0) / 60, 1),
            "xp": rows.get(day, {}).get("xp") or 0,
        }
        for day in period.buckets()
    ]


def assignment_timeliness(*, course: Course, period: DateRange) -> dict[str, int]:
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
    students = list(
        Enrollment.objects.filter(
            course=course, role=Enrollment.Role.STUDENT, status=Enrollment.Status.ACTIVE
        ).values_list("user_id", flat=True)
    )
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
    counts["expected"] = len(due) * len(students)
    return counts


def score_distribution(*, course: Course, period: DateRange) -> list[dict[str, Any]]:
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
    bands = []
    for low, high in SCORE_BANDS:
        inside = [p for p in percents if low <= p < high or (high == 100 and p == 100)]
        bands.append({"from_percent": low, "to_percent": high, "submissions": len(inside)})
    return bands


def course_analytics(*, course: Course, period: DateRange) -> dict[str, Any]:
    """One class over a period: the summary figures, enrolment and engagement rate, the daily engagement trend,
    assignment timeliness and the score distribution."""
    totals = summary(course_ids=[course.pk], period=period)
    enrolled = Enrollment.objects.filter(
        course=course, role=Enrollment.Role.STUDENT, status=Enrollment.Status.ACTIVE
    ).count()
    active = totals["active_students"]
    return {
        "course": course.pk,
        "first_day": period.first,
        "last_day": period.last,
        "as_of": period.now,
        "students_enrolled": enrolled,
        "active_students": active,
        "engagement_rate": round(100 * active / enrolled, 1) if enrolled else None,
        "events": totals["events"],
        "items_completed": totals["items_completed"],
        "xp": totals["xp_total"],
        "average_score_percent": totals["average_score_percent"],
        "engagement": engagement_trend(course_ids=[course.pk], period=period),
        "assignment_timeliness": assignment_timeliness(course=course, period=period),
        "score_distribution": score_distribution(course=course, period=period),
    }


def realtime(*, course_ids: Iterable[int] | QuerySet[Any], now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """Straight from the event store (the rollups are per day): learners active in the last 5 minutes, the last 10
    events and today's count, over the courses in scope."""
    events = LearningEvent.objects.filter(course_id__in=course_ids, occurred_at__lte=now)
    today = datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone)
    recent = events.filter(occurred_at__gte=now - timedelta(minutes=5))
    return {
        "as_of": now,
        "active_last_5_minutes": recent.values("actor_id").distinct().count(),
        "events_today": events.filter(occurred_at__gte=today).count(),
        "recent_activities": [
            {"occurred_at": occurred_at, "action": action, "course": course_id, "item": item_id, "student": actor_id}
            for occurred_at, action, course_id, item_id, actor_id in events.filter(
                occurred_at__gte=now - timedelta(days=1)
            )
            .order_by("-occurred_at")
            .values_list("occurred_at", "action", "course_id", "item_id", "actor_id")[:10]
        ],
    }


def overview(*, course_ids: Iterable[int] | QuerySet[Any], period: DateRange) -> dict[str, Any]:
    """The headline figures of a set of classes over a period."""
    # The ids as constants: the planner then knows which (and how many) courses it reads, not a subquery it
    # estimates at one row.
    ids = list(Course.objects.filter(pk__in=course_ids).values_list("pk", flat=True))
    enrolled = Enrollment.objects.filter(
        course_id__in=ids, role=Enrollment.Role.STUDENT, status=Enrollment.Status.ACTIVE
    ).aggregate(students=Count("user_id", distinct=True), enrolments=Count("id"))
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
    students_total = enrolled["students"]
    score_count = sums["score_count"] or 0
    return {
        "as_of": period.now,
        "first_day": period.first,
        "last_day": period.last,
        "students_total": students_total,
        "students_active": totals["active_students"],
        "classes_total": len(ids),
        "classes_active": totals["active_classes"],
        "events": sums["events"] or 0,
        "average_score_percent": round(float(sums["score_sum"]) / score_count, 1) if score_count else None,
        "engagement_rate": round(100 * totals["active_students"] / students_total, 1) if students_total else None,
        # share of (student, class) enrolments with any activity in the period
        "attendance_rate": (
            round(100 * totals["attending"] / enrolled["enrolments"], 1) if enrolled["enrolments"] else None
        ),
        "assignments": submissions,
    }


def learning_activity(
    *, student_id: int, period: DateRange, course_ids: Iterable[int] | QuerySet[Any] | None = None
) -> dict[str, Any]:
    """One student's learning over a period: sessions (distinct session ids in the event store), active minutes,
    items viewed and completed (distinct per day, summed), events and XP (from the rollups). With `course_ids`, only
    what happened in those courses."""
    rollups = StudentDailyRollup.objects.filter(student_id=student_id, day__range=(period.first, period.last))
    events = LearningEvent.objects.filter(
        actor_id=student_id, occurred_at__gte=period.start(), occurred_at__lt=period.end()
    )
    if course_ids is not None:
        rollups = rollups.filter(course_id__in=course_ids)
        events = events.filter(course_id__in=course_ids)
    totals = rollups.aggregate(
        events=Sum("events"),
        active_seconds=Sum("active_seconds"),
        viewed=Sum("items_viewed"),
        completed=Sum("items_completed"),
        xp=Sum("xp"),
        active_days=Count("day", distinct=True),
    )
    sessions = events.exclude(session_id="").values("session_id").distinct().count()
    active_minutes = round((totals["active_seconds"] or 0) / 60, 1)
    return {
        "sessions": sessions,
        "active_minutes": active_minutes,
        "average_session_minutes": round(active_minutes / sessions, 1) if sessions else None,
        "active_days": totals["active_days"],
        "events": totals["events"] or 0,
        "materials_viewed": totals["viewed"] or 0,
        "materials_completed": totals["completed"] or 0,
        "xp_earned": totals["xp"] or 0,
    }


def top_performers(
    *, course_ids: Iterable[int] | QuerySet[Any], period: DateRange, limit: int = 5
) -> list[dict[str, Any]]:
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


def recent_completions(
    *, course_ids: Iterable[int] | QuerySet[Any], now: datetime, limit: int = 10
) -> list[dict[str, Any]]:
    """The latest completion events (of the last 7 days) in these classes."""
    courses, course_params = Course.objects.filter(pk__in=course_ids).order_by().values("pk").query.sql_with_params()
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


def summary(*, course_ids: Iterable[int] | QuerySet[Any], period: DateRange) -> dict[str, Any]:
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
    active = totals["active_students"]
    score_count = totals["score_count"] or 0
    return {
        "as_of": period.now,
        "start_date": period.first,
        "end_date": period.last,
        "active_students": active,
        "events": totals["events"] or 0,
        "xp_total": totals["xp"] or 0,
        "xp_per_active_student": round((totals["xp"] or 0) / active, 1) if active else None,
        "items_completed": totals["completed"] or 0,
        "attempts": totals["attempts"] or 0,
        "scored_events": score_count,
        "average_score_percent": round(float(totals["score_sum"]) / score_count, 1) if score_count else None,
    }


def completed_item_ids(student_id: int) -> set[int]:
    """Items the student has a completion event for (ever), through the (actor_id, occurred_at) index."""
    return set(
        LearningEvent.objects.filter(actor_id=student_id, action__in=sorted(COMPLETE_ACTIONS), item_id__isnull=False)
        .order_by()  # no default ordering: it would join the DISTINCT
        .values_list("item_id", flat=True)
        .distinct()
    )


def _item_progress(
    *, student_id: int, courses: QuerySet[Course], completed_items: set[int] | None = None
) -> list[dict[str, Any]]:
    """Per course with items: items and lessons completed out of all, and per module (with its title and position)
    items completed out of all. An item counts as completed once the student has a completion event for it
    (`completed_items`: completed_item_ids, when the caller has read it already)."""
    completed = completed_item_ids(student_id) if completed_items is None else completed_items
    per_course: dict[int, dict[str, Any]] = {}
    for item_id, kind, module_id, module_title, module_position, course_id, code, title in (
        LearningItem.objects.filter(module__course__in=courses)
        .order_by("module__course__code", "module__position", "position")
        .values_list(
            "id",
            "kind",
            "module_id",
            "module__title",
            "module__position",
            "module__course_id",
            "module__course__code",
            "module__course__title",
        )
    ):
        row = per_course.setdefault(
            course_id,
            {
                "course": course_id,
                "code": code,
                "title": title,
                "items_total": 0,
                "items_completed": 0,
                "lessons_total": 0,
                "lessons_completed": 0,
                "topics_total": 0,
                "topics_completed": 0,
                "modules": {},
            },
        )
        done = item_id in completed
        row["items_total"] += 1
        row["items_completed"] += done
        if kind == LearningItem.Kind.LESSON:
            row["lessons_total"] += 1
            row["lessons_completed"] += done
        module = row["modules"].setdefault(
            module_id,
            {
                "module": module_id,
                "title": module_title,
                "position": module_position,
                "items_total": 0,
                "items_completed": 0,
            },
        )
        module["items_total"] += 1
        module["items_completed"] += done
    for row in per_course.values():
        modules = list(row.pop("modules").values())
        for module in modules:
            module["progress_percent"] = round(100 * module["items_completed"] / module["items_total"], 1)
        row["topics_total"] = len(modules)
        row["topics_completed"] = sum(module["items_completed"] == module["items_total"] for module in modules)
        row["progress_percent"] = round(100 * row["items_completed"] / row["items_total"], 1)
        row["modules"] = modules
    return list(per_course.values())


def course_progress(
    *, student_id: int, courses: QuerySet[Course], completed_items: set[int] | None = None
) -> list[dict[str, Any]]:
    """Per course: items and lessons completed out of all, and modules ("topics") with every item completed. An item
    counts as completed once the student has a completion event for it (`completed_items`: as _item_progress)."""
    rows = _item_progress(student_id=student_id, courses=courses, completed_items=completed_items)
    for row in rows:
        del row["modules"]
    return rows


def content_trends(*, course_ids: Iterable[int] | QuerySet[Any], period: DateRange, limit: int = 10) -> dict[str, Any]:
    """What is consumed: the most viewed items (distinct learners per day, summed), items completed per class, and
    items viewed and completed per day."""
    ids = list(Course.objects.filter(pk__in=course_ids).order_by("code").values_list("pk", flat=True))
    top = list(
        StudentItemDay.objects.filter(
            day__range=(period.first, period.last), course_id__in=ids, kind=StudentItemDay.Kind.VIEWED
        )
        .values("item_id")
        .annotate(views=Count("id"), learners=Count("student_id", distinct=True))
        .order_by("-views", "item_id")[:limit]
    )
    titles = dict(LearningItem.objects.filter(pk__in=[row["item_id"] for row in top]).values_list("pk", "title"))
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
        "most_viewed": [
            {
                "item": row["item_id"],
                "title": titles.get(row["item_id"]),
                "views": row["views"],
                "learners": row["learners"],
            }
            for row in top
        ],
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


def system_metrics(*, hours: int, now: datetime) -> dict[str, Any]:
    """Requests of the last `hours` hours (flushed minutes): count, error rate, estimated p50/p95/p99 and the top
    endpoints; and learners active in that time."""
    since = now - timedelta(hours=hours)
    rows = list(
        RequestMetricMinute.objects.filter(minute__gte=since).values_list(
            "method", "route", "count", "errors", "buckets"
        )
    )
    size = len(BUCKETS_MS) + 1
    merged = [0] * size
    endpoints: dict[tuple[str, str], dict[str, Any]] = {}
    for method, route, count, errors, buckets in rows:
        entry = endpoints.setdefault((method, route), {"count": 0, "errors": 0, "buckets": [0] * size})
        entry["count"] += count
        entry["errors"] += errors
        for index, value in enumerate(buckets[:size]):
            entry["buckets"][index] += value
            merged[index] += value
    total = sum(entry["count"] for entry in endpoints.values())
    errors = sum(entry["errors"] for entry in endpoints.values())
    top = sorted(endpoints.items(), key=lambda pair: (-pair[1]["count"], pair[0]))[:10]
    last = RequestMetricMinute.objects.order_by("-minute").values_list("minute", flat=True).first()
    return {
        "as_of": (last + timedelta(minutes=1)) if last else None,
        "hours": hours,
        "requests": total,
        "error_rate_percent": round(100 * errors / total, 2) if total else None,
        "latency_ms": {f"p{p}": percentile_ms(merged, p) for p in (50, 95, 99)},
        "top_endpoints": [
            {
                "method": method,
                "route": route,
                "requests": entry["count"],
                "errors": entry["errors"],
                "p95_ms": percentile_ms(entry["buckets"], 95),
            }
            for (method, route), entry in top
        ],
        "active_learners": LearningEvent.objects.filter(occurred_at__gte=since, occurred_at__lte=now)
        .values("actor_id")
        .distinct()
        .count(),
    }


# engagement-metrics windows: sub-day ones end at `now` and read the event store (the rollups are per day); the
# others are the last local days ending today and read the rollups.
ENGAGEMENT_TIMEFRAMES: dict[str, timedelta | int] = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "1d": 1,
    "7d": 7,
    "30d": 30,
}


def _learner_item_pair() -> Func:
    # count(DISTINCT ROW(actor_id, item_id)): a learner viewing one item three times in the window is one view, as
    # in the rollups (once per learner, item and day).
    return Func(F("actor_id"), F("item_id"), function="ROW", output_field=IntegerField())


def _engagement_from_events(*, course_ids: list[int], start: datetime, now: datetime) -> tuple[dict[int, Any], int]:
    """Per course and overall active learners, from the event store through its (course_id, occurred_at) index."""
    window = LearningEvent.objects.filter(course_id__in=course_ids, occurred_at__gte=start, occurred_at__lte=now)
    with_item = Q(item_id__isnull=False)
    per_course = {
        row["course_id"]: row
        for row in window.values("course_id").annotate(
            active_users=Count("actor_id", distinct=True),
            events=Count("id"),
            page_views=Count(
                _learner_item_pair(), distinct=True, filter=with_item & Q(action__in=sorted(VIEW_ACTIONS))
            ),
            interactions=Count(
                _learner_item_pair(), distinct=True, filter=with_item & Q(action__in=sorted(COMPLETE_ACTIONS))
            ),
        )
    }
    return per_course, window.values("actor_id").distinct().count()


def _engagement_from_rollups(*, course_ids: list[int], period: DateRange) -> tuple[dict[int, Any], int]:
    """Per course and overall active learners over local days, from the student-day rollups."""
    in_range = StudentDailyRollup.objects.filter(course_id__in=course_ids, day__range=(period.first, period.last))
    per_course = {
        row["course_id"]: row
        for row in in_range.values("course_id").annotate(
            active_users=Count("student_id", distinct=True),
            events=Sum("events"),
            page_views=Sum("items_viewed"),
            interactions=Sum("items_completed"),
        )
    }
    return per_course, in_range.values("student_id").distinct().count()


def engagement_metrics(
    *, course_ids: Iterable[int] | QuerySet[Any], timeframe: str, now: datetime, zone: ZoneInfo
) -> dict[str, Any]:
    """Engagement over a set of classes in a timeframe (ENGAGEMENT_TIMEFRAMES): 1h and 6h are the hours ending at
    `now`, read from the event store; 1d, 7d and 30d are the local days (in `zone`) ending today, read from the rollups
    (each course's own days, as every rollup figure).

    - active_users: distinct learners with an event (a learner in two classes counts once overall);
    - events: learning events; page_views: item views (VIEW_ACTIONS), once per learner, item and day (in an hour
      window: once per learner and item); interactions: item completions and submissions (COMPLETE_ACTIONS), counted
      the same way;
    - interaction_rate: interactions per 100 page views; interactions_per_active_user;
    - sessions: distinct session ids of the events since the window's start (event store), and
      average_session_seconds: the summed `duration` of those sessions' events divided by their number.
    """
    window = ENGAGEMENT_TIMEFRAMES[timeframe]
    courses = list(Course.objects.filter(pk__in=course_ids).order_by("code").values_list("pk", "code", "title"))
    ids = [pk for pk, _, _ in courses]
    first_day = last_day = None
    if isinstance(window, timedelta):
        start = now - window
        per_course, active_users = _engagement_from_events(course_ids=ids, start=start, now=now)
    else:
        period = DateRange.last_days(window, now=now, zone=zone)
        start, first_day, last_day = period.start(), period.first, period.last
        per_course, active_users = _engagement_from_rollups(course_ids=ids, period=period)
    sessions = (
        LearningEvent.objects.filter(course_id__in=ids, occurred_at__gte=start, occurred_at__lte=now)
        .exclude(session_id="")
        .aggregate(sessions=Count("session_id", distinct=True), seconds=Sum("duration_seconds"))
    )
    rows: list[dict[str, Any]] = [
        {
            "course": pk,
            "code": code,
            "title": title,
            **{
                key: per_course.get(pk, {}).get(key) or 0
                for key in ("active_users", "events", "page_views", "interactions")
            },
        }
        for pk, code, title in courses
    ]
    page_views = sum(row["page_views"] for row in rows)
    interactions = sum(row["interactions"] for row in rows)
    return {
        "as_of": now,
        "timeframe": timeframe,
        "source": "events" if isinstance(window, timedelta) else "rollups",
        "start": start,
        "first_day": first_day,
        "last_day": last_day,
        "active_users": active_users,
        "events": sum(row["events"] for row in rows),
        "page_views": page_views,
        "interactions": interactions,
        "interaction_rate": round(100 * interactions / page_views, 1) if page_views else None,
        "interactions_per_active_user": round(interactions / active_users, 2) if active_users else None,
        "sessions": sessions["sessions"],
        "average_session_seconds": (
            round((sessions["seconds"] or 0) / sessions["sessions"], 1) if sessions["sessions"] else None
        ),
        "course_engagement": rows,
    }


def _path_status(items_total: int, items_completed: int) -> str:
    if items_total and items_completed == items_total:
        return "completed"
    return "in_progress" if items_completed else "not_started"


def progress_tracking(*, student_id: int, courses: QuerySet[Course], now: datetime, limit: int = 10) -> dict[str, Any]:
    """A student's learning paths, i.e. the courses given: completed (every item completed), in progress (some),
    not started (none, or a course without items); the completion rate (completed out of all paths), the average
    progress (items completed out of all, averaged over paths with items), and the latest `limit` completion events
    with the item's title (event store, through the (actor_id, occurred_at) index)."""
    progress = {row["course"]: row for row in course_progress(student_id=student_id, courses=courses)}
    paths = []
    for course_id, code, title in courses.order_by("code").values_list("pk", "code", "title"):
        row = progress.get(course_id, {})
        total, done = row.get("items_total", 0), row.get("items_completed", 0)
        paths.append(
            {
                "course": course_id,
                "code": code,
                "title": title,
                "items_total": total,
                "items_completed": done,
                "progress_percent": row.get("progress_percent"),
                "status": _path_status(total, done),
            }
        )
    with_items = [path for path in paths if path["items_total"]]
    completed = sum(path["status"] == "completed" for path in paths)
    recent = (
        LearningEvent.objects.filter(
            actor_id=student_id,
            course_id__in=courses.values("pk"),
            action__in=sorted(COMPLETE_ACTIONS),
            item_id__isnull=False,
            occurred_at__lte=now,
        )
        .order_by("-occurred_at")
        .values_list("occurred_at", "action", "course_id", "item_id", "item__title")[:limit]
    )
    return {
        "as_of": now,
        "total_learning_paths": len(paths),
        "completed_paths": completed,
        "in_progress_paths": sum(path["status"] == "in_progress" for path in paths),
        "not_started_paths": sum(path["status"] == "not_started" for path in paths),
        "completion_rate": round(100 * completed / len(paths), 1) if paths else None,
        "average_progress": (
            round(sum(100 * p["items_completed"] / p["items_total"] for p in with_items) / len(with_items), 1)
            if with_items
            else None
        ),
        "paths": paths,
        "recent_completions": [
            {"completed_at": occurred_at, "action": action, "course": course_id, "item": item_id, "title": title}
            for occurred_at, action, course_id, item_id, title in recent
        ],
    }


def _score_percent(score_sum: Decimal | None, score_count: int | None) -> float | None:
    """The mean of scored events' percentages, as the rollups hold them (sum and count)."""
    return round(float(score_sum or 0) / score_count, 1) if score_count else None


def learning_progress(*, student_id: int, courses: QuerySet[Course]) -> list[dict[str, Any]]:
    """Per course (by code): items, lessons and modules completed out of all, progress per module, and from the
    rollups (all time) events, active minutes, the last local day with activity and the average score."""
    progress = {row["course"]: row for row in _item_progress(student_id=student_id, courses=courses)}
    activity = {
        row["course_id"]: row
        for row in StudentDailyRollup.objects.filter(student_id=student_id, course_id__in=courses.values("pk"))
        .values("course_id")
        .annotate(
            last_day=Max("day"),
            events=Sum("events"),
            active_seconds=Sum("active_seconds"),
            score_sum=Sum("score_sum"),
            score_count=Sum("score_count"),
        )
    }
    answer = []
    for course_id, code, title in courses.order_by("code").values_list("pk", "code", "title"):
        row = progress.get(course_id) or {
            "items_total": 0,
            "items_completed": 0,
            "lessons_total": 0,
            "lessons_completed": 0,
            "topics_total": 0,
            "topics_completed": 0,
            "progress_percent": None,
            "modules": [],
        }
        done = activity.get(course_id, {})
        answer.append(
            {
                **row,
                "course": course_id,
                "code": code,
                "title": title,
                "events": done.get("events") or 0,
                "active_minutes": round((done.get("active_seconds") or 0) / 60, 1),
                "last_activity_date": done.get("last_day"),
                "average_score_percent": _score_percent(done.get("score_sum"), done.get("score_count")),
            }
        )
    return answer


def _class_comparison(*, student_id: int, peers: list[dict[str, Any]], peer_minimum: int) -> dict[str, Any]:
    """How the student compares with the class: the students of the class with activity in the period are the peer
    group (the student included when active); averages are per peer; events_percentile is the share of peers with
    fewer events than the student. Figures over fewer than `peer_minimum` contributing students are withheld."""
    count = len(peers)
    scored = [peer for peer in peers if peer["score_count"]]
    mine = next((peer["events"] for peer in peers if peer["student_id"] == student_id), 0)
    answer: dict[str, Any] = {
        "students": count,
        "hidden": False,
        "reason": None,
        "average_events": round(sum(peer["events"] for peer in peers) / count, 1) if count else None,
        "average_active_minutes": (
            round(sum(peer["active_seconds"] for peer in peers) / 60 / count, 1) if count else None
        ),
        "average_score_percent": _score_percent(
            sum((peer["score_sum"] for peer in scored), Decimal(0)), sum(peer["score_count"] for peer in scored)
        ),
        "events_percentile": round(100 * sum(peer["events"] < mine for peer in peers) / count, 1) if count else None,
    }
    if count < peer_minimum:
        figures = ("average_events", "average_active_minutes", "average_score_percent", "events_percentile")
        answer.update(dict.fromkeys(figures), hidden=True)
        answer["reason"] = f"Class figures are shown to students when at least {peer_minimum} students contribute."
    elif len(scored) < peer_minimum:
        answer["average_score_percent"] = None
        answer["reason"] = f"The class average score is shown to students when at least {peer_minimum} have scores."
    return answer


def user_analytics(
    *, student_id: int, courses: QuerySet[Course], period: DateRange, peer_minimum: int
) -> dict[str, Any]:
    """One student over a period, limited to the given courses: the learning_activity totals, the average score, a
    zero-filled daily trend and a per-course breakdown with the class comparison (_class_comparison; pass
    `peer_minimum` 0 to show it whatever the class size)."""
    course_rows = list(courses.order_by("code").values_list("pk", "code", "title"))
    course_ids = [pk for pk, _, _ in course_rows]
    totals = learning_activity(student_id=student_id, period=period, course_ids=course_ids)
    in_range = StudentDailyRollup.objects.filter(course_id__in=course_ids, day__range=(period.first, period.last))
    fields = ("events", "active_seconds", "items_viewed", "items_completed", "score_sum", "score_count", "xp")
    days: dict[date, dict[str, Any]] = {}
    per_course: dict[int, dict[str, Any]] = {}
    # one row per course and day (the rollup's unique key): no grouping needed
    for row in in_range.filter(student_id=student_id).values("day", "course_id", *fields):
        for target in (days.setdefault(row["day"], {}), per_course.setdefault(row["course_id"], {})):
            for key in fields:
                target[key] = target.get(key, 0) + row[key]
    enrolled_student = Enrollment.objects.filter(
        user_id=OuterRef("student_id"), course_id=OuterRef("course_id"), role=Enrollment.Role.STUDENT
    )
    peers: dict[int, list[dict[str, Any]]] = {}
    for row in (
        in_range.filter(Exists(enrolled_student))
        .values("course_id", "student_id")
        .annotate(
            events=Sum("events"),
            active_seconds=Sum("active_seconds"),
            score_sum=Sum("score_sum"),
            score_count=Sum("score_count"),
        )
    ):
        peers.setdefault(row["course_id"], []).append(row)
    score_sum = sum((row.get("score_sum", 0) for row in per_course.values()), Decimal(0))
    score_count = sum(row.get("score_count", 0) for row in per_course.values())
    return {
        "student": student_id,
        "as_of": period.now,
        "days": period.days,
        "first_day": period.first,
        "last_day": period.last,
        **totals,
        "average_score_percent": _score_percent(score_sum, score_count),
        "daily": [
            {
                "date": day,
                "events": days.get(day, {}).get("events", 0),
                "active_minutes": round(days.get(day, {}).get("active_seconds", 0) / 60, 1),
                "items_completed": days.get(day, {}).get("items_completed", 0),
                "xp": days.get(day, {}).get("xp", 0),
            }
            for day in period.buckets()
        ],
        "courses": [
            {
                "course": pk,
                "code": code,
                "title": title,
                "events": per_course.get(pk, {}).get("events", 0),
                "active_minutes": round(per_course.get(pk, {}).get("active_seconds", 0) / 60, 1),
                "items_viewed": per_course.get(pk, {}).get("items_viewed", 0),
                "items_completed": per_course.get(pk, {}).get("items_completed", 0),
                "xp": per_course.get(pk, {}).get("xp", 0),
                "average_score_percent": _score_percent(
                    per_course.get(pk, {}).get("score_sum"), per_course.get(pk, {}).get("score_count")
                ),
                "class_comparison": _class_comparison(
                    student_id=student_id, peers=peers.get(pk, []), peer_minimum=peer_minimum
                ),
            }
            for pk, code, title in course_rows
        ],
    }

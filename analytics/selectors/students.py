"""One student: learning activity over a period, the activity heatmap, their analytics with the class comparison,
where they stand in their classes, and their latest events."""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, NotRequired, TypedDict

from django.db.models import Count, Exists, OuterRef, QuerySet, Sum

from analytics.models import LearningEvent, StudentDailyRollup
from analytics.selectors.progress import average_progress, progress_of
from classroom.models import Course, Enrollment
from core.daterange import DateRange
from core.figures import mean, minutes, score_average, share_below, withhold_small_group

RECENT_ACTIVITY = 10


class LearningActivity(TypedDict):
    """One student's learning over a period."""

    sessions: Annotated[int, "Distinct session ids of the student's events."]
    active_minutes: float
    average_session_minutes: float | None
    active_days: Annotated[int, "Local days with activity."]
    events: int
    materials_viewed: Annotated[int, "Items viewed (distinct per day, summed)."]
    materials_completed: Annotated[int, "Items completed (distinct per day, summed)."]
    xp_earned: int


def learning_activity(
    *, student_id: int, period: DateRange, course_ids: Iterable[int] | QuerySet[Any] | None = None
) -> LearningActivity:
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
    active_minutes = minutes(totals["active_seconds"])
    return {
        "sessions": sessions,
        "active_minutes": active_minutes,
        "average_session_minutes": mean(active_minutes, sessions),
        "active_days": totals["active_days"],
        "events": totals["events"] or 0,
        "materials_viewed": totals["viewed"] or 0,
        "materials_completed": totals["completed"] or 0,
        "xp_earned": totals["xp"] or 0,
    }


class HeatmapDay(TypedDict):
    date: date
    events: int
    active_minutes: float
    xp: int


def learning_heatmap(
    *, student_id: int, period: DateRange, course_ids: Iterable[int] | QuerySet[Any] | None = None
) -> list[HeatmapDay]:
    """Per day (each course's own calendar): events, active minutes and XP of one student over all their courses, or
    only those in `course_ids` (a teacher's view: the classes they teach)."""
    rollups = StudentDailyRollup.objects.filter(student_id=student_id, day__range=(period.first, period.last))
    if course_ids is not None:
        rollups = rollups.filter(course_id__in=course_ids)
    rows = {
        row["day"]: row
        for row in rollups.values("day").annotate(
            events=Sum("events"), active_seconds=Sum("active_seconds"), xp=Sum("xp")
        )
    }
    return [
        {
            "date": day,
            "events": rows.get(day, {}).get("events") or 0,
            "active_minutes": minutes(rows.get(day, {}).get("active_seconds")),
            "xp": rows.get(day, {}).get("xp") or 0,
        }
        for day in period.buckets()
    ]


class LearningHeatmap(TypedDict):
    student: int
    as_of: datetime
    days: int
    heatmap: list[HeatmapDay]


class ClassComparison(TypedDict):
    """How the student compares with the active students of the class (withheld from students in small classes)."""

    students: Annotated[int, "Students of the class with activity in the period (the peer group)."]
    hidden: bool
    reason: str | None
    average_events: float | None
    average_active_minutes: float | None
    average_score_percent: float | None
    events_percentile: Annotated[float | None, "Share of the peer group (the student included) with fewer events."]


def class_comparison(*, student_id: int, peers: list[dict[str, Any]], minimum: int) -> ClassComparison:
    """How the student compares with the class: the students of the class with activity in the period are the peer
    group (the student included when active); averages are per peer; events_percentile is the share of peers with
    fewer events than the student. Figures over fewer than `minimum` contributing students are withheld."""
    count = len(peers)
    scored = [peer for peer in peers if peer["score_count"]]
    mine = next((peer["events"] for peer in peers if peer["student_id"] == student_id), 0)
    answer: dict[str, Any] = {
        "students": count,
        "hidden": False,
        "reason": None,
        "average_events": mean(sum(peer["events"] for peer in peers), count),
        "average_active_minutes": mean(sum(peer["active_seconds"] for peer in peers) / 60, count),
        "average_score_percent": score_average(
            sum((peer["score_sum"] for peer in scored), Decimal(0)), sum(peer["score_count"] for peer in scored)
        ),
        "events_percentile": share_below(mine, [peer["events"] for peer in peers]),
    }
    answer = withhold_small_group(
        answer,
        contributors=count,
        minimum=minimum,
        fields=("average_events", "average_active_minutes", "average_score_percent", "events_percentile"),
        reason=f"Class figures are shown to students when at least {minimum} students contribute.",
    )
    if not answer["hidden"]:
        answer = withhold_small_group(
            answer,
            contributors=len(scored),
            minimum=minimum,
            fields=("average_score_percent",),
            reason=f"The class average score is shown to students when at least {minimum} have scores.",
            hide=False,
        )
    return answer  # type: ignore[return-value]


class UserDay(TypedDict):
    date: date
    events: int
    active_minutes: float
    items_completed: int
    xp: int


class UserCourse(TypedDict):
    course: int
    code: str
    title: str
    events: int
    active_minutes: float
    items_viewed: int
    items_completed: int
    xp: int
    average_score_percent: float | None
    class_comparison: ClassComparison


class UserAnalytics(LearningActivity):
    """One student over a period in the classes the requester shares with them."""

    student: int
    as_of: datetime
    days: int
    first_day: date
    last_day: date
    average_score_percent: float | None
    daily: list[UserDay]
    courses: list[UserCourse]


def user_analytics(
    *,
    student_id: int,
    courses: QuerySet[Course],
    period: DateRange,
    peer_minimum: int,
    activity_course_ids: Iterable[int] | QuerySet[Any] | None | Literal["courses"] = "courses",
) -> UserAnalytics:
    """One student over a period: the learning_activity totals, the average score and a zero-filled daily trend over
    `activity_course_ids` (None: all the student's learning, for a viewer who sees the whole student; by default the
    given courses), and a per-course breakdown of the given courses with the class comparison (class_comparison;
    pass `peer_minimum` 0 to show it whatever the class size). The micro dashboard counts the same
    learning_activity over the same classes, so the two agree for one viewer and period."""
    course_rows = list(courses.order_by("code").values_list("pk", "code", "title"))
    course_ids = [pk for pk, _, _ in course_rows]
    counted = course_ids if isinstance(activity_course_ids, str) else activity_course_ids
    totals = learning_activity(student_id=student_id, period=period, course_ids=counted)
    in_range = StudentDailyRollup.objects.filter(course_id__in=course_ids, day__range=(period.first, period.last))
    mine = StudentDailyRollup.objects.filter(student_id=student_id, day__range=(period.first, period.last))
    if counted is not None:
        mine = mine.filter(course_id__in=counted)
    fields = ("events", "active_seconds", "items_viewed", "items_completed", "score_sum", "score_count", "xp")
    days: dict[date, dict[str, Any]] = {}
    per_course: dict[int, dict[str, Any]] = {}
    listed = set(course_ids)
    # one row per course and day (the rollup's unique key): no grouping needed
    for row in mine.values("day", "course_id", *fields):
        targets = [days.setdefault(row["day"], {})]
        if row["course_id"] in listed:
            targets.append(per_course.setdefault(row["course_id"], {}))
        for target in targets:
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
    score_sum = sum((row.get("score_sum", 0) for row in days.values()), Decimal(0))
    score_count = sum(row.get("score_count", 0) for row in days.values())
    return {
        "student": student_id,
        "as_of": period.now,
        "days": period.days,
        "first_day": period.first,
        "last_day": period.last,
        **totals,
        "average_score_percent": score_average(score_sum, score_count),
        "daily": [
            {
                "date": day,
                "events": days.get(day, {}).get("events", 0),
                "active_minutes": minutes(days.get(day, {}).get("active_seconds", 0)),
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
                "active_minutes": minutes(per_course.get(pk, {}).get("active_seconds", 0)),
                "items_viewed": per_course.get(pk, {}).get("items_viewed", 0),
                "items_completed": per_course.get(pk, {}).get("items_completed", 0),
                "xp": per_course.get(pk, {}).get("xp", 0),
                "average_score_percent": score_average(
                    per_course.get(pk, {}).get("score_sum"), per_course.get(pk, {}).get("score_count")
                ),
                "class_comparison": class_comparison(
                    student_id=student_id, peers=peers.get(pk, []), minimum=peer_minimum
                ),
            }
            for pk, code, title in course_rows
        ],
    }


class PeerComparison(TypedDict):
    """The class's average progress and where the student stands (withheld from students in small classes)."""

    hidden: bool
    students: Annotated[int, "Actively enrolled students of the class."]
    has_activity: Annotated[bool, "Someone in the class has completed an item; without that, no percentile."]
    reason: NotRequired[str]
    class_average_percent: NotRequired[float | None]
    percentile: NotRequired[
        Annotated[
            float | None,
            "Share of the class (the student included) with less progress, in percent: 80 means ahead of 80 % of "
            "the class. Empty while nobody in the class has completed anything.",
        ]
    ]


def peer_comparison(*, student_id: int, completions: dict[int, tuple[int, int]], minimum: int) -> PeerComparison:
    """The class's average progress and where the student stands (the share of the class with less progress), from
    each enrolled student's (items completed, items). Left out when fewer than `minimum` students take part. In a
    class where nobody has completed anything yet every student would stand at 0.0, which reads as "last": the
    percentile is empty instead."""
    progress = progress_of(completions)
    values = list(progress.values())
    mine = progress.get(student_id)
    has_activity = any(done for done, _ in completions.values())
    answer: dict[str, Any] = {
        "hidden": False,
        "students": len(values),
        "has_activity": has_activity,
        "class_average_percent": average_progress(completions.values()),
        "percentile": share_below(mine, values) if mine is not None and has_activity else None,
    }
    return withhold_small_group(  # type: ignore[return-value]
        answer,
        contributors=len(values),
        minimum=minimum,
        fields=("class_average_percent", "percentile"),
        reason=f"Shown when at least {minimum} students take part.",
        drop=True,
    )


class ActivityEntry(TypedDict):
    occurred_at: datetime
    action: str
    course: int | None
    course_code: Annotated[str | None, "The class the event happened in (empty: outside any class)."]
    course_title: str | None
    item: int | None
    title: str | None


def recent_activity(
    *,
    student_id: int,
    now: datetime,
    limit: int = RECENT_ACTIVITY,
    course_ids: Iterable[int] | QuerySet[Any] | None = None,
) -> list[ActivityEntry]:
    """The student's latest events (through the (actor_id, occurred_at) index), with the class and item of each;
    with `course_ids`, only those in these classes (a teacher's view: the classes they teach)."""
    events = LearningEvent.objects.filter(
        actor_id=student_id, occurred_at__lte=now, occurred_at__gte=now - timedelta(days=90)
    )
    if course_ids is not None:
        events = events.filter(course_id__in=course_ids)
    # The latest rows first (the index), then their class and item by primary key: nested loops over `limit` rows.
    rows = events.order_by("-occurred_at").values_list(
        "occurred_at", "action", "course_id", "course__code", "course__title", "item_id", "item__title"
    )[:limit]
    return [
        {
            "occurred_at": at,
            "action": action,
            "course": course_id,
            "course_code": code,
            "course_title": course_title,
            "item": item_id,
            "title": title,
        }
        for at, action, course_id, code, course_title, item_id, title in rows
    ]

"""Engagement over a set of classes: the daily trend, engagement metrics per timeframe, the live minutes (the
engagement score of enrolments is analytics.selectors.enrolments'). Who may see which classes is settled before
(classroom.selectors.metric_scope); these take ids."""

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, TypedDict
from zoneinfo import ZoneInfo

from django.db.models import Count, F, Func, IntegerField, Q, QuerySet, Sum
from django.db.models.functions import Trunc

from analytics.models import COMPLETE_ACTIONS, VIEW_ACTIONS, LearningEvent, StudentDailyRollup
from classroom.models import Course
from core.daterange import DateRange
from core.figures import mean, minutes, percent

CourseIds = Iterable[int] | QuerySet[Any]


class EngagementPoint(TypedDict):
    """One bucket (day, or week / month start) of a class or school's engagement."""

    date: Annotated[date, "The local day, or the first day of the week or month."]
    active_students: Annotated[int, "Distinct students with an event (a student active in two classes counts once)."]
    events: Annotated[int, "Learning events."]
    active_minutes: Annotated[float, "Summed event durations, in minutes."]


def _bucket(period: DateRange) -> Any:
    return Trunc("day", period.interval, output_field=StudentDailyRollup._meta.get_field("day"))


def engagement_trend(*, course_ids: CourseIds, period: DateRange) -> list[EngagementPoint]:
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
            "active_minutes": minutes(rows.get(bucket, {}).get("active_seconds")),
        }
        for bucket in period.buckets()
    ]


def growth_percent(points: list[EngagementPoint], key: str, width: int = 7) -> float | None:
    """Change of `key` between the first and the last `width` buckets, in percent; None when it cannot be said
    (too short a series, or nothing in the first part)."""
    if len(points) < 2 * width:
        return None
    before = sum(point[key] for point in points[:width])  # type: ignore[literal-required]
    after = sum(point[key] for point in points[-width:])  # type: ignore[literal-required]
    return None if before == 0 else round(100 * (after - before) / before, 1)


class EngagementTrend(TypedDict):
    """Daily engagement over the requester's classes (teachers) or school (administrators)."""

    as_of: Annotated[datetime, "When the answer was computed."]
    days: Annotated[int, "Days in the period (ending today)."]
    total_events: Annotated[int, "Learning events in the period."]
    peak_active_students: Annotated[int, "The most active students on one day."]
    growth_percent: Annotated[float | None, "Events of the last 7 days against the first 7, in percent."]
    daily: Annotated[list[EngagementPoint], "Per local day (per week, dated by its Monday, when asked)."]


def engagement_trend_answer(*, course_ids: CourseIds, period: DateRange) -> EngagementTrend:
    points = engagement_trend(course_ids=course_ids, period=period)
    return {
        "as_of": period.now,
        "days": period.days,
        "total_events": sum(point["events"] for point in points),
        "peak_active_students": max((point["active_students"] for point in points), default=0),
        "growth_percent": growth_percent(points, "events"),
        "daily": points,
    }


class RecentEvent(TypedDict):
    occurred_at: datetime
    action: str
    course: int | None
    item: int | None
    student: int


class Realtime(TypedDict):
    """The last minutes, straight from the event store."""

    as_of: datetime
    active_last_5_minutes: Annotated[int, "Distinct learners with an event in the last 5 minutes."]
    events_today: Annotated[int, "Events since the requester's local midnight."]
    recent_activities: Annotated[list[RecentEvent], "The 10 latest events of the last day."]


def realtime(*, course_ids: CourseIds, now: datetime, zone: ZoneInfo) -> Realtime:
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


# engagement-metrics windows: sub-day ones end at `now` and read the event store (the rollups are per day); the
# others are the last local days ending today and read the rollups.
ENGAGEMENT_TIMEFRAMES: dict[str, timedelta | int] = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "1d": 1,
    "7d": 7,
    "30d": 30,
    "90d": 90,
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


class CourseEngagement(TypedDict):
    course: int
    code: str
    title: str
    active_users: Annotated[int, "Distinct learners with an event in the window."]
    events: int
    page_views: Annotated[int, "Item views, once per learner, item and day (in an hour window: learner and item)."]
    interactions: Annotated[int, "Item completions and submissions, counted as page views are."]


class EngagementMetrics(TypedDict):
    """Engagement over a set of classes in a timeframe (definitions: analytics.selectors.engagement_metrics)."""

    as_of: datetime
    timeframe: Annotated[str, "1h, 6h (hours ending now), 1d, 7d, 30d or 90d (local days ending today)."]
    source: Annotated[str, "events (the event store) or rollups (the daily rollups)."]
    start: datetime
    first_day: date | None
    last_day: date | None
    active_users: int
    events: int
    page_views: int
    interactions: int
    interaction_rate: Annotated[float | None, "Interactions per 100 page views."]
    interactions_per_active_user: float | None
    sessions: Annotated[int, "Distinct session ids of the window's events."]
    average_session_seconds: Annotated[float | None, "Summed durations of those sessions' events / sessions."]
    course_engagement: list[CourseEngagement]


def engagement_metrics(*, course_ids: CourseIds, timeframe: str, now: datetime, zone: ZoneInfo) -> EngagementMetrics:
    """Engagement over a set of classes in a timeframe (ENGAGEMENT_TIMEFRAMES): 1h and 6h are the hours ending at
    `now`, read from the event store; 1d, 7d, 30d and 90d are the local days (in `zone`) ending today, read from the
    rollups (each course's own days, as every rollup figure).

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
    rows: list[CourseEngagement] = [
        {
            "course": pk,
            "code": code,
            "title": title,
            "active_users": per_course.get(pk, {}).get("active_users") or 0,
            "events": per_course.get(pk, {}).get("events") or 0,
            "page_views": per_course.get(pk, {}).get("page_views") or 0,
            "interactions": per_course.get(pk, {}).get("interactions") or 0,
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
        "interaction_rate": percent(interactions, page_views),
        "interactions_per_active_user": mean(interactions, active_users, digits=2),
        "sessions": sessions["sessions"],
        "average_session_seconds": mean(sessions["seconds"], sessions["sessions"]),
        "course_engagement": rows,
    }

"""Daily activity per student and class: one row per student x class x local day (the class's calendar) of the
student-day rollups, for tables and reports.

One query (`activity_days_query`) serves both a page of the API (`activity_daily_page`: keyset pagination over
(day, course, student), so a page costs the same wherever it starts) and the whole range for a report
(`activity_days_stream`: page after page, so a million rows are read in constant memory). Being one query, the
pages and the stream cannot drift apart; tests/test_metric_parity.py holds them equal.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, TypedDict

from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim

from analytics.models import StudentDailyRollup
from core.daterange import DateRange
from core.figures import minutes, score_average
from core.params import iso_date, row_id

CourseIds = Iterable[int] | QuerySet[Any]

# Rows per page of a stream: large enough that a million rows take 200 queries, small enough that a page (about
# 5 MB of Python rows) never matters to a worker's memory.
STREAM_CHUNK = 5000

CURSOR = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})\.([0-9]{1,19})\.([0-9]{1,19})", re.ASCII)
CURSOR_MESSAGE = "Not a cursor; pass the `next` of the previous page unchanged."


@dataclass(frozen=True)
class ActivityCursor:
    """Where a page ends: the (day, course, student) of its last row. The next page starts strictly after it."""

    day: date
    course: int
    student: int

    @classmethod
    def parse(cls, token: Any) -> "ActivityCursor | None":
        """The cursor `token` spells (as `token()` writes it), or None when it spells none."""
        match = CURSOR.fullmatch(token) if isinstance(token, str) else None
        if match is None:
            return None
        day, course, student = iso_date(match[1]), row_id(match[2]), row_id(match[3])
        if day is None or course is None or student is None:
            return None
        return cls(day, course, student)

    def token(self) -> str:
        return f"{self.day.isoformat()}.{self.course}.{self.student}"


class ActivityDay(TypedDict):
    """One student's activity in one class on one local day of the class."""

    day: Annotated[date, "The local day, in the class's time zone."]
    course: Annotated[int, "The class's id."]
    course_code: Annotated[str, "The class's code."]
    student: Annotated[int, "The student's id."]
    name: Annotated[str, "The student's full name, else their username."]
    events: Annotated[int, "Learning events stored that day."]
    active_minutes: Annotated[float, "Active time, in minutes (one decimal)."]
    items_viewed: Annotated[int, "Distinct items viewed."]
    items_completed: Annotated[int, "Distinct items completed."]
    attempts: Annotated[int, "Attempts the day's events report (their metadata.attempts, summed)."]
    average_score_percent: Annotated[float | None, "Mean percentage of the day's scored events; none without any."]
    xp: Annotated[int, "XP earned that day in the class."]


class ActivityDaily(TypedDict):
    """Per local day, class and student of the requester's classes: events, active minutes, items viewed and
    completed, attempts, average score and XP, one page at a time."""

    first_day: Annotated[date, "The first day of the range."]
    last_day: Annotated[date, "The last day of the range."]
    as_of: Annotated[datetime, "When the answer was computed."]
    rows: Annotated[list[ActivityDay], "By day, class and student; at most `limit` of them."]
    next: Annotated[str | None, "Pass as `after` for the next page; none on the last page."]


# User.display_name in SQL: "first last" (trimmed, as get_full_name), else the username
DISPLAY_NAME = Coalesce(
    NullIf(Trim(Concat("student__first_name", Value(" "), "student__last_name")), Value("")),
    F("student__username"),
)
ORDER = ("day", "course_id", "student_id")


def activity_days_query(
    *,
    course_ids: CourseIds,
    period: DateRange,
    student_id: int | None = None,
    after: ActivityCursor | None = None,
) -> QuerySet[Any]:
    """The rows of the range in order, as values (the one query of pages and stream). Activity outside any class has
    no course and so is never among `course_ids`."""
    rollups = StudentDailyRollup.objects.filter(course_id__in=course_ids, day__range=(period.first, period.last))
    if student_id is not None:
        rollups = rollups.filter(student_id=student_id)
    if after is not None:
        # keyset: (day, course, student) > the cursor's; the leading day bound keeps it a range scan of the
        # (day, course) index rather than an OR over the whole range
        rollups = rollups.filter(day__gte=after.day).filter(
            Q(day__gt=after.day)
            | Q(course_id__gt=after.course)
            | Q(course_id=after.course, student_id__gt=after.student)
        )
    return rollups.order_by(*ORDER).values(
        "day",
        "course_id",
        "student_id",
        "events",
        "active_seconds",
        "items_viewed",
        "items_completed",
        "attempts",
        "score_sum",
        "score_count",
        "xp",
        course_code=F("course__code"),
        name=DISPLAY_NAME,
    )


def activity_row(values: dict[str, Any]) -> ActivityDay:
    return {
        "day": values["day"],
        "course": values["course_id"],
        "course_code": values["course_code"],
        "student": values["student_id"],
        "name": values["name"],
        "events": values["events"],
        "active_minutes": minutes(values["active_seconds"]),
        "items_viewed": values["items_viewed"],
        "items_completed": values["items_completed"],
        "attempts": values["attempts"],
        "average_score_percent": score_average(values["score_sum"], values["score_count"]),
        "xp": values["xp"],
    }


def activity_daily_page(
    *,
    course_ids: CourseIds,
    period: DateRange,
    student_id: int | None = None,
    limit: int,
    after: ActivityCursor | None = None,
) -> ActivityDaily:
    """At most `limit` rows after `after`, and the cursor of the next page (None when none follows). One more row
    than asked for is read to know whether another page follows, so the last page never points to an empty one."""
    query = activity_days_query(course_ids=course_ids, period=period, student_id=student_id, after=after)
    rows = [activity_row(values) for values in query[: limit + 1]]
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        following = ActivityCursor(last["day"], last["course"], last["student"]).token()
    return {"first_day": period.first, "last_day": period.last, "as_of": period.now, "rows": rows, "next": following}


def activity_days_stream(
    *, course_ids: CourseIds, period: DateRange, student_id: int | None = None
) -> Iterator[ActivityDay]:
    """Every row of the range, in the pages' order: the pages themselves, STREAM_CHUNK rows each, one after the
    other, so memory stays constant however many rows there are. (A server-side cursor over the whole range was
    slower: outside a transaction Django declares it WITH HOLD, which PostgreSQL computes in full and sorts on disk
    before the first row: 4.3 s to the first of 670 000 rows, where the pages give 100 000 rows in 2 s.)"""
    after: ActivityCursor | None = None
    while True:
        page = activity_daily_page(
            course_ids=course_ids, period=period, student_id=student_id, limit=STREAM_CHUNK, after=after
        )
        yield from page["rows"]
        if page["next"] is None:
            return
        after = ActivityCursor.parse(page["next"])

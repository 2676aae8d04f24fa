"""core.daterange.DateRange: local days of a zone, so a day across a change to or from summer time is 23 or 25 hours
long, `last_days` counts the local days that end today as seen at `now`, and buckets (day, week, month) come out in
order, once each, whichever the zone.

2026's changes: Europe/London on 29 March and 25 October (at 01:00 UTC), America/New_York on 8 March and 1 November
(at 02:00 local). Asia/Tokyo has no summer time."""

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from analytics import selectors
from analytics.services import events_ingest
from core.daterange import DateRange
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    LearningItemFactory,
    ModuleFactory,
    OrganizationFactory,
    StudentFactory,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
HOUR = timedelta(hours=1)


def hours_between(earlier: datetime, later: datetime) -> float:
    # Through UTC: subtracting two datetimes of the same tzinfo compares wall clocks and would hide the change.
    return (later.astimezone(UTC) - earlier.astimezone(UTC)) / HOUR


def day_range(day: date, zone: ZoneInfo, interval: str = "day") -> DateRange:
    return DateRange(day, day, zone, datetime(2026, 12, 31, tzinfo=UTC), interval)


# --- the real instants of a day ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "starts_utc", "ends_utc", "hours"),
    [
        # spring: the local day loses an hour
        (LONDON, date(2026, 3, 29), datetime(2026, 3, 29, 0, 0, tzinfo=UTC), datetime(2026, 3, 29, 23, tzinfo=UTC), 23),
        (NEW_YORK, date(2026, 3, 8), datetime(2026, 3, 8, 5, tzinfo=UTC), datetime(2026, 3, 9, 4, tzinfo=UTC), 23),
        # autumn: it gains one
        (LONDON, date(2026, 10, 25), datetime(2026, 10, 24, 23, tzinfo=UTC), datetime(2026, 10, 26, tzinfo=UTC), 25),
        (NEW_YORK, date(2026, 11, 1), datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 11, 2, 5, tzinfo=UTC), 25),
        # the days either side are ordinary
        (LONDON, date(2026, 3, 28), datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 3, 29, tzinfo=UTC), 24),
        (LONDON, date(2026, 3, 30), datetime(2026, 3, 29, 23, tzinfo=UTC), datetime(2026, 3, 30, 23, tzinfo=UTC), 24),
        (NEW_YORK, date(2026, 11, 2), datetime(2026, 11, 2, 5, tzinfo=UTC), datetime(2026, 11, 3, 5, tzinfo=UTC), 24),
        # no summer time: every day is 24 hours, on the same dates
        (TOKYO, date(2026, 3, 29), datetime(2026, 3, 28, 15, tzinfo=UTC), datetime(2026, 3, 29, 15, tzinfo=UTC), 24),
        (TOKYO, date(2026, 10, 25), datetime(2026, 10, 24, 15, tzinfo=UTC), datetime(2026, 10, 25, 15, tzinfo=UTC), 24),
    ],
)
def test_start_and_end_are_the_real_instants_of_the_local_day(
    zone: ZoneInfo, day: date, starts_utc: datetime, ends_utc: datetime, hours: int
) -> None:
    period = day_range(day, zone)

    assert period.start() == starts_utc
    assert period.end() == ends_utc
    assert hours_between(period.start(), period.end()) == hours
    assert period.days == 1


def test_a_week_across_each_change_is_an_hour_short_or_long() -> None:
    # Monday to Sunday, the Sunday being the change
    spring = DateRange(date(2026, 3, 23), date(2026, 3, 29), LONDON, datetime(2026, 4, 1, tzinfo=UTC), "week")
    autumn = DateRange(date(2026, 10, 19), date(2026, 10, 25), LONDON, datetime(2026, 11, 1, tzinfo=UTC), "week")
    # New York changes on a Sunday too; its week from Monday 26 October holds 1 November
    new_york = DateRange(date(2026, 10, 26), date(2026, 11, 1), NEW_YORK, datetime(2026, 11, 5, tzinfo=UTC), "week")
    tokyo = DateRange(date(2026, 3, 23), date(2026, 3, 29), TOKYO, datetime(2026, 4, 1, tzinfo=UTC), "week")

    assert hours_between(spring.start(), spring.end()) == 7 * 24 - 1
    assert hours_between(autumn.start(), autumn.end()) == 7 * 24 + 1
    assert hours_between(new_york.start(), new_york.end()) == 7 * 24 + 1
    assert hours_between(tokyo.start(), tokyo.end()) == 7 * 24
    assert [spring.days, autumn.days, new_york.days, tokyo.days] == [7, 7, 7, 7]


def test_consecutive_days_tile_time_without_gap_or_overlap() -> None:
    # each local day ends where the next begins, through both London changes and both New York ones
    for zone, first, last in [
        (LONDON, date(2026, 3, 20), date(2026, 4, 5)),
        (LONDON, date(2026, 10, 18), date(2026, 11, 1)),
        (NEW_YORK, date(2026, 3, 1), date(2026, 3, 15)),
        (NEW_YORK, date(2026, 10, 25), date(2026, 11, 8)),
        (TOKYO, date(2026, 3, 20), date(2026, 4, 5)),
    ]:
        days = [day_range(first + timedelta(days=n), zone) for n in range((last - first).days + 1)]
        for today, tomorrow in pairwise(days):
            assert today.end() == tomorrow.start(), (zone, today.first)
        whole = DateRange(first, last, zone, datetime(2026, 12, 31, tzinfo=UTC))
        assert whole.start() == days[0].start() and whole.end() == days[-1].end()
        assert sum(hours_between(day.start(), day.end()) for day in days) == hours_between(whole.start(), whole.end())


# --- last_days at `now`, near local midnight -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "zone", "today"),
    [
        # the evening before London's spring change: still GMT, so 23:30 UTC is 23:30 on the 28th
        (datetime(2026, 3, 28, 23, 30, tzinfo=UTC), LONDON, date(2026, 3, 28)),
        # the evening of the change: BST, so 23:30 UTC is already 00:30 on the 30th
        (datetime(2026, 3, 29, 23, 30, tzinfo=UTC), LONDON, date(2026, 3, 30)),
        # the first instant of the 30th (BST) and the last one of the 29th
        (datetime(2026, 3, 29, 23, 0, tzinfo=UTC), LONDON, date(2026, 3, 30)),
        (datetime(2026, 3, 29, 22, 59, 59, 999999, tzinfo=UTC), LONDON, date(2026, 3, 29)),
        # autumn: 23:30 UTC on the 24th is 00:30 BST on the 25th; on the 25th it is 23:30 GMT the same day
        (datetime(2026, 10, 24, 23, 30, tzinfo=UTC), LONDON, date(2026, 10, 25)),
        (datetime(2026, 10, 25, 23, 30, tzinfo=UTC), LONDON, date(2026, 10, 25)),
        # New York, 1 November: 04:30 UTC is 00:30 EDT; a day later, 04:30 UTC is 23:30 EST on the 1st
        (datetime(2026, 11, 1, 4, 30, tzinfo=UTC), NEW_YORK, date(2026, 11, 1)),
        (datetime(2026, 11, 2, 4, 30, tzinfo=UTC), NEW_YORK, date(2026, 11, 1)),
        (datetime(2026, 11, 2, 5, 0, tzinfo=UTC), NEW_YORK, date(2026, 11, 2)),
        # 8 March: 04:59 UTC is 23:59 EST on the 7th; 05:00 UTC is the 8th's first instant
        (datetime(2026, 3, 8, 4, 59, tzinfo=UTC), NEW_YORK, date(2026, 3, 7)),
        (datetime(2026, 3, 8, 5, 0, tzinfo=UTC), NEW_YORK, date(2026, 3, 8)),
        # a `now` given in another zone is the same instant
        (datetime(2026, 3, 30, 0, 30, tzinfo=LONDON), NEW_YORK, date(2026, 3, 29)),
        (datetime(2026, 3, 29, 15, 0, tzinfo=UTC), TOKYO, date(2026, 3, 30)),
        (datetime(2026, 3, 29, 14, 59, tzinfo=UTC), TOKYO, date(2026, 3, 29)),
    ],
)
def test_last_days_ends_on_the_local_today_of_now(now: datetime, zone: ZoneInfo, today: date) -> None:
    one = DateRange.last_days(1, now=now, zone=zone)
    week = DateRange.last_days(7, now=now, zone=zone)

    assert (one.first, one.last) == (today, today)
    assert (week.first, week.last, week.days) == (today - timedelta(days=6), today, 7)
    # `now` lies in its own day, whatever the day's length
    assert one.start() <= now < one.end()
    assert week.start() <= now < week.end()
    assert week.now == now and week.zone == zone


def test_last_days_holds_now_every_quarter_hour_across_the_changes() -> None:
    # every quarter of an hour over the three days around each change: today always contains now
    for zone, change in [
        (LONDON, datetime(2026, 3, 29, 1, tzinfo=UTC)),
        (LONDON, datetime(2026, 10, 25, 1, tzinfo=UTC)),
        (NEW_YORK, datetime(2026, 3, 8, 7, tzinfo=UTC)),
        (NEW_YORK, datetime(2026, 11, 1, 6, tzinfo=UTC)),
    ]:
        for quarter in range(-4 * 36, 4 * 36):
            now = change + quarter * timedelta(minutes=15)
            period = DateRange.last_days(30, now=now, zone=zone)
            assert period.last == now.astimezone(zone).date()
            today = DateRange.last_days(1, now=now, zone=zone)
            assert period.start() <= now < period.end(), (zone, now)
            assert today.start() <= now < today.end() == period.end(), (zone, now)


def test_last_days_takes_the_interval_and_keeps_the_day_count() -> None:
    now = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)

    period = DateRange.last_days(30, now=now, zone=LONDON, interval="week")

    assert (period.first, period.last, period.days) == (date(2026, 3, 2), date(2026, 3, 31), 30)
    assert period.interval == "week"


# --- buckets: order, alignment, zero-filling -----------------------------------------------------------------------


def test_day_buckets_across_the_changes_are_every_local_date_once() -> None:
    for zone in (LONDON, NEW_YORK, TOKYO):
        spring = DateRange(date(2026, 3, 27), date(2026, 4, 2), zone, datetime(2026, 4, 3, tzinfo=UTC))
        autumn = DateRange(date(2026, 10, 23), date(2026, 11, 3), zone, datetime(2026, 11, 4, tzinfo=UTC))

        assert list(spring.buckets()) == [date(2026, 3, 27) + timedelta(days=n) for n in range(7)]
        assert list(autumn.buckets()) == [date(2026, 10, 23) + timedelta(days=n) for n in range(12)]


def test_week_buckets_start_on_mondays_in_order() -> None:
    # Wednesday 25 March to Wednesday 8 April (London changes on Sunday the 29th): the first bucket is the Monday of
    # the week that holds `first`, even though that Monday lies before the range
    period = DateRange(date(2026, 3, 25), date(2026, 4, 8), LONDON, datetime(2026, 4, 9, tzinfo=UTC), "week")

    assert list(period.buckets()) == [date(2026, 3, 23), date(2026, 3, 30), date(2026, 4, 6)]
    assert all(bucket.weekday() == 0 for bucket in period.buckets())
    assert period.bucket_of(date(2026, 3, 29)) == date(2026, 3, 23)  # the change's Sunday ends its week
    assert period.bucket_of(date(2026, 3, 30)) == date(2026, 3, 30)


def test_month_buckets_across_the_autumn_change_and_the_new_year() -> None:
    autumn = DateRange(date(2026, 10, 20), date(2026, 11, 5), NEW_YORK, datetime(2026, 11, 6, tzinfo=UTC), "month")
    winter = DateRange(date(2025, 12, 15), date(2026, 2, 2), LONDON, datetime(2026, 2, 3, tzinfo=UTC), "month")
    one_day = DateRange(date(2026, 3, 29), date(2026, 3, 29), LONDON, datetime(2026, 4, 1, tzinfo=UTC), "month")

    assert list(autumn.buckets()) == [date(2026, 10, 1), date(2026, 11, 1)]
    assert list(winter.buckets()) == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
    assert list(one_day.buckets()) == [date(2026, 3, 1)]


@pytest.mark.parametrize("interval", ["day", "week", "month"])
def test_buckets_are_increasing_and_hold_every_day_of_the_range(interval: str) -> None:
    period = DateRange(date(2025, 12, 29), date(2026, 11, 3), NEW_YORK, datetime(2026, 11, 4, tzinfo=UTC), interval)

    buckets = list(period.buckets())

    assert buckets == sorted(set(buckets)), "buckets repeat or come out of order"
    days = [period.first + timedelta(days=n) for n in range(period.days)]
    assert {period.bucket_of(day) for day in days} == set(buckets)
    assert len(buckets) == {"day": 310, "week": 45, "month": 12}[interval]


# --- validation ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: DateRange(date(2026, 3, 30), date(2026, 3, 29), LONDON, datetime(2026, 4, 1, tzinfo=UTC)), "first"),
        (
            lambda: DateRange(date(2026, 3, 1), date(2026, 3, 29), LONDON, datetime(2026, 4, 1, tzinfo=UTC), "year"),
            "interval",
        ),
        (lambda: DateRange.last_days(0, now=datetime(2026, 4, 1, tzinfo=UTC), zone=LONDON), "first"),
        (lambda: DateRange.last_days(-3, now=datetime(2026, 4, 1, tzinfo=UTC), zone=LONDON), "first"),
        (
            lambda: DateRange.last_days(7, now=datetime(2026, 4, 1, tzinfo=UTC), zone=LONDON, interval="hour"),
            "interval",
        ),
        # a naive `now` is no instant: its local day would depend on the machine's own zone
        (lambda: DateRange.last_days(7, now=datetime(2026, 4, 1, 12), zone=LONDON), "now"),  # noqa: DTZ001
        (lambda: DateRange(date(2026, 3, 1), date(2026, 3, 29), LONDON, datetime(2026, 4, 1)), "now"),  # noqa: DTZ001
    ],
)
def test_invalid_ranges_are_refused(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


# --- the rollups' local days and the event store's instants agree across a change ---------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "inside", "outside"),
    [
        (
            "Europe/London",
            date(2026, 3, 29),  # 23 hours
            ["2026-03-29T00:30:00Z", "2026-03-29T22:30:00Z"],  # 00:30 GMT and 23:30 BST
            ["2026-03-28T23:30:00Z", "2026-03-29T23:30:00Z"],  # 23:30 GMT the day before, 00:30 BST the day after
        ),
        (
            "Europe/London",
            date(2026, 10, 25),  # 25 hours
            ["2026-10-24T23:15:00Z", "2026-10-25T23:30:00Z"],  # 00:15 BST and 23:30 GMT
            ["2026-10-24T22:45:00Z", "2026-10-26T00:15:00Z"],
        ),
        (
            "America/New_York",
            date(2026, 11, 1),  # 25 hours
            ["2026-11-01T04:10:00Z", "2026-11-02T04:50:00Z"],  # 00:10 EDT and 23:50 EST
            ["2026-11-01T03:50:00Z", "2026-11-02T05:10:00Z"],
        ),
        (
            "America/New_York",
            date(2026, 3, 8),  # 23 hours
            ["2026-03-08T05:10:00Z", "2026-03-09T03:50:00Z"],  # 00:10 EST and 23:50 EDT
            ["2026-03-08T04:50:00Z", "2026-03-09T04:10:00Z"],
        ),
    ],
)
def test_a_changing_day_counts_the_same_events_in_rollups_and_event_store(
    db: None, django_capture_on_commit_callbacks: Any, zone: str, day: date, inside: list[str], outside: list[str]
) -> None:
    # given a class in `zone` and a learner active near both ends of the day, once inside and once just outside each
    organization = OrganizationFactory.create(slug="dst", time_zone=zone)
    student = StudentFactory.create(organization=organization)
    course = CourseFactory.create(organization=organization, time_zone=zone)
    EnrollmentFactory.create(user=student, course=course)
    item = LearningItemFactory.create(module=ModuleFactory.create(course=course))
    now = datetime.fromisoformat(max(inside + outside)) + timedelta(hours=1)
    for timestamp in inside + outside:
        body = {
            "event_id": str(uuid4()),
            "action": "material_view",
            "timestamp": timestamp,
            "course": course.pk,
            "item": item.pk,
            "session_id": f"session-{timestamp}",
            "metadata": {"duration": 60},
        }
        with django_capture_on_commit_callbacks(execute=True):
            assert events_ingest(items=[body], principal=student, now=now, horizon=None).accepted == 1

    # when the day and the days around it are read
    period = DateRange(day - timedelta(days=1), day + timedelta(days=1), ZoneInfo(zone), now)
    the_day = DateRange(day, day, ZoneInfo(zone), now)
    heatmap = selectors.learning_heatmap(student_id=student.pk, period=period)
    activity = selectors.learning_activity(student_id=student.pk, period=the_day, course_ids=[course.pk])

    # then the rollups (local days) put two events on the day and one either side, zero-filled in order, and the
    # event store read between start() and end() finds the same two sessions
    assert [(point["date"], point["events"]) for point in heatmap] == [
        (day - timedelta(days=1), 1),
        (day, 2),
        (day + timedelta(days=1), 1),
    ]
    assert (activity["events"], activity["sessions"]) == (2, 2)


def test_zero_filled_week_and_month_series_come_out_in_bucket_order(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    # given one event in London on the Sunday of the spring change and one five weeks later
    organization = OrganizationFactory.create(slug="dst-weeks", time_zone="Europe/London")
    student = StudentFactory.create(organization=organization)
    course = CourseFactory.create(organization=organization, time_zone="Europe/London")
    EnrollmentFactory.create(user=student, course=course)
    item = LearningItemFactory.create(module=ModuleFactory.create(course=course))
    now = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    for timestamp in ("2026-03-29T22:30:00Z", "2026-05-03T10:00:00Z"):  # 23:30 BST Sunday 29 March; Sunday 3 May
        body: dict[str, Any] = {"event_id": str(uuid4()), "action": "material_view", "timestamp": timestamp}
        body |= {"course": course.pk, "item": item.pk, "metadata": {"duration": 60}}
        with django_capture_on_commit_callbacks(execute=True):
            assert events_ingest(items=[body], principal=student, now=now, horizon=None).accepted == 1

    # when
    weeks = DateRange(date(2026, 3, 25), date(2026, 5, 6), LONDON, now, "week")
    months = DateRange(date(2026, 2, 14), date(2026, 5, 6), LONDON, now, "month")
    weekly = selectors.engagement_trend(course_ids=[course.pk], period=weeks)
    monthly = selectors.engagement_trend(course_ids=[course.pk], period=months)

    # then every bucket is there, in order, the empty ones as zeros
    assert [(point["date"], point["events"]) for point in weekly] == [
        (date(2026, 3, 23), 1),  # the Sunday of the change closes the week of Monday 23 March
        (date(2026, 3, 30), 0),
        (date(2026, 4, 6), 0),
        (date(2026, 4, 13), 0),
        (date(2026, 4, 20), 0),
        (date(2026, 4, 27), 1),
        (date(2026, 5, 4), 0),
    ]
    assert [(point["date"], point["events"]) for point in monthly] == [
        (date(2026, 2, 1), 0),
        (date(2026, 3, 1), 1),
        (date(2026, 4, 1), 0),
        (date(2026, 5, 1), 1),
    ]

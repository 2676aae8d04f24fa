"""The one date-range object every metric takes: explicit `now`, time zone and interval, so the same call gives the
same buckets in a test, an API answer, a page and a report. Days are local days of `zone`: a day across a change to
or from summer time is 23 or 25 hours long, and `start()` / `end()` are the real instants its first and last day
begin and end."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

INTERVALS = ("day", "week", "month")
MAX_DAYS = 366


@dataclass(frozen=True)
class DateRange:
    """Local days first..last (inclusive) in `zone`, bucketed by `interval`, as seen at `now`."""

    first: date
    last: date
    zone: ZoneInfo
    now: datetime
    interval: str = "day"

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise ValueError("first must not be after last")
        if self.interval not in INTERVALS:
            raise ValueError(f"interval must be one of {INTERVALS}")
        if self.now.utcoffset() is None:
            # a naive `now` is no instant: its local day would be the machine's, and comparing it with start() or
            # end() fails later, far from the cause
            raise ValueError("now must be an aware datetime")

    @classmethod
    def last_days(cls, days: int, *, now: datetime, zone: ZoneInfo, interval: str = "day") -> "DateRange":
        """The `days` local days that end today."""
        today = now.astimezone(zone).date()
        return cls(today - timedelta(days=days - 1), today, zone, now, interval)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def start(self) -> datetime:
        """The first instant of the range (aware)."""
        return datetime.combine(self.first, time(), tzinfo=self.zone)

    def end(self) -> datetime:
        """The first instant after the range (aware)."""
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=self.zone)

    def bucket_of(self, day: date) -> date:
        if self.interval == "week":
            return day - timedelta(days=day.weekday())
        if self.interval == "month":
            return day.replace(day=1)
        return day

    def buckets(self) -> Iterator[date]:
        """Every bucket start in the range, in order (zero-filling callers iterate these)."""
        seen: set[date] = set()
        day = self.first
        while day <= self.last:
            bucket = self.bucket_of(day)
            if bucket not in seen:
                seen.add(bucket)
                yield bucket
            day += timedelta(days=1)

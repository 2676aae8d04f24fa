"""The one date-range object every metric selector takes: explicit `now`, time zone and interval, so the same call
gives the same buckets in a test, an API answer, a page and a report."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rest_framework.exceptions import ValidationError

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


def parse_days(value: str | None, *, default: int, maximum: int, name: str = "days") -> int:
    """A whole number of days (or of whatever `name` counts, e.g. hours) from a query parameter; 400 naming the
    parameter and the allowed values otherwise."""
    if value is None or value == "":
        return default
    message = f"Must be a whole number of {name} from 1 to {maximum}."
    try:
        days = int(value)
    except ValueError:
        raise ValidationError({name: [message]}) from None
    if not 1 <= days <= maximum:
        raise ValidationError({name: [message]})
    return days

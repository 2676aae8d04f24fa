"""Reading the commands' --as-of: an ISO 8601 date-time (naive: UTC) or a date (its midnight, UTC)."""

from datetime import UTC, datetime, time

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime


def moment(value: str | None) -> datetime:
    if value is None:
        return timezone.now()
    try:
        parsed = parse_datetime(value)
        if parsed is None and (day := parse_date(value)) is not None:
            parsed = datetime.combine(day, time(), tzinfo=UTC)
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(f"--as-of {value!r} is not a date-time (e.g. 2014-02-01T00:00:00Z or 2014-02-01).")
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)

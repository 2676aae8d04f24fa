"""The one way query parameters are read, by API views and pages alike: a QuerySerializer per endpoint, built from
these fields. Each field accepts exactly what it documents and answers anything else with a message naming what
is allowed (400 with the parameter as the key):

- ids and counts are ASCII digits only: `str.isdigit()` also accepts '²' and Arabic-Indic digits, which `int()`
  then refuses (a 500) or reads as another number;
- ids stay within PostgreSQL's bigint, dates within what Python and PostgreSQL both hold, date-times carry a UTC
  offset within ±14:00 (PostgreSQL refuses some larger ones with a DataError) and stay within years 1 to 9999 once
  converted to UTC;
- an empty value means "not given" (the default), except for choices, where it is refused;
- a parameter the endpoint does not know is refused, with the list of those it does.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from rest_framework import serializers

ASCII_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
ISO_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?([Zz]|[+-][0-9]{2}:[0-9]{2})", re.ASCII
)
MAX_OFFSET = timedelta(hours=14)  # the widest UTC offset in use (Pacific/Kiritimati)
MAX_ID = 2**63 - 1  # PostgreSQL bigint
MAX_DIGITS = 19
REFUSED = object()  # Param.blank(): an empty value is refused like any other bad value


def ascii_integer(value: Any) -> int | None:
    """The integer written in `value` with ASCII digits (an optional minus sign), or None."""
    if not isinstance(value, str) or len(value) > MAX_DIGITS + 1 or not ASCII_INTEGER.fullmatch(value):
        return None
    return int(value)


def row_id(value: Any) -> int | None:
    """The id of a row `value` names (ASCII digits, or an int): a positive integer within bigint, or None."""
    number = ascii_integer(value) if isinstance(value, str) else value if type(value) is int else None
    return number if number is not None and 1 <= number <= MAX_ID else None


DATE_MESSAGE = "Not a date; use YYYY-MM-DD."
DATETIME_MESSAGE = (
    "Not a date-time; use ISO 8601 with a UTC offset within ±14:00 (e.g. 2026-09-01T08:00:00Z or "
    "2026-09-01T09:00:00+01:00), between years 1 and 9999 in UTC."
)


def iso_date(value: Any) -> date | None:
    """The calendar date `value` writes as YYYY-MM-DD (years 1 to 9999), or None."""
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def iso_datetime(value: Any) -> datetime | None:
    """The instant `value` writes in ISO 8601 with a UTC offset ('Z' or ±HH:MM, at most 14 hours), in UTC, or None
    when it is anything else or falls outside the years 1 to 9999 once converted to UTC."""
    if not isinstance(value, str) or not ISO_DATETIME.fullmatch(value):
        return None
    try:
        moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        offset = moment.utcoffset()
        if offset is None or abs(offset) > MAX_OFFSET:
            return None
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # 0001-01-01T00:00:00+01:00 is a moment before the first Python knows
        return None


class Param(serializers.Field):
    """A query parameter: optional unless told otherwise; an empty value means `blank()`, as if not given (a
    subclass may refuse it instead), and a validated value is its own representation."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def blank(self) -> Any:
        """What an empty value stands for (REFUSED: it is checked like any other value, and refused)."""
        return None

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data == "" and (blank := self.blank()) is not REFUSED:
            return True, blank
        return super().validate_empty_values(data)

    def to_representation(self, value: Any) -> Any:
        return value


class IdParam(Param):
    """The id of a row: a positive whole number."""

    default_error_messages = {"invalid": "Must be a positive integer id."}

    def to_internal_value(self, data: Any) -> int:
        value = row_id(data)
        if value is None:
            self.fail("invalid")
        return value


class CountParam(Param):
    """A whole number of days (or hours, ...) between 1 and `maximum`; `default` when not given."""

    def __init__(self, *, default: int, maximum: int, unit: str = "days", **kwargs: Any) -> None:
        self.maximum, self.unit = maximum, unit
        super().__init__(default=default, **kwargs)

    def blank(self) -> Any:
        return self.get_default()

    def to_internal_value(self, data: Any) -> int:
        value = ascii_integer(data) if isinstance(data, str) else data if type(data) is int else None
        if value is None or not 1 <= value <= self.maximum:
            raise serializers.ValidationError(f"Must be a whole number of {self.unit} from 1 to {self.maximum}.")
        return value


def one_of(name: str, choices: Sequence[str]) -> str:
    """The one wording for a value outside a set, in every answer: "kind must be one of: quiz, video."."""
    return f"{name} must be one of: {', '.join(choices)}."


class ChoiceParam(Param):
    """One of `choices` (their order is the order the message lists them in). An empty value is refused: it is no
    choice."""

    def __init__(self, choices: Sequence[str], **kwargs: Any) -> None:
        self.choices = list(choices)
        super().__init__(**kwargs)

    def blank(self) -> Any:
        return REFUSED

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or data not in self.choices:
            raise serializers.ValidationError(one_of(self.field_name or "value", self.choices))
        return data


# SECTION: periods

CALENDAR_PERIODS = ("day", "week", "month", "all")
PERIOD_TOKEN = re.compile(r"([0-9]{1,6})([dh])", re.ASCII)
SEED_TIME_RANGES = {"day": "1d", "week": "7d", "month": "30d", "year": "365d"}


@dataclass(frozen=True)
class Period:
    """A period as asked for: the last `days` local days ending today, the last `hours` hours ending now, or the
    current calendar `day`, `week` (ISO), `month`, or `all` time. `token` is its canonical spelling."""

    token: str
    days: int | None = None
    hours: int | None = None
    calendar: str | None = None

    @classmethod
    def of_days(cls, days: int) -> "Period":
        return cls(f"{days}d", days=days)


def _count(unit: str) -> Callable[[str], str]:
    def translate(value: str) -> str:
        if value == "":
            return value
        number = ascii_integer(value)
        if number is None:
            example = "30d" if unit == "days" else "24h"
            raise serializers.ValidationError(
                f"Must be a whole number of {unit} (or use period, e.g. period={example})."
            )
        return f"{number}{unit[0]}"

    return translate


def _time_range(value: str) -> str:
    if value not in SEED_TIME_RANGES:
        raise serializers.ValidationError(one_of("time_range", list(SEED_TIME_RANGES)))
    return SEED_TIME_RANGES[value]


def _timeframe(value: str) -> str:
    return {"1y": "365d", "all-time": "all"}.get(value, value)


# The seeds' spellings of a period, each read as the canonical `period`: days=30 is period=30d, hours=24 is 24h,
# time_range=week is 7d (seed 001's "last week"), timeframe=1y is 365d, all-time is all, and any other timeframe is
# the same token (seed 000's 1h..90d; seed 001's leaderboard day/week/month/all, calendar periods).
PERIOD_ALIASES = {
    "days": _count("days"),
    "hours": _count("hours"),
    "time_range": _time_range,
    "timeframe": _timeframe,
}


class PeriodParam(Param):
    """`period`, the one spelling of a period on every endpoint: `<n>d` (the n local days ending today, up to
    `days`), `<n>h` (the n hours ending now, up to `hours`; there `<n>d` is n*24 hours), or a calendar period of
    `calendar` (day, week, month, all: the current one). `choices` narrows it to a fixed set. The seeds' spellings
    (PERIOD_ALIASES) are accepted as aliases and not documented as parameters."""

    aliases = PERIOD_ALIASES

    def __init__(
        self,
        *,
        default: str,
        days: int | None = None,
        hours: int | None = None,
        calendar: Sequence[str] = (),
        choices: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.max_days, self.max_hours, self.calendar = days, hours, tuple(calendar)
        self.choices = list(choices) if choices is not None else None
        super().__init__(default=default, **kwargs)
        self.default_period = self.read(default)
        if self.default_period is None:
            raise ValueError(f"default {default!r} is not a period this parameter accepts")

    def blank(self) -> Any:
        # a period picked from a set (choices, calendar names) is a choice: an empty one is refused, as for
        # ChoiceParam; a number of days or hours left empty is the default, as for CountParam
        return REFUSED if self.choices is not None or self.calendar else self.default_period

    def get_default(self) -> Any:
        return self.default_period

    def read(self, value: Any) -> Period | None:
        """The period `value` spells, or None when this parameter does not take it."""
        if not isinstance(value, str) or (self.choices is not None and value not in self.choices):
            return None
        if value in self.calendar:
            return Period(value, calendar=value)
        match = PERIOD_TOKEN.fullmatch(value)
        if match is None:
            return None
        number, unit = int(match[1]), match[2]
        period = Period(value, days=number, hours=number * 24) if unit == "d" else Period(value, hours=number)
        if self.choices is not None:
            return period
        if self.max_hours is not None:
            return period if period.hours is not None and 1 <= period.hours <= self.max_hours else None
        return (
            period
            if self.max_days is not None and period.days is not None and 1 <= period.days <= self.max_days
            else None
        )

    def examples(self) -> list[str]:
        """Spellings this parameter takes, from the least to the most (for tests and the schema)."""
        if self.choices is not None:
            return list(self.choices)
        unit, most = ("h", self.max_hours) if self.max_hours is not None else ("d", self.max_days)
        return [*self.calendar, f"1{unit}", f"14{unit}", f"{most}{unit}"]

    def describe(self) -> str:
        """What this parameter accepts, in the words of its error message."""
        if self.choices is not None:
            return one_of(self.field_name or "period", self.choices)
        if self.max_hours is not None:
            spans = [f"1h to {self.max_hours}h (hours ending now; 1d is 24h)"]
        else:
            spans = [f"1d to {self.max_days}d (local days ending today)"]
        if self.calendar:
            return one_of(self.field_name or "period", [*self.calendar, f"or {spans[0]}"])
        return f"{self.field_name or 'period'} must be {spans[0]}, e.g. {self.default}."

    def to_internal_value(self, data: Any) -> Period:
        period = self.read(data)
        if period is None:
            raise serializers.ValidationError(self.describe())
        return period


class DateParam(Param):
    """A calendar date, YYYY-MM-DD (years 1 to 9999 are Python's; PostgreSQL holds all of them)."""

    default_error_messages = {"invalid": DATE_MESSAGE}

    def to_internal_value(self, data: Any) -> date:
        value = iso_date(data)
        if value is None:
            self.fail("invalid")
        return value


class QuerySerializer(serializers.Serializer):
    """The query string of one endpoint: every field optional or defaulted, unknown parameters refused. A field
    with `aliases` (PeriodParam) also takes those spellings, read as its own; an error about it is keyed by the
    name the client used."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            return super().to_internal_value(data)
        data, used = self._canonical(data)
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            known = sorted(self.fields)
            message = (
                f"Unknown parameter; {one_of('a parameter', known)}"
                if known
                else "Unknown parameter; this endpoint takes none."
            )
            raise serializers.ValidationError({name: [message] for name in unknown})
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as error:
            if isinstance(error.detail, dict) and used:
                error.detail = {used.get(name, name): messages for name, messages in error.detail.items()}
            raise

    def _canonical(self, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """`data` with each alias replaced by its field's name, and which alias was used for which field."""
        data, used = dict(data), {}
        for name, field in self.fields.items():
            aliases: dict[str, Callable[[str], str]] = getattr(field, "aliases", {})
            given = [alias for alias in aliases if alias in data]
            if not given:
                continue
            if name in data or len(given) > 1:
                spellings = ", ".join(([name] if name in data else []) + given)
                raise serializers.ValidationError({given[0]: [f"Give one of {spellings}, not several."]})
            alias = given[0]
            value = data.pop(alias)
            try:
                data[name] = aliases[alias](value)
            except serializers.ValidationError as error:
                raise serializers.ValidationError({alias: error.detail}) from None
            used[name] = alias
        return data, used


class NoQuery(QuerySerializer):
    """No parameters: any given is refused, naming it."""


def query_of(serializer_class: type[QuerySerializer], params: Any) -> dict[str, Any]:
    """The validated query (raises DRF's ValidationError, a 400 naming each bad parameter). `params` is a QueryDict
    or any mapping; of a repeated parameter the last value counts."""
    data = params.dict() if hasattr(params, "dict") else dict(params)
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class JsonObjectParam(Param):
    """A JSON object in one parameter (`filters={"course": 12}`), each key checked by its field in `keys`; `{}` and
    an absent parameter are the same."""

    def __init__(self, keys: dict[str, serializers.Field], **kwargs: Any) -> None:
        self.keys = keys
        super().__init__(**kwargs)

    def blank(self) -> Any:
        return {}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        try:
            value = orjson.loads(data) if isinstance(data, str) else None
        except orjson.JSONDecodeError:
            value = None
        if not isinstance(value, dict):
            raise serializers.ValidationError('Must be a JSON object, e.g. {"course": 12}.')
        unknown = sorted(set(value) - set(self.keys))
        if unknown:
            raise serializers.ValidationError(f"Unknown filter {unknown[0]!r}; {one_of('a filter', sorted(self.keys))}")
        result = {}
        for name, field in self.keys.items():
            if name in value:
                try:
                    result[name] = field.run_validation(value[name])
                except serializers.ValidationError as error:
                    raise serializers.ValidationError(f"{name}: {' '.join(map(str, error.detail))}") from None
        return result

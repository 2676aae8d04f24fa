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
from collections.abc import Sequence
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


class ChoiceParam(Param):
    """One of `choices` (their order is the order the message lists them in); `label` names the thing chosen in
    the message ("Unknown timeframe; allowed: ..."). An empty value is refused: it is no choice."""

    def __init__(self, choices: Sequence[str], *, label: str, message: str | None = None, **kwargs: Any) -> None:
        self.choices, self.label = list(choices), label
        self.message = message or f"Unknown {label}; allowed: {', '.join(self.choices)}."
        super().__init__(**kwargs)

    def blank(self) -> Any:
        return REFUSED

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or data not in self.choices:
            raise serializers.ValidationError(self.message)
        return data


class DateParam(Param):
    """A calendar date, YYYY-MM-DD (years 1 to 9999 are Python's; PostgreSQL holds all of them)."""

    default_error_messages = {"invalid": DATE_MESSAGE}

    def to_internal_value(self, data: Any) -> date:
        value = iso_date(data)
        if value is None:
            self.fail("invalid")
        return value


class QuerySerializer(serializers.Serializer):
    """The query string of one endpoint: every field optional or defaulted, unknown parameters refused."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        if unknown:
            allowed = ", ".join(sorted(self.fields)) or "none"
            raise serializers.ValidationError({name: [f"Unknown parameter; allowed: {allowed}."] for name in unknown})
        return super().to_internal_value(data)


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
            allowed = ", ".join(sorted(self.keys)) or "none"
            raise serializers.ValidationError(f"Unknown filter {unknown[0]!r}; allowed: {allowed}.")
        result = {}
        for name, field in self.keys.items():
            if name in value:
                try:
                    result[name] = field.run_validation(value[name])
                except serializers.ValidationError as error:
                    raise serializers.ValidationError(f"{name}: {' '.join(map(str, error.detail))}") from None
        return result

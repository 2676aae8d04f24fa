"""What every report file shares: the report's description (ReportMeta), the formula-injection guard and the text a
value takes in a cell."""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from core.typed_schema import Column

# XLSX column widths in characters, by type (the header's length wins when longer): a date-time shows 16 characters.
TYPE_WIDTHS = {
    "integer": 10,
    "number": 12,
    "boolean": 8,
    "date": 12,
    "date-time": 17,
    "string": 24,
    "array": 30,
    "object": 30,
}
MAX_WIDTH = 60

# OWASP "CSV Injection": a spreadsheet evaluates a cell whose text starts with one of these.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ReportMeta:
    """What a report file says about itself besides its rows (the JSON's "meta", the XLSX's Parameters sheet, the PDF's
    first lines)."""

    title: str
    dataset: str  # dataset name, e.g. "assignment-timeliness"
    dataset_title: str
    version: int | None  # definition version; None for an unsaved preview
    parameters: dict[str, str]  # the filters as a person reads them, e.g. {"course": "BIO-101 Biology"}
    scope: str  # who or what it covers, e.g. "Classes of Ada Lovelace (3)"
    run_for: str  # whose permissions it ran with (display name)
    generated_at: datetime  # aware
    as_of: datetime  # aware
    zone: str  # IANA zone; dates and times are written in this zone
    grouping: str | None = None  # a column name; rows arrive sorted by it; the PDF shows a heading per group
    chart: dict[str, Any] | None = None  # {"type": "line" | "bar", "x": column name, "y": [column names]}

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def local(self, moment: datetime) -> datetime:
        """The moment in the report's zone (a naive moment is taken to be UTC, as Django stores them)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.tzinfo)

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "dataset": self.dataset,
            "dataset_title": self.dataset_title,
            "version": self.version,
            "parameters": dict(self.parameters),
            "scope": self.scope,
            "run_for": self.run_for,
            "generated_at": self.local(self.generated_at).isoformat(),
            "as_of": self.local(self.as_of).isoformat(),
            "zone": self.zone,
            "grouping": self.grouping,
            "chart": self.chart,
        }

    def parameter_lines(self) -> list[tuple[str, str]]:
        """(label, value) lines describing the run: the XLSX's Parameters sheet and the PDF's heading."""
        return [
            ("Title", self.title),
            ("Dataset", f"{self.dataset_title} ({self.dataset})"),
            ("Version", "unsaved preview" if self.version is None else str(self.version)),
            *((name, value) for name, value in self.parameters.items()),
            ("Scope", self.scope),
            ("Run for", self.run_for),
            ("Generated at", self.local(self.generated_at).strftime("%Y-%m-%d %H:%M")),
            ("As of", self.local(self.as_of).strftime("%Y-%m-%d %H:%M")),
            ("Time zone", self.zone),
        ]


def neutralise(text: str) -> str:
    """The text as a spreadsheet shows it without evaluating it: a leading apostrophe before a formula prefix."""
    if text and text[0] in FORMULA_PREFIXES:
        return "'" + text
    return text


def neutralise_nested(value: Any) -> Any:
    """An array or object cell's value with every string in it (keys too) neutralised."""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, Mapping):
        return {neutralise(str(key)): neutralise_nested(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [neutralise_nested(item) for item in value]
    return value


def json_default(value: Any) -> Any:
    """What orjson cannot write itself."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def compact_json_text(value: Any) -> str:
    """An array or object cell as compact JSON text, its strings neutralised (CSV, XLSX and PDF cells)."""
    return orjson.dumps(neutralise_nested(value), default=json_default).decode()


def decimal_text(value: Decimal) -> str:
    """A Decimal written out in full: "100", never "1E+2"."""
    return format(value, "f")


def header_label(column: Column, meta: ReportMeta) -> str:
    """A column's header: its name, and the zone its times are written in for a date-time column."""
    if column.type == "date-time":
        return f"{column.name} ({meta.zone})"
    return column.name


def column_width(column: Column, label: str) -> float:
    return min(MAX_WIDTH, max(len(label) + 2, TYPE_WIDTHS.get(column.type, 16)))


class CountedRows:
    """Iterates the rows once, counting them (the files are written as the rows arrive)."""

    def __init__(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self._rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        for row in self._rows:
            self.count += 1
            yield row


def is_date_only(value: Any) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)

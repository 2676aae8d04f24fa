"""CSV: UTF-8 (a BOM on request, for Excel), RFC 4180 lines, ISO dates, times in the report's zone (named in the
header), text neutralised against formula injection. Streamed: rows are written into a small buffer that is handed
on every CHUNK_SIZE characters, so a million rows never sit in memory."""

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core.typed_schema import Column

from .common import FORMULA_PREFIXES, ReportMeta, compact_json_text, decimal_text, header_label, neutralise

# Big enough that a streaming response sends few, full TCP writes; small enough to be nothing in memory.
CHUNK_SIZE = 64 * 1024
BOM = "\ufeff".encode()


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def csv_text(value: Any, meta: ReportMeta) -> str:
    """The text a value takes in a CSV cell."""
    kind = type(value)
    if value is None:
        return ""
    if kind is str:
        return neutralise(value)
    if kind is bool:
        return _bool_text(value)
    if kind is int or kind is float:
        return repr(value)
    if isinstance(value, datetime):
        return meta.local(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, list | tuple | dict):
        return neutralise(compact_json_text(value))
    if isinstance(value, int | float):  # int and float subclasses (enum members)
        return repr(value)
    return neutralise(str(value))


def csv_chunks(
    rows: Iterable[Mapping[str, Any]], *, columns: list[Column], meta: ReportMeta, bom: bool = False
) -> Iterator[bytes]:
    """The CSV file in chunks of about CHUNK_SIZE bytes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(header_label(column, meta)) for column in columns])
    names = [column.name for column in columns]
    if bom:
        yield BOM
    for row in rows:
        values: list[Any] = []
        append = values.append
        # Written out for speed (every cell of up to a million rows): the csv module writes int and float as their
        # shortest text and None as nothing, so only the other values go through csv_text.
        for name in names:
            value = row.get(name)
            kind = type(value)
            if kind is str:
                append("'" + value if value and value[0] in FORMULA_PREFIXES else value)
            elif value is None or kind is int or kind is float:
                append(value)
            else:
                append(csv_text(value, meta))
        writer.writerow(values)
        if buffer.tell() >= CHUNK_SIZE:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()

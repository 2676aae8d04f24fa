"""Report files: CSV, XLSX, JSON and PDF from a report's rows.

`write_report` writes one file; `stream_report` hands out the CSV or JSON file in chunks (for a streaming HTTP
response). Rows are consumed once, as they arrive: CSV, JSON and XLSX hold one row at a time (a million rows take no
more memory than ten); the PDF, read by a person and so small, holds them all.
"""

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO

from core.typed_schema import Column

from .common import CountedRows, ReportMeta, neutralise
from .csv_format import csv_chunks
from .json_format import json_chunks

__all__ = [
    "CONTENT_TYPES",
    "EXTENSIONS",
    "FORMATS",
    "Column",
    "ReportMeta",
    "neutralise",
    "stream_report",
    "write_report",
]

FORMATS: tuple[str, ...] = ("csv", "xlsx", "json", "pdf")
STREAMED_FORMATS: tuple[str, ...] = ("csv", "json")
CONTENT_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "pdf": "application/pdf",
}
# A file name's extension, without the dot: f"{name}.{EXTENSIONS[fmt]}".
EXTENSIONS: dict[str, str] = {"csv": "csv", "xlsx": "xlsx", "json": "json", "pdf": "pdf"}


def _check_format(fmt: str, allowed: tuple[str, ...]) -> None:
    if fmt not in allowed:
        raise ValueError(f"unknown report format {fmt!r}; one of {', '.join(allowed)}")


def stream_report(
    fmt: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    columns: list[Column],
    meta: ReportMeta,
    bom: bool = False,
) -> Iterator[bytes]:
    """The CSV or JSON file in chunks of about 64 KB. `bom` (CSV only) starts it with a UTF-8 byte order mark, which
    Excel needs to read UTF-8."""
    _check_format(fmt, STREAMED_FORMATS)
    if fmt == "csv":
        return csv_chunks(rows, columns=columns, meta=meta, bom=bom)
    return json_chunks(rows, columns=columns, meta=meta)


def write_report(
    fmt: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    columns: list[Column],
    meta: ReportMeta,
    out: BinaryIO,
    bom: bool = False,
) -> int:
    """Write the report file to `out` (a binary file opened for writing); the number of rows written."""
    _check_format(fmt, FORMATS)
    counted = CountedRows(rows)
    if fmt in STREAMED_FORMATS:
        for chunk in stream_report(fmt, counted, columns=columns, meta=meta, bom=bom):
            out.write(chunk)
        return counted.count
    # openpyxl (which loads numpy), WeasyPrint and matplotlib are imported by the first XLSX or PDF only: they take a
    # while to load and some 40 MB, which a process serving CSV, JSON or pages never needs.
    if fmt == "xlsx":
        from .xlsx_format import write_xlsx

        return write_xlsx(counted, columns=columns, meta=meta, out=out)
    from .pdf_format import write_pdf

    return write_pdf(counted, columns=columns, meta=meta, out=out)

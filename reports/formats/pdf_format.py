"""PDF: a Django template (reports/pdf/report.html, autoescaped) turned into pages by WeasyPrint: title, scope,
parameters and "as of", an optional chart (SVG from matplotlib), the table with its header repeated on every page,
a heading per group, "Page X of Y". A PDF is read by a person, so its rows are held in memory (it is small)."""

import base64
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from itertools import groupby
from typing import IO, Any

from django.template.loader import render_to_string
from weasyprint import HTML

from core.typed_schema import Column

from .charts import chart_svg
from .common import ReportMeta, compact_json_text, header_label
from .pdf_fetcher import BASE_URL, StaticFilesOnlyFetcher

TEMPLATE = "reports/pdf/report.html"
# More columns than this do not fit across A4 portrait at a readable size: the pages turn to landscape.
PORTRAIT_COLUMNS = 6
NUMERIC_TYPES = {"integer", "number"}
# Relative column widths in the PDF, in characters of DejaVu Sans: enough for a date, a time or a number on one line;
# text wraps within its column. A header wider than its type wraps at its spaces, so its longest word counts.
PDF_TYPE_WIDTHS = {
    "integer": 8,
    "number": 9,
    "boolean": 5,
    "date": 12,
    "date-time": 17,
    "string": 18,
    "array": 22,
    "object": 22,
}


def pdf_text(value: Any, meta: ReportMeta) -> str:
    """The text a value takes in a PDF cell (the template escapes it)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float | Decimal):
        # Two decimals are what a person reads; the exact figure is in the CSV, XLSX and JSON files.
        text = f"{value:.2f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, datetime):
        return meta.local(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | dict):
        return compact_json_text(value)
    return str(value)


def render_report_html(
    rows: Iterable[Mapping[str, Any]], *, columns: list[Column], meta: ReportMeta
) -> tuple[str, int]:
    """The report page's HTML, and the number of rows in it."""
    materialised = list(rows)
    grouping = meta.grouping if meta.grouping and any(c.name == meta.grouping for c in columns) else None
    table_columns = [column for column in columns if column.name != grouping] or columns
    labels = [header_label(column, meta) for column in table_columns]
    widths = [
        max([PDF_TYPE_WIDTHS.get(column.type, 12), *(len(word) + 1 for word in label.split())])
        for column, label in zip(table_columns, labels, strict=True)
    ]
    headers = [
        {
            "label": label,
            "numeric": column.type in NUMERIC_TYPES,
            "title": column.description,
            "width": round(100 * width / sum(widths), 2),
        }
        for column, label, width in zip(table_columns, labels, widths, strict=True)
    ]

    numeric = [column.type in NUMERIC_TYPES for column in table_columns]

    def cells(row: Mapping[str, Any]) -> list[tuple[str, bool]]:
        """(text, right-aligned) of each cell: the class is set on the cell itself, since a selector per column
        (nth-child) made every cell match against every column's rule."""
        return [
            (pdf_text(row.get(column.name), meta), is_number)
            for column, is_number in zip(table_columns, numeric, strict=True)
        ]

    if grouping:
        groups: list[dict[str, Any]] = [
            {"label": pdf_text(key, meta) or "(none)", "rows": [cells(row) for row in members]}
            for key, members in groupby(materialised, key=lambda row: row.get(grouping))
        ]
    else:
        groups = [{"label": None, "rows": [cells(row) for row in materialised]}]

    chart = None
    if meta.chart and materialised:
        # An image of its own (a data: URL) rather than inline SVG: WeasyPrint then reads it with its SVG parser, not
        # as HTML whose style attributes it does not know.
        chart = (
            "data:image/svg+xml;base64," + base64.b64encode(chart_svg(materialised, meta.chart, meta).encode()).decode()
        )

    html = render_to_string(
        TEMPLATE,
        {
            "meta": meta,
            "parameter_lines": meta.parameter_lines(),
            "as_of": meta.local(meta.as_of),
            "generated_at": meta.local(meta.generated_at),
            "grouping": grouping,
            "headers": headers,
            "groups": groups,
            "row_count": len(materialised),
            "chart": chart,
            "landscape": len(table_columns) > PORTRAIT_COLUMNS,
        },
    )
    return html, len(materialised)


def pdf_document(html: str) -> Any:
    """The laid-out document (weasyprint.Document) of report HTML; every URL it names goes through the fetcher."""
    return HTML(string=html, base_url=BASE_URL, url_fetcher=StaticFilesOnlyFetcher()).render()


def render_pdf_html(html: str, out: IO[bytes]) -> None:
    """Write the PDF of report HTML to `out`."""
    pdf_document(html).write_pdf(out)


def write_pdf(rows: Iterable[Mapping[str, Any]], *, columns: list[Column], meta: ReportMeta, out: IO[bytes]) -> int:
    html, count = render_report_html(rows, columns=columns, meta=meta)
    render_pdf_html(html, out)
    return count

"""XLSX: typed cells (numbers as numbers, dates as dates, times as local times in the report's zone), a bold header
row, frozen panes below it, column widths from the header and the column's type, and a second sheet "Parameters".

openpyxl builds the workbook in write-only mode: every part of the file, the header row, the styles, the widths, the
frozen pane and the Parameters sheet. The data rows are then written into the sheet's part by `_rows_xml`, a typed
cell writer of a few lines: openpyxl's own per-cell serialiser took about 20 s for 100 000 rows of 10 columns (it
builds an element per cell), where the report must take under 6 s. So the workbook is saved by openpyxl with its
header row only, and copied part by part into the output file; the sheet's part gets the rows streamed in before its
`</sheetData>`, through the zip's own compressor. Nothing but the current row is ever held: memory is constant.
"""

import io
import math
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import IO, Any
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from core.typed_schema import Column

from .common import (
    FORMULA_PREFIXES,
    ReportMeta,
    column_width,
    compact_json_text,
    decimal_text,
    header_label,
    neutralise,
)

DATA_SHEET = "Report"
PARAMETERS_SHEET = "Parameters"
# The sheet's part in openpyxl's layout: the first sheet created.
DATA_SHEET_PART = "xl/worksheets/sheet1.xml"
DATE_FORMAT = "yyyy-mm-dd"
DATE_TIME_FORMAT = "yyyy-mm-dd hh:mm"
# Excel's sheet limit, header included.
MAX_ROWS = 1_048_576
# Excel's limit of characters in a cell.
MAX_TEXT = 32_767
# Characters XML 1.0 forbids (openpyxl refuses them too).
ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Excel's serial dates count days from 1899-12-30, in local time.
EXCEL_EPOCH_ORDINAL = date(1899, 12, 30).toordinal()


class TooManyRowsError(ValueError):
    pass


class _Styles:
    """The style ids the data cells refer to (registered in the workbook by openpyxl, so its styles part has them)."""

    def __init__(self, sheet: Any) -> None:
        date_cell = WriteOnlyCell(sheet)
        date_cell.number_format = DATE_FORMAT
        self.date = date_cell.style_id
        time_cell = WriteOnlyCell(sheet)
        time_cell.number_format = DATE_TIME_FORMAT
        self.date_time = time_cell.style_id


def _xml_text(text: str) -> str:
    """Text as it goes into a cell: neutralised, without the characters XML forbids, within Excel's length, escaped."""
    if text and text[0] in FORMULA_PREFIXES:
        text = "'" + text
    if not text.isprintable():  # the rare text with control characters (isprintable is the fast test)
        text = ILLEGAL_XML.sub("", text)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT]
    if "&" in text or "<" in text or ">" in text:
        text = escape(text)
    return text


def _text_cell(reference: str, text: str) -> str:
    return f'<c r="{reference}" t="inlineStr"><is><t xml:space="preserve">{_xml_text(text)}</t></is></c>'


def _serial(moment: datetime) -> float:
    """A naive local time as Excel's serial number: days since its epoch, the time of day as the fraction."""
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1_000_000
    return moment.toordinal() - EXCEL_EPOCH_ORDINAL + seconds / 86_400


def _cell_xml(reference: str, value: Any, zone: tzinfo, styles: _Styles) -> str:
    """Any value but the common str, int and finite float (those `_rows_xml` writes itself)."""
    if isinstance(value, bool):
        return f'<c r="{reference}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return f'<c r="{reference}" s="{styles.date_time}"><v>{_serial(value.astimezone(zone))!r}</v></c>'
    if isinstance(value, date):
        return f'<c r="{reference}" s="{styles.date}"><v>{value.toordinal() - EXCEL_EPOCH_ORDINAL}</v></c>'
    if isinstance(value, int):
        return f'<c r="{reference}"><v>{int(value)}</v></c>'
    if isinstance(value, float):
        if not math.isfinite(value):
            return _text_cell(reference, repr(value))  # Excel has no NaN or infinity
        return f'<c r="{reference}"><v>{float(value)!r}</v></c>'
    if isinstance(value, Decimal):
        if not value.is_finite():
            return _text_cell(reference, str(value))
        return f'<c r="{reference}"><v>{decimal_text(value)}</v></c>'
    if isinstance(value, list | tuple | dict):
        return _text_cell(reference, compact_json_text(value))
    return _text_cell(reference, str(value))


def _rows_xml(
    rows: Iterable[Mapping[str, Any]], cells: list[tuple[str, str]], zone: tzinfo, styles: _Styles
) -> Iterator[str]:
    """Each row's XML. The loop is written out for speed: it runs for every cell of up to a million rows."""
    for number, row in enumerate(rows, start=2):
        if number > MAX_ROWS:
            raise TooManyRowsError(f"an XLSX sheet holds at most {MAX_ROWS - 1} rows")
        parts = [f'<row r="{number}">']
        append = parts.append
        for name, letter in cells:
            value = row.get(name)
            if value is None:
                continue
            kind = type(value)
            if kind is str:
                append(
                    f'<c r="{letter}{number}" t="inlineStr"><is><t xml:space="preserve">{_xml_text(value)}</t></is></c>'
                )
            elif kind is int or (kind is float and math.isfinite(value)):
                append(f'<c r="{letter}{number}"><v>{value!r}</v></c>')
            else:
                append(_cell_xml(f"{letter}{number}", value, zone, styles))
        append("</row>")
        yield "".join(parts)


def _workbook_shell(columns: list[Column], meta: ReportMeta) -> tuple[bytes, _Styles]:
    """The workbook openpyxl writes: header row, styles, widths, frozen pane, Parameters sheet; no data rows."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(DATA_SHEET)
    # Column settings and the frozen pane must be set before the first row (write-only sheets write them first).
    labels = [header_label(column, meta) for column in columns]
    for index, (column, label) in enumerate(zip(columns, labels, strict=True), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column_width(column, label)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for label in labels:
        cell = WriteOnlyCell(sheet, value=neutralise(label))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    styles = _Styles(sheet)

    parameters = workbook.create_sheet(PARAMETERS_SHEET)
    parameters.column_dimensions["A"].width = 16
    parameters.column_dimensions["B"].width = 60
    wrap = Alignment(wrap_text=True, vertical="top")
    for label, text in meta.parameter_lines():
        name_cell = WriteOnlyCell(parameters, value=neutralise(label))
        name_cell.font = bold
        value_cell = WriteOnlyCell(parameters, value=ILLEGAL_XML.sub("", neutralise(text)))
        value_cell.alignment = wrap
        parameters.append([name_cell, value_cell])

    shell = io.BytesIO()
    workbook.save(shell)
    return shell.getvalue(), styles


def write_xlsx(rows: Iterable[Mapping[str, Any]], *, columns: list[Column], meta: ReportMeta, out: IO[bytes]) -> int:
    """Write the workbook to `out`; the number of data rows."""
    shell, styles = _workbook_shell(columns, meta)
    cells = [(column.name, get_column_letter(index)) for index, column in enumerate(columns, start=1)]
    count = 0
    with (
        zipfile.ZipFile(io.BytesIO(shell)) as source,
        # Level 1: the sheet XML is very repetitive, so the fastest level already shrinks it about tenfold.
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target,
    ):
        for info in source.infolist():
            if info.filename != DATA_SHEET_PART:
                target.writestr(info, source.read(info))
                continue
            sheet_xml = source.read(info).decode()
            head, tail = sheet_xml.split("</sheetData>", 1)
            with target.open(DATA_SHEET_PART, "w") as part:
                part.write(head.encode())
                batch: list[str] = []
                for row_xml in _rows_xml(rows, cells, meta.tzinfo, styles):
                    count += 1
                    batch.append(row_xml)
                    if len(batch) == 500:
                        part.write("".join(batch).encode())
                        batch.clear()
                part.write("".join(batch).encode())
                part.write(("</sheetData>" + tail).encode())
    return count

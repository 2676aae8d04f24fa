"""Report files (reports/formats/): what each format writes, formula injection neutralised in every spreadsheet cell,
and a PDF that loads nothing but the project's own static files."""

import base64
import csv
import io
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openpyxl
import orjson
import pytest
from django.conf import settings

from reports.formats import (
    CONTENT_TYPES,
    EXTENSIONS,
    FORMATS,
    Column,
    ReportMeta,
    neutralise,
    stream_report,
    write_report,
)
from reports.formats.pdf_fetcher import BASE_URL, RefusedURLError, StaticFilesOnlyFetcher
from reports.formats.pdf_format import pdf_document, render_pdf_html, render_report_html

PREFIXED = ["=1+2", "+1+2", "-1+2", "@SUM(A1)", "\tcmd", "\rcmd"]

COLUMNS = [
    Column("student", "string", "Student's name.", False),
    Column("score", "number", "Score.", True),
    Column("attempts", "integer", "Attempts.", False),
    Column("due_on", "date", "Due date.", False),
    Column("submitted_at", "date-time", "Submitted.", True),
    Column("late", "boolean", "Late.", False),
    Column("factors", "object", "Factors.", True),
]

META = ReportMeta(
    title="Timeliness of BIO-101",
    dataset="assignment-timeliness",
    dataset_title="Assignment timeliness",
    version=3,
    parameters={"course": "BIO-101 Biology", "period": "30d"},
    scope="Classes of Ada Lovelace (3)",
    run_for="Ada Lovelace",
    generated_at=datetime(2026, 7, 1, 9, 30, tzinfo=UTC),
    as_of=datetime(2026, 7, 1, 9, 0, tzinfo=UTC),
    zone="Europe/London",
)


def sample_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {
            "student": text,
            "score": -3.5,
            "attempts": -2,
            "due_on": date(2026, 6, 30),
            # 12:15 UTC is 13:15 in London in summer
            "submitted_at": datetime(2026, 6, 30, 12, 15, tzinfo=UTC),
            "late": True,
            "factors": {"note": "=HYPERLINK(1)", "days": 2},
        }
        for text in PREFIXED
    ]
    rows.append(
        {
            "student": "Grace Hopper",
            "score": Decimal("87.50"),
            "attempts": 1,
            "due_on": date(2026, 6, 1),
            "submitted_at": None,
            "late": False,
            "factors": None,
        }
    )
    return rows


def written(fmt: str, rows: list[dict[str, Any]], meta: ReportMeta = META, *, bom: bool = False) -> bytes:
    out = io.BytesIO()
    count = write_report(fmt, iter(rows), columns=COLUMNS, meta=meta, out=out, bom=bom)
    assert count == len(rows)
    return out.getvalue()


def test_neutralise_prefixes_each_formula_start_and_leaves_other_text() -> None:
    for text in PREFIXED:
        assert neutralise(text) == "'" + text
    assert neutralise("Ada") == "Ada"
    assert neutralise("") == ""
    assert neutralise("a=b") == "a=b"


def test_the_formats_and_their_file_types() -> None:
    assert FORMATS == ("csv", "xlsx", "json", "pdf")
    assert set(CONTENT_TYPES) == set(EXTENSIONS) == set(FORMATS)
    assert CONTENT_TYPES["xlsx"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# CSV ------------------------------------------------------------------------------------------------------------


def test_csv_neutralises_every_prefix_and_keeps_numbers_and_iso_dates() -> None:
    # when
    data = written("csv", sample_rows())

    # then
    assert not data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert lines[0] == [
        "student",
        "score",
        "attempts",
        "due_on",
        "submitted_at (Europe/London)",
        "late",
        "factors",
    ]
    assert [line[0] for line in lines[1:7]] == ["'" + text for text in PREFIXED]
    first = lines[1]
    assert first[1:6] == ["-3.5", "-2", "2026-06-30", "2026-06-30T13:15:00+01:00", "true"]
    # strings inside an object cell are neutralised too
    assert orjson.loads(first[6]) == {"note": "'=HYPERLINK(1)", "days": 2}
    assert lines[7] == ["Grace Hopper", "87.50", "1", "2026-06-01", "", "false", ""]
    assert len(lines) == 8


def test_csv_bom_on_request() -> None:
    assert written("csv", sample_rows(), bom=True).startswith(b"\xef\xbb\xbfstudent,")


def test_streamed_csv_and_json_equal_the_written_files() -> None:
    for fmt in ("csv", "json"):
        chunks = list(stream_report(fmt, iter(sample_rows()), columns=COLUMNS, meta=META, bom=True))
        assert all(isinstance(chunk, bytes) for chunk in chunks)
        assert b"".join(chunks) == written(fmt, sample_rows(), bom=True)


def test_only_csv_and_json_stream_and_unknown_formats_are_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        stream_report("xlsx", iter([]), columns=COLUMNS, meta=META)
    with pytest.raises(ValueError, match="format"):
        write_report("xml", iter([]), columns=COLUMNS, meta=META, out=io.BytesIO())


def test_csv_of_many_rows_is_handed_out_in_chunks_as_rows_arrive() -> None:
    consumed = 0

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal consumed
        for number in range(20_000):
            consumed += 1
            yield {"student": f"Student {number}", "attempts": number}

    chunks = stream_report("csv", rows(), columns=COLUMNS, meta=META)
    first = next(chunks)
    # the first rows are out before the last one is read
    assert 0 < consumed < 20_000
    assert 60_000 <= len(first) <= 70_000
    assert len(b"".join([first, *chunks]).splitlines()) == 20_001


# XLSX -----------------------------------------------------------------------------------------------------------


def test_xlsx_has_typed_neutralised_cells_a_bold_frozen_header_and_the_parameters_sheet() -> None:
    # when
    workbook = openpyxl.load_workbook(io.BytesIO(written("xlsx", sample_rows())))

    # then
    assert workbook.sheetnames == ["Report", "Parameters"]
    sheet = workbook["Report"]
    header = [cell.value for cell in sheet[1]]
    assert header == ["student", "score", "attempts", "due_on", "submitted_at (Europe/London)", "late", "factors"]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width >= 20
    assert sheet.column_dimensions["E"].width >= len("submitted_at (Europe/London)")

    for row_number, text in enumerate(PREFIXED, start=2):
        cell = sheet.cell(row_number, 1)
        assert cell.data_type == "s"
        assert cell.value.startswith("'")
        assert cell.value[1:] in (text, text.replace("\r", "\n"))  # XML reads a carriage return as a line feed
    score, attempts, due_on, submitted_at, late, factors = (sheet.cell(2, column) for column in range(2, 8))
    assert (score.data_type, score.value) == ("n", -3.5)
    assert (attempts.data_type, attempts.value) == ("n", -2)
    assert due_on.is_date and due_on.value == datetime(2026, 6, 30)  # noqa: DTZ001 -- Excel times are local
    assert due_on.number_format == "yyyy-mm-dd"
    assert submitted_at.is_date and submitted_at.value == datetime(2026, 6, 30, 13, 15)  # noqa: DTZ001
    assert submitted_at.number_format == "yyyy-mm-dd hh:mm"
    assert late.value is True
    assert factors.data_type == "s" and orjson.loads(factors.value) == {"note": "'=HYPERLINK(1)", "days": 2}
    last = [cell.value for cell in sheet[8]]
    assert last == ["Grace Hopper", 87.5, 1, datetime(2026, 6, 1), None, False, None]  # noqa: DTZ001
    assert sheet.max_row == 8

    parameters = {row[0]: row[1] for row in workbook["Parameters"].iter_rows(values_only=True)}
    assert parameters == {
        "Title": "Timeliness of BIO-101",
        "Dataset": "Assignment timeliness (assignment-timeliness)",
        "Version": "3",
        "course": "BIO-101 Biology",
        "period": "30d",
        "Scope": "Classes of Ada Lovelace (3)",
        "Run for": "Ada Lovelace",
        "Generated at": "2026-07-01 10:30",
        "As of": "2026-07-01 10:00",
        "Time zone": "Europe/London",
    }


def test_xlsx_escapes_markup_and_drops_characters_xml_forbids() -> None:
    rows = [{"student": "<b>Ada</b> & \x07co", "attempts": 1}]
    sheet = openpyxl.load_workbook(io.BytesIO(written("xlsx", rows)))["Report"]
    assert sheet.cell(2, 1).value == "<b>Ada</b> & co"


# JSON -----------------------------------------------------------------------------------------------------------


def test_json_round_trip_with_meta_columns_and_rows() -> None:
    document = orjson.loads(written("json", sample_rows()))

    assert document["meta"] == {
        "title": "Timeliness of BIO-101",
        "dataset": "assignment-timeliness",
        "dataset_title": "Assignment timeliness",
        "version": 3,
        "parameters": {"course": "BIO-101 Biology", "period": "30d"},
        "scope": "Classes of Ada Lovelace (3)",
        "run_for": "Ada Lovelace",
        "generated_at": "2026-07-01T10:30:00+01:00",
        "as_of": "2026-07-01T10:00:00+01:00",
        "zone": "Europe/London",
        "grouping": None,
        "chart": None,
    }
    assert [column["name"] for column in document["columns"]] == [column.name for column in COLUMNS]
    assert document["columns"][4] == {
        "name": "submitted_at",
        "type": "date-time",
        "description": "Submitted.",
        "nullable": True,
    }
    assert document["row_count"] == 7
    assert document["rows"][0] == {
        "student": "=1+2",  # JSON is not read by a spreadsheet: text stays as it is
        "score": -3.5,
        "attempts": -2,
        "due_on": "2026-06-30",
        "submitted_at": "2026-06-30T13:15:00+01:00",
        "late": True,
        "factors": {"note": "=HYPERLINK(1)", "days": 2},
    }
    assert document["rows"][6]["score"] == 87.5


def test_json_of_no_rows_is_still_a_document() -> None:
    document = orjson.loads(written("json", []))
    assert document["rows"] == [] and document["row_count"] == 0


# PDF ------------------------------------------------------------------------------------------------------------


class RecordingHandler(BaseHTTPRequestHandler):
    """A web server a PDF must never reach: it records every request; /redirect sends the client elsewhere."""

    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/elsewhere.css")
            self.end_headers()
            return
        body = b"body { color: red }"
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def outside_server() -> Iterator[tuple[str, list[str]]]:
    requests: list[str] = []
    handler = type("Handler", (RecordingHandler,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def page_texts(document: Any, index: int) -> list[str]:
    """The text of a laid-out page (its margin boxes included)."""
    texts: list[str] = []

    def walk(box: Any) -> None:
        if getattr(box, "text", None):
            texts.append(box.text)
        for child in getattr(box, "children", []):
            walk(child)

    walk(document.pages[index]._page_box)
    return texts


def test_the_pdf_fetches_nothing_from_the_network_or_the_file_system(
    outside_server: tuple[str, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    # given
    origin, requests = outside_server
    html = (
        "<!DOCTYPE html><html><head>"
        f'<link rel="stylesheet" href="{origin}/redirect">'
        f'<link rel="stylesheet" href="{origin}/style.css">'
        "</head><body><p>Report</p>"
        f'<img src="{origin}/x.png"><img src="file:///etc/passwd"><img src="x.png">'
        f'<div style="background: url({origin}/background.png)">.</div>'
        "</body></html>"
    )

    # when
    out = io.BytesIO()
    render_pdf_html(html, out)

    # then
    assert out.getvalue().startswith(b"%PDF-")
    assert requests == []
    # each was asked of the fetcher, and refused by it
    refused = caplog.text
    urls = [f"{origin}/{path}" for path in ("redirect", "style.css", "x.png", "background.png")]
    for url in (*urls, "file:///etc/passwd", BASE_URL + "x.png"):
        assert f"not {url}" in refused


def test_html_in_a_cell_is_text_and_fetches_nothing(outside_server: tuple[str, list[str]]) -> None:
    origin, requests = outside_server
    rows = [{"student": f'<img src="{origin}/cell.png"><link rel=stylesheet href="{origin}/redirect">', "attempts": 1}]

    html, _ = render_report_html(iter(rows), columns=COLUMNS, meta=META)
    data = written("pdf", rows)

    assert f"&lt;img src=&quot;{origin}/cell.png&quot;&gt;" in html
    assert "<img src=" not in html.split("<main>")[1]
    assert data.startswith(b"%PDF-")
    assert requests == []


def test_the_fetcher_serves_the_projects_static_files_only() -> None:
    fetcher = StaticFilesOnlyFetcher()
    css = Path(settings.BASE_DIR) / "reports" / "static" / "reports" / "report-pdf.css"
    static_url = BASE_URL.rstrip("/") + settings.STATIC_URL

    response = fetcher.fetch(f"{static_url}reports/report-pdf.css")

    assert response.read() == css.read_bytes()
    assert response.content_type == "text/css"
    for refused in (
        "file:///etc/passwd",
        "http://127.0.0.1:9/static/reports/report-pdf.css",
        f"{static_url}reports/../../../etc/passwd",
        f"{static_url}reports/%2e%2e/%2e%2e/settings.py",
        f"{static_url}reports/missing.css",
        f"{BASE_URL}reports/report-pdf.css",
    ):
        with pytest.raises(RefusedURLError):
            fetcher.fetch(refused)


def test_a_pdf_of_many_rows_has_numbered_pages_repeated_headers_groups_and_a_chart() -> None:
    # given
    columns = [Column("course", "string", "", False), *COLUMNS[1:5]]
    rows = [
        {
            "course": "BIO-101" if number < 60 else "CHEM-201",
            "score": float(number),
            "attempts": number % 4,
            "due_on": date(2026, 6, 1 + number % 28),
            "submitted_at": datetime(2026, 6, 1, 8, tzinfo=UTC),
        }
        for number in range(120)
    ]
    meta = replace(META, grouping="course", chart={"type": "bar", "x": "due_on", "y": ["score", "attempts"]})

    # when
    html, count = render_report_html(iter(rows), columns=columns, meta=meta)
    document = pdf_document(html)

    # then
    assert count == 120
    pages = len(document.pages)
    assert pages > 1
    first, second = page_texts(document, 0), page_texts(document, 1)
    assert f"Page 1 of {pages}" in "".join(first)  # from the static stylesheet: it was served
    assert "Page 2 of" in "".join(second)
    assert "course: BIO-101" in html and "course: CHEM-201" in html
    assert "submitted_at (Europe/London)" in second  # the header on a following page
    chart = html.split('src="data:image/svg+xml;base64,', 1)[1].split('"', 1)[0]
    assert base64.b64decode(chart).startswith(b"<svg")
    assert "Timeliness of BIO-101" in first and "Classes of Ada Lovelace (3)" in first


def test_the_pdf_file_of_a_report() -> None:
    data = written("pdf", sample_rows(), replace(META, chart={"type": "line", "x": "due_on", "y": ["score"]}))
    assert data.startswith(b"%PDF-")

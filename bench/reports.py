"""Measure report exports on the OULAD import: a 100 000-row XLSX, a 1 000 000-row CSV and a 10-page class PDF.

Usage (from the project root, PostgreSQL and Redis running):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edupath_bench REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/reports.py [--oulad PATH] [--skip-import]

Use a database of its own: the run migrates it and imports OULAD into it (`manage.py import_oulad PATH`,
idempotent; `--skip-import` reuses an earlier import). An administrator of the OULAD school is created if missing
(the import holds only students); every report runs with that administrator's access.

Each export runs in a fresh process (so each peak is its own) through the report path a run takes:
reports.specs.report_table (the metric catalogue's rows for the viewer) → reports.formats.write_report into a file.
- xlsx_100k: dataset activity-daily (the rollups, read through a server-side cursor), the first 100 000 rows of
  2014, every column, to XLSX.
- csv_1m: activity-daily over 2013-01-01 … 2014-12-31 (about 1.2 M rows), the first 1 000 000, to CSV.
- pdf_10p: activity-daily of the largest OULAD class over its first fortnight, cut to fill about ten A4 pages,
  with a line chart.
Time: wall clock, and this process's CPU time (the database's work is in the wall time only; on a shared, loaded
machine the CPU time is the steadier figure). Memory: the process's peak resident set during the export (Linux
VmHWM, reset just before it), and that peak minus the resident set before the export began (the memory the export
itself needed; a Django process with these apps holds some 110 MB before it, and openpyxl with numpy or
WeasyPrint with matplotlib add their share on a worker's first XLSX or PDF).

The last line printed is:

    RESULT xlsx_100k_s=... xlsx_100k_cpu_s=... xlsx_100k_mb=... xlsx_100k_export_mb=... csv_1m_s=... csv_1m_mb=...
           csv_1m_export_mb=... pdf_10p_s=... pdf_10p_cpu_s=... pdf_pages=...   (one line)
"""

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/edupath_bench"
BENCH_ADMIN = "bench-reports-admin"
PDF_ROWS = 270  # about ten A4 pages of a class's daily activity table after the chart

CASES: dict[str, dict[str, Any]] = {
    "xlsx_100k": {
        "format": "xlsx",
        "rows": 100_000,
        "spec": {"dataset": "activity-daily", "parameters": {"start_date": "2014-01-01", "end_date": "2014-12-31"}},
    },
    "csv_1m": {
        "format": "csv",
        "rows": 1_000_000,
        "spec": {"dataset": "activity-daily", "parameters": {"start_date": "2013-01-01", "end_date": "2014-12-31"}},
    },
    "pdf_10p": {
        "format": "pdf",
        "rows": PDF_ROWS,
        "spec": {
            "dataset": "activity-daily",
            "columns": ["day", "name", "events", "active_minutes", "items_viewed", "items_completed", "xp"],
            # the class and its first fortnight are named below
            "parameters": {},
            "chart": {"type": "line", "x": "day", "y": ["events", "active_minutes"]},
        },
    },
}


def memory_kb(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


def export_case(name: str) -> dict[str, Any]:
    """One export in this process; its figures."""
    import django

    django.setup()
    from datetime import UTC, datetime, timedelta
    from unittest import mock

    from django.utils import timezone

    from accounts.models import Organization, Role, User
    from classroom.models import Course, Enrollment
    from reports.formats import write_report
    from reports.services import report_meta
    from reports.specs import report_table, spec_from

    # the importer's school (analytics.importers.oulad.ORGANIZATION_SLUG), found without importing the importer:
    # it loads pyarrow (some 50 MB), which no report run holds
    organization = Organization.objects.get(slug="oulad")
    admin, _ = User.objects.get_or_create(
        username=BENCH_ADMIN, defaults={"role": Role.ADMIN, "organization": organization, "first_name": "Bench"}
    )
    case = CASES[name]
    spec_data = json.loads(json.dumps(case["spec"]))
    if name == "pdf_10p":
        # the OULAD class with the most students, its first fortnight (all its students had enrolled by then)
        course = max(
            Course.objects.filter(organization=organization),
            key=lambda each: Enrollment.objects.filter(course=each, role="student").count(),
        )
        first = course.start_date
        assert first is not None  # every OULAD presentation has its start
        spec_data["parameters"] = {
            "course": str(course.pk),
            "start_date": first.isoformat(),
            "end_date": (first + timedelta(days=13)).isoformat(),
        }
    moment = datetime(2015, 1, 1, tzinfo=UTC)  # after the OULAD years, as a report read today
    with mock.patch.object(timezone, "now", lambda: moment):
        spec = spec_from(spec_data, viewer=admin)
        if case["format"] in ("xlsx", "pdf"):
            # openpyxl, WeasyPrint, matplotlib and the fonts are loaded once per worker process, by its first XLSX or
            # PDF: a three-row file first, so the figures are those of a worker that has written one before
            warm = report_table(spec, viewer=admin)
            warm_meta = report_meta(warm, title="warm-up", version=None, run_for=admin)
            write_report(case["format"], islice(warm.rows, 3), columns=spec.columns, meta=warm_meta, out=io.BytesIO())
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / f"report.{case['format']}"
            Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident set (VmHWM)
            before_kb = memory_kb("VmRSS")
            began, began_cpu = time.perf_counter(), time.process_time()
            table = report_table(spec, viewer=admin)
            meta = report_meta(table, title=f"Bench {name}", version=None, run_for=admin)
            with open(target, "wb") as out:
                written = write_report(
                    case["format"], islice(table.rows, case["rows"]), columns=spec.columns, meta=meta, out=out
                )
            seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - began_cpu
            peak_kb = memory_kb("VmHWM")
            size = target.stat().st_size
            pages = None
            if case["format"] == "pdf":  # counted on a second rendering, outside the time measured
                from reports.formats import pdf_format

                again = report_table(spec, viewer=admin)
                html, _ = pdf_format.render_report_html(
                    islice(again.rows, case["rows"]), columns=spec.columns, meta=meta
                )
                pages = len(pdf_format.pdf_document(html).pages)
    return {
        "case": name,
        "rows": written,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "peak_mb": round(peak_kb / 1024, 1),
        "export_mb": round((peak_kb - before_kb) / 1024, 1),
        "baseline_mb": round(before_kb / 1024, 1),
        "size_mb": round(size / 1024 / 1024, 1),
        "pages": pages,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--oulad", metavar="PATH", default="/work/shared/datasets/oulad", help="OULAD Parquet copy")
    parser.add_argument("--skip-import", action="store_true", help="reuse the OULAD data already in the database")
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)  # one export (a child process)
    arguments = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    sys.path.insert(0, str(PROJECT_DIR))
    if arguments.case:
        print(json.dumps(export_case(arguments.case)), flush=True)
        return

    from _support import migrate_and_import_oulad  # here: the measured children need none of what it loads

    migrate_and_import_oulad(arguments.oulad, skip_import=arguments.skip_import)

    figures: dict[str, dict[str, Any]] = {}
    for name in CASES:
        child = subprocess.run(  # noqa: S603 - this script, one export per process
            [sys.executable, __file__, "--case", name], cwd=PROJECT_DIR, check=True, capture_output=True, text=True
        )
        figures[name] = json.loads(child.stdout.strip().splitlines()[-1])
        each = figures[name]
        print(
            f"{name:10} {each['rows']:>9,} rows  {each['seconds']:6.2f} s ({each['cpu_seconds']:.2f} s CPU here)  "
            f"peak {each['peak_mb']:6.1f} MB "
            f"(export {each['export_mb']:6.1f} MB over a {each['baseline_mb']:.0f} MB process)  "
            f"file {each['size_mb']:.1f} MB" + (f"  {each['pages']} pages" if each["pages"] else ""),
            flush=True,
        )
    xlsx, csv_, pdf = figures["xlsx_100k"], figures["csv_1m"], figures["pdf_10p"]
    print(
        f"RESULT xlsx_100k_s={xlsx['seconds']} xlsx_100k_cpu_s={xlsx['cpu_seconds']} xlsx_100k_mb={xlsx['peak_mb']} "
        f"xlsx_100k_export_mb={xlsx['export_mb']} "
        f"csv_1m_s={csv_['seconds']} csv_1m_mb={csv_['peak_mb']} csv_1m_export_mb={csv_['export_mb']} "
        f"pdf_10p_s={pdf['seconds']} pdf_10p_cpu_s={pdf['cpu_seconds']} pdf_pages={pdf['pages']}"
    )


if __name__ == "__main__":
    main()

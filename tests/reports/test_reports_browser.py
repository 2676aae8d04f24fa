"""Issue 15, must hold 5, in Chromium: a teacher builds a report of their class in the builder (dataset, columns in
an order of their own, the class), previews it, saves it, runs it as XLSX on a real Celery worker and watches the
progress bar reach done, downloads the file, and the workbook (opened with openpyxl) holds exactly the previewed
rows, typed: numbers as numbers, dates as dates."""

import importlib
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from django.apps import apps as django_apps
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, sync_playwright
from pytest_django.live_server_helper import LiveServer

from analytics.services import events_ingest
from classroom.models import LearningItem, Submission
from config.celery import app as celery_app
from core.models import Job
from reports import schedules
from reports.models import ReportDefinition, ReportDownload, ReportRun, ReportSchedule
from reports.services import definition_create
from reports.specs import spec_from
from tests.conftest import School
from tests.core.conftest import RunningWorker, celery_worker
from tests.e2e.test_api_docs_browser import CHROMIUM_ARGS, chromium_path
from tests.e2e.test_dashboards_browser import log_in, only_this_server
from tests.factories import EnrollmentFactory, LearningItemFactory, ModuleFactory, StudentFactory, SubmissionFactory

__all__ = ["celery_worker"]  # a fixture, imported so that pytest finds it here

# The live server and the worker see only committed rows.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
TIMEOUT_MS = 15_000
RUN_TIMEOUT_MS = 60_000  # the worker's first task imports the report writers
DEFAULT_RULES = importlib.import_module("gamification.migrations.0002_default_rules")
# In this order on the page: `name` moved up to the front, then the dataset's own order of the others kept.
COLUMNS = [
    "name",
    "on_time",
    "late",
    "missing",
    "score_average_percent",
    "student",
    "events",
    "progress_percent",
    "last_active",
]


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def worker(celery_worker: RunningWorker, monkeypatch: pytest.MonkeyPatch) -> RunningWorker:
    """The real worker of tests/core/conftest.py, on its own queue: tasks sent to the default queue go there while
    the test runs (no other test session's worker can take them)."""
    # (the Django-namespaced key: it is the one Celery reads when the app is configured from Django's settings)
    monkeypatch.setitem(celery_app.conf, "CELERY_TASK_DEFAULT_QUEUE", celery_worker.queue)
    return celery_worker


@pytest.fixture
def coursework(school: School) -> dict[str, Any]:
    """MATH-1 with three students and two assignments already due: `student` handed both in on time (8/10 and
    6/10), `classmate` the essay late (5/10) and missed the quiz, `third` missed both; `student` and `classmate`
    were active today and yesterday (through the ingestion path)."""
    DEFAULT_RULES.create(django_apps, None)
    now = timezone.now()
    third = StudentFactory.create(organization=school.organization, username="third", first_name="Thea")
    EnrollmentFactory.create(user=third, course=school.course)
    module = ModuleFactory.create(course=school.course, title="Writing")
    essay = LearningItemFactory.create(
        module=module, kind=LearningItem.Kind.ASSIGNMENT, title="Essay 1", due_at=now - timedelta(days=5)
    )
    quiz = LearningItemFactory.create(
        module=module, kind=LearningItem.Kind.QUIZ, title="Quiz 2", due_at=now - timedelta(days=3)
    )
    for item, student, state, score, days_ago in (
        (essay, school.student, Submission.State.ON_TIME, 8, 6),
        (quiz, school.student, Submission.State.ON_TIME, 6, 4),
        (essay, school.classmate, Submission.State.LATE, 5, 4),
    ):
        SubmissionFactory.create(
            item=item,
            student=student,
            submitted_at=now - timedelta(days=days_ago),
            state=state,
            score=Decimal(score),
            max_points=Decimal(10),
        )
    for student, hours_ago, action in (
        (school.student, 30, "material_view"),
        (school.student, 2, "lesson_complete"),
        (school.classmate, 1, "material_view"),
    ):
        body = {
            "event_id": str(uuid4()),
            "action": action,
            "timestamp": (now - timedelta(hours=hours_ago)).isoformat(),
            "course": school.course.pk,
            "item": school.item.pk,
            "metadata": {"duration": 600},
        }
        assert events_ingest(items=[body], principal=student, now=now, horizon=None).accepted == 1
    return {"third": third}


def typed(value: Any, kind: str) -> Any:
    """A value as the API gave it (JSON), in the Python type of its column."""
    if value is None:
        return None
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    return value


def sheet_value(value: Any, kind: str) -> Any:
    """A cell as openpyxl reads it, in the Python type of its column (a date cell is read as a midnight datetime)."""
    if value is None:
        return None
    if kind == "date":
        assert isinstance(value, datetime) and value.time() == datetime.min.time(), value
        return value.date()
    if kind == "integer":
        assert isinstance(value, int), value
    if kind == "number":
        assert isinstance(value, int | float), value
        return float(value)
    return value


def previewed(page: Page) -> tuple[list[tuple[str, str]], list[list[Any]]]:
    """The preview's columns (name, type) and rows, each cell's value as the API gave it (its data-value)."""
    columns = page.locator("[data-table=preview] thead th").evaluate_all(
        "cells => cells.map(cell => [cell.dataset.column, cell.dataset.type])"
    )
    rows = page.locator("[data-table=preview] tbody tr").evaluate_all(
        "rows => rows.map(row => Array.from(row.cells, cell => cell.dataset.value))"
    )
    return [tuple(each) for each in columns], [[json.loads(cell) for cell in row] for row in rows]


def test_a_teacher_builds_runs_and_downloads_a_report(
    school: School,
    coursework: dict[str, Any],
    worker: RunningWorker,
    live_server: LiveServer,
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # Playwright's sync API runs an event loop in this thread; the test's own reads of what was stored are plain
    # synchronous queries, made while no request of this thread is in flight.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    page = browser.new_context(accept_downloads=True).new_page()
    elsewhere = only_this_server(page, live_server)
    log_in(page, live_server, school.teacher.username)

    # given: the builder, reached from the navigation
    page.click("nav >> text=Reports")
    page.click("[data-new-report]")
    page.wait_for_selector("form[data-builder][data-ready=true]", timeout=TIMEOUT_MS)

    # when: the teacher picks the dataset, the columns and their order, and the class
    page.select_option("select[name=dataset]", "student-progress")
    for box in page.locator("[data-columns] input[name=columns]").all():
        box.set_checked(box.get_attribute("value") in COLUMNS)
    for _ in range(6):  # `name` is 7th in the dataset's order: up to the front
        page.click("[data-columns] li[data-column=name] button[data-move=up]")
    course_select = page.locator("select[data-parameter=course]")
    course_select.locator(f"option[value='{school.course.pk}']").wait_for(state="attached", timeout=TIMEOUT_MS)
    course_select.select_option(str(school.course.pk))
    page.click("[data-preview-button]")

    # then: the preview shows the chosen columns in that order, one row per student of the class
    page.wait_for_selector("[data-preview]:not([hidden]) [data-table=preview] tbody tr", timeout=TIMEOUT_MS)
    columns, rows = previewed(page)
    assert [name for name, _ in columns] == COLUMNS
    kinds = [kind for _, kind in columns]
    expected = [[typed(value, kind) for value, kind in zip(row, kinds, strict=True)] for row in rows]
    by_student = {row[COLUMNS.index("student")]: row for row in expected}
    assert set(by_student) == {school.student.pk, school.classmate.pk, coursework["third"].pk}
    on_time, late, missing = (COLUMNS.index(name) for name in ("on_time", "late", "missing"))
    assert [by_student[school.student.pk][i] for i in (on_time, late, missing)] == [2, 0, 0]
    assert [by_student[school.classmate.pk][i] for i in (on_time, late, missing)] == [0, 1, 1]
    assert [by_student[coursework["third"].pk][i] for i in (on_time, late, missing)] == [0, 0, 2]
    assert isinstance(by_student[school.student.pk][COLUMNS.index("last_active")], date)

    # when: saved under a name
    page.fill("input[name=name]", "MATH-1 progress")
    with page.expect_navigation():
        page.click("[data-save-button]")

    # then: stored as the teacher's version 1, and its page is open
    definition = ReportDefinition.objects.get()
    assert (definition.owner_id, definition.name) == (school.teacher.pk, "MATH-1 progress")
    assert definition.current_version == 1
    assert definition.version.columns == COLUMNS
    assert definition.version.parameters == {"course": str(school.course.pk)}
    assert page.url == f"{live_server.url}/reports/{definition.pk}/"

    # when: run as XLSX
    page.select_option("[data-run-format-select]", "xlsx")
    page.click("[data-run-now]")

    # then: the progress bar is followed to done, and the file is offered
    form = page.locator("form[data-run-form]")
    page.wait_for_selector("form[data-run-form][data-run-state=succeeded]", timeout=RUN_TIMEOUT_MS)
    assert form.locator("[data-run-progress]").evaluate("bar => bar.value") == 100
    assert form.locator("[data-run-message]").inner_text().startswith("XLSX: Done (100 %)")
    run = ReportRun.objects.get()
    assert run.job.status == Job.Status.SUCCEEDED and run.format == "xlsx" and run.row_count == len(rows)
    assert run.run_for_id == school.teacher.pk
    # the history below lists it, with its file, without a reload
    page.wait_for_selector(f"[data-table=runs] tr[data-run='{run.pk}'][data-run-status=succeeded]", timeout=TIMEOUT_MS)

    # when: the file is downloaded
    with page.expect_download(timeout=TIMEOUT_MS) as download_info:
        form.locator("a[data-run-download]").click()
    download = download_info.value
    assert download.suggested_filename == f"math-1-progress-{run.pk}.xlsx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    workbook = load_workbook(saved, read_only=True)

    # then: the sheet holds the previewed rows: same values, same types, same order
    sheet = workbook["Report"]
    header, *data = [list(values) for values in sheet.iter_rows(max_col=len(COLUMNS), values_only=True)]
    assert len(header) == len(COLUMNS)
    assert [[sheet_value(value, kind) for value, kind in zip(row, kinds, strict=True)] for row in data] == expected
    assert ReportDownload.objects.filter(run=run, user=school.teacher).count() == 1
    assert elsewhere == []


def test_the_owner_schedules_a_report_pauses_and_deletes_it(
    school: School, live_server: LiveServer, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schedules part of a report's page: the owner adds a weekly schedule to themselves, sees it listed with its
    next run, pauses it and deletes it, each through the schedules API."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    spec = spec_from({"dataset": "class-progress", "parameters": {"period": "30d"}}, viewer=school.teacher)
    definition = definition_create(
        owner=school.teacher, name="Classes", description="", visibility="private", spec=spec
    )
    page = browser.new_page()
    elsewhere = only_this_server(page, live_server)
    log_in(page, live_server, school.teacher.username)
    page.goto(f"{live_server.url}/reports/{definition.pk}/")
    page.wait_for_selector("[data-schedule-state=empty]", timeout=TIMEOUT_MS)

    # when: a weekly schedule on Mondays at 07:30, as XLSX, to the teacher
    page.click("[data-schedule-new] summary")
    form = page.locator("form[data-schedule-form]")
    form.locator("select[name=recurrence]").select_option("weekly")
    form.locator("select[name=weekday]").select_option("0")
    form.locator("input[name=time]").fill("07:30")
    form.locator("select[name=format]").select_option("xlsx")
    form.locator("[data-schedule-save]").click()

    # then: stored with its beat entry, and listed with its next run
    page.wait_for_selector("[data-table=schedules] tr[data-schedule][data-enabled=true]", timeout=TIMEOUT_MS)
    schedule = ReportSchedule.objects.get()
    assert (schedule.recurrence, schedule.weekday, schedule.format) == ("weekly", 0, "xlsx")
    assert f"{schedule.time:%H:%M}" == "07:30"
    assert list(schedule.recipients.values_list("pk", flat=True)) == [school.teacher.pk]
    assert schedule.periodic_task is not None and schedule.periodic_task.enabled
    row = page.locator(f"tr[data-schedule='{schedule.pk}']")
    assert row.locator("td").first.inner_text().startswith(schedules.schedule_text(schedule))

    # when: paused
    row.locator("button[data-schedule-enable]").click()

    # then: disabled with its beat entry
    page.wait_for_selector(f"tr[data-schedule='{schedule.pk}'][data-enabled=false]", timeout=TIMEOUT_MS)
    schedule.refresh_from_db()
    assert not schedule.enabled and schedule.periodic_task is not None and not schedule.periodic_task.enabled

    beat_entry = schedule.periodic_task.pk

    # when: deleted (confirmed)
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator(f"tr[data-schedule='{schedule.pk}'] button[data-schedule-delete]").click()

    # then: gone, with its beat entry
    page.wait_for_selector("[data-schedule-state=empty]", timeout=TIMEOUT_MS)
    assert not ReportSchedule.objects.exists()
    assert not PeriodicTask.objects.filter(pk=beat_entry).exists()
    assert elsewhere == []


def test_the_builder_shows_a_refusal_by_its_field_and_edits_a_saved_report(
    school: School, live_server: LiveServer, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A preview the API refuses (400) shows the message beside the field it names; the builder opens a saved report
    with its dataset, columns in their order and class; a change of columns saves version 2."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    spec = spec_from(
        {
            "dataset": "student-progress",
            "columns": ["progress_percent", "name"],
            "parameters": {"course": school.course.pk},
        },
        viewer=school.teacher,
    )
    definition = definition_create(
        owner=school.teacher, name="Progress", description="", visibility="private", spec=spec
    )
    page = browser.new_page()
    elsewhere = only_this_server(page, live_server)
    log_in(page, live_server, school.teacher.username)

    # given: a new report of a class's students, without the class
    page.goto(f"{live_server.url}/reports/new")
    page.wait_for_selector("form[data-builder][data-ready=true]", timeout=TIMEOUT_MS)
    page.select_option("select[name=dataset]", "student-progress")
    page.locator("select[data-parameter=course] option[value='']").wait_for(state="attached", timeout=TIMEOUT_MS)

    # when: previewed
    page.click("[data-preview-button]")

    # then: the refusal is shown next to the class
    error = page.locator("[data-error-for='parameters.course']")
    page.wait_for_function(
        "() => document.querySelector(\"[data-error-for='parameters.course']\").textContent !== ''", timeout=TIMEOUT_MS
    )
    assert "required" in error.inner_text().lower()
    assert page.locator("select[data-parameter=course]").get_attribute("aria-invalid") == "true"
    assert page.locator("[data-preview]").is_hidden()

    # when: the saved report is opened in the builder
    page.goto(f"{live_server.url}/reports/{definition.pk}/edit")
    page.wait_for_selector("form[data-builder][data-ready=true]", timeout=TIMEOUT_MS)
    course = page.locator("select[data-parameter=course]")
    course.locator(f"option[value='{school.course.pk}']").wait_for(state="attached", timeout=TIMEOUT_MS)

    # then: as saved: its dataset, its columns first and in their order (the others unticked), its class, its name
    assert page.locator("select[name=dataset]").input_value() == "student-progress"
    ticked = page.locator("[data-columns] input[name=columns]:checked").evaluate_all("boxes => boxes.map(b => b.value)")
    assert ticked == ["progress_percent", "name"]
    assert page.locator("[data-columns] li").first.get_attribute("data-column") == "progress_percent"
    assert course.input_value() == str(school.course.pk)
    assert page.locator("input[name=name]").input_value() == "Progress"

    # when: a column is added and the report saved
    page.check("[data-columns] li[data-column=events] input[name=columns]")
    with page.expect_navigation():
        page.click("[data-save-button]")

    # then: version 2, with the column last
    definition.refresh_from_db()
    assert definition.current_version == 2
    assert definition.version.columns == ["progress_percent", "name", "events"]
    assert page.locator("[data-report-version]").inner_text() == "2"
    assert elsewhere == []

"""The reports API: definitions and versions, runs through the shared job record, downloads, expiry, direct
exports, documents, and every bad input a client can send (400 naming the field, nothing written or queued)."""

import csv
import io
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
from django.test import override_settings
from django.utils import timezone

from core.models import Job
from reports import services
from reports.models import ReportDefinition, ReportDownload, ReportRun, ReportVersion
from tests.conftest import School, client_for

CLASS_PROGRESS = {"name": "My classes", "dataset": "class-progress", "parameters": {"period": "30d"}}


def create(school: School, body: dict[str, Any] | None = None, who: str = "teacher") -> dict[str, Any]:
    response = client_for(getattr(school, who)).post("/api/v1/reports", body or CLASS_PROGRESS, format="json")
    assert response.status_code == 201, response.json()
    answer: dict[str, Any] = response.json()
    return answer


def generate(school: School, report: int, fmt: str, capture: Any, who: str = "teacher") -> dict[str, Any]:
    """Ask for a run; run the task the commit would have queued (no worker serves these tests)."""
    with capture(execute=False) as callbacks:
        response = client_for(getattr(school, who)).post(f"/api/v1/reports/{report}/generate", {"format": fmt})
    assert response.status_code == 202, response.json()
    assert len(callbacks) == 1
    answer: dict[str, Any] = response.json()
    services.run_execute(answer["id"])
    return answer


# SECTION: definitions


def test_a_teacher_saves_a_report_and_lists_it(school: School) -> None:
    # when
    saved = create(school)

    # then: every column by default, version 1
    assert saved["version"]["number"] == 1
    assert saved["version"]["columns"][:3] == ["course", "code", "title"]
    listed = client_for(school.teacher).get("/api/v1/reports").json()["reports"]
    assert [each["id"] for each in listed] == [saved["id"]]
    assert listed[0]["editable"] is True


def test_an_edit_of_what_it_shows_is_a_new_version_and_a_rename_is_not(school: School) -> None:
    saved = create(school)
    client = client_for(school.teacher)

    renamed = client.patch(f"/api/v1/reports/{saved['id']}", {"name": "Renamed"}, format="json").json()
    assert (renamed["name"], renamed["version"]["number"]) == ("Renamed", 1)

    changed = client.patch(
        f"/api/v1/reports/{saved['id']}", {"columns": ["code", "completion_rate"]}, format="json"
    ).json()
    assert changed["version"]["number"] == 2
    assert changed["version"]["columns"] == ["code", "completion_rate"]
    versions = client.get(f"/api/v1/reports/{saved['id']}/versions").json()["versions"]
    assert [each["number"] for each in versions] == [2, 1]


def test_a_private_report_is_404_to_others_and_a_shared_one_runs_with_their_own_access(
    school: School, django_capture_on_commit_callbacks: Any
) -> None:
    saved = create(school)
    other = client_for(school.other_teacher)
    assert other.get(f"/api/v1/reports/{saved['id']}").status_code == 404

    client_for(school.teacher).patch(f"/api/v1/reports/{saved['id']}", {"visibility": "shared"}, format="json")
    seen = other.get(f"/api/v1/reports/{saved['id']}").json()
    assert seen["editable"] is False
    assert other.patch(f"/api/v1/reports/{saved['id']}", {"name": "Mine"}, format="json").status_code == 403
    assert client_for(school.foreign_admin).get(f"/api/v1/reports/{saved['id']}").status_code == 404

    # the other teacher's run holds their class only
    run = generate(school, saved["id"], "csv", django_capture_on_commit_callbacks, who="other_teacher")
    rows = list(csv.DictReader(io.StringIO(download(school.other_teacher, run["id"]).decode())))
    assert [row["code"] for row in rows] == ["HIST-1"]


def test_a_student_may_not_use_reports(school: School) -> None:
    assert client_for(school.student).get("/api/v1/reports").status_code == 403
    assert client_for(school.student).post("/api/v1/reports", CLASS_PROGRESS, format="json").status_code == 403


def test_a_report_round_trips_as_a_document(school: School) -> None:
    saved = create(school, {**CLASS_PROGRESS, "columns": ["title", "completion_rate"], "sort": [{"column": "title"}]})
    document = client_for(school.teacher).get(f"/api/v1/reports/{saved['id']}/document").json()
    assert document["edupath_report"] == 1

    imported = client_for(school.other_teacher).post("/api/v1/reports/import", document, format="json")

    assert imported.status_code == 201
    version = imported.json()["version"]
    assert (version["columns"], version["sort"]) == (
        ["title", "completion_rate"],
        [{"column": "title", "descending": False}],
    )
    assert imported.json()["owner"] == school.other_teacher.pk


def test_deleting_a_report_removes_its_runs_jobs_and_files(
    school: School, django_capture_on_commit_callbacks: Any
) -> None:
    saved = create(school)
    run = generate(school, saved["id"], "csv", django_capture_on_commit_callbacks)
    path = services.file_path(ReportRun.objects.get(pk=run["id"]))
    assert path is not None and path.exists()

    assert client_for(school.teacher).delete(f"/api/v1/reports/{saved['id']}").status_code == 204

    assert not path.exists()
    assert not Job.objects.filter(pk=run["job"]).exists()
    assert not ReportVersion.objects.filter(definition_id=saved["id"]).exists()


# SECTION: runs and files


def download(user: Any, run_id: int) -> bytes:
    response = client_for(user).get(f"/api/v1/reports/runs/{run_id}/download")
    assert response.status_code == 200, response
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_a_run_is_a_job_whose_result_names_the_file(school: School, django_capture_on_commit_callbacks: Any) -> None:
    saved = create(
        school, {**CLASS_PROGRESS, "dataset": "student-progress", "parameters": {"course": str(school.course.pk)}}
    )

    run = generate(school, saved["id"], "xlsx", django_capture_on_commit_callbacks)

    job = client_for(school.teacher).get(f"/api/v1/jobs/{run['job']}").json()
    assert (job["kind"], job["status"], job["progress"]) == ("report-run", "succeeded", 100)
    assert job["result"]["row_count"] == 2  # student and classmate
    assert job["result"]["download_url"] == f"/api/v1/reports/runs/{run['id']}/download"
    assert client_for(school.teacher).get(f"/api/v1/reports/status/{run['job']}").json() == job
    workbook = openpyxl.load_workbook(io.BytesIO(download(school.teacher, run["id"])), read_only=True)
    header, *rows = workbook.worksheets[0].iter_rows(values_only=True)
    names = {row[header.index("name")] for row in rows}
    assert names == {school.student.display_name, school.classmate.display_name}
    history = client_for(school.teacher).get(f"/api/v1/reports/{saved['id']}/runs").json()["runs"]
    assert [(each["id"], each["status"], each["downloads"]) for each in history] == [(run["id"], "succeeded", 1)]


def test_a_runs_file_is_404_outside_its_scope_and_each_download_is_recorded(
    school: School, django_capture_on_commit_callbacks: Any
) -> None:
    saved = create(school)
    run = generate(school, saved["id"], "csv", django_capture_on_commit_callbacks)
    url = f"/api/v1/reports/runs/{run['id']}/download"

    assert client_for(school.other_teacher).get(url).status_code == 404
    assert client_for(school.foreign_admin).get(url).status_code == 404
    assert client_for(school.student).get(url).status_code == 403
    assert client_for(school.teacher).get(url).status_code == 200
    assert client_for(school.admin).get(url).status_code == 200  # the school's administrator
    assert list(ReportDownload.objects.values_list("user__username", flat=True).order_by("id")) == ["teacher", "admin"]


def test_an_expired_file_is_removed_and_no_longer_served(
    school: School, django_capture_on_commit_callbacks: Any
) -> None:
    saved = create(school)
    run = generate(school, saved["id"], "csv", django_capture_on_commit_callbacks)
    stored = ReportRun.objects.get(pk=run["id"])
    path = services.file_path(stored)
    assert path is not None

    removed = services.files_expire(now=timezone.now() + timedelta(days=8))

    assert removed == 1
    assert not path.exists()
    assert client_for(school.teacher).get(f"/api/v1/reports/runs/{run['id']}/download").status_code == 404
    assert client_for(school.teacher).get(f"/api/v1/reports/runs/{run['id']}").json()["download_url"] is None


def test_a_failing_run_records_why_and_leaves_no_file(
    school: School, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = create(school)

    def half_written(fmt: str, rows: Any, *, out: Any, **options: Any) -> int:
        out.write(b"course,code\n1,")
        raise OSError("disk full")

    monkeypatch.setattr(services, "write_report", half_written)
    run = generate(school, saved["id"], "csv", django_capture_on_commit_callbacks)

    job = Job.objects.get(pk=run["job"])
    assert job.status == "failed"
    assert "could not be written (OSError)" in job.message
    assert list(services.storage_dir().glob(f"{run['id']}-*")) == []
    assert ReportRun.objects.get(pk=run["id"]).file_name == ""


def test_a_small_report_exports_directly(school: School) -> None:
    saved = create(school)
    response = client_for(school.teacher).get(f"/api/v1/reports/{saved['id']}/export", {"format": "csv", "bom": "1"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="my-classes.csv"'
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body.startswith(b"\xef\xbb\xbf")
    assert [row["code"] for row in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))] == ["MATH-1"]


# SECTION: bad input


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dataset": "nope"}, "dataset"),
        ({"columns": ["code", "nope"]}, "columns"),
        ({"parameters": {"nope": "1"}}, "parameters"),
        ({"parameters": {"period": "abc"}}, "parameters"),
        ({"parameters": {"period": "4000d"}}, "parameters"),  # over the dataset's limit
        ({"parameters": {"course": "987654321"}}, "parameters"),
        ({"row_filters": {"code": "x"}}, "row_filters"),
        ({"grouping": "nope"}, "grouping"),
        ({"sort": [{"column": "nope"}]}, "sort"),
        ({"chart": {"type": "pie", "x": "code", "y": ["items"]}}, "chart"),
        ({"chart": {"type": "bar", "x": "code", "y": ["title"]}}, "chart"),
        ({"visibility": "public"}, "visibility"),
        ({"name": ""}, "name"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_bad_report_is_refused_naming_the_field(school: School, body: dict[str, Any], field: str) -> None:
    response = client_for(school.teacher).post("/api/v1/reports", {**CLASS_PROGRESS, **body}, format="json")
    assert response.status_code == 400
    assert any(name == field or name.startswith(f"{field}.") for name in response.json()), response.json()
    assert not ReportDefinition.objects.exists()


def test_a_class_outside_the_teachers_scope_reads_like_one_that_does_not_exist(school: School) -> None:
    answers = [
        client_for(school.teacher)
        .post(
            "/api/v1/reports",
            {**CLASS_PROGRESS, "dataset": "student-progress", "parameters": {"course": str(course)}},
            format="json",
        )
        .json()
        for course in (school.other_course.pk, 987654321)
    ]
    assert answers[0] == answers[1] == {"parameters.course": ["Not one you may see."]}


def test_an_unknown_format_and_an_oversized_report_queue_nothing(school: School) -> None:
    saved = create(school)
    client = client_for(school.teacher)
    bad = client.post(f"/api/v1/reports/{saved['id']}/generate", {"format": "docx"}, format="json")
    assert bad.status_code == 400
    assert bad.json() == {"format": ["format must be one of: csv, xlsx, json, pdf."]}

    with override_settings(REPORTS_MAX_ROWS=0):
        big = client.post(f"/api/v1/reports/{saved['id']}/generate", {"format": "csv"}, format="json")
    assert big.status_code == 400
    assert "more than 0 rows" in big.json()["parameters"][0]
    with override_settings(REPORTS_EXPORT_MAX_ROWS=0):
        direct = client.get(f"/api/v1/reports/{saved['id']}/export", {"format": "csv"})
    assert direct.status_code == 400 and "format" in direct.json()
    assert not Job.objects.exists()
    assert client.get(f"/api/v1/reports/{saved['id']}/export", {"format": "docx"}).status_code == 400


def test_the_preview_shows_the_first_rows_without_saving(school: School) -> None:
    response = client_for(school.teacher).post(
        "/api/v1/reports/preview",
        {
            "dataset": "student-progress",
            "parameters": {"course": school.course.pk},
            "columns": ["name", "progress_percent"],
            "limit": 1,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    answer = response.json()
    assert [column["name"] for column in answer["columns"]] == ["name", "progress_percent"]
    assert len(answer["rows"]) == 1
    assert answer["scope"] == f"Class MATH-1 {school.course.title}"
    assert not ReportDefinition.objects.exists()

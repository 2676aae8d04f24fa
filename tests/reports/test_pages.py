"""The report pages (/reports/...): teachers and administrators only (a student gets the 404 of any staff page), a
report someone else keeps private answers like one that does not exist, a shared one opens but only its owner edits
it; the list shows each report's last run; the navigation offers "Reports" to staff only."""

from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from reports.models import ReportDefinition
from reports.services import definition_create, run_execute, run_request
from reports.specs import spec_from
from tests.conftest import School

pytestmark = pytest.mark.django_db
MISSING_ID = 987654321


def report(owner: User, course_id: int, *, name: str, visibility: str = "private") -> ReportDefinition:
    spec = spec_from(
        {"dataset": "student-progress", "columns": ["name", "progress_percent"], "parameters": {"course": course_id}},
        viewer=owner,
    )
    return definition_create(owner=owner, name=name, description="", visibility=visibility, spec=spec)


@pytest.fixture
def reports(school: School) -> dict[str, ReportDefinition]:
    return {
        "own": report(school.teacher, school.course.pk, name="My class progress"),
        "shared": report(school.other_teacher, school.other_course.pk, name="History shared", visibility="shared"),
        "private": report(school.other_teacher, school.other_course.pk, name="History private"),
        "foreign": report(school.foreign_admin, school.foreign_course.pk, name="Southfield", visibility="shared"),
    }


def get(user: User | None, url: str) -> Any:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client.get(url)


def last_run(user: User, definition: ReportDefinition) -> dict[str, Any] | None:
    """The last run the list shows `user` for `definition` (as the API's run answer)."""
    rows = get(user, "/reports/").context["rows"]
    last: dict[str, Any] | None = next(each["last_run"] for each in rows if each["definition"].pk == definition.pk)
    return last


@pytest.mark.parametrize(("role", "expected"), [("anonymous", 302), ("student", 404), ("teacher", 200), ("admin", 200)])
@pytest.mark.parametrize("path", ["/reports/", "/reports/new"])
def test_list_and_builder_are_for_staff(
    school: School, reports: dict[str, ReportDefinition], path: str, role: str, expected: int
) -> None:
    response = get(None if role == "anonymous" else getattr(school, role), path)
    assert response.status_code == expected


def test_the_list_shows_your_reports_and_shared_ones_only(school: School, reports: dict[str, ReportDefinition]) -> None:
    # when
    response = get(school.teacher, "/reports/")

    # then: own and shared, never another teacher's private one nor another school's
    shown = [row.pk for row in (each["definition"] for each in response.context["rows"])]
    assert sorted(shown) == sorted([reports["own"].pk, reports["shared"].pk])
    page = response.content.decode()
    assert "My class progress" in page and "History shared" in page
    assert "History private" not in page and "Southfield" not in page
    assert page.count("data-run-format=") == 2 * 4  # a "Run" button per format for each report
    assert 'data-run-status="">Never run' in page


def test_the_list_shows_the_last_run_with_its_file(school: School, reports: dict[str, ReportDefinition]) -> None:
    # given: a run written for the teacher, then a newer one still queued
    done = run_request(reports["own"], fmt="csv", run_for=school.teacher, requested_by=school.teacher, enqueue=False)
    run_execute(done.pk)
    shown = last_run(school.teacher, reports["own"])
    assert shown is not None and (shown["id"], shown["status"]) == (done.pk, "succeeded")
    assert f'href="/api/v1/reports/runs/{done.pk}/download"' in get(school.teacher, "/reports/").content.decode()

    # when: a newer run is queued
    queued = run_request(reports["own"], fmt="xlsx", run_for=school.teacher, requested_by=school.teacher, enqueue=False)

    # then: that is the last run shown
    shown = last_run(school.teacher, reports["own"])
    assert shown is not None and (shown["id"], shown["status"]) == (queued.pk, "queued")


def test_another_teachers_run_is_not_shown_as_the_last_run(
    school: School, reports: dict[str, ReportDefinition]
) -> None:
    # given: the owner of the shared report ran it
    run_request(
        reports["shared"], fmt="csv", run_for=school.other_teacher, requested_by=school.other_teacher, enqueue=False
    )

    # then: the teacher, who may run it too, does not see that run; the administrator does
    assert last_run(school.teacher, reports["shared"]) is None
    assert last_run(school.admin, reports["shared"]) is not None


@pytest.mark.parametrize(
    ("role", "which", "expected"),
    [
        ("anonymous", "own", 302),
        ("student", "own", 404),
        ("teacher", "own", 200),
        ("teacher", "shared", 200),
        ("teacher", "private", 404),
        ("teacher", "foreign", 404),
        ("teacher", None, 404),
        ("admin", "shared", 200),
        ("admin", "own", 404),  # the teacher's private report: not the administrator's to see
        ("admin", "foreign", 404),
    ],
)
def test_a_report_page(
    school: School, reports: dict[str, ReportDefinition], role: str, which: str | None, expected: int
) -> None:
    pk = reports[which].pk if which else MISSING_ID
    response = get(None if role == "anonymous" else getattr(school, role), f"/reports/{pk}/")
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("role", "which", "expected"),
    [
        ("anonymous", "own", 302),
        ("student", "own", 404),
        ("teacher", "own", 200),
        ("teacher", "shared", 403),  # shared with them: they run it, only its owner changes it (as the API)
        ("teacher", "private", 404),
        ("teacher", None, 404),
        ("admin", "shared", 403),
        ("admin", "foreign", 404),
    ],
)
def test_the_builder_on_a_saved_report(
    school: School, reports: dict[str, ReportDefinition], role: str, which: str | None, expected: int
) -> None:
    pk = reports[which].pk if which else MISSING_ID
    response = get(None if role == "anonymous" else getattr(school, role), f"/reports/{pk}/edit")
    assert response.status_code == expected


def test_someone_elses_private_report_looks_exactly_like_a_missing_one(
    school: School, reports: dict[str, ReportDefinition]
) -> None:
    for path in ("/reports/{}/", "/reports/{}/edit"):
        seen = get(school.teacher, path.format(reports["private"].pk))
        absent = get(school.teacher, path.format(MISSING_ID))
        assert (seen.status_code, seen.content) == (absent.status_code, absent.content)


def test_the_report_page_shows_its_version_and_offers_edit_to_its_owner(
    school: School, reports: dict[str, ReportDefinition]
) -> None:
    own = get(school.teacher, f"/reports/{reports['own'].pk}/").content.decode()
    assert "My class progress" in own
    assert "data-report-version>1<" in own
    assert f'href="/reports/{reports["own"].pk}/edit"' in own
    assert f'data-report-parameter="course">{school.course.code} {school.course.title}<' in own

    shared = get(school.teacher, f"/reports/{reports['shared'].pk}/").content.decode()
    assert "data-edit-report" not in shared
    assert "data-run-form" in shared  # they may run it, with their own access


@pytest.mark.parametrize(("role", "shown"), [("student", False), ("teacher", True), ("admin", True)])
def test_reports_are_in_the_navigation_for_staff(school: School, role: str, shown: bool) -> None:
    page = get(getattr(school, role), "/").content.decode()
    assert ('href="/reports/">Reports</a>' in page) is shown

"""The report pages (teachers and administrators; a student gets the same 404 as for any staff page): the list of
reports you may run, the builder (new and edit) and a report's page. They only render templates: the pages' scripts
(reports/static/reports/) read and write through the reports API (/api/v1/reports/...) with the session and its CSRF
token, so a page never shows a figure the API would not give the same person."""

from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts.models import User
from accounts.permissions import is_staff_role
from classroom.selectors import visible_courses
from core.params import ascii_integer
from reports.api.views import run_out
from reports.datasets import dataset
from reports.models import Format, ReportDefinition, ReportRun, ReportVersion
from reports.selectors import editable_definitions, visible_definitions, visible_runs, with_run_details

# A run's status in words, as the pages' script says it (reports.js)
STATUS_WORDS = {"queued": "Queued", "running": "Running", "succeeded": "Done", "failed": "Failed"}


def _staff(request: HttpRequest) -> User:
    if not is_staff_role(request.user):
        raise Http404
    return cast(User, request.user)


def _dataset_title(name: str) -> str:
    chosen = dataset(name)
    return chosen.title if chosen is not None else name


@login_required
def report_list(request: HttpRequest) -> HttpResponse:
    """Your reports and those shared with your school's staff, each with its last run you may see."""
    viewer = _staff(request)
    current = ReportVersion.objects.filter(definition=OuterRef("pk"), number=OuterRef("current_version"))
    latest = (
        ReportRun.objects.filter(pk__in=visible_runs(viewer).values("pk"), definition=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )
    definitions = list(
        visible_definitions(viewer).annotate(
            dataset_name=Subquery(current.values("dataset")[:1]), last_run_id=Subquery(latest)
        )
    )
    runs = ReportRun.objects.filter(pk__in=[each.last_run_id for each in definitions if each.last_run_id])
    last_runs = {run.pk: run_out(run) for run in with_run_details(runs)}
    rows: list[dict[str, Any]] = [
        {
            "definition": each,
            "dataset_title": _dataset_title(each.dataset_name or ""),
            "last_run": last_runs.get(each.last_run_id),
            "last_run_status": STATUS_WORDS.get(last_runs[each.last_run_id]["status"], "")
            if each.last_run_id in last_runs
            else "",
            "editable": each.owner_id == viewer.pk,
        }
        for each in definitions
    ]
    return render(request, "reports/pages/list.html", {"rows": rows, "formats": Format.choices})


def _builder(request: HttpRequest, definition: ReportDefinition | None) -> HttpResponse:
    context = {
        "definition": definition,
        "visibilities": ReportDefinition.Visibility.choices,
    }
    return render(request, "reports/pages/builder.html", context)


@login_required
def report_new(request: HttpRequest) -> HttpResponse:
    _staff(request)
    return _builder(request, None)


@login_required
def report_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The builder on a saved report: its owner only (someone else it is shared with runs it: 403, as the API)."""
    viewer = _staff(request)
    definition = get_object_or_404(visible_definitions(viewer), pk=pk)
    if not editable_definitions(viewer).filter(pk=pk).exists():
        raise PermissionDenied
    return _builder(request, definition)


def _readable_parameters(parameters: dict[str, str], viewer: User) -> list[tuple[str, str]]:
    """The report's parameters as the page shows them: a class by its code and title when the viewer may see it
    (a class of a shared report outside their scope stays an id: its runs for them are refused)."""
    shown = dict(parameters)
    course_id = ascii_integer(parameters.get("course", ""))
    if course_id is not None:
        course = visible_courses(viewer).filter(pk=course_id).first()
        shown["course"] = f"{course.code} {course.title}".strip() if course else f"#{course_id} (not one of yours)"
    return list(shown.items())


@login_required
def report_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A report: what it shows (its current version), run now with a progress bar, its run history with the files,
    and its schedules."""
    viewer = _staff(request)
    definition = get_object_or_404(visible_definitions(viewer), pk=pk)
    version = definition.version
    chosen = dataset(version.dataset)
    labels = {column.name: column.description or column.name for column in chosen.columns} if chosen else {}
    context = {
        "definition": definition,
        "version": version,
        "dataset_title": _dataset_title(version.dataset),
        "columns": [(name, labels.get(name, "")) for name in version.columns],
        "parameters": _readable_parameters(version.parameters, viewer),
        "editable": definition.owner_id == viewer.pk,
        "formats": Format.choices,
    }
    return render(request, "reports/pages/report.html", context)

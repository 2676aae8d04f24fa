"""The reports API under /api/v1/reports/: the datasets you may report on, report definitions (versions, JSON
documents), previews, runs (202 with a job; status through /api/v1/jobs/{id} or the seed's
/api/v1/reports/status/{job_id}), downloads of a run's file and direct exports of small reports.

Teachers and administrators only (students 403, as for every staff metric). A definition is seen by its owner and,
when shared, by the school's staff; only the owner changes it (403 for the others who see it; 404 for anyone who
does not). A report's rows are always those its metric gives whoever it runs for."""

import tempfile
from datetime import datetime
from typing import Annotated, Any, TypedDict, cast

from django.conf import settings
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.text import slugify
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import IsStaffRole
from accounts.selectors import visible_jobs
from analytics.api.catalogue import ColumnOut
from core.exceptions import FlatFieldErrors
from core.jobs import JobAnswer, job_answer
from core.params import NoQuery, query_of
from core.schema import answer_type
from reports import services
from reports.api.serializers import (
    DefinitionIn,
    DefinitionPatch,
    DocumentIn,
    ExportQuery,
    GenerateIn,
    PreviewIn,
    PreviewQuery,
)
from reports.datasets import Dataset
from reports.formats import CONTENT_TYPES, EXTENSIONS, stream_report, write_report
from reports.models import CONTENT_FIELDS, ReportDefinition, ReportRun, ReportVersion
from reports.selectors import editable_definitions, visible_definitions, visible_runs, with_run_details
from reports.services import RUN_JOB
from reports.specs import Spec, datasets_for, preview, report_table, spec_from


class ReportsView(FlatFieldErrors, APIView):
    """Staff only; a 400 names nested fields dotted (`parameters.course`, `chart.y`)."""

    permission_classes = [IsStaffRole]

    @property
    def viewer(self) -> User:
        return cast(User, self.request.user)


# SECTION: datasets


class ParameterOut(TypedDict):
    name: str
    required: bool
    help: Annotated[str, "What it takes, as the metric's endpoint documents it."]


class DatasetOut(TypedDict):
    name: str
    title: str
    description: str
    metric: Annotated[str, "The catalogue metric whose rows it holds (GET /api/v1/analytics/catalogue)."]
    audience: Annotated[str, "staff or administrators."]
    parameters: list[ParameterOut]
    row_filters: Annotated[list[str], "Columns a report may keep rows by value of."]
    columns: list[ColumnOut]
    streamed: Annotated[bool, "Rows are written as they are read (large; kept in date order, not sorted)."]


class DatasetListOut(TypedDict):
    datasets: list[DatasetOut]


def dataset_out(chosen: Dataset) -> DatasetOut:
    fields = chosen.metric.query().fields
    parameters: list[ParameterOut] = [
        {"name": name, "required": True, "help": "The id (from the metric's path)."} for name in chosen.path_parameters
    ]
    parameters += [
        {
            "name": name,
            "required": name in chosen.required,
            "help": str(fields[name].help_text or ""),
        }
        for name in chosen.parameters
        if name not in chosen.path_parameters
    ]
    return {
        "name": chosen.name,
        "title": chosen.title,
        "description": chosen.description,
        "metric": chosen.metric.name,
        "audience": "administrators" if chosen.audience == "administrators" else "staff",
        "parameters": parameters,
        "row_filters": list(chosen.row_filters),
        "columns": [cast(ColumnOut, column.as_dict()) for column in chosen.columns],
        "streamed": chosen.streamed,
    }


@extend_schema(summary="The datasets you may report on", responses={200: answer_type(DatasetListOut)})
class DatasetListView(ReportsView):
    """Each dataset is the table of one metric of the catalogue: its columns (name, type, description), the
    parameters it takes (the metric's own) and the columns it may be filtered by."""

    query_serializer = NoQuery

    def get(self, request: Request) -> Response:
        query_of(NoQuery, request.query_params)
        return Response({"datasets": [dataset_out(each) for each in datasets_for(self.viewer)]})


# SECTION: definitions


class SortOut(TypedDict):
    column: str
    descending: bool


class ChartOut(TypedDict):
    type: Annotated[str, "line or bar."]
    x: str
    y: list[str]


class VersionOut(TypedDict):
    number: int
    dataset: str
    columns: list[str]
    parameters: dict[str, str]
    row_filters: dict[str, str]
    grouping: str | None
    sort: list[SortOut]
    chart: ChartOut | None
    created_by: int | None
    created_at: datetime


class DefinitionOut(TypedDict):
    id: int
    name: str
    description: str
    visibility: Annotated[str, "private or shared (with the school's staff)."]
    owner: int
    owner_name: str
    editable: Annotated[bool, "You own it (others run a shared report with their own access)."]
    version: VersionOut
    created_at: datetime
    updated_at: datetime


class DefinitionListOut(TypedDict):
    reports: list[DefinitionOut]


class VersionListOut(TypedDict):
    versions: Annotated[list[VersionOut], "Newest first."]


def version_out(version: ReportVersion) -> VersionOut:
    return cast(
        VersionOut,
        {
            "number": version.number,
            **version.content(),
            "created_by": version.created_by_id,
            "created_at": version.created_at,
        },
    )


def definition_out(definition: ReportDefinition, viewer: User) -> DefinitionOut:
    return {
        "id": definition.pk,
        "name": definition.name,
        "description": definition.description,
        "visibility": definition.visibility,
        "owner": definition.owner_id,
        "owner_name": definition.owner.display_name,
        "editable": definition.owner_id == viewer.pk,
        "version": version_out(definition.version),
        "created_at": definition.created_at,
        "updated_at": definition.updated_at,
    }


def _spec(data: dict[str, Any], viewer: User) -> Spec:
    """The checked spec of a body, its parameters tried for the viewer (a class outside their scope is a 400)."""
    spec = spec_from(data, viewer=viewer)
    preview(spec, viewer=viewer, limit=1)
    return spec


class DefinitionListView(ReportsView):
    """Your reports and those shared with your school's staff; POST saves a new one (version 1)."""

    query_serializer = NoQuery

    @extend_schema(
        summary="Reports you may run", operation_id="reports_list", responses={200: answer_type(DefinitionListOut)}
    )
    def get(self, request: Request) -> Response:
        query_of(NoQuery, request.query_params)
        definitions = visible_definitions(self.viewer).prefetch_related("versions")
        return Response({"reports": [definition_out(each, self.viewer) for each in definitions]})

    @extend_schema(summary="Save a report", request=DefinitionIn, responses={201: answer_type(DefinitionOut)})
    def post(self, request: Request) -> Response:
        given = DefinitionIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        spec = _spec(data, self.viewer)
        definition = services.definition_create(
            owner=self.viewer,
            name=data["name"],
            description=data["description"],
            visibility=data["visibility"],
            spec=spec,
        )
        return Response(definition_out(definition, self.viewer), status=status.HTTP_201_CREATED)


class DefinitionDetailView(ReportsView):
    """One report. PATCH (the owner) changes its name, description or visibility in place; a change to what it
    shows writes a new version (runs keep naming the version they ran). DELETE removes it with its runs, files and
    schedules."""

    query_serializer = NoQuery

    def _visible(self, pk: int) -> ReportDefinition:
        return get_object_or_404(visible_definitions(self.viewer), pk=pk)

    def _editable(self, pk: int) -> ReportDefinition:
        definition = self._visible(pk)
        if not editable_definitions(self.viewer).filter(pk=pk).exists():
            raise PermissionDenied("Only the report's owner may change it; run it, or save a copy of your own.")
        return definition

    @extend_schema(summary="A report", responses={200: answer_type(DefinitionOut)})
    def get(self, request: Request, pk: int) -> Response:
        query_of(NoQuery, request.query_params)
        return Response(definition_out(self._visible(pk), self.viewer))

    @extend_schema(summary="Change a report", request=DefinitionPatch, responses={200: answer_type(DefinitionOut)})
    def patch(self, request: Request, pk: int) -> Response:
        definition = self._editable(pk)
        given = DefinitionPatch(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        content = set(CONTENT_FIELDS)
        spec = None
        if content & set(data):
            merged = definition.version.content()
            if "dataset" in data and data["dataset"] != merged["dataset"]:
                # another dataset: its own columns and parameters unless given
                merged.update(columns=[], parameters={}, row_filters={}, grouping=None, sort=[], chart=None)
            merged.update({name: data[name] for name in content if name in data})
            spec = _spec(merged, self.viewer)
        updated = services.definition_update(definition, by=self.viewer, changes=data, spec=spec)
        return Response(definition_out(updated, self.viewer))

    @extend_schema(summary="Delete a report", responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.definition_delete(self._editable(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(summary="A report's versions", responses={200: answer_type(VersionListOut)})
class VersionListView(ReportsView):
    """Every version of the report, newest first: what it showed after each edit."""

    query_serializer = NoQuery

    def get(self, request: Request, pk: int) -> Response:
        query_of(NoQuery, request.query_params)
        definition = get_object_or_404(visible_definitions(self.viewer), pk=pk)
        return Response({"versions": [version_out(each) for each in definition.versions.order_by("-number")]})


class DocumentOut(TypedDict):
    """A report as a JSON document (no people, no ids but the parameters'): POST it to /api/v1/reports/import."""

    edupath_report: Annotated[int, "The document's format: 1."]
    name: str
    description: str
    dataset: str
    columns: list[str]
    parameters: dict[str, str]
    row_filters: dict[str, str]
    grouping: str | None
    sort: list[SortOut]
    chart: ChartOut | None


@extend_schema(summary="A report as a JSON document", responses={200: answer_type(DocumentOut)})
class DocumentView(ReportsView):
    """The report's current version as a JSON document, to keep or to import elsewhere."""

    query_serializer = NoQuery

    def get(self, request: Request, pk: int) -> Response:
        query_of(NoQuery, request.query_params)
        definition = get_object_or_404(visible_definitions(self.viewer), pk=pk)
        return Response(services.definition_document(definition))


@extend_schema(summary="Import a report document", request=DocumentIn, responses={201: answer_type(DefinitionOut)})
class ImportView(ReportsView):
    """Save a report from a JSON document (GET /api/v1/reports/{id}/document) as your own, private; its parameters
    are checked against your access like any report's."""

    def post(self, request: Request) -> Response:
        given = DocumentIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        spec = _spec(data, self.viewer)
        definition = services.definition_create(
            owner=self.viewer, name=data["name"], description=data["description"], visibility="private", spec=spec
        )
        return Response(definition_out(definition, self.viewer), status=status.HTTP_201_CREATED)


# SECTION: previews and direct exports


# One cell of a report's row, as the metric's endpoint writes it: a number, text (dates and times in ISO 8601), a
# boolean, null, or for an `object` column a small object of numbers, texts or lists of ids.
Cell = str | float | bool | None | dict[str, float | str | list[float] | None]


class PreviewOut(TypedDict):
    """The first rows of a report, as you would get them."""

    columns: list[ColumnOut]
    rows: Annotated[list[dict[str, Cell]], "Each row: column name to value (its type is the column's)."]
    scope: Annotated[str, "What the rows cover for you."]
    as_of: datetime


def preview_answer(spec: Spec, viewer: User, limit: int) -> PreviewOut:
    table, rows = preview(spec, viewer=viewer, limit=limit)
    return {
        "columns": [cast(ColumnOut, column.as_dict()) for column in spec.columns],
        "rows": rows,
        "scope": services.scope_text(table),
        "as_of": table.as_of,
    }


@extend_schema(summary="Preview a report before saving", request=PreviewIn, responses={200: answer_type(PreviewOut)})
class PreviewView(ReportsView):
    """The first rows (`limit`, default 20) of a report not saved yet: the builder's preview."""

    def post(self, request: Request) -> Response:
        given = PreviewIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        return Response(preview_answer(spec_from(data, viewer=self.viewer), self.viewer, data["limit"]))


@extend_schema(summary="Preview a saved report", parameters=[PreviewQuery], responses={200: answer_type(PreviewOut)})
class DefinitionPreviewView(ReportsView):
    """The first rows of the report as it would run for you now."""

    query_serializer = PreviewQuery

    def get(self, request: Request, pk: int) -> Response:
        query = query_of(PreviewQuery, request.query_params)
        definition = get_object_or_404(visible_definitions(self.viewer), pk=pk)
        spec = services.spec_of(definition.version, viewer=self.viewer)
        return Response(preview_answer(spec, self.viewer, query["limit"]))


class FileMeta(TypedDict):
    title: str
    dataset: str
    dataset_title: str
    version: Annotated[int | None, "The definition's version; null for an unsaved report."]
    parameters: Annotated[dict[str, str], "The parameters, as a person reads them."]
    scope: Annotated[str, "What the rows cover."]
    run_for: Annotated[str, "Whose access decided the rows."]
    generated_at: datetime
    as_of: datetime
    zone: Annotated[str, "The time zone of the file's dates and times."]
    grouping: str | None
    chart: ChartOut | None


class ReportFile(TypedDict):
    """A report as a JSON file."""

    meta: FileMeta
    columns: list[ColumnOut]
    rows: list[dict[str, Cell]]
    row_count: int


BINARY = {"type": "string", "format": "binary"}
# A report file's answer, by format (`format`): CSV text, an XLSX workbook, the JSON document, a PDF.
FILE_RESPONSES = {
    (200, "text/csv"): OpenApiResponse({"type": "string"}, description="The report as CSV (format=csv)."),
    (200, CONTENT_TYPES["xlsx"]): OpenApiResponse(BINARY, description="The report as a workbook (format=xlsx)."),
    (200, "application/json"): OpenApiResponse(answer_type(ReportFile), description="The report (format=json)."),
    (200, "application/pdf"): OpenApiResponse(BINARY, description="The report as a PDF (format=pdf)."),
}


def file_name(definition: ReportDefinition, fmt: str, suffix: str = "") -> str:
    return f"{slugify(definition.name) or 'report'}{suffix}.{EXTENSIONS[fmt]}"


class FormatIsOurs(DefaultContentNegotiation):
    """`format` names the file to write here, not DRF's renderer override (which would answer 404 to `csv`); the
    answers that are not files (errors) are JSON."""

    def select_renderer(self, request: Request, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


@extend_schema(summary="Export a small report now", parameters=[ExportQuery], responses=FILE_RESPONSES)
class ExportView(ReportsView):
    """The report as a file in the response: CSV and JSON streamed as they are written, XLSX and PDF when done. At
    most REPORTS_EXPORT_MAX_ROWS rows (400 beyond: generate it instead)."""

    query_serializer = ExportQuery
    content_negotiation_class = FormatIsOurs

    def get(self, request: Request, pk: int) -> Any:
        query = query_of(ExportQuery, request.query_params)
        fmt = query["format"]
        definition = get_object_or_404(visible_definitions(self.viewer), pk=pk)
        version = definition.version
        spec = services.spec_of(version, viewer=self.viewer)
        services.rows_within_limit(spec, viewer=self.viewer, limit=settings.REPORTS_EXPORT_MAX_ROWS, field="format")
        table = report_table(spec, viewer=self.viewer)
        meta = services.report_meta(table, title=definition.name, version=version.number, run_for=self.viewer)
        name = file_name(definition, fmt)
        if fmt in ("csv", "json"):
            chunks = stream_report(fmt, table.rows, columns=spec.columns, meta=meta, bom=query.get("bom") == "1")
            response: Any = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[fmt])
        else:
            out = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
            write_report(fmt, table.rows, columns=spec.columns, meta=meta, out=out)
            out.seek(0)
            response = FileResponse(out, content_type=CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


# SECTION: runs


class RunOut(TypedDict):
    id: int
    report: int
    version: Annotated[int, "The version of the report it ran."]
    format: str
    job: Annotated[int, "Its job: GET /api/v1/jobs/{job} (or /api/v1/reports/status/{job})."]
    status: Annotated[str, "queued, running, succeeded or failed."]
    progress: Annotated[int, "Percent done."]
    message: Annotated[str, "What it is doing, or why it failed."]
    run_for: Annotated[int, "Whose access decided its rows."]
    requested_by: int | None
    schedule: int | None
    row_count: int | None
    size_bytes: int | None
    download_url: Annotated[str | None, "While its file exists (until expires_at)."]
    expires_at: datetime | None
    downloads: Annotated[int, "How many times its file was downloaded."]
    created_at: datetime
    finished_at: datetime | None


class RunListOut(TypedDict):
    runs: Annotated[list[RunOut], "Newest first (at most 100)."]


def run_out(run: Any) -> RunOut:
    """A run read through reports.selectors.with_run_details."""
    job = run.job
    available = job.status == "succeeded" and services.file_path(run) is not None
    return {
        "id": run.pk,
        "report": run.definition_id,
        "version": run.version.number,
        "format": run.format,
        "job": job.pk,
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "run_for": run.run_for_id,
        "requested_by": run.requested_by_id,
        "schedule": run.schedule_id,
        "row_count": run.row_count,
        "size_bytes": run.size_bytes,
        "download_url": services.download_path(run.pk) if available else None,
        "expires_at": run.expires_at,
        "downloads": run.download_count,
        "created_at": run.created_at,
        "finished_at": job.finished_at,
    }


@extend_schema(summary="Run a report", request=GenerateIn, responses={202: answer_type(RunOut)})
class GenerateView(ReportsView):
    """Queue a run of the report's current version in a format, with your access; answers 202 with the run and its
    job (follow GET /api/v1/jobs/{job}: status, progress, row count, error and, when done, the download URL). A
    report over REPORTS_MAX_ROWS rows is refused (400) and nothing is queued."""

    def post(self, request: Request, pk: int) -> Response:
        definition = get_object_or_404(visible_definitions(self.viewer), pk=pk)
        given = GenerateIn(data=request.data)
        given.is_valid(raise_exception=True)
        run = services.run_request(
            definition, fmt=given.validated_data["format"], run_for=self.viewer, requested_by=self.viewer
        )
        url = f"/api/v1/jobs/{run.job_id}"
        answer = run_out(with_run_details(ReportRun.objects.filter(pk=run.pk)).get())
        return Response(answer, status=status.HTTP_202_ACCEPTED, headers={"Location": url})


class RunListView(ReportsView):
    """The report's runs you may see (yours; for administrators, the school's), newest first, with their files."""

    query_serializer = NoQuery

    @extend_schema(
        summary="A report's runs", operation_id="reports_runs_list", responses={200: answer_type(RunListOut)}
    )
    def get(self, request: Request, pk: int) -> Response:
        query_of(NoQuery, request.query_params)
        definition = get_object_or_404(visible_definitions(self.viewer), pk=pk)
        runs = with_run_details(visible_runs(self.viewer).filter(definition=definition))[:100]
        return Response({"runs": [run_out(run) for run in runs]})


@extend_schema(summary="A report run", responses={200: answer_type(RunOut)})
class RunDetailView(ReportsView):
    query_serializer = NoQuery

    def get(self, request: Request, pk: int) -> Response:
        query_of(NoQuery, request.query_params)
        run = get_object_or_404(with_run_details(visible_runs(self.viewer)), pk=pk)
        return Response(run_out(run))


@extend_schema(summary="Download a run's file", responses=FILE_RESPONSES)
class RunDownloadView(ReportsView):
    """The run's file, to whoever may see the run (404 for anyone else, and once the file has expired); each
    download is recorded."""

    query_serializer = NoQuery

    def get(self, request: Request, pk: int) -> Any:
        query_of(NoQuery, request.query_params)
        run = get_object_or_404(visible_runs(self.viewer).select_related("definition"), pk=pk)
        path = services.file_path(run)
        if path is None:
            raise NotFound("This run has no file: not finished, failed, or expired (REPORTS_FILE_DAYS).")
        services.download_record(run, user=self.viewer, via="api")
        response = FileResponse(path.open("rb"), content_type=CONTENT_TYPES[run.format])
        response["Content-Disposition"] = (
            f'attachment; filename="{file_name(run.definition, run.format, f"-{run.pk}")}"'
        )
        return response


@extend_schema(summary="A report run's job (the seed's status URL)", responses={200: JobAnswer})
class RunStatusView(ReportsView):
    """The same answer as GET /api/v1/jobs/{id}, for report runs."""

    query_serializer = NoQuery

    def get(self, request: Request, job_id: int) -> Response:
        query_of(NoQuery, request.query_params)
        job = get_object_or_404(visible_jobs(self.viewer).filter(kind=RUN_JOB), pk=job_id)
        return Response(job_answer(job))

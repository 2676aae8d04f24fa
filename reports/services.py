"""Writing reports: definitions and their versions, runs (queued as a core Job, executed by reports.tasks), the
files they write in private storage, downloads and expiry. Every row a run writes comes from reports.specs, which
asks the metric catalogue with the permissions of whoever the run is for."""

import logging
import os
import secrets
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Annotated, Any, TypedDict

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import serializers

from core.jobs import job_create, job_fail, job_finish, job_progress, job_start
from core.models import Job
from reports.formats import ReportMeta, write_report
from reports.models import Format, ReportDefinition, ReportDownload, ReportRun, ReportVersion
from reports.specs import Spec, Table, report_table, spec_from

logger = logging.getLogger(__name__)

RUN_JOB = "report-run"
PROGRESS_EVERY_ROWS = 5000


class ReportRunResult(TypedDict):
    """What a finished report run wrote."""

    run: int
    report: int
    version: int
    format: str
    row_count: int
    size_bytes: int
    download_url: str
    expires_at: datetime
    scope: Annotated[str, "What the rows cover for whoever it ran for."]
    as_of: Annotated[datetime, "The figures' time (the report's 'as of')."]


# SECTION: definitions


def definition_create(*, owner: Any, name: str, description: str, visibility: str, spec: Spec) -> ReportDefinition:
    with transaction.atomic():
        definition = ReportDefinition.objects.create(
            organization_id=owner.organization_id,
            owner=owner,
            name=name,
            description=description,
            visibility=visibility,
            current_version=1,
        )
        ReportVersion.objects.create(definition=definition, number=1, created_by=owner, **spec.as_version_fields())
    return definition


def definition_update(
    definition: ReportDefinition, *, by: Any, changes: Mapping[str, Any], spec: Spec | None
) -> ReportDefinition:
    """Change the name, description or visibility in place; a changed content (`spec`) is a new version."""
    with transaction.atomic():
        locked = ReportDefinition.objects.select_for_update().get(pk=definition.pk)
        for name in ("name", "description", "visibility"):
            if name in changes:
                setattr(locked, name, changes[name])
        if spec is not None:
            fields = spec.as_version_fields()
            current = locked.versions.get(number=locked.current_version)
            if any(getattr(current, name) != value for name, value in fields.items()):
                locked.current_version += 1
                ReportVersion.objects.create(definition=locked, number=locked.current_version, created_by=by, **fields)
        locked.save()
    return locked


def definition_delete(definition: ReportDefinition) -> None:
    """Delete a definition with its versions, runs, schedules (their beat entries) and files."""
    from reports.schedules import schedule_delete  # schedules import this module

    files = [run.file_name for run in definition.runs.exclude(file_name="")]
    with transaction.atomic():
        for schedule in definition.schedules.all():
            schedule_delete(schedule)
        Job.objects.filter(report_run__definition=definition).delete()
        definition.delete()
    for name in files:
        _remove(name)


def definition_document(definition: ReportDefinition) -> dict[str, Any]:
    """The definition as a JSON document another school's staff can import (no ids of people)."""
    return {
        "edupath_report": 1,
        "name": definition.name,
        "description": definition.description,
        **definition.version.content(),
    }


def spec_of(version: ReportVersion, *, viewer: Any) -> Spec:
    return spec_from(version.content(), viewer=viewer)


# SECTION: runs


def run_request(
    definition: ReportDefinition,
    *,
    fmt: str,
    run_for: Any,
    requested_by: Any,
    schedule: Any = None,
    check_size: bool = True,
    enqueue: bool = True,
) -> ReportRun:
    """Queue a run of the definition's current version: checked first (the spec, the scope, the row limit), so a
    refused run is a 400 and nothing is queued. The task is sent after commit (`enqueue`; else the caller runs it
    with run_execute, as a schedule's task does before delivering the file)."""
    if fmt not in Format.values:
        raise serializers.ValidationError({"format": [f"format must be one of: {', '.join(Format.values)}."]})
    version = definition.version
    spec = spec_of(version, viewer=run_for)
    expected = None
    if check_size:
        expected = rows_within_limit(spec, viewer=run_for, limit=settings.REPORTS_MAX_ROWS, field="parameters")
    with transaction.atomic():
        job = job_create(
            kind=RUN_JOB,
            requested_by=requested_by,
            organization_id=definition.organization_id,
            params={"rows_expected": expected},
            message=f"{definition.name} ({fmt.upper()}) is queued.",
        )
        run = ReportRun.objects.create(
            definition=definition,
            version=version,
            job=job,
            format=fmt,
            run_for=run_for,
            requested_by=requested_by,
            schedule=schedule,
        )
        if enqueue:
            transaction.on_commit(lambda: _enqueue(run.pk, job.pk))
    return run


def rows_within_limit(spec: Spec, *, viewer: Any, limit: int, field: str) -> int:
    """The number of rows, counted up to `limit` + 1 (a stream is read no further): more than `limit` is a 400."""
    table = report_table(spec, viewer=viewer)
    count = sum(1 for _ in islice(table.rows, limit + 1))
    table.rows.close()  # type: ignore[attr-defined]
    if count > limit:
        raise serializers.ValidationError(
            {field: [f"The report has more than {limit:,} rows (REPORTS limit); narrow its parameters or filters."]}
        )
    return count


def _enqueue(run_id: int, job_id: int) -> None:
    from reports import tasks  # the task module imports this one

    try:
        tasks.run_report.delay(run_id)
    except Exception as error:  # the broker is unreachable: say so on the job rather than leave it queued forever
        logger.exception("could not queue report run %s", run_id)
        job_fail(job_id=job_id, message=f"Could not be queued ({type(error).__name__}); ask again.")


def storage_dir() -> Path:
    path = Path(settings.REPORTS_STORAGE_DIR)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _remove(name: str) -> None:
    (storage_dir() / name).unlink(missing_ok=True)


def report_meta(table: Table, *, title: str, version: int | None, run_for: Any) -> ReportMeta:
    spec = table.spec
    scope = table.scope
    return ReportMeta(
        title=title,
        dataset=spec.dataset.name,
        dataset_title=spec.dataset.title,
        version=version,
        parameters=_readable_parameters(spec, table),
        scope=scope_text(table),
        run_for=run_for.display_name,
        generated_at=timezone.now(),
        as_of=table.as_of,
        zone=str(scope.zone),
        grouping=spec.grouping,
        chart=spec.chart,
    )


def _readable_parameters(spec: Spec, table: Table) -> dict[str, str]:
    out = dict(spec.parameters)
    course = table.scope.course
    if course is not None and "course" in out:
        out["course"] = f"{course.code} {course.title}".strip()
    student = table.scope.student
    if student is not None and "student" in out:
        out["student"] = student.display_name
    for name, value in spec.row_filters.items():
        out[f"only {name}"] = value
    if spec.sort:
        out["sorted by"] = ", ".join(f"{name}{' (descending)' if desc else ''}" for name, desc in spec.sort)
    return out


def scope_text(table: Table) -> str:
    scope = table.scope
    if scope.course is not None:
        return f"Class {scope.course.code} {scope.course.title}".strip()
    if scope.student is not None:
        return f"Student {scope.student.display_name}"
    viewer = scope.viewer
    if getattr(viewer, "is_teacher_role", False):
        return f"The classes of {viewer.display_name}"
    if scope.every_organization:
        return "Every school"
    organization = scope.organization or getattr(viewer, "organization", None)
    return f"All of {organization.name}" if organization is not None else "Everything you may see"


def _counted(
    rows: Iterator[dict[str, Any]], *, job_id: int, expected: int | None, limit: int
) -> Iterator[dict[str, Any]]:
    """The rows, reporting progress every few thousand and refusing to go past the row limit."""
    for done, row in enumerate(rows, start=1):
        if done > limit:
            raise RunTooLarge(f"More than {limit:,} rows: narrow the report's parameters or filters.")
        if done % PROGRESS_EVERY_ROWS == 0:
            percent = int(95 * done / expected) if expected else min(90, done // PROGRESS_EVERY_ROWS)
            job_progress(job_id=job_id, percent=percent, message=f"{done:,} rows written.")
        yield row


class RunTooLarge(Exception):
    pass


def run_execute(run_id: int) -> None:
    """Write a queued run's file; a repeated delivery of the task finds the job started and does nothing. A failure
    records why on the job and leaves no file behind."""
    run = ReportRun.objects.select_related("definition", "version", "run_for", "job").get(pk=run_id)
    if not job_start(job_id=run.job_id, message="Reading the data."):
        return
    name = f"{run.pk}-{secrets.token_hex(8)}.{run.format}"
    partial = storage_dir() / f"{name}.part"
    try:
        spec = spec_of(run.version, viewer=run.run_for)
        table = report_table(spec, viewer=run.run_for)
        meta = report_meta(table, title=run.definition.name, version=run.version.number, run_for=run.run_for)
        rows = _counted(
            table.rows, job_id=run.job_id, expected=run.job.params.get("rows_expected"), limit=settings.REPORTS_MAX_ROWS
        )
        with open(partial, "wb") as out:
            count = write_report(run.format, rows, columns=spec.columns, meta=meta, out=out)
        os.replace(partial, storage_dir() / name)
    except Exception as error:
        partial.unlink(missing_ok=True)
        message = _failure_text(error)
        if not isinstance(error, RunTooLarge | serializers.ValidationError):
            logger.exception("report run %s failed", run.pk)
        job_fail(job_id=run.job_id, message=message)
        return
    size = (storage_dir() / name).stat().st_size
    expires_at = timezone.now() + timedelta(days=settings.REPORTS_FILE_DAYS)
    ReportRun.objects.filter(pk=run.pk).update(row_count=count, file_name=name, size_bytes=size, expires_at=expires_at)
    result: ReportRunResult = {
        "run": run.pk,
        "report": run.definition_id,
        "version": run.version.number,
        "format": run.format,
        "row_count": count,
        "size_bytes": size,
        "download_url": download_path(run.pk),
        "expires_at": expires_at,
        "scope": meta.scope,
        "as_of": meta.as_of,
    }
    job_finish(job_id=run.job_id, result=_jsonable(result), message=f"{count:,} rows written.")


def _jsonable(result: ReportRunResult) -> dict[str, Any]:
    return {**result, "expires_at": result["expires_at"].isoformat(), "as_of": result["as_of"].isoformat()}


def _failure_text(error: Exception) -> str:
    if isinstance(error, RunTooLarge):
        return str(error)
    if isinstance(error, serializers.ValidationError):
        return f"The report no longer fits its data or your access: {error.detail}"
    return f"The report could not be written ({type(error).__name__}); ask again or tell an administrator."


def download_path(run_id: int) -> str:
    return f"/api/v1/reports/runs/{run_id}/download"


def file_path(run: ReportRun) -> Path | None:
    """The run's file, while it exists and has not expired."""
    if not run.file_name or run.file_removed_at is not None:
        return None
    if run.expires_at is not None and run.expires_at <= timezone.now():
        return None
    path = storage_dir() / run.file_name
    return path if path.exists() else None


def download_record(run: ReportRun, *, user: Any, via: str) -> None:
    ReportDownload.objects.create(run=run, user=user, via=via)


def files_expire(*, now: datetime | None = None) -> int:
    """Remove the files of runs past their expiry (the beat job); the runs stay, without a file."""
    now = now or timezone.now()
    expired = list(
        ReportRun.objects.filter(expires_at__lte=now, file_removed_at__isnull=True)
        .exclude(file_name="")
        .values_list("pk", "file_name")
    )
    for _, name in expired:
        _remove(name)
    ReportRun.objects.filter(pk__in=[pk for pk, _ in expired]).update(file_removed_at=now)
    return len(expired)

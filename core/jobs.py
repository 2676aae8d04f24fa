"""Background work, recorded in one place (`core.models.Job`): the kinds of job the apps register, the services
that write a job (create, start, progress, finish, fail) and its answer for the API (`GET /api/v1/jobs/{id}`,
served by accounts, which knows who may see which job).

A kind's task loads its job by id, calls `job_start` (False: the job already ran, the delivery is a repeat), reports
`job_progress` outside the transaction of its own work (so a reader sees the figure at once), and ends with
`job_finish` or `job_fail`. Each write is one UPDATE of the job's row.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal, TypedDict, Union

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerExtension

from core.models import Job
from core.schema import TypedAnswerExtension, answer_type


@dataclass(frozen=True)
class JobKind:
    """A kind of job: its name (`Job.kind`) and the TypedDict its `result` holds (documented in the API)."""

    name: str
    result: Any


_kinds: dict[str, JobKind] = {}


def job_kind_register(kind: JobKind) -> None:
    """Called by the app that runs jobs of this kind, in its AppConfig.ready."""
    _kinds[kind.name] = kind


def job_kinds() -> list[JobKind]:
    return sorted(_kinds.values(), key=lambda kind: kind.name)


# SECTION: services


def job_create(
    *,
    kind: str,
    requested_by: AbstractBaseUser | None,
    organization_id: int | None,
    params: Mapping[str, Any] | None = None,
    message: str = "",
) -> Job:
    """A queued job. Its task is enqueued by the caller after commit (transaction.on_commit), so the worker finds it."""
    if kind not in _kinds:
        raise ValueError(f"Unknown job kind {kind!r}: register it with job_kind_register.")
    return Job.objects.create(
        kind=kind,
        requested_by_id=requested_by.pk if requested_by is not None else None,
        organization_id=organization_id,
        params=dict(params or {}),
        message=message,
    )


def job_start(*, job_id: int, message: str = "", now: datetime | None = None) -> bool:
    """Mark a queued job running. False when it is running or finished already: a task delivered twice (acks-late
    redelivery) does its work once."""
    started = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=now or timezone.now(), message=message
    )
    return started == 1


def job_progress(*, job_id: int, percent: int, message: str = "") -> None:
    """How far a running job got (0 to 100). Call it outside the transaction of the job's own work: inside, no one
    sees it before that work commits."""
    Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(progress=max(0, min(100, percent)), message=message)


def job_finish(*, job_id: int, result: Any, message: str = "", now: datetime | None = None) -> None:
    """The job succeeded with `result` (JSON, of its kind's result type)."""
    Job.objects.filter(pk=job_id).filter(~Q(status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED])).update(
        status=Job.Status.SUCCEEDED, progress=100, message=message, result=result, finished_at=now or timezone.now()
    )


def job_fail(*, job_id: int, message: str, result: Any = None, now: datetime | None = None) -> None:
    """The job failed: `message` says why in words a person can act on; `result` may say more (e.g. the bad lines)."""
    Job.objects.filter(pk=job_id).filter(~Q(status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED])).update(
        status=Job.Status.FAILED, message=message[:500], result=result, finished_at=now or timezone.now()
    )


# SECTION: the answer


@cache
def job_answer_type(kinds: tuple[JobKind, ...]) -> Any:
    """The job answer as a TypedDict whose `result` is one of the registered kinds' results, or null. (`kind` stays
    a string: an enum of it would take the name of the items' `kind` enum in the schema.)"""
    names = ", ".join(f"`{kind.name}`" for kind in kinds)
    # Built at run time from the registry, so a value to the type checker.
    result: Any = Union.__getitem__((*(kind.result for kind in kinds), None))
    fields: dict[str, Any] = {
        "id": int,
        "kind": Annotated[str, f"What the job does: {names}."],
        "status": Literal["queued", "running", "succeeded", "failed"],
        "progress": Annotated[int, "Percent done, 0 to 100."],
        "message": Annotated[str, "What it is doing, or why it failed."],
        "result": Annotated[result, "What came of it, by kind: null until it finishes."],
        "requested_by": Annotated[int | None, "The id of who asked for it."],
        "organization": Annotated[int | None, "The id of the organisation it works on."],
        "created_at": datetime,
        "started_at": datetime | None,
        "finished_at": datetime | None,
    }
    return TypedDict("Job", fields)  # type: ignore[operator]


def job_answer(job: Job) -> dict[str, Any]:
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "result": job.result,
        "requested_by": job.requested_by_id,
        "organization": job.organization_id,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


class JobAnswer:
    """Stands for the job answer in @extend_schema(responses=...): typed when the schema is generated, once every
    app has registered its kinds."""


class JobAnswerExtension(OpenApiSerializerExtension):
    target_class = JobAnswer

    def get_name(self, auto_schema: Any, direction: Any) -> str:
        return "Job"

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        typed = job_answer_type(tuple(job_kinds()))
        schema: dict[str, Any] = TypedAnswerExtension(answer_type(typed)).map_serializer(auto_schema, direction)
        return schema

"""Aggregation jobs (seed 004): `POST /api/v1/analytics/aggregations/` queues a rebuild of the daily rollups for a
range of days (analytics.services.rollup_rebuild_request), `GET` lists the recent ones. Administrators only (school
administrators and platform operators), refused to teachers and students like the other system-wide figures
(`analytics/system-metrics`). Which jobs a requester sees is decided by accounts.selectors.visible_jobs, as for
`GET /api/v1/jobs/{id}`: their own and their school's; a platform operator's, all."""

from datetime import date, datetime, timedelta
from typing import Annotated, Any, TypedDict, cast

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import IsAdministrator
from accounts.selectors import organization_zone, visible_jobs
from analytics.services import ROLLUP_REBUILD_JOB, ROLLUP_REBUILD_MAX_DAYS, RollupRebuildResult, rollup_rebuild_request
from core.jobs import JobAnswer, job_answer
from core.models import Job
from core.params import DATE_MESSAGE, CountParam, QuerySerializer, iso_date, query_of
from core.schema import answer_type
from core.serializers import StrictSerializer


@extend_schema_field(OpenApiTypes.DATE)
class IsoDateField(serializers.Field):
    """A calendar date written YYYY-MM-DD with ASCII digits (core.params.iso_date), nothing else."""

    default_error_messages = {"invalid": DATE_MESSAGE}

    def to_internal_value(self, data: Any) -> date:
        value = iso_date(data)
        if value is None:
            self.fail("invalid")
        return value

    def to_representation(self, value: date) -> str:
        return value.isoformat()


class AggregationIn(StrictSerializer):
    """The local days to recompute, both included. `today` (the requester's school's today) comes in the context."""

    start_date = IsoDateField(help_text="The first day to recompute (YYYY-MM-DD).")
    end_date = IsoDateField(
        help_text=f"The last day, on or after start_date, at most {ROLLUP_REBUILD_MAX_DAYS} days on, and not after "
        "tomorrow in your school's time zone."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        first, last, today = attrs["start_date"], attrs["end_date"], self.context["today"]
        latest = today + timedelta(days=1)  # a day ahead: events are local days of zones up to 14 hours ahead
        if last < first:
            raise serializers.ValidationError({"end_date": ["Must be on or after start_date."]})
        if (last - first).days + 1 > ROLLUP_REBUILD_MAX_DAYS:
            raise serializers.ValidationError(
                {"end_date": [f"At most {ROLLUP_REBUILD_MAX_DAYS} days from start_date, both included."]}
            )
        if last > latest:
            raise serializers.ValidationError(
                {"end_date": [f"Must not be after {latest.isoformat()} (tomorrow in your school's time zone)."]}
            )
        return attrs


class AggregationQuery(QuerySerializer):
    limit = CountParam(default=50, maximum=50, unit="jobs", help_text="Newest first, at most this many.")


class AggregationJobOut(TypedDict):
    id: Annotated[int, "The job's id: GET /api/v1/jobs/{id} has the same job."]
    # a string, as in risk's TrainAccepted: an enum here would take the name of the Job answer's `status` enum
    status: Annotated[str, "queued, running, succeeded or failed."]
    progress: Annotated[int, "Percent done, 0 to 100."]
    message: Annotated[str, "What it is doing, or why it failed."]
    start_date: Annotated[date, "The first day recomputed."]
    end_date: Annotated[date, "The last day recomputed."]
    requested_by: Annotated[int | None, "The id of who asked for it."]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: Annotated[float | None, "From start to finish; null until it finishes."]
    result: Annotated[RollupRebuildResult | None, "What came of it: null until it succeeds."]


class AggregationListOut(TypedDict):
    jobs: Annotated[list[AggregationJobOut], "Newest first."]
    count: Annotated[int, "Aggregation jobs you may see (the list stops at `limit`)."]


def aggregation_job_answer(job: Job) -> AggregationJobOut:
    duration = None
    if job.started_at is not None and job.finished_at is not None:
        duration = round((job.finished_at - job.started_at).total_seconds(), 3)
    return {
        "id": job.pk,
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "start_date": date.fromisoformat(job.params["first_day"]),
        "end_date": date.fromisoformat(job.params["last_day"]),
        "requested_by": job.requested_by_id,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "duration_seconds": duration,
        "result": job.result,
    }


class AggregationsView(APIView):
    """Rebuild the daily rollups (the figures every dashboard reads) from the raw events for a range of days, as a
    job, and list the recent rebuilds. Administrators only."""

    permission_classes = [IsAdministrator]
    query_serializer = AggregationQuery

    @extend_schema(
        operation_id="analytics_aggregations_list",
        summary="Recent aggregation jobs (administrators)",
        parameters=[AggregationQuery],
        responses={200: answer_type(AggregationListOut)},
    )
    def get(self, request: Request) -> Response:
        """The rollup rebuilds of your school (a platform operator: of every school), newest first, with their
        status, progress, range of days and duration."""
        query = query_of(AggregationQuery, request.query_params)
        jobs = visible_jobs(request.user).filter(kind=ROLLUP_REBUILD_JOB).order_by("-created_at", "-id")
        answer: AggregationListOut = {
            "jobs": [aggregation_job_answer(job) for job in jobs[: query["limit"]]],
            "count": jobs.count(),
        }
        return Response(answer)

    @extend_schema(
        operation_id="analytics_aggregations_create",
        summary="Rebuild the rollups of a range of days (administrators)",
        request=AggregationIn,
        responses={202: JobAnswer},
        examples=[
            OpenApiExample("A month", value={"start_date": "2026-11-01", "end_date": "2026-11-30"}, request_only=True)
        ],
    )
    def post(self, request: Request) -> Response:
        """Queue the recomputation of the daily rollups of those local days from the stored events: 202 with the
        job, followed at `GET /api/v1/jobs/{id}` (its `Location`). Recomputing is idempotent: figures that were
        right stay as they were, and any that drifted are repaired."""
        user = cast(User, request.user)
        today = timezone.now().astimezone(organization_zone(user.organization)).date()
        serializer = AggregationIn(data=request.data, context={"today": today})
        serializer.is_valid(raise_exception=True)
        job = rollup_rebuild_request(
            requested_by=user, first=serializer.validated_data["start_date"], last=serializer.validated_data["end_date"]
        )
        url = f"/api/v1/jobs/{job.pk}"
        return Response(job_answer(job), status=status.HTTP_202_ACCEPTED, headers={"Location": url})

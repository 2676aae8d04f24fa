"""Schedules of a report under /api/v1/reports/: GET/POST /reports/{id}/schedules, GET/PATCH/DELETE
/reports/schedules/{id}.

Teachers and administrators only. A report's schedules are seen by whoever sees the report (404 otherwise, as for a
report that does not exist); only the report's owner creates, changes or deletes them (403 for the others who see
it). Each answer carries the schedule's next run, how its last one went and its latest deliveries."""

from datetime import datetime
from typing import Annotated, TypedDict, cast

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import IsStaffRole
from core.exceptions import FlatFieldErrors
from core.params import NoQuery, query_of
from core.schema import answer_type
from core.serializers import ChoiceField, StrictCharField, StrictSerializer
from reports import schedules
from reports.api.serializers import MAX_ID
from reports.models import Format, ReportDefinition, ReportSchedule
from reports.selectors import visible_definitions, visible_schedules

NOT_OWNER = "Only the report's owner may schedule it or change its schedules."

# SECTION: bodies


class ScheduleFields(StrictSerializer):
    """The fields both a new schedule and a change take (types only; reports.schedules checks the rules)."""

    recurrence = ChoiceField(choices=ReportSchedule.Recurrence.choices)
    weekday = serializers.IntegerField(
        min_value=0, max_value=6, required=False, allow_null=True, help_text="Weekly: 0 Monday … 6 Sunday."
    )
    day_of_month = serializers.IntegerField(
        min_value=1, max_value=28, required=False, allow_null=True, help_text="Monthly: 1 to 28."
    )
    cron = StrictCharField(
        max_length=120,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Cron: 'minute hour day month weekday' (e.g. '0 7 * * 1'); the minute is one number.",
    )
    time = serializers.TimeField(
        format="%H:%M",
        input_formats=["%H:%M"],
        required=False,
        allow_null=True,
        help_text="Local time HH:MM (every recurrence but cron).",
    )
    timezone = StrictCharField(
        max_length=64, required=False, help_text="IANA name, e.g. Europe/Paris; default: the school's."
    )
    format = ChoiceField(choices=Format.choices)
    recipients = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=schedules.MAX_RECIPIENTS,
        help_text="User ids: teachers and administrators of the report's school.",
    )
    run_as = ChoiceField(
        choices=ReportSchedule.RunAs.choices,
        required=False,
        help_text="recipient: each gets what they may see; owner: only to recipients who may see all of it.",
    )
    when_empty = ChoiceField(
        choices=ReportSchedule.WhenEmpty.choices, required=False, help_text="send or skip a report with no rows."
    )
    enabled = serializers.BooleanField(required=False)


class ScheduleIn(ScheduleFields):
    """A new schedule of the report."""


class SchedulePatch(ScheduleFields):
    """Any of the fields; a field the new recurrence does not use is cleared."""

    recurrence = ChoiceField(choices=ReportSchedule.Recurrence.choices, required=False)
    format = ChoiceField(choices=Format.choices, required=False)
    recipients = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=schedules.MAX_RECIPIENTS,
        required=False,
        help_text="User ids: teachers and administrators of the report's school (replaces the list).",
    )


# SECTION: answers


class RecipientOut(TypedDict):
    id: int
    name: str


class DeliveryOut(TypedDict):
    id: int
    recipient: RecipientOut
    status: Annotated[str, "pending, sent, skipped (empty), refused (may not see all of it) or failed."]
    attempts: Annotated[int, "E-mails tried (up to 3)."]
    error: Annotated[str, "Why it failed or was refused."]
    attached: Annotated[bool, "The file was attached (else only its link was sent)."]
    sent_at: datetime | None
    run: Annotated[int | None, "The run whose file it sent (GET /api/v1/reports/runs/{run})."]
    created_at: datetime


class ScheduleOut(TypedDict):
    id: int
    report: int
    owner: int
    owner_name: str
    recurrence: Annotated[str, "daily, weekdays, weekly, monthly or cron."]
    weekday: Annotated[int | None, "Weekly: 0 Monday … 6 Sunday."]
    day_of_month: Annotated[int | None, "Monthly: 1 to 28."]
    cron: Annotated[str | None, "Cron: minute hour day month weekday."]
    time: Annotated[str | None, "Local time HH:MM (not for cron)."]
    timezone: str
    description: Annotated[str, "When it runs, in words."]
    format: str
    recipients: list[RecipientOut]
    run_as: Annotated[str, "recipient or owner."]
    when_empty: Annotated[str, "send or skip."]
    enabled: bool
    editable: Annotated[bool, "You own the report (only its owner changes its schedules)."]
    next_run_at: Annotated[datetime | None, "None while disabled."]
    last_run_at: datetime | None
    last_status: Annotated[str, "Of the last run: running, sending, sent, skipped, refused or failed; empty before."]
    last_error: str
    deliveries: Annotated[list[DeliveryOut], "The latest 20, newest first."]
    created_at: datetime
    updated_at: datetime


class ScheduleListOut(TypedDict):
    schedules: list[ScheduleOut]


def schedule_out(schedule: ReportSchedule, viewer: User) -> ScheduleOut:
    deliveries = schedule.deliveries.select_related("recipient").order_by("-created_at", "-id")
    return {
        "id": schedule.pk,
        "report": schedule.definition_id,
        "owner": schedule.owner_id,
        "owner_name": schedule.owner.display_name,
        "recurrence": schedule.recurrence,
        "weekday": schedule.weekday,
        "day_of_month": schedule.day_of_month,
        "cron": schedule.cron or None,
        "time": f"{schedule.time:%H:%M}" if schedule.time is not None else None,
        "timezone": schedule.timezone,
        "description": schedules.schedule_text(schedule),
        "format": schedule.format,
        "recipients": [
            {"id": user.pk, "name": user.display_name} for user in schedule.recipients.order_by("last_name", "pk")
        ],
        "run_as": schedule.run_as,
        "when_empty": schedule.when_empty,
        "enabled": schedule.enabled,
        "editable": schedule.definition.owner_id == viewer.pk,
        "next_run_at": schedules.next_run_at(schedule),
        "last_run_at": schedule.last_run_at,
        "last_status": schedule.last_status,
        "last_error": schedule.last_error,
        "deliveries": [
            {
                "id": delivery.pk,
                "recipient": {"id": delivery.recipient_id, "name": delivery.recipient.display_name},
                "status": delivery.status,
                "attempts": delivery.attempts,
                "error": delivery.error,
                "attached": delivery.attached,
                "sent_at": delivery.sent_at,
                "run": delivery.run_id,
                "created_at": delivery.created_at,
            }
            for delivery in deliveries[: schedules.SHOWN_DELIVERIES]
        ],
        "created_at": schedule.created_at,
        "updated_at": schedule.updated_at,
    }


# SECTION: views


class ScheduleView(FlatFieldErrors, APIView):
    permission_classes = [IsStaffRole]

    @property
    def viewer(self) -> User:
        return cast(User, self.request.user)

    def _owned(self, definition: ReportDefinition) -> None:
        if definition.owner_id != self.viewer.pk:
            raise PermissionDenied(NOT_OWNER)


class ScheduleListView(ScheduleView):
    """The report's schedules; POST (the report's owner) adds one, with its beat entry. Recipients are teachers and
    administrators of the report's school; "run as recipient" gives each only what they may see, "run as owner"
    sends the owner's report only to recipients who may see all of it."""

    query_serializer = NoQuery

    def _definition(self, pk: int) -> ReportDefinition:
        return get_object_or_404(visible_definitions(self.viewer).select_related("organization"), pk=pk)

    @extend_schema(
        summary="A report's schedules",
        operation_id="reports_schedules_list",
        responses={200: answer_type(ScheduleListOut)},
    )
    def get(self, request: Request, pk: int) -> Response:
        query_of(NoQuery, request.query_params)
        definition = self._definition(pk)
        found = visible_schedules(self.viewer).filter(definition=definition).select_related("definition", "owner")
        return Response({"schedules": [schedule_out(each, self.viewer) for each in found]})

    @extend_schema(summary="Schedule a report", request=ScheduleIn, responses={201: answer_type(ScheduleOut)})
    def post(self, request: Request, pk: int) -> Response:
        definition = self._definition(pk)
        self._owned(definition)
        given = ScheduleIn(data=request.data)
        given.is_valid(raise_exception=True)
        schedule = schedules.schedule_create(definition, owner=self.viewer, data=dict(given.validated_data))
        return Response(schedule_out(schedule, self.viewer), status=status.HTTP_201_CREATED)


class ScheduleDetailView(ScheduleView):
    """One schedule. PATCH changes it (and its beat entry; `enabled: false` pauses it), DELETE removes both; both
    only for the report's owner."""

    query_serializer = NoQuery

    def _schedule(self, pk: int) -> ReportSchedule:
        found = visible_schedules(self.viewer).select_related("definition", "definition__organization", "owner")
        return get_object_or_404(found, pk=pk)

    @extend_schema(summary="A report schedule", responses={200: answer_type(ScheduleOut)})
    def get(self, request: Request, pk: int) -> Response:
        query_of(NoQuery, request.query_params)
        return Response(schedule_out(self._schedule(pk), self.viewer))

    @extend_schema(summary="Change a report schedule", request=SchedulePatch, responses={200: answer_type(ScheduleOut)})
    def patch(self, request: Request, pk: int) -> Response:
        schedule = self._schedule(pk)
        self._owned(schedule.definition)
        given = SchedulePatch(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        updated = schedules.schedule_update(schedule, dict(given.validated_data))
        return Response(schedule_out(updated, self.viewer))

    @extend_schema(summary="Delete a report schedule", responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        schedule = self._schedule(pk)
        self._owned(schedule.definition)
        schedules.schedule_delete(schedule)
        return Response(status=status.HTTP_204_NO_CONTENT)

"""POST /api/v1/rosters/import: a roster CSV (docs/roster-csv.md) for the administrator's school, as a dry run or
applied (classroom.roster). The API speaks JSON, so the CSV travels as the text of the `csv` field."""

from typing import Any, cast

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import IsAdminRole
from classroom.roster import RosterImportResult, roster_import_request
from core.exceptions import ApplicationError
from core.jobs import JobAnswer, job_answer
from core.models import Job
from core.schema import answer_type
from core.serializers import StrictCharField, StrictSerializer

EXAMPLE_CSV = (
    "username,email,first_name,last_name,role,courses\n"
    "ada.l,ada@school.example,Ada,Lovelace,student,MATH-1;SCI-2\n"
    "m.curie,curie@school.example,Marie,Curie,teacher,SCI-2\n"
)


class StrictBooleanField(serializers.BooleanField):
    """true or false, not "yes", 1 or "on": a roster applied by mistake cannot be undone."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class RosterImportSerializer(StrictSerializer):
    csv = StrictCharField(
        trim_whitespace=False,
        help_text="The CSV file's text: a header line username,email,first_name,last_name,role,courses, then one "
        "line per person; course codes separated by `;` (docs/roster-csv.md).",
    )
    dry_run = StrictBooleanField(
        default=True, help_text="true (the default): answer what the file would do and write nothing. false: apply."
    )


@extend_schema(
    summary="Import a roster CSV: people and enrolments (administrators)",
    request=RosterImportSerializer,
    responses={200: answer_type(RosterImportResult), 202: JobAnswer},
    examples=[OpenApiExample("A dry run", value={"csv": EXAMPLE_CSV, "dry_run": True}, request_only=True)],
)
class RosterImportView(APIView):
    """People (username, email, names, role) and their enrolments by course code, into your school. First a dry run
    (the default) lists each line that creates, changes or is refused, with its line number; then `dry_run: false`
    applies the file, all of it or, when any line is refused, none of it (400 naming each bad line). Applying the same
    file again changes nothing. A file of more than 500 people runs as a job: 202 with the job, followed at
    `GET /api/v1/jobs/{id}`."""

    permission_classes = [IsAdminRole]

    def post(self, request: Request) -> Response:
        serializer = RosterImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = cast(User, request.user)
        if user.organization is None:
            raise ApplicationError(
                "Your account belongs to no school: import the roster in Django admin, choosing the school.",
                errors={"non_field_errors": ["No school to import into."]},
            )
        data = serializer.validated_data["csv"].encode("utf-8")  # DRF refused lone surrogates: this is valid text
        outcome = roster_import_request(
            organization=user.organization, requested_by=user, data=data, dry_run=serializer.validated_data["dry_run"]
        )
        if isinstance(outcome, Job):
            return Response(
                job_answer(outcome), status=status.HTTP_202_ACCEPTED, headers={"Location": f"/api/v1/jobs/{outcome.pk}"}
            )
        return Response(outcome)

"""Google Classroom over the API (under /api/v1/integrations/google-classroom/): your connection and its courses,
connecting (Google's consent screen) and disconnecting, syncing (a job), a synced class's analytics and its class
summary, previewed and posted back to Classroom as a draft announcement. Staff only (students: 403). Which
connection and course a requester sees is decided by google_classroom.selectors alone: teachers their own,
administrators every one of their school; any other course id answers 404, as a missing one does."""

from typing import cast

from django.db.models import Count
from django.urls import path, re_path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import IsStaffRole
from classroom.models import Course
from core.exceptions import ApplicationError
from core.jobs import JobAnswer, job_answer
from core.models import Job
from core.params import NoQuery, QuerySerializer, query_of
from core.schema import answer_type
from google_classroom import selectors, services
from google_classroom.api.serializers import (
    AnalyticsQuery,
    AuthorizationOut,
    ConnectIn,
    ConnectionListOut,
    ConnectionOut,
    DisconnectedOut,
    PostedSummaryOut,
    SyncCoursesIn,
    connection_row_out,
    posted_summary_out,
    synced_course_out,
)
from google_classroom.crypto import TokenKeysMissing
from google_classroom.models import Connection, SyncedCourse
from google_classroom.summary import ClassAnalytics, ClassSummary, class_analytics, class_summary

COURSE_ID = OpenApiParameter(
    "course_id",
    str,
    OpenApiParameter.PATH,
    description="The Google Classroom course id (as Google writes it: letters, digits, - and _, at most 64).",
    pattern="^[A-Za-z0-9_-]{1,64}$",
)
NO_CONNECTION = "You have not connected Google Classroom."


class GoogleClassroomView(APIView):
    permission_classes = [IsStaffRole]
    query_serializer: type[QuerySerializer] = NoQuery

    @property
    def viewer(self) -> User:
        return cast(User, self.request.user)

    def own_connection(self) -> Connection:
        connection = selectors.own_connection(self.viewer)
        if connection is None:
            raise NotFound(NO_CONNECTION)
        return connection

    def job_accepted(self, job: Job) -> Response:
        return Response(
            job_answer(job), status=status.HTTP_202_ACCEPTED, headers={"Location": f"/api/v1/jobs/{job.pk}"}
        )


class ConnectionView(GoogleClassroomView):
    """Your Google Classroom connection (the account, whether it needs reconnecting, whether it may post, the last
    sync) and each course it syncs, with how its last sync went. Never a token."""

    @extend_schema(
        operation_id="google_classroom_connection",
        summary="Your Google Classroom connection",
        parameters=[],
        responses={200: answer_type(ConnectionOut)},
    )
    def get(self, request: Request) -> Response:
        query_of(NoQuery, request.query_params)
        connection = selectors.own_connection(self.viewer)
        courses = selectors.visible_synced_courses(self.viewer).filter(connection=connection) if connection else []
        answer: ConnectionOut = {
            "connection": selectors.connection_status(connection),  # type: ignore[typeddict-item]
            "courses": [synced_course_out(synced) for synced in courses],
        }
        return Response(answer)


class ConnectView(GoogleClassroomView):
    """Start connecting your Google account: the answer is Google's consent screen to send the browser to. `post`
    asks, on top of your connection's access, for permission to post class summaries as draft announcements. 400
    when Google Classroom is not set up on this server (the message says what an administrator sets)."""

    @extend_schema(
        operation_id="google_classroom_connect",
        summary="Start connecting Google Classroom",
        parameters=[],
        request=ConnectIn,
        responses={200: answer_type(AuthorizationOut)},
    )
    def post(self, request: Request) -> Response:
        query_of(NoQuery, request.query_params)
        given = ConnectIn(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            url = services.consent_start(user=self.viewer, purpose=given.validated_data["purpose"])
        except TokenKeysMissing:  # set, but not a Fernet key: the same refusal as not set
            raise ApplicationError(services.google_setup_message()) from None
        answer: AuthorizationOut = {"authorization_url": url}
        return Response(answer)


class DisconnectView(GoogleClassroomView):
    """Disconnect your Google account: the access is revoked at Google and the connection deleted here; the classes
    it synced stay in EduPath as ordinary classes. 404 without a connection."""

    also_answers = (status.HTTP_404_NOT_FOUND,)

    @extend_schema(
        operation_id="google_classroom_disconnect",
        summary="Disconnect Google Classroom",
        parameters=[],
        request=None,
        responses={200: answer_type(DisconnectedOut)},
    )
    def post(self, request: Request) -> Response:
        query_of(NoQuery, request.query_params)
        revoked = services.connection_disconnect(connection=self.own_connection())
        answer: DisconnectedOut = {"disconnected": True, "revoked_at_google": revoked}
        return Response(answer)


class ConnectionListView(GoogleClassroomView):
    """The Google Classroom connections you see: administrators every one of their school, teachers their own; with
    the Google account, status, last sync and synced courses by status. Never a token."""

    @extend_schema(
        operation_id="google_classroom_connections",
        summary="Google Classroom connections",
        parameters=[],
        responses={200: answer_type(ConnectionListOut)},
    )
    def get(self, request: Request) -> Response:
        query_of(NoQuery, request.query_params)
        connections = list(selectors.visible_connections(self.viewer).select_related("user"))
        counts: dict[int, dict[str, int]] = {}
        for row in (
            SyncedCourse.objects.filter(connection__in=[c.pk for c in connections])
            .values("connection_id", "status")
            .annotate(count=Count("pk"))
        ):
            counts.setdefault(row["connection_id"], {})[row["status"]] = row["count"]
        answer: ConnectionListOut = {
            "connections": [connection_row_out(c, counts.get(c.pk, {})) for c in connections],
            "total": len(connections),
        }
        return Response(answer)


class SyncCoursesView(GoogleClassroomView):
    """Sync your Google Classroom courses now: 202 with the job, followed at `GET /api/v1/jobs/{id}` (a sync already
    queued or running is answered instead of a second one). 400 when the connection needs reconnecting; 404
    without a connection."""

    also_answers = (status.HTTP_404_NOT_FOUND,)

    @extend_schema(
        operation_id="google_classroom_sync_courses",
        summary="Sync your Google Classroom courses",
        parameters=[],
        request=SyncCoursesIn,
        responses={202: JobAnswer},
    )
    def post(self, request: Request) -> Response:
        query_of(NoQuery, request.query_params)
        SyncCoursesIn(data=request.data or {}).is_valid(raise_exception=True)
        job = services.sync_request(connection=self.own_connection(), requested_by=self.viewer)
        return self.job_accepted(job)


class SyncAssignmentsView(GoogleClassroomView):
    """Sync one synced course now (its roster, course work and submissions): 202 with the job. A course id that is
    not one of the synced courses you see answers 404."""

    @extend_schema(
        operation_id="google_classroom_sync_assignments",
        summary="Sync one Google Classroom course",
        parameters=[COURSE_ID],
        request=None,
        responses={202: JobAnswer},
    )
    def post(self, request: Request, course_id: str) -> Response:
        query_of(NoQuery, request.query_params)
        synced = selectors.synced_course_for(self.viewer, course_id)
        job = services.sync_request(
            connection=synced.connection, requested_by=self.viewer, google_course_ids=[synced.google_course_id]
        )
        return self.job_accepted(job)


def written_course(synced: SyncedCourse) -> Course:
    """The EduPath class a sync wrote for the synced course; before the first sync there is nothing to count (404)."""
    if synced.course is None:
        raise NotFound("This course is not synced yet: sync it first.")
    return synced.course


class AnalyticsView(GoogleClassroomView):
    """A synced class over the last `period` days (7d, 30d or 90d): its activity, engagement, assignment completion,
    average grade and each student's activity and work, with the definitions of the class dashboard
    (`analytics/courses/{course}/analytics`). 404 for a course id you do not see, or one not synced yet."""

    query_serializer = AnalyticsQuery

    @extend_schema(
        operation_id="google_classroom_analytics",
        summary="Analytics of a synced class",
        parameters=[COURSE_ID, AnalyticsQuery],
        responses={200: answer_type(ClassAnalytics)},
    )
    def get(self, request: Request, course_id: str) -> Response:
        query = query_of(AnalyticsQuery, request.query_params)
        synced = selectors.synced_course_for(self.viewer, course_id)
        course = written_course(synced)
        days = query["period"].days
        return Response(class_analytics(synced=synced, course=course, days=days, now=timezone.now()))


class SummaryView(GoogleClassroomView):
    """The class summary of a synced class (the last 7 days: students active, work on time, late and missing,
    average grade; counts only, no student's name): GET previews it, POST posts it to the Classroom course as a
    draft announcement for the teacher to publish there. The text is always computed here: a client sends none.
    Posting needs the announcements permission (400 until `connect` with `post` is done) and is for the teacher
    whose connection syncs the course (403 for an administrator who sees it)."""

    @extend_schema(
        operation_id="google_classroom_summary",
        summary="Preview a class summary",
        parameters=[COURSE_ID],
        responses={200: answer_type(ClassSummary)},
    )
    def get(self, request: Request, course_id: str) -> Response:
        query_of(NoQuery, request.query_params)
        course = written_course(selectors.synced_course_for(self.viewer, course_id))
        return Response(class_summary(course=course, now=timezone.now()))

    @extend_schema(
        operation_id="google_classroom_summary_post",
        summary="Post a class summary to Classroom",
        parameters=[COURSE_ID],
        request=None,
        responses={201: answer_type(PostedSummaryOut)},
    )
    def post(self, request: Request, course_id: str) -> Response:
        query_of(NoQuery, request.query_params)
        synced = selectors.synced_course_for(self.viewer, course_id)
        course = written_course(synced)
        if synced.connection.user_id != self.viewer.pk:
            # it would be posted with that teacher's Google account: only they decide what goes to their class
            raise PermissionDenied("Only the teacher whose connection syncs this course may post to it.")
        now = timezone.now()
        text = class_summary(course=course, now=now)["text"]
        posted = services.summary_post(synced=synced, posted_by=self.viewer, text=text, now=now)
        return Response(posted_summary_out(posted), status=status.HTTP_201_CREATED)


PREFIX = "integrations/google-classroom/"
# Google's course ids are short ASCII tokens (digits today), as SyncedCourse.google_course_id holds them: anything
# else cannot name a synced course and is a 404 before it reaches SQL (which refuses a NUL with an error).
GOOGLE_COURSE_ID = r"(?P<course_id>[A-Za-z0-9_-]{1,64})"

urlpatterns = [
    path(f"{PREFIX}connection", ConnectionView.as_view(), name="google-classroom-connection"),
    path(f"{PREFIX}connect", ConnectView.as_view(), name="google-classroom-connect"),
    path(f"{PREFIX}disconnect", DisconnectView.as_view(), name="google-classroom-disconnect"),
    path(f"{PREFIX}connections", ConnectionListView.as_view(), name="google-classroom-connections"),
    path(f"{PREFIX}sync-courses", SyncCoursesView.as_view(), name="google-classroom-sync-courses"),
    re_path(
        rf"^{PREFIX}sync-assignments/{GOOGLE_COURSE_ID}$",
        SyncAssignmentsView.as_view(),
        name="google-classroom-sync-assignments",
    ),
    re_path(rf"^{PREFIX}analytics/{GOOGLE_COURSE_ID}$", AnalyticsView.as_view(), name="google-classroom-analytics"),
    re_path(rf"^{PREFIX}summary/{GOOGLE_COURSE_ID}$", SummaryView.as_view(), name="google-classroom-summary"),
]

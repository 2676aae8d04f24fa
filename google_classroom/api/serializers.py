"""What the Google Classroom API reads (bodies, the analytics period) and answers (typed for the OpenAPI schema).
No answer ever holds a token."""

from datetime import datetime
from typing import Annotated, Required, TypedDict

from core.params import PeriodParam, QuerySerializer
from core.serializers import ChoiceField, StrictSerializer
from google_classroom.models import Connection, ConsentRequest, PostedSummary, SyncedCourse

PERIODS = ("7d", "30d", "90d")


# SECTION: query strings and bodies


class ConnectIn(StrictSerializer):
    purpose = ChoiceField(
        choices=ConsentRequest.Purpose.choices,
        default=ConsentRequest.Purpose.CONNECT,
        help_text="connect (read-only Classroom access, the default) or post (also post class summaries).",
    )


class SyncCoursesIn(StrictSerializer):
    """No fields: the sync covers every course of your connection."""


class AnalyticsQuery(QuerySerializer):
    period = PeriodParam(
        default="7d",
        choices=PERIODS,
        help_text="The local days of the class ending today: 7d (the default), 30d or 90d. The seed's "
        "`timeframe=` is read as the same.",
    )


# SECTION: answers


class SyncedCourseOut(TypedDict):
    google_course_id: str
    name: str
    google_state: Annotated[str, "Google's course state (ACTIVE, ARCHIVED, ...)."]
    status: Annotated[str, "pending, ok, failed or removed (no longer in Classroom)."]
    course: Annotated[int | None, "The EduPath class it is synced into; empty before its first sync."]
    last_synced_at: datetime | None
    last_error: str
    counts: Annotated[dict[str, int], "What the last sync found and wrote (students, teachers, items, ...)."]


class ConnectionStatusOut(TypedDict, total=False):
    """Without a connection, only `connected: false`."""

    connected: Required[bool]
    google_email: str
    status: Annotated[str, "active or needs_reconnect."]
    status_message: str
    can_post: Annotated[bool, "Whether class summaries may be posted (the announcements permission)."]
    last_sync_at: datetime | None
    last_sync_job: Annotated[int | None, "The id of the last sync job (GET /api/v1/jobs/{id})."]


class ConnectionOut(TypedDict):
    connection: Annotated[ConnectionStatusOut, "Your own connection; `connected: false` without one."]
    courses: Annotated[list[SyncedCourseOut], "Its synced courses, by name."]


class AuthorizationOut(TypedDict):
    authorization_url: Annotated[str, "Google's consent screen: send the browser there."]


class DisconnectedOut(TypedDict):
    disconnected: bool
    revoked_at_google: Annotated[bool, "Whether Google confirmed the revocation (the connection is gone either way)."]


class CourseCountsOut(TypedDict):
    total: int
    ok: int
    failed: int
    pending: int
    removed: int


class ConnectionRowOut(TypedDict):
    id: int
    user: Annotated[int, "Who connected."]
    username: str
    google_email: str
    status: Annotated[str, "active or needs_reconnect."]
    status_message: str
    last_sync_at: datetime | None
    courses: Annotated[CourseCountsOut, "Its synced courses, by status."]


class ConnectionListOut(TypedDict):
    connections: Annotated[list[ConnectionRowOut], "Administrators: every one of the school; teachers: their own."]
    total: int


class PostedSummaryOut(TypedDict):
    id: int
    course_id: Annotated[str, "The Google Classroom course id."]
    posted_at: datetime
    posted_by: Annotated[int | None, "Who posted it."]
    google_announcement_id: str
    state: Annotated[str, "Google's announcement state (DRAFT: the teacher publishes it in Classroom)."]
    text: str


def synced_course_out(synced: SyncedCourse) -> SyncedCourseOut:
    return {
        "google_course_id": synced.google_course_id,
        "name": synced.name,
        "google_state": synced.google_state,
        "status": synced.status,
        "course": synced.course_id,
        "last_synced_at": synced.last_synced_at,
        "last_error": synced.last_error,
        "counts": {str(key): int(value) for key, value in (synced.counts or {}).items() if isinstance(value, int)},
    }


def connection_row_out(connection: Connection, counts: dict[str, int]) -> ConnectionRowOut:
    return {
        "id": connection.pk,
        "user": connection.user_id,
        "username": connection.user.username,
        "google_email": connection.google_email,
        "status": connection.status,
        "status_message": connection.status_message,
        "last_sync_at": connection.last_sync_at,
        "courses": {
            "total": sum(counts.values()),
            "ok": counts.get(SyncedCourse.Status.OK, 0),
            "failed": counts.get(SyncedCourse.Status.FAILED, 0),
            "pending": counts.get(SyncedCourse.Status.PENDING, 0),
            "removed": counts.get(SyncedCourse.Status.REMOVED, 0),
        },
    }


def posted_summary_out(posted: PostedSummary) -> PostedSummaryOut:
    return {
        "id": posted.pk,
        "course_id": posted.synced_course.google_course_id,
        "posted_at": posted.posted_at,
        "posted_by": posted.posted_by_id,
        "google_announcement_id": posted.google_announcement_id,
        "state": posted.google_state,
        "text": posted.text,
    }

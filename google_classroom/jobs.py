"""The job kind of a Classroom sync (core.jobs): what its result holds, for `GET /api/v1/jobs/{id}`."""

from typing import Annotated, TypedDict

SYNC_JOB = "google_classroom_sync"


class CourseOutcome(TypedDict):
    google_course_id: str
    name: str
    status: Annotated[str, "ok, failed or skipped (not reached: Google was unavailable or the connection revoked)."]
    written: Annotated[int, "Rows written for this course (0 when nothing changed)."]
    error: str


class SyncResult(TypedDict):
    courses: Annotated[int, "Courses this sync covered."]
    synced: int
    failed: int
    written: Annotated[int, "Rows written in all (teaching rows, enrolments, submissions, events)."]
    events: Annotated[int, "New learning events."]
    requests: Annotated[int, "Requests sent to Google, retries included."]
    outcomes: list[CourseOutcome]


def register() -> None:
    from core.jobs import JobKind, job_kind_register

    job_kind_register(JobKind(name=SYNC_JOB, result=SyncResult))

"""The shared job record (core.models.Job, core.jobs): who may follow a job (whoever asked for it and the
administrators of its organisation; anyone else gets the 404 of a job that does not exist), how its services move it
from queued to finished, and how the API documents its result."""

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

from core.jobs import job_create, job_fail, job_finish, job_kinds, job_progress, job_start
from core.models import Job
from tests.conftest import School, client_for
from tests.core.test_openapi import served_schema

NOW = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
MISSING_ID = 987654321


def url(job: Job | int) -> str:
    return f"/api/v1/jobs/{job.pk if isinstance(job, Job) else job}"


@pytest.mark.parametrize(
    ("requester", "expected"),
    [
        # an administrator's job: they and their school's other administrators; not teachers, students, other schools
        ("admin", {"admin": 200, "teacher": 404, "student": 404, "foreign_admin": 404}),
        # a student's job (a later kind, e.g. an export): the student and their administrators; not their teacher
        ("student", {"admin": 200, "teacher": 404, "student": 200, "classmate": 404, "foreign_admin": 404}),
        ("teacher", {"admin": 200, "teacher": 200, "other_teacher": 404, "student": 404}),
    ],
)
def test_a_job_is_seen_by_who_asked_and_the_schools_administrators(
    school: School, requester: str, expected: dict[str, int]
) -> None:
    # given
    job = job_create(
        kind="roster_import", requested_by=getattr(school, requester), organization_id=school.organization.pk
    )

    # when
    statuses = {viewer: client_for(getattr(school, viewer)).get(url(job)).status_code for viewer in expected}

    # then
    assert statuses == expected


def test_another_administrator_of_the_school_sees_it_too(school: School) -> None:
    from tests.factories import AdminFactory

    colleague = AdminFactory.create(organization=school.organization, username="colleague")
    job = job_create(kind="roster_import", requested_by=school.admin, organization_id=school.organization.pk)

    assert client_for(colleague).get(url(job)).status_code == 200


def test_a_forbidden_job_looks_exactly_like_a_missing_one(school: School) -> None:
    job = job_create(kind="roster_import", requested_by=school.admin, organization_id=school.organization.pk)

    for viewer in (school.teacher, school.student, school.foreign_admin):
        client = client_for(viewer)
        seen, absent = client.get(url(job)), client.get(url(MISSING_ID))
        assert (seen.status_code, seen.json()) == (absent.status_code, absent.json()) == (404, {"detail": "Not found."})


def test_signed_out_and_deactivated_people_see_no_job(school: School) -> None:
    job = job_create(kind="roster_import", requested_by=school.admin, organization_id=school.organization.pk)
    assert client_for(None).get(url(job)).status_code == 401
    school.admin.is_active = False
    school.admin.save()
    # force_authenticate bypasses the active check of authentication: the selector still refuses
    assert client_for(school.admin).get(url(job)).status_code == 404


def test_the_answer_shows_status_progress_message_and_result_but_not_the_input(school: School) -> None:
    # given
    job = job_create(
        kind="roster_import",
        requested_by=school.admin,
        organization_id=school.organization.pk,
        params={"csv": "secret,roster", "dry_run": True},
    )
    assert job_start(job_id=job.pk, message="Reading.", now=NOW)
    job_progress(job_id=job.pk, percent=40, message="Checking 3 lines.")

    # when
    running = client_for(school.admin).get(url(job)).json()

    # then
    assert running == {
        "id": job.pk,
        "kind": "roster_import",
        "status": "running",
        "progress": 40,
        "message": "Checking 3 lines.",
        "result": None,
        "requested_by": school.admin.pk,
        "organization": school.organization.pk,
        "created_at": running["created_at"],
        "started_at": "2026-10-05T09:00:00Z",
        "finished_at": None,
    }
    assert "secret" not in str(running)


def test_a_job_moves_from_queued_to_running_to_finished_once(school: School) -> None:
    # given
    job = job_create(kind="roster_import", requested_by=school.admin, organization_id=school.organization.pk)

    # when / then: started once; a repeated delivery finds it started
    assert job_start(job_id=job.pk, now=NOW) is True
    assert job_start(job_id=job.pk, now=NOW) is False

    job_progress(job_id=job.pk, percent=250)  # clamped
    assert Job.objects.get(pk=job.pk).progress == 100

    job_finish(job_id=job.pk, result={"done": True}, message="Done.", now=NOW)
    job_fail(job_id=job.pk, message="too late")  # a finished job stays as it finished
    finished = Job.objects.get(pk=job.pk)
    assert (finished.status, finished.progress, finished.message, finished.result, finished.finished_at) == (
        Job.Status.SUCCEEDED,
        100,
        "Done.",
        {"done": True},
        NOW,
    )

    # progress of a finished job is not recorded
    job_progress(job_id=job.pk, percent=10)
    assert Job.objects.get(pk=job.pk).progress == 100


def test_a_failed_job_says_why(school: School) -> None:
    job = job_create(kind="roster_import", requested_by=school.admin, organization_id=school.organization.pk)

    job_fail(job_id=job.pk, message="x" * 600, now=NOW)

    failed = Job.objects.get(pk=job.pk)
    assert (failed.status, len(failed.message), failed.finished_at) == (Job.Status.FAILED, 500, NOW)


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="Unknown job kind"):
        job_create(kind="nothing", requested_by=None, organization_id=None)


def test_the_database_holds_the_invariants(db: None) -> None:
    """A finished job has a finishing time and a queued one none; progress is a percentage."""
    for bad in (
        {"status": Job.Status.SUCCEEDED},
        {"status": Job.Status.QUEUED, "finished_at": NOW},
        {"progress": 101},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Job.objects.create(kind="roster_import", **bad)


def test_the_schema_types_each_kinds_result(db: None) -> None:
    """A client generated from the schema knows what a finished job holds: one of the registered results."""
    schema = served_schema()
    job = schema["components"]["schemas"]["Job"]
    assert [kind.name for kind in job_kinds()] == [
        "google_classroom_sync",
        "report-run",
        "risk.score",
        "risk.train",
        "rollup-rebuild",
        "roster_import",
    ]
    assert job["properties"]["kind"]["description"] == (
        "What the job does: `google_classroom_sync`, `report-run`, `risk.score`, `risk.train`, `rollup-rebuild`, "
        "`roster_import`."
    )
    for result in (
        "RosterImportResult",
        "TrainResult",
        "ScoreResult",
        "RollupRebuildResult",
        "ReportRunResult",
        "SyncResult",
    ):
        assert {"$ref": f"#/components/schemas/{result}"} in job["properties"]["result"]["oneOf"]
    answers = schema["paths"]["/api/v1/jobs/{id}"]["get"]["responses"]
    assert sorted(answers) == ["200", "401", "404"]

"""The sync against the local fake of Google Classroom, through the real client libraries: what lands in the
teaching model and the event store, a re-run that writes nothing, a change that writes only itself, an interrupted
sync that ends like an uninterrupted one, retries, a revoked token, and malformed answers."""

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any, cast

import pytest

from accounts.models import Organization, Role, User
from analytics.models import Action, LearningEvent
from classroom.models import Course, Enrollment, LearningItem, Module, Submission
from google_classroom.client import AccessRevoked
from google_classroom.models import Connection, SyncedCourse
from google_classroom.services import connection_client, sync_all_request
from google_classroom.sync import SOURCE, connection_sync
from tests.factories import AdminFactory, StudentFactory, TeacherFactory
from tests.google_classroom.conftest import SYNC_AT, connect, make_org, teacher_email
from tests.google_classroom.fake_google import FakeGoogle
from tests.google_classroom.fake_school import FakeSchool

pytestmark = pytest.mark.django_db(transaction=False)


def run(connection: Connection, **kwargs: Any) -> Any:
    return connection_sync(connection=connection, client=connection_client(connection), now=SYNC_AT, **kwargs)


def handed_in(fake_school: FakeSchool) -> list[dict[str, Any]]:
    return [s for s in fake_school.all_submissions() if s["state"] in ("TURNED_IN", "RETURNED")]


def snapshot(organization: Organization) -> dict[str, Any]:
    """Everything a sync wrote for the organisation, named by Google's ids (comparable across organisations; emails
    are unique across organisations, so the second organisation's students get none)."""
    courses = Course.objects.filter(organization=organization)
    return {
        "courses": sorted(courses.values_list("external_id", "title", "code")),
        "modules": sorted(Module.objects.filter(course__in=courses).values_list("external_id", "title", "position")),
        "items": sorted(
            LearningItem.objects.filter(module__course__in=courses).values_list(
                "external_id", "module__external_id", "kind", "title", "max_points", "due_at"
            )
        ),
        "enrolments": sorted(
            Enrollment.objects.filter(course__in=courses).values_list(
                "course__external_id", "user__external_id", "role", "status"
            )
        ),
        "submissions": sorted(
            Submission.objects.filter(item__module__course__in=courses).values_list(
                "item__external_id", "student__external_id", "state", "score", "submitted_at"
            )
        ),
        "events": sorted(
            (action, str(occurred_at), str(actor), item, str(score))
            for action, occurred_at, actor, item, score in LearningEvent.objects.filter(
                organization_id=organization.pk
            ).values_list("action", "occurred_at", "actor__external_id", "item__external_id", "score_raw")
        ),
    }


def test_a_full_sync_lands_the_teachers_courses_in_the_teaching_model(
    connection: Connection, fake_school: FakeSchool, google: FakeGoogle, teacher: User
) -> None:
    # when
    result = run(connection)

    # then: every course the teacher teaches, with its people, work and submissions
    taught = fake_school.teacher_course_ids(connection.google_user_id)
    assert result["courses"] == result["synced"] == len(taught) and result["failed"] == 0
    courses = Course.objects.filter(external_source=SOURCE)
    assert set(courses.values_list("external_id", flat=True)) == set(taught)
    for course in courses:
        google_id = course.external_id
        assert course.title == fake_school.courses[google_id]["name"]
        students = Enrollment.objects.active_students().filter(course=course)
        assert students.count() == len(fake_school.students[google_id])
        assert Enrollment.objects.filter(course=course, user=teacher, role="teacher", status="active").exists()
        items = LearningItem.objects.filter(module__course=course)
        assert items.count() == len(fake_school.course_work[google_id]) + len(fake_school.materials[google_id])
        quiz_types = {"SHORT_ANSWER_QUESTION", "MULTIPLE_CHOICE_QUESTION"}
        for work in fake_school.course_work[google_id]:
            item = items.get(external_id=work["id"])
            assert item.kind == ("quiz" if work["workType"] in quiz_types else "assignment")
            assert item.max_points == (Decimal(str(work["maxPoints"])) if work.get("maxPoints") else None)
    # students were created, matched to nobody (the school has no EduPath accounts yet), with no usable password
    created = User.objects.filter(external_source=SOURCE)
    assert created.count() == sum(len(fake_school.students[c]) for c in taught)
    assert all(not user.has_usable_password() and user.role == Role.STUDENT for user in created)
    # a submission for each piece of work handed in, late as Google says
    mine = [s for s in handed_in(fake_school) if s["courseId"] in taught]
    assert Submission.objects.count() == len(mine)
    late = {(s["courseWorkId"], s["userId"]) for s in mine if s.get("late")}
    stored_late = set(Submission.objects.filter(state="late").values_list("item__external_id", "student__external_id"))
    assert stored_late == late
    # events for what happened: each turn-in, return and assigned grade
    turned_in = sum(
        1
        for s in fake_school.all_submissions()
        if s["courseId"] in taught
        for entry in s.get("submissionHistory", [])
        if entry.get("stateHistory", {}).get("state") == "TURNED_IN"
    )
    submit_actions = [Action.ASSIGNMENT_SUBMIT, Action.QUIZ_SUBMIT]
    assert LearningEvent.objects.filter(action__in=submit_actions).count() == turned_in
    assert LearningEvent.objects.filter(action=Action.WORK_GRADED, score_raw__isnull=False).exists()
    assert result["events"] == LearningEvent.objects.count() > 0
    # and the sync's state is recorded per course
    assert set(SyncedCourse.objects.values_list("status", flat=True)) == {"ok"}


def test_every_request_is_a_method_of_the_bundled_discovery_document(
    connection: Connection, google: FakeGoogle
) -> None:
    run(connection)
    methods = {request.method_id for request in google.requests if request.path.startswith("/v1/")}
    assert methods <= {
        "classroom.courses.list",
        "classroom.courses.topics.list",
        "classroom.courses.teachers.list",
        "classroom.courses.students.list",
        "classroom.courses.courseWork.list",
        "classroom.courses.courseWorkMaterials.list",
        "classroom.courses.courseWork.studentSubmissions.list",
    }
    assert google.violations == []


def test_a_second_sync_with_nothing_changed_writes_nothing(connection: Connection, google: FakeGoogle) -> None:
    # given
    run(connection)
    before = snapshot(connection.organization)
    stamps = max(Submission.objects.values_list("updated_at", flat=True))

    # when
    result = run(connection)

    # then
    assert result["written"] == 0 and result["events"] == 0
    assert snapshot(connection.organization) == before
    assert max(Submission.objects.values_list("updated_at", flat=True)) == stamps


def test_a_sync_after_changes_writes_only_the_changed_submissions(
    connection: Connection, google: FakeGoogle, fake_school: FakeSchool
) -> None:
    # given
    run(connection)
    before = dict(Submission.objects.values_list("pk", "updated_at"))

    # when
    changed = fake_school.change_submissions(fraction=0.1, at=SYNC_AT - timedelta(hours=1))
    result = run(connection)

    # then
    assert changed > 0
    assert sum(o["written"] for o in result["outcomes"]) == result["written"] > 0
    counts = SyncedCourse.objects.values_list("counts", flat=True)
    assert sum(c["submissions_changed"] for c in counts) == changed
    touched = [pk for pk, stamp in Submission.objects.values_list("pk", "updated_at") if before.get(pk) != stamp]
    assert 0 < len(touched) <= changed


def test_roster_changes_enrol_and_drop(connection: Connection, google: FakeGoogle, fake_school: FakeSchool) -> None:
    # given
    run(connection)
    course_id = fake_school.teacher_course_ids(connection.google_user_id)[0]
    leaving = fake_school.students[course_id][0]["userId"]

    # when
    fake_school.remove_student(course_id, leaving)
    fake_school.add_student(course_id)
    run(connection)

    # then
    course = Course.objects.get(external_id=course_id)
    dropped = Enrollment.objects.get(course=course, user__external_id=leaving)
    assert dropped.status == "dropped" and dropped.ended_at == SYNC_AT
    assert Enrollment.objects.active_students().filter(course=course).count() == len(fake_school.students[course_id])


def test_a_student_is_matched_by_email_only_within_the_organisations_domains(
    connection: Connection, google: FakeGoogle, fake_school: FakeSchool, organization: Organization
) -> None:
    # given: one student already has an account with their school email
    course_id = fake_school.teacher_course_ids(connection.google_user_id)[0]
    profile = fake_school.students[course_id][0]["profile"]
    existing = StudentFactory.create(organization=organization, email=profile["emailAddress"].upper())

    # when
    run(connection)

    # then: enrolled as themselves, not a second account
    assert Enrollment.objects.filter(user=existing, course__external_id=course_id, status="active").exists()
    assert not User.objects.filter(external_id=profile["id"]).exclude(pk=existing.pk).exists()


def test_no_one_is_matched_by_email_outside_the_organisations_domains(
    connection: Connection, google: FakeGoogle, fake_school: FakeSchool, organization: Organization
) -> None:
    organization.email_domains = ["other.example"]
    organization.save()
    course_id = fake_school.teacher_course_ids(connection.google_user_id)[0]
    profile = fake_school.students[course_id][0]["profile"]
    existing = StudentFactory.create(organization=organization, email=profile["emailAddress"])

    run(connection)

    assert not Enrollment.objects.filter(user=existing).exists()
    created = User.objects.get(external_source=SOURCE, external_id=profile["id"])
    assert created.email == ""  # the address is someone else's here


def test_an_interrupted_sync_rerun_ends_with_the_same_rows_as_an_uninterrupted_one(
    google: FakeGoogle, fake_school: FakeSchool
) -> None:
    # given: the same Google school synced by two organisations, one without interruption
    email = teacher_email(fake_school)
    calm = make_org(fake_school, "calm")
    calm_connection = connect(google, TeacherFactory.create(organization=calm, email=email), email)
    run(calm_connection)

    stormy = make_org(fake_school, "stormy")
    stormy_teacher = TeacherFactory.create(organization=stormy, email=f"x.{email}")
    stormy_connection = connect(google, stormy_teacher, email)

    # when: Google goes away half-way through the second organisation's sync
    google.go_down_after(len(google.requests) // 4)
    first = run(stormy_connection)
    google.come_back()
    second = run(stormy_connection)

    # then
    assert first["failed"] > 0 and first["synced"] < first["courses"]
    assert second["failed"] == 0
    assert snapshot(stormy) == snapshot(calm)


def test_rate_limits_and_server_errors_are_retried_honouring_retry_after(
    connection: Connection, google: FakeGoogle, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # given
    settings.GOOGLE_RETRY_MAX_SECONDS = 2.0
    google.fail_next(2, status=429, retry_after=1)
    google.fail_next(2, status=500, retry_after=None)

    # when
    with caplog.at_level(logging.INFO, logger="google_classroom.client"):
        result = run(connection)

    # then
    assert result["failed"] == 0 and result["synced"] == result["courses"]
    waits = [cast(tuple[Any, ...], record.args) for record in caplog.records if "retrying" in record.getMessage()]
    assert len(waits) == 4
    rate_limited = [args for args in waits if args[1] == 429]
    assert len(rate_limited) == 2 and all(args[2] >= 1.0 for args in rate_limited)  # Retry-After: 1


def test_a_revoked_token_marks_the_connection_and_is_not_retried(
    connection: Connection, google: FakeGoogle, fake_school: FakeSchool
) -> None:
    # given
    google.revoke_all(teacher_email(fake_school))

    # when
    with pytest.raises(AccessRevoked):
        run(connection)

    # then: one refresh attempt, no retries; the teacher is told; the hourly job leaves it alone
    assert [r.path for r in google.requests].count("/token") == 1
    assert not [r for r in google.requests if r.path.startswith("/v1/")]
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_RECONNECT
    assert "reconnect" in connection.status_message
    assert sync_all_request() == 0


def test_a_malformed_answer_fails_only_its_course_and_leaves_it_unwritten(
    connection: Connection, google: FakeGoogle, fake_school: FakeSchool
) -> None:
    # given: Google sends one course's work without ids
    taught = fake_school.teacher_course_ids(connection.google_user_id)
    broken = taught[0]

    def drop_ids(body: dict[str, Any]) -> dict[str, Any]:
        for work in body.get("courseWork", []):
            if work.get("courseId") == broken:
                work.pop("id", None)
        return body

    google.corrupt("classroom.courses.courseWork.list", drop_ids)

    # when
    result = run(connection)

    # then
    assert result["failed"] == 1 and result["synced"] == len(taught) - 1
    failed = SyncedCourse.objects.get(google_course_id=broken)
    assert failed.status == "failed" and "without 'id'" in failed.last_error
    assert not Course.objects.filter(external_id=broken).exists()


def test_unknown_enum_values_are_skipped_and_recorded(
    connection: Connection, google: FakeGoogle, fake_school: FakeSchool
) -> None:
    def new_kinds(body: dict[str, Any]) -> dict[str, Any]:
        for work in body.get("courseWork", [])[:1]:
            work["workType"] = "HOLOGRAM"
        for submission in body.get("studentSubmissions", [])[:1]:
            submission["state"] = "TELEPORTED"
        return body

    google.corrupt("classroom.courses.courseWork.list", new_kinds)
    google.corrupt("classroom.courses.courseWork.studentSubmissions.list", new_kinds)

    result = run(connection)

    assert result["failed"] == 0
    errors = " ".join(SyncedCourse.objects.values_list("last_error", flat=True))
    assert "unknown type 'HOLOGRAM'" in errors and "skipped" in errors


def test_an_administrators_connection_syncs_the_whole_domain(
    google: FakeGoogle, fake_school: FakeSchool, organization: Organization
) -> None:
    # given: the school's Workspace administrator connects; one Google teacher has an EduPath account
    admin = AdminFactory.create(organization=organization, email="it.lead@school.example")
    google.add_domain_admin("it.lead@school.example")
    teacher = TeacherFactory.create(organization=organization, email=teacher_email(fake_school))
    found = connect(google, admin, "it.lead@school.example")

    # when
    result = run(found)

    # then: every course of the domain, each taught by its matched teacher, none by the administrator
    assert result["synced"] == len(fake_school.courses) and result["failed"] == 0
    assert set(Course.objects.values_list("external_id", flat=True)) == set(fake_school.courses)
    assert not Enrollment.objects.filter(user=admin).exists()
    profile = fake_school.user_by_email(teacher_email(fake_school))
    assert profile is not None
    taught = set(fake_school.teacher_course_ids(profile["id"]))
    enrolled = Enrollment.objects.filter(user=teacher, role="teacher", status="active")
    assert set(enrolled.values_list("course__external_id", flat=True)) == taught


def test_a_new_maximum_rewrites_the_scores_kept_within_it(
    connection: Connection, google: FakeGoogle, fake_school: FakeSchool
) -> None:
    # given: a synced graded submission
    run(connection)
    graded = Submission.objects.filter(score__gt=1).select_related("item").first()
    assert graded is not None and graded.max_points is not None
    course_id = graded.item.module.course.external_id

    # when: the teacher lowers the item's maximum below that score in Classroom (only the course work changes)
    fake_school.touch_course_work(course_id, graded.item.external_id, at=SYNC_AT - timedelta(hours=1), maxPoints=1)
    run(connection)

    # then
    graded.refresh_from_db()
    assert (graded.max_points, graded.score) == (Decimal(1), Decimal(1))

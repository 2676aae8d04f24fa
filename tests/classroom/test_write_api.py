"""The write API: administrators set up their school (courses, people, enrolments), teachers build the content of
the classes they teach, students write nothing; nothing of another organisation can be named; every refusal names
the field, with the same rules Django admin applies (the same services)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Role, User
from classroom.models import Course, Enrollment, LearningItem, Module
from tests.conftest import School, client_for
from tests.factories import ModuleFactory, StudentFactory

pytestmark = pytest.mark.django_db

MISSING_ID = 987654321


def course_body(**overrides: Any) -> dict[str, Any]:
    return {"title": "Algebra", "code": "ALG-1", **overrides}


# SECTION: courses


def test_administrator_creates_a_course_in_their_school_with_its_time_zone(school: School) -> None:
    # when
    response = client_for(school.admin).post("/api/v1/courses/", course_body(subject="Mathematics"), format="json")

    # then: the course is the admin's organisation's, its days in the organisation's zone, with its counts
    assert response.status_code == 201, response.content
    body = response.json()
    course = Course.objects.get(pk=body["id"])
    assert course.organization == school.organization
    assert body | {"id": 0} == {
        "id": 0,
        "organization": school.organization.pk,
        "title": "Algebra",
        "code": "ALG-1",
        "subject": "Mathematics",
        "start_date": None,
        "end_date": None,
        "time_zone": "Europe/London",
        "external_source": "",
        "external_id": "",
        "students_count": 0,
        "modules_count": 0,
    }


def test_course_refusals_name_their_field(school: School) -> None:
    admin = client_for(school.admin)
    cases = [
        (course_body(code="MATH-1"), {"code": ["Another course of this organisation has the code MATH-1."]}),
        (
            course_body(time_zone="Mars/Olympus"),
            {"time_zone": ["Mars/Olympus is not an IANA time zone name (e.g. Europe/London)."]},
        ),
        (
            course_body(start_date="2026-09-01", end_date="2026-08-01"),
            {"end_date": ["Must be on or after the start date."]},
        ),
        (course_body(title=12), {"title": ["Not a valid string."]}),
        (course_body(organization=school.foreign_organization.pk), {"organization": ["Unknown field."]}),
        ({"title": "No code"}, {"code": ["This field is required."]}),
    ]
    for body, errors in cases:
        response = admin.post("/api/v1/courses/", body, format="json")
        assert response.status_code == 400, body
        answer = response.json()
        assert {name: answer[name] for name in errors} == errors, answer
    # the same code is free in another organisation
    assert (
        client_for(school.foreign_admin).post("/api/v1/courses/", course_body(code="HIST-1"), format="json").status_code
        == 201
    )


def test_administrator_changes_only_what_is_sent(school: School) -> None:
    # when
    response = client_for(school.admin).patch(
        f"/api/v1/courses/{school.other_course.pk}/",
        {"title": "World history", "time_zone": "Asia/Tokyo"},
        format="json",
    )

    # then
    assert response.status_code == 200, response.content
    school.other_course.refresh_from_db()
    assert (school.other_course.title, school.other_course.time_zone, school.other_course.code) == (
        "World history",
        "Asia/Tokyo",
        "HIST-1",
    )
    assert response.json()["students_count"] == 1


def test_only_administrators_of_the_school_create_or_change_courses(school: School) -> None:
    url = f"/api/v1/courses/{school.course.pk}/"
    # teachers and students: not for their role, even for a class the teacher teaches
    for user in (school.teacher, school.student):
        assert client_for(user).post("/api/v1/courses/", course_body(), format="json").status_code == 403
        assert client_for(user).patch(url, {"title": "Mine"}, format="json").status_code == 403
    # another school's course is not found, like a missing one
    foreign = client_for(school.admin).patch(
        f"/api/v1/courses/{school.foreign_course.pk}/", {"title": "x"}, format="json"
    )
    missing = client_for(school.admin).patch(f"/api/v1/courses/{MISSING_ID}/", {"title": "x"}, format="json")
    assert (
        (foreign.status_code, foreign.json())
        == (missing.status_code, missing.json())
        == (404, {"detail": "Not found."})
    )
    assert Course.objects.filter(title__in=["Mine", "x"]).count() == 0


# SECTION: modules and items


def test_teacher_adds_modules_and_items_to_the_class_they_teach(school: School) -> None:
    teacher = client_for(school.teacher)
    base = f"/api/v1/courses/{school.course.pk}"

    # when: a module without a position goes after the last one
    module = teacher.post(f"{base}/modules/", {"title": "Week 2"}, format="json")
    assert module.status_code == 201, module.content
    last = Module.objects.filter(course=school.course).exclude(pk=module.json()["id"]).order_by("-position").first()
    assert last is not None
    assert module.json()["position"] == last.position + 1

    # and an item in it
    item = teacher.post(
        f"{base}/items/",
        {
            "module": module.json()["id"],
            "kind": "assignment",
            "title": "Essay",
            "max_points": "20.00",
            "due_at": "2026-10-01T17:00:00+02:00",
        },
        format="json",
    )

    # then
    assert item.status_code == 201, item.content
    stored = LearningItem.objects.get(pk=item.json()["id"])
    assert (stored.module_id, stored.max_points, stored.due_at) == (
        module.json()["id"],
        Decimal("20.00"),
        datetime(2026, 10, 1, 15, 0, tzinfo=UTC),
    )
    assert item.json()["course"] == school.course.pk
    listed = teacher.get(f"{base}/modules/").json()["results"]
    assert [row["title"] for row in listed][-1] == "Week 2"


def test_teacher_changes_items_and_modules_of_their_class_only(school: School) -> None:
    teacher = client_for(school.teacher)
    # their class
    assert teacher.patch(f"/api/v1/items/{school.item.pk}/", {"title": "Quiz 1"}, format="json").status_code == 200
    assert (
        teacher.patch(f"/api/v1/modules/{school.item.module_id}/", {"title": "Week 1"}, format="json").status_code
        == 200
    )
    school.item.refresh_from_db()
    assert (school.item.title, school.item.module.title) == ("Quiz 1", "Week 1")
    # another teacher's class and another school: 404, as missing ones
    for url in (
        f"/api/v1/items/{school.other_item.pk}/",
        f"/api/v1/modules/{school.other_item.module_id}/",
        f"/api/v1/courses/{school.other_course.pk}/modules/",
        f"/api/v1/courses/{school.foreign_course.pk}/items/",
    ):
        method = teacher.post if url.startswith("/api/v1/courses/") else teacher.patch
        response = method(url, {"title": "Mine", "kind": "video"}, format="json")
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."}), url
    # nothing else: courses, people, enrolments
    assert (
        teacher.post(
            f"/api/v1/courses/{school.course.pk}/enrollments/", {"user": school.other_student.pk}, format="json"
        ).status_code
        == 403
    )
    assert teacher.post("/api/v1/users/", {"username": "new", "role": "student"}, format="json").status_code == 403


def test_students_write_nothing(school: School) -> None:
    student = client_for(school.student)
    enrollment = Enrollment.objects.get(user=school.student, course=school.course)
    writes = [
        ("post", "/api/v1/courses/", course_body()),
        ("patch", f"/api/v1/courses/{school.course.pk}/", {"title": "x"}),
        ("post", f"/api/v1/courses/{school.course.pk}/modules/", {"title": "x"}),
        ("patch", f"/api/v1/modules/{school.item.module_id}/", {"title": "x"}),
        ("post", f"/api/v1/courses/{school.course.pk}/items/", {"title": "x"}),
        ("patch", f"/api/v1/items/{school.item.pk}/", {"title": "x"}),
        ("post", "/api/v1/users/", {"username": "x", "role": "student"}),
        ("patch", f"/api/v1/users/{school.student.pk}/", {"first_name": "x"}),
        ("post", f"/api/v1/courses/{school.course.pk}/enrollments/", {"user": school.student.pk}),
        ("patch", f"/api/v1/enrollments/{enrollment.pk}/", {"status": "dropped"}),
        ("delete", f"/api/v1/enrollments/{enrollment.pk}/", None),
    ]
    for method, url, body in writes:
        response = getattr(student, method)(url, body, format="json")
        assert response.status_code == 403, (method, url, response.content)
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.ACTIVE


def test_item_refusals_name_their_field(school: School) -> None:
    teacher = client_for(school.teacher)
    url = f"/api/v1/courses/{school.course.pk}/items/"
    valid = {"module": school.item.module_id, "kind": "quiz", "title": "Quiz 2"}
    cases = [
        # a module of another class, of another school, or of nothing: the same answer
        (
            {**valid, "module": school.other_item.module_id},
            "module",
            f"No module with id {school.other_item.module_id} that you may name here.",
        ),
        ({**valid, "module": MISSING_ID}, "module", f"No module with id {MISSING_ID} that you may name here."),
        ({**valid, "module": "1"}, "module", "An id (a whole number) is required."),
        ({**valid, "kind": "podcast"}, "kind", "kind must be one of: lesson, resource, video, quiz, assignment."),
        ({**valid, "max_points": "0"}, "max_points", "Ensure this value is greater than or equal to 0.01."),
        ({**valid, "position": -1}, "position", "Ensure this value is greater than or equal to 0."),
        (
            {**valid, "estimated_minutes": 2**40},
            "estimated_minutes",
            "Ensure this value is less than or equal to 2147483647.",
        ),
    ]
    for body, field, message in cases:
        response = teacher.post(url, body, format="json")
        assert response.status_code == 400, body
        assert response.json()[field] == [message], response.json()
    # an item moves only between modules of its own course
    moved = client_for(school.admin).patch(
        f"/api/v1/items/{school.item.pk}/", {"module": school.other_item.module_id}, format="json"
    )
    assert moved.status_code == 400
    assert moved.json()["module"] == [f"No module with id {school.other_item.module_id} that you may name here."]


def test_module_position_is_unique_in_its_course(school: School) -> None:
    taken = school.item.module.position
    response = client_for(school.teacher).post(
        f"/api/v1/courses/{school.course.pk}/modules/", {"title": "Again", "position": taken}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["position"] == [f"Another module of this course has position {taken}."]


# SECTION: people


def test_administrator_creates_people_without_a_usable_password_unless_given(school: School) -> None:
    admin = client_for(school.admin)

    # when: without a password
    response = admin.post(
        "/api/v1/users/",
        {"username": "ada", "email": "ada@northfield.test", "first_name": "Ada", "role": "student"},
        format="json",
    )

    # then: a student of the admin's school who cannot sign in with a password yet
    assert response.status_code == 201, response.content
    ada = User.objects.get(username="ada")
    assert (ada.organization, ada.role, ada.has_usable_password()) == (school.organization, Role.STUDENT, False)
    assert "password" not in response.json()

    # when: with a good password
    response = admin.post(
        "/api/v1/users/", {"username": "grace", "role": "teacher", "password": "correct horse battery"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert User.objects.get(username="grace").check_password("correct horse battery")


def test_user_refusals_name_their_field(school: School) -> None:
    admin = client_for(school.admin)
    cases = [
        ({"username": "ada", "role": "student", "password": "short"}, "password"),
        ({"username": "ada", "role": "student", "password": "12345678901"}, "password"),
        ({"username": "adalovelace", "role": "student", "password": "adalovelace1"}, "password"),  # like the name
        ({"username": "student", "role": "student"}, "username"),
        ({"username": "bad name!", "role": "student"}, "username"),
        # an address in use in another school is refused too: one account per address
        ({"username": "ada", "role": "student", "email": "FOREIGN_STUDENT@example.test"}, "email"),
        ({"username": "ada", "role": "principal"}, "role"),
        ({"username": "ada", "role": "student", "organization": school.foreign_organization.pk}, "organization"),
    ]
    for body, field in cases:
        response = admin.post("/api/v1/users/", body, format="json")
        assert response.status_code == 400, body
        assert field in response.json(), (body, response.json())
    assert response.json()["organization"] == ["Unknown field."]
    assert not User.objects.filter(username="ada").exists()


def test_administrator_changes_people_of_their_school_only(school: School) -> None:
    admin = client_for(school.admin)
    url = f"/api/v1/users/{school.student.pk}/"
    response = admin.patch(url, {"first_name": "Sam", "password": "a much better passphrase"}, format="json")
    assert response.status_code == 200, response.content
    school.student.refresh_from_db()
    assert school.student.first_name == "Sam"
    assert school.student.check_password("a much better passphrase")
    # the role stays, and an address already used is refused
    assert admin.patch(url, {"role": "teacher"}, format="json").json() == {"role": ["Unknown field."]}
    taken = admin.patch(url, {"email": school.classmate.email.upper()}, format="json")
    assert taken.json()["email"] == ["Another account uses this email address."]
    # an administrator cannot lock themselves out
    own = admin.patch(f"/api/v1/users/{school.admin.pk}/", {"is_active": False}, format="json")
    assert own.json() == {"is_active": ["You cannot deactivate your own account."]}
    # another school's person: 404
    foreign = admin.patch(f"/api/v1/users/{school.foreign_student.pk}/", {"first_name": "x"}, format="json")
    assert (foreign.status_code, foreign.json()) == (404, {"detail": "Not found."})


def test_school_administrators_cannot_take_over_a_platform_operator_account(school: School) -> None:
    # given: a platform operator who is a member of the school
    operator = User.objects.create_superuser("operator", "operator@example.test", "pass-word-123")
    operator.organization = school.organization
    operator.save()

    # when the school's administrator tries to set its password
    response = client_for(school.admin).patch(
        f"/api/v1/users/{operator.pk}/", {"password": "my own passphrase now"}, format="json"
    )

    # then: as if it did not exist
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
    operator.refresh_from_db()
    assert operator.check_password("pass-word-123")


# SECTION: enrolments


def test_administrator_enrols_and_resending_is_harmless(school: School) -> None:
    admin = client_for(school.admin)
    url = f"/api/v1/courses/{school.course.pk}/enrollments/"
    newcomer = StudentFactory.create(organization=school.organization, username="newcomer")
    before = timezone.now()

    # when
    first = admin.post(url, {"user": newcomer.pk}, format="json")
    again = admin.post(url, {"user": newcomer.pk}, format="json")

    # then: one active enrolment, as a student, enrolled now; the second answer is the same row
    assert (first.status_code, again.status_code) == (201, 200), (first.content, again.content)
    assert first.json() == again.json()
    enrollment = Enrollment.objects.get(user=newcomer, course=school.course)
    assert (enrollment.role, enrollment.status) == (Enrollment.Role.STUDENT, Enrollment.Status.ACTIVE)
    assert before <= enrollment.enrolled_at <= timezone.now()
    # a teacher is enrolled as a teacher by default
    taught = admin.post(url, {"user": school.other_teacher.pk}, format="json")
    assert (taught.status_code, taught.json()["role"]) == (201, "teacher")


def test_enrolment_refusals_name_their_field(school: School) -> None:
    admin = client_for(school.admin)
    url = f"/api/v1/courses/{school.course.pk}/enrollments/"
    foreign = admin.post(url, {"user": school.foreign_student.pk}, format="json")
    missing = admin.post(url, {"user": MISSING_ID}, format="json")
    # another school's person and nobody: the same refusal, naming the field
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == {"user": [f"No user with id {school.foreign_student.pk} that you may name here."]}
    assert missing.json() == {"user": [f"No user with id {MISSING_ID} that you may name here."]}
    # a student cannot teach; someone already enrolled as a student cannot be enrolled as a teacher too
    assert admin.post(url, {"user": school.other_student.pk, "role": "teacher"}, format="json").json()["role"] == [
        "User is not a teacher."
    ]
    assert admin.post(url, {"user": school.student.pk, "role": "teacher"}, format="json").status_code == 400
    # another school's course is not found
    other = admin.post(
        f"/api/v1/courses/{school.foreign_course.pk}/enrollments/", {"user": school.student.pk}, format="json"
    )
    assert other.status_code == 404


def test_enrolments_are_ended_not_deleted(school: School) -> None:
    admin = client_for(school.admin)
    student_row = Enrollment.objects.get(user=school.student, course=school.course)
    classmate_row = Enrollment.objects.get(user=school.classmate, course=school.course)
    ended_at = student_row.enrolled_at + timedelta(days=30)

    # when: one completes, one is dropped through DELETE
    completed = admin.patch(
        f"/api/v1/enrollments/{student_row.pk}/",
        {"status": "completed", "ended_at": ended_at.isoformat()},
        format="json",
    )
    dropped = admin.delete(f"/api/v1/enrollments/{classmate_row.pk}/")

    # then: both rows stay, ended
    assert (completed.status_code, dropped.status_code) == (200, 204), completed.content
    student_row.refresh_from_db()
    classmate_row.refresh_from_db()
    assert (student_row.status, student_row.ended_at) == (Enrollment.Status.COMPLETED, ended_at)
    assert classmate_row.status == Enrollment.Status.DROPPED
    # repeating either changes nothing; a completed enrolment is not turned into a dropped one
    assert admin.delete(f"/api/v1/enrollments/{classmate_row.pk}/").status_code == 204
    assert (
        admin.patch(f"/api/v1/enrollments/{student_row.pk}/", {"status": "completed"}, format="json").status_code == 200
    )
    refused = admin.patch(f"/api/v1/enrollments/{student_row.pk}/", {"status": "dropped"}, format="json")
    assert (refused.status_code, refused.json()["status"]) == (400, ["Not active."])
    student_row.refresh_from_db()
    assert student_row.status == Enrollment.Status.COMPLETED


def test_enrolment_end_checks(school: School) -> None:
    admin = client_for(school.admin)
    row = Enrollment.objects.get(user=school.student, course=school.course)
    early = admin.patch(
        f"/api/v1/enrollments/{row.pk}/",
        {"status": "dropped", "ended_at": (row.enrolled_at - timedelta(days=1)).isoformat()},
        format="json",
    )
    assert early.status_code == 400
    assert early.json()["ended_at"] == [f"Must not be before the enrolment began ({row.enrolled_at.isoformat()})."]
    assert admin.patch(f"/api/v1/enrollments/{row.pk}/", {"status": "active"}, format="json").json() == {
        "status": ["status must be one of: dropped, completed."]
    }
    # teachers read their class's enrolments but do not end them; another school's: 404
    assert client_for(school.teacher).get(f"/api/v1/enrollments/{row.pk}/").status_code == 200
    assert client_for(school.teacher).delete(f"/api/v1/enrollments/{row.pk}/").status_code == 403
    foreign = Enrollment.objects.get(user=school.foreign_student)
    assert admin.delete(f"/api/v1/enrollments/{foreign.pk}/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == Enrollment.Status.ACTIVE


def test_module_listing_follows_the_course_scope(school: School) -> None:
    ModuleFactory.create(course=school.course, title="Week 9", position=10_000)
    assert [
        row["title"]
        for row in client_for(school.student).get(f"/api/v1/courses/{school.course.pk}/modules/").json()["results"]
    ][-1] == "Week 9"
    assert client_for(school.student).get(f"/api/v1/courses/{school.other_course.pk}/modules/").status_code == 404


def test_people_get_their_lms_ids_through_the_api(school: School) -> None:
    admin = client_for(school.admin)
    created = admin.post(
        "/api/v1/users/",
        {"username": "ada", "role": "student", "external_source": "moodle", "external_id": "4711"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert (created.json()["external_source"], created.json()["external_id"]) == ("moodle", "4711")

    # the same id of the same system is another person's: refused, on create and on change
    again = admin.post(
        "/api/v1/users/",
        {"username": "alan", "role": "student", "external_source": "moodle", "external_id": "4711"},
        format="json",
    )
    assert again.status_code == 400
    assert again.json()["external_id"] == ["Another person of this school has this id of this source."]
    taken = admin.patch(
        f"/api/v1/users/{school.student.pk}/", {"external_source": "moodle", "external_id": "4711"}, format="json"
    )
    assert taken.status_code == 400 and "external_id" in taken.json()

    # one without the other is refused; changing the id alone keeps the source
    half = admin.patch(f"/api/v1/users/{school.student.pk}/", {"external_id": "9"}, format="json")
    assert half.json() == {
        "external_id": ["Give external_source (the system the id comes from) and external_id together, or neither."]
    }
    moved = admin.patch(f"/api/v1/users/{created.json()['id']}/", {"external_id": "4712"}, format="json")
    assert (moved.json()["external_source"], moved.json()["external_id"]) == ("moodle", "4712")

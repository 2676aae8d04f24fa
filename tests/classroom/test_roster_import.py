"""The roster import (classroom/roster.py, docs/roster-csv.md): a dry run says line by line what a file would do and
writes nothing; applying writes all of it or, with any bad line, none of it and names each bad line; applying again
changes nothing; large files run as a job. Through the service, the API and Django admin."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.hashers import is_password_usable
from django.test import Client

from accounts.models import Role, User
from classroom.models import Enrollment
from classroom.roster import (
    HEADER,
    INLINE_ROWS,
    MAX_FILE_BYTES,
    MAX_LINE_CHARACTERS,
    RosterFileError,
    RosterRefused,
    roster_import,
)
from classroom.tasks import roster_import_run
from core.models import Job
from tests.conftest import School, client_for
from tests.factories import CourseFactory, EnrollmentFactory

NOW = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
URL = "/api/v1/rosters/import"
HEADER_LINE = ",".join(HEADER)


def roster(*lines: str, header: str = HEADER_LINE) -> str:
    return "\n".join([header, *lines]) + "\n"


def people_and_enrolments() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Everything an import may write, to compare before and after."""
    people = list(
        User.objects.order_by("username").values_list(
            "username", "email", "first_name", "last_name", "role", "organization_id"
        )
    )
    enrolments = list(
        Enrollment.objects.order_by("user__username", "course__code", "id").values_list(
            "user__username", "course__code", "role", "status", "enrolled_at"
        )
    )
    return people, enrolments


def a_good_roster() -> str:
    """Two new students in MATH-1, a new teacher of HIST-1, the existing student also put in HIST-1, and the
    classmate's email changed."""
    return roster(
        "ada,ada@school.example,Ada,Lovelace,student,MATH-1",
        "alan,alan@school.example,Alan,Turing,student,MATH-1;HIST-1",
        "grace,grace@school.example,Grace,Hopper,teacher,HIST-1",
        "student,student@example.test,First1,Last1,student,MATH-1;HIST-1",
        "classmate,new.classmate@school.example,Clara,Mate,student,MATH-1",
    )


def fixed_names(school: School) -> None:
    """The school's student and classmate with known names (the factories number them)."""
    User.objects.filter(pk=school.student.pk).update(first_name="First1", last_name="Last1")
    User.objects.filter(pk=school.classmate.pk).update(first_name="Clara", last_name="Mate")


# SECTION: dry run, apply, apply again


def test_a_dry_run_says_what_each_line_would_do_and_writes_nothing(school: School) -> None:
    """The administrator must see what will happen before anything does."""
    # given
    fixed_names(school)
    before = people_and_enrolments()

    # when
    response = client_for(school.admin).post(URL, {"csv": a_good_roster()}, format="json")

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] is True and body["applied"] is False
    assert body["summary"] == {"lines": 5, "created": 3, "changed": 1, "enrolled": 5, "unchanged": 0, "refused": 0}
    by_line = {line["line"]: line for line in body["lines"]}
    assert by_line[2] == {
        "line": 2,
        "username": "ada",
        "outcome": "create",
        "changes": [],
        "enrol": ["MATH-1"],
        "errors": [],
    }
    assert by_line[4]["enrol"] == ["HIST-1"]
    assert by_line[5] == {
        "line": 5,
        "username": "student",
        "outcome": "change",
        "changes": [],
        "enrol": ["HIST-1"],
        "errors": [],
    }
    assert by_line[6]["changes"] == [
        {"field": "email", "before": "classmate@example.test", "after": "new.classmate@school.example"}
    ]
    assert by_line[6]["enrol"] == []
    assert people_and_enrolments() == before


def test_applying_creates_changes_and_enrols(school: School) -> None:
    # given
    fixed_names(school)

    # when
    result = roster_import(organization=school.organization, data=a_good_roster().encode(), dry_run=False, now=NOW)

    # then
    assert result["applied"] is True
    assert result["summary"]["created"] == 3 and result["summary"]["enrolled"] == 5
    ada = User.objects.get(username="ada")
    assert (ada.organization_id, ada.role, ada.email, ada.first_name, ada.last_name) == (
        school.organization.pk,
        Role.STUDENT,
        "ada@school.example",
        "Ada",
        "Lovelace",
    )
    assert not is_password_usable(ada.password)  # no one can sign in as a new person until a password is set
    grace = User.objects.get(username="grace")
    assert Enrollment.objects.get(user=grace).role == Enrollment.Role.TEACHER
    assert set(
        Enrollment.objects.filter(user__username__in=["ada", "alan", "student"], enrolled_at=NOW).values_list(
            "user__username", "course__code", "role", "status"
        )
    ) == {
        ("ada", "MATH-1", "student", "active"),
        ("alan", "MATH-1", "student", "active"),
        ("alan", "HIST-1", "student", "active"),
        ("student", "HIST-1", "student", "active"),
    }
    assert User.objects.get(pk=school.classmate.pk).email == "new.classmate@school.example"


def test_applying_the_same_file_again_changes_nothing(school: School) -> None:
    """Must-hold 3: re-applying changes nothing (a school re-sends its whole roster every term)."""
    # given
    fixed_names(school)
    data = a_good_roster().encode()
    roster_import(organization=school.organization, data=data, dry_run=False, now=NOW)
    after_first = people_and_enrolments()

    # when
    again = roster_import(
        organization=school.organization, data=data, dry_run=False, now=datetime(2026, 11, 1, tzinfo=UTC)
    )

    # then
    assert again["summary"] == {"lines": 5, "created": 0, "changed": 0, "enrolled": 0, "unchanged": 5, "refused": 0}
    assert again["lines"] == []
    assert people_and_enrolments() == after_first


def test_the_api_applies_when_asked_and_answers_what_it_did(school: School) -> None:
    # given
    fixed_names(school)
    admin = client_for(school.admin)

    # when
    response = admin.post(URL, {"csv": a_good_roster(), "dry_run": False}, format="json")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["applied"] is True
    assert User.objects.filter(username__in=["ada", "alan", "grace"], organization=school.organization).count() == 3


def test_a_dropped_student_listed_again_is_enrolled_again(school: School) -> None:
    # given
    enrolment = Enrollment.objects.get(user=school.student, course=school.course)
    enrolment.status, enrolment.ended_at = Enrollment.Status.DROPPED, datetime(2026, 9, 20, tzinfo=UTC)
    enrolment.save()
    line = f"student,{school.student.email},{school.student.first_name},{school.student.last_name},student,MATH-1"

    # when
    result = roster_import(organization=school.organization, data=roster(line).encode(), dry_run=False, now=NOW)

    # then
    assert result["lines"][0]["enrol"] == ["MATH-1"]
    assert Enrollment.objects.filter(user=school.student, course=school.course).count() == 2
    assert Enrollment.objects.get(user=school.student, course=school.course, status="active").enrolled_at == NOW


def test_a_byte_order_mark_blank_lines_quotes_and_any_column_order_are_fine(school: School) -> None:
    data = (
        "\ufeffrole,courses,username,last_name,first_name,email\r\n"
        '\r\nstudent,MATH-1 ; HIST-1,kate,"O\'Brien, Jr.",Kate,kate@school.example\r\n\r\n'
    ).encode()

    result = roster_import(organization=school.organization, data=data, dry_run=True)

    assert result["summary"]["refused"] == 0
    assert result["lines"][0]["line"] == 3
    assert result["lines"][0]["enrol"] == ["MATH-1", "HIST-1"]


def test_the_example_file_of_the_documentation_imports_into_the_demo_courses(school: School) -> None:
    """docs/examples/roster.csv is valid: every line of it is accepted where its courses exist."""
    for code in ("MATH-101", "SCI-201", "HIST-110"):
        CourseFactory.create(organization=school.organization, code=code)
    with open("docs/examples/roster.csv", "rb") as file:
        data = file.read()

    result = roster_import(organization=school.organization, data=data, dry_run=False, now=NOW)

    assert result["summary"]["refused"] == 0, result["lines"]
    assert result["summary"]["created"] == 7


# SECTION: bad input names its line; nothing is half-applied


def refusals(school: School, text: str) -> dict[int, list[str]]:
    """The refused lines of a dry run, with their reasons."""
    result = roster_import(organization=school.organization, data=text.encode(), dry_run=True)
    return {line["line"]: line["errors"] for line in result["lines"] if line["outcome"] == "refuse"}


def file_errors(school: School, data: bytes) -> list[str]:
    with pytest.raises(RosterFileError) as raised:
        roster_import(organization=school.organization, data=data, dry_run=True)
    return raised.value.errors["csv"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("username,email,first_name,last_name,courses", "missing: role"),
        ("username,email,first_name,last_name,role,courses,grade", "unknown: 'grade'"),
        ("username,email,first_name,last_name,role,courses,role", "repeated: role"),
        ("user;email;first_name;last_name;role;courses", "missing: username"),
    ],
)
def test_a_wrong_header_refuses_the_file_naming_line_1(school: School, header: str, expected: str) -> None:
    errors = file_errors(school, roster("ada,ada@school.example,Ada,L,student,MATH-1", header=header).encode())

    assert len(errors) == 1
    assert errors[0].startswith("line 1: the header must name the columns username,email,first_name,last_name,role")
    assert expected in errors[0]


def test_a_file_not_in_utf8_is_refused_naming_each_bad_line(school: School) -> None:
    data = roster(
        "ada,ada@school.example,Ada,L,student,MATH-1",
        "jose,jose@school.example,José,Núñez,student,MATH-1",
        "zoe,zoe@school.example,Zoë,K,student,MATH-1",
    ).encode("latin-1")

    errors = file_errors(school, data)

    assert errors[0] == "line 3: not UTF-8 text (byte 0xE9 at character 29)."
    assert errors[1].startswith("line 4: not UTF-8 text")
    assert "Save the file as UTF-8" in errors[-1]


def test_text_that_is_not_valid_unicode_in_the_json_body_is_refused(school: School) -> None:
    """JSON may carry a lone surrogate, which is no character: a 400 naming the field, not a 500."""
    response = client_for(school.admin).post(
        URL,
        data=b'{"csv": "username,email,first_name,last_name,role,courses\\nada,,Ad\\ud800a,L,student,\\n"}',
        content_type="application/json",
    )

    assert response.status_code == 400, response.content
    assert response.json()["csv"] == ["Surrogate characters are not allowed: U+D800."]


def test_a_file_over_the_size_limit_is_refused(school: School) -> None:
    line = "ada,ada@school.example,Ada,Lovelace,student,MATH-1\n"
    data = (HEADER_LINE + "\n" + line * (MAX_FILE_BYTES // len(line) + 1)).encode()

    errors = file_errors(school, data)

    assert errors == [f"The file has {len(data):,} bytes; at most 1,048,576 are read. Split it into several files."]


def test_an_empty_file_and_a_header_alone_are_refused(school: School) -> None:
    assert "The file is empty" in file_errors(school, b"\n\n")[0]
    assert "no people" in file_errors(school, roster().encode())[0]


def test_each_bad_line_is_named_with_its_reasons(school: School) -> None:
    # given: good lines between bad ones
    long_name = "x" * (MAX_LINE_CHARACTERS + 1)
    text = roster(
        "ada,ada@school.example,Ada,L,student,MATH-1",  # 2 good
        "bob smith,bob@school.example,Bob,S,student,MATH-1",  # 3 username with a space
        "cy,not-an-email,Cy,S,student,MATH-1",  # 4
        "di,di@school.example,Di,S,tutor,MATH-1",  # 5 role
        "ed,ed@school.example,Ed,S,student,MATH-1;BIO-9",  # 6 unknown course
        "fay,fay@school.example,Fay,student,MATH-1",  # 7 a value short
        f"gus,gus@school.example,{long_name},S,student,MATH-1",  # 8 line too long
        "Ada,ada2@school.example,Ada,L,student,MATH-1",  # 9 same username as line 2 (case does not make two)
        "hal,ADA@school.example,Hal,L,student,MATH-1",  # 10 same email as line 2
        f"ivy,ivy@school.example,{'y' * 151},S,student,",  # 11 first name over 150
        "jo,jo@school.example,Jo,S,student,",  # 12 good
    )

    # when
    refused = refusals(school, text)

    # then
    assert sorted(refused) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert refused[2] == [
        "`username` 'ada' is also on line(s) 9.",
        "`email` 'ada@school.example' is also on line(s) 10.",
    ]
    assert any(error.startswith("`username`: Enter a valid username") for error in refused[3])
    assert refused[4] == ["`email`: Enter a valid email address."]
    assert refused[5] == ["`role` must be one of: student, teacher, admin (not 'tutor')."]
    assert refused[6] == ["no course of this school has the code 'BIO-9'."]
    assert refused[7] == ["5 values where the header has 6; quote a value that holds a comma."]
    assert refused[8] == [f"longer than {MAX_LINE_CHARACTERS} characters."]
    assert refused[9] == ["`username` 'Ada' is also on line(s) 2."]
    assert refused[10] == ["`email` 'ADA@school.example' is also on line(s) 2."]
    assert refused[11] == ["`first_name`: Ensure this value has at most 150 characters (it has 151)."]


def test_a_course_code_of_another_school_is_unknown_here(school: School) -> None:
    """Codes are looked up in the administrator's school only: the other school's HIST-9 does not exist here."""
    CourseFactory.create(organization=school.foreign_organization, code="HIST-9")

    refused = refusals(school, roster("ada,ada@school.example,Ada,L,student,HIST-9"))

    assert refused == {2: ["no course of this school has the code 'HIST-9'."]}


def test_an_email_or_username_of_another_school_is_refused_without_naming_it(school: School) -> None:
    text = roster(
        f"ada,{school.foreign_student.email},Ada,L,student,MATH-1",
        "foreign_student,fs@school.example,F,S,student,MATH-1",
    )

    refused = refusals(school, text)

    assert refused == {
        2: ["`email` 'foreign_student@example.test' is already used by an account outside this school."],
        3: ["`username` 'foreign_student' is already taken by an account outside this school."],
    }
    assert "southfield" not in str(refused).lower()


def test_identifiers_that_match_two_people_are_refused(school: School) -> None:
    # the student's username with the classmate's email; a new username with the classmate's email
    both = refusals(school, roster(f"student,{school.classmate.email},S,S,student,MATH-1"))
    new = refusals(school, roster(f"newcomer,{school.classmate.email.upper()},N,C,student,MATH-1"))

    assert both == {2: ["`username` and `email` name two different people: 'student' and 'classmate'."]}
    assert new == {
        2: [
            "`email` 'CLASSMATE@example.test' belongs to 'classmate' in this school: use that username, "
            "or another email."
        ]
    }


def test_an_import_does_not_change_roles_or_platform_operators(school: School) -> None:
    operator = User.objects.create_superuser("operator", "operator@example.test", "pass-word-123")
    operator.organization = school.organization
    operator.save()
    text = roster(
        f"teacher,{school.teacher.email},T,T,student,MATH-1",
        "operator,operator@example.test,O,P,admin,",
    )

    refused = refusals(school, text)

    assert refused[2] == ["'teacher' is a teacher and the file says student: an import does not change roles."]
    assert refused[3] == ["'operator' is a platform operator's account: change it in Django admin, not by import."]


def test_a_file_with_a_bad_line_applies_nothing_until_it_is_fixed(school: School) -> None:
    """Must-hold 3: nothing half-applied; the answer names the bad line; the fixed file applies."""
    # given
    before = people_and_enrolments()
    bad = roster(
        "ada,ada@school.example,Ada,L,student,MATH-1",
        "alan,alan@school.example,Alan,T,student,MATH-1;NOPE-1",
        f"classmate,changed@school.example,{school.classmate.first_name},{school.classmate.last_name},student,HIST-1",
    )
    admin = client_for(school.admin)

    # when
    response = admin.post(URL, {"csv": bad, "dry_run": False}, format="json")

    # then
    assert response.status_code == 400
    assert response.json() == {
        "detail": "1 line(s) of the roster are refused; nothing was applied. Fix them and import again.",
        "csv": ["line 3: no course of this school has the code 'NOPE-1'."],
    }
    assert people_and_enrolments() == before

    # when the line is fixed
    fixed = admin.post(URL, {"csv": bad.replace(";NOPE-1", ""), "dry_run": False}, format="json")

    # then
    assert fixed.status_code == 200, fixed.content
    assert fixed.json()["summary"]["created"] == 2
    assert User.objects.get(pk=school.classmate.pk).email == "changed@school.example"


def test_the_service_refuses_the_whole_file_and_says_which_lines(school: School) -> None:
    bad = roster("ada,ada@school.example,Ada,L,student,MATH-1", "bo b,,B,B,student,")

    with pytest.raises(RosterRefused) as raised:
        roster_import(organization=school.organization, data=bad.encode(), dry_run=False, now=NOW)

    assert [line["line"] for line in raised.value.result["lines"] if line["outcome"] == "refuse"] == [3]
    assert not User.objects.filter(username="ada").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "csv"),
        ({"csv": 42}, "csv"),
        ({"csv": "x", "dry_run": "yes"}, "dry_run"),
        ({"csv": "x", "apply": True}, "apply"),
    ],
)
def test_a_bad_request_body_is_a_400_naming_the_field(school: School, body: dict[str, Any], field: str) -> None:
    response = client_for(school.admin).post(URL, body, format="json")

    assert response.status_code == 400
    assert field in response.json()


# SECTION: who may import


@pytest.mark.parametrize(("role", "status"), [("student", 403), ("teacher", 403), ("admin", 200)])
def test_only_administrators_import(school: School, role: str, status: int) -> None:
    response = client_for(getattr(school, role)).post(URL, {"csv": a_good_roster()}, format="json")

    assert response.status_code == status


def test_nobody_signed_out_imports(school: School) -> None:
    assert client_for(None).post(URL, {"csv": a_good_roster()}, format="json").status_code == 401


def test_an_import_writes_into_the_administrators_school_only(school: School) -> None:
    text = roster("newbie,newbie@school.example,N,B,student,MATH-1")

    response = client_for(school.foreign_admin).post(URL, {"csv": text, "dry_run": False}, format="json")

    assert response.status_code == 200, response.content
    newbie = User.objects.get(username="newbie")
    assert newbie.organization_id == school.foreign_organization.pk
    assert list(Enrollment.objects.filter(user=newbie).values_list("course_id", flat=True)) == [
        school.foreign_course.pk
    ]


# SECTION: large files run as a job


def a_large_roster(count: int = INLINE_ROWS + 1, bad_line: int | None = None) -> str:
    lines = [f"pupil{number:04d},pupil{number:04d}@school.example,P,{number},student,MATH-1" for number in range(count)]
    if bad_line is not None:
        lines[bad_line - 2] = lines[bad_line - 2].replace("MATH-1", "NOPE-1")
    return roster(*lines)


def test_a_large_file_answers_202_and_runs_as_a_job(
    school: School, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # given
    admin = client_for(school.admin)

    # when
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        response = admin.post(URL, {"csv": a_large_roster(), "dry_run": False}, format="json")

    # then: queued, nothing written yet
    assert response.status_code == 202, response.content
    job = response.json()
    assert (job["kind"], job["status"], job["progress"], job["result"]) == ("roster_import", "queued", 0, None)
    assert response["Location"] == f"/api/v1/jobs/{job['id']}"
    assert len(enqueued) == 1
    assert not User.objects.filter(username__startswith="pupil").exists()

    # when the worker runs it
    roster_import_run(job["id"])

    # then
    done = admin.get(f"/api/v1/jobs/{job['id']}").json()
    assert (done["status"], done["progress"]) == ("succeeded", 100)
    assert done["result"]["applied"] is True
    assert done["result"]["summary"]["created"] == INLINE_ROWS + 1
    assert done["message"].startswith("Applied: 501 new people")
    assert (
        User.objects.filter(username__startswith="pupil", organization=school.organization).count() == INLINE_ROWS + 1
    )
    assert Enrollment.objects.filter(user__username__startswith="pupil", course=school.course).count() == 501

    # when the same delivery arrives again, nothing runs twice
    roster_import_run(job["id"])
    assert Job.objects.get(pk=job["id"]).status == Job.Status.SUCCEEDED


def test_a_large_file_with_a_bad_line_fails_its_job_and_applies_nothing(
    school: School, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    admin = client_for(school.admin)
    with django_capture_on_commit_callbacks(execute=False):
        response = admin.post(URL, {"csv": a_large_roster(bad_line=300), "dry_run": False}, format="json")
    job_id = response.json()["id"]

    roster_import_run(job_id)

    job = admin.get(f"/api/v1/jobs/{job_id}").json()
    assert job["status"] == "failed"
    assert job["message"].startswith("1 line(s) of the roster are refused; nothing was applied.")
    assert [(line["line"], line["errors"]) for line in job["result"]["lines"] if line["outcome"] == "refuse"] == [
        (300, ["no course of this school has the code 'NOPE-1'."])
    ]
    assert not User.objects.filter(username__startswith="pupil").exists()


def test_a_large_dry_run_is_a_job_too_and_writes_nothing(
    school: School, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    admin = client_for(school.admin)
    with django_capture_on_commit_callbacks(execute=False):
        response = admin.post(URL, {"csv": a_large_roster()}, format="json")

    roster_import_run(response.json()["id"])

    job = admin.get(f"/api/v1/jobs/{response.json()['id']}").json()
    assert job["status"] == "succeeded"
    assert job["result"]["dry_run"] is True and job["result"]["summary"]["created"] == INLINE_ROWS + 1
    assert not User.objects.filter(username__startswith="pupil").exists()


def test_a_large_file_that_cannot_be_read_is_refused_at_once(school: School) -> None:
    text = a_large_roster().replace(HEADER_LINE, "username,email")

    response = client_for(school.admin).post(URL, {"csv": text}, format="json")

    assert response.status_code == 400
    assert not Job.objects.exists()


# SECTION: Django admin


def operator_client() -> Client:
    operator = User.objects.create_superuser("operator", "operator@example.test", "pass-word-123")
    client = Client()
    client.force_login(operator)
    return client


def upload(client: Client, school: School, text: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile("roster.csv", text.encode(), content_type="text/csv")
    return client.post(
        "/admin/classroom/enrollment/import-roster/", {"organization": school.organization.pk, "file": file}
    )


def test_admin_uploads_sees_the_dry_run_then_applies(school: School) -> None:
    # given
    client = operator_client()
    fixed_names(school)
    assert b"import-roster/" in client.get("/admin/classroom/enrollment/").content

    # when
    preview = upload(client, school, a_good_roster())

    # then: the table of what would happen, and nothing written
    assert preview.status_code == 200
    page = preview.content.decode()
    assert 'id="roster-lines"' in page and "Apply the roster" in page
    assert "new.classmate@school.example" in page
    assert not User.objects.filter(username="ada").exists()

    # when confirmed
    applied = client.post(
        "/admin/classroom/enrollment/import-roster/",
        {"apply": "1", "organization": school.organization.pk, "csv": preview.context["confirm"].initial["csv"]},
    )

    # then
    assert applied.status_code == 302
    assert applied["Location"] == "/admin/classroom/enrollment/"
    assert User.objects.filter(username__in=["ada", "alan", "grace"]).count() == 3


def test_admin_shows_refused_lines_and_offers_no_apply(school: School) -> None:
    client = operator_client()

    preview = upload(client, school, roster("ada,ada@school.example,Ada,L,student,NOPE-1"))

    page = preview.content.decode()
    assert "no course of this school has the code" in page
    assert "Apply the roster" not in page


def test_admin_names_a_file_that_cannot_be_read(school: School) -> None:
    client = operator_client()

    preview = upload(client, school, roster("ada,ada@school.example,Ada,L,student,", header="username,email"))

    assert preview.status_code == 200
    assert "line 1: the header must name the columns" in preview.content.decode()


def test_admin_import_page_is_for_platform_operators(school: School) -> None:
    """Django admin is for platform operators (docs/decisions/0003): a school administrator is sent to log in."""
    client = Client()
    client.force_login(school.admin)

    response = client.get("/admin/classroom/enrollment/import-roster/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_jobs_are_listed_read_only_in_admin(school: School) -> None:
    client = operator_client()
    job = Job.objects.create(
        kind="roster_import", organization=school.organization, requested_by=school.admin, result={"a": 1}
    )

    assert client.get("/admin/core/job/").status_code == 200
    assert client.get(f"/admin/core/job/{job.pk}/change/").status_code == 200
    assert client.get("/admin/core/job/add/").status_code == 403


def test_admin_applies_a_large_file_as_a_job_and_shows_it(
    school: School, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    client = operator_client()
    text = a_large_roster()

    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        response = client.post(
            "/admin/classroom/enrollment/import-roster/",
            {"apply": "1", "organization": school.organization.pk, "csv": text},
        )

    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/core/job/{job.pk}/change/"
    assert (job.kind, job.status, len(enqueued)) == ("roster_import", Job.Status.QUEUED, 1)


def test_a_person_created_by_import_is_a_normal_member(school: School) -> None:
    """Created people work with the rest of the product: the teacher of their class sees them."""
    roster_import(
        organization=school.organization,
        data=roster("ada,ada@school.example,Ada,L,student,MATH-1").encode(),
        dry_run=False,
        now=NOW,
    )
    ada = User.objects.get(username="ada")

    assert client_for(school.teacher).get(f"/api/v1/users/{ada.pk}/").status_code == 200
    assert client_for(school.other_teacher).get(f"/api/v1/users/{ada.pk}/").status_code == 404


def test_someone_enrolled_meanwhile_is_not_enrolled_twice(school: School) -> None:
    """The checks run again when applying: an enrolment made after the dry run is seen, not duplicated."""
    text = roster(
        f"student,{school.student.email},{school.student.first_name},{school.student.last_name},student,HIST-1"
    )
    assert roster_import(organization=school.organization, data=text.encode(), dry_run=True)["summary"]["enrolled"] == 1
    EnrollmentFactory.create(user=school.student, course=school.other_course)

    result = roster_import(organization=school.organization, data=text.encode(), dry_run=False, now=NOW)

    assert result["summary"]["enrolled"] == 0
    assert Enrollment.objects.filter(user=school.student, course=school.other_course).count() == 1


# SECTION: LMS ids (optional columns)

LMS_HEADER = HEADER_LINE + ",external_source,external_id"


def test_lms_ids_are_set_kept_and_changed_by_the_optional_columns(school: School) -> None:
    # given a file that gives a new person and an existing one their Moodle ids
    first = roster(
        "ada,ada@school.example,Ada,L,student,MATH-1,moodle,4711",
        f"{school.student.username},,,,student,,moodle,4712",
        header=LMS_HEADER,
    )
    roster_import(organization=school.organization, data=first.encode(), dry_run=False, now=NOW)
    assert User.objects.get(username="ada").external_id == "4711"
    assert (User.objects.get(pk=school.student.pk).external_source, school.student.external_id) == ("moodle", "")

    # when a later file leaves the columns empty for ada and changes the student's id
    later = roster(
        "ada,ada@school.example,Ada,L,student,MATH-1,,",
        f"{school.student.username},,,,student,,moodle,9000",
        header=LMS_HEADER,
    )
    result = roster_import(organization=school.organization, data=later.encode(), dry_run=True, now=NOW)

    # then ada keeps hers, and the student's change is shown before it is applied
    assert [line["changes"] for line in result["lines"]] == [
        [{"field": "external_id", "before": "4712", "after": "9000"}]
    ]
    roster_import(organization=school.organization, data=later.encode(), dry_run=False, now=NOW)
    assert User.objects.get(username="ada").external_id == "4711"
    assert User.objects.get(pk=school.student.pk).external_id == "9000"


def test_lms_ids_given_twice_half_given_or_held_by_another_are_refused(school: School) -> None:
    User.objects.filter(pk=school.classmate.pk).update(external_source="moodle", external_id="77")
    text = roster(
        "ada,,,,student,,moodle,1",
        "alan,,,,student,,moodle,1",
        "grace,,,,student,,moodle,",
        "linus,,,,student,,moodle,77",
        "margaret,,,,student,,canvas,77",
        header=LMS_HEADER,
    )

    refused = refusals(school, text)

    assert refused[2] == ["`external_id` '1' is also on line(s) 3."]
    assert refused[3] == ["`external_id` '1' is also on line(s) 2."]
    assert refused[4] == ["Give external_source (the system the id comes from) and external_id together, or neither."]
    assert refused[5] == [f"`external_id` '77' of 'moodle' belongs to {school.classmate.username!r} in this school."]
    assert 6 not in refused  # the same id of another system is another person's

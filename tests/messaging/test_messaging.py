"""Messages to students (issue 13): the service, who may send to whom, the hourly limit, bad input, one email per
student through the email backend (locmem in tests), the notices a student reads and the log on their drill-down,
through the service, the API and the class page's form."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.utils import timezone

from classroom.models import Enrollment
from core.exceptions import ApplicationError
from messaging import selectors
from messaging.models import Message, MessageRecipient
from messaging.services import RateLimited, message_emails_send, message_send
from tests.conftest import School, client_for
from tests.factories import EnrollmentFactory, StudentFactory

NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def send(school: School, capture: Any, **given: Any) -> Any:
    """message_send as the teacher to the student and the classmate, emails sent after commit."""
    arguments: dict[str, Any] = {
        "sender": school.teacher,
        "course_id": school.course.pk,
        "student_ids": [school.student.pk, school.classmate.pk],
        "subject": "Quiz 2",
        "body": "Please hand in quiz 2 by Friday.",
        "now": NOW,
    }
    with capture(execute=True):
        return message_send(**(arguments | given))


def test_a_message_is_a_notice_an_email_and_a_log_line_per_student(
    school: School, django_capture_on_commit_callbacks: Any
) -> None:
    # when
    sent = send(school, django_capture_on_commit_callbacks)

    # then: stored once, one recipient row each
    assert sent.created and sent.recipients == [school.student.pk, school.classmate.pk]
    message = Message.objects.get()
    assert (message.sender, message.course, message.sent_at) == (school.teacher, school.course, NOW)
    # one email per student, each addressed to that student alone (no one sees another's address)
    assert sorted(email.to for email in mail.outbox) == [[school.classmate.email], [school.student.email]]
    assert all(not email.cc and not email.bcc for email in mail.outbox)
    assert mail.outbox[0].subject == f"[{school.course.code}] Quiz 2"
    assert "Please hand in quiz 2 by Friday." in mail.outbox[0].body
    assert MessageRecipient.objects.filter(emailed_at__isnull=False).count() == 2
    # the student's notice, and the log line their teacher sees on the drill-down
    [notice] = selectors.notices_for(student=school.student)
    assert (notice["subject"], notice["course_code"], notice["sent_at"]) == ("Quiz 2", school.course.code, NOW)
    [logged] = selectors.messages_to_student(student=school.student, viewer=school.teacher)
    assert (logged["subject"], logged["sent_at"], logged["emailed_at"] is not None) == ("Quiz 2", NOW, True)
    # not the classmate's own notices for the student, and nothing for a teacher of another class
    assert selectors.messages_to_student(student=school.student, viewer=school.other_teacher) == []
    assert selectors.messages_to_student(student=school.classmate, viewer=school.student) == []


def test_emailing_again_sends_only_what_is_left(school: School, django_capture_on_commit_callbacks: Any) -> None:
    """The email step is idempotent: a retry after a crash does not email anyone twice."""
    sent = send(school, django_capture_on_commit_callbacks)
    assert message_emails_send(message_id=sent.message.pk) == 0
    assert len(mail.outbox) == 2


def test_a_student_without_an_address_gets_the_notice_only(
    school: School, django_capture_on_commit_callbacks: Any
) -> None:
    school.classmate.email = ""
    school.classmate.save()
    send(school, django_capture_on_commit_callbacks)
    assert [email.to for email in mail.outbox] == [[school.student.email]]
    assert len(selectors.notices_for(student=school.classmate)) == 1


def test_the_same_request_id_sends_once(school: School, django_capture_on_commit_callbacks: Any) -> None:
    request_id = uuid.uuid4()
    first = send(school, django_capture_on_commit_callbacks, request_id=request_id)
    again = send(school, django_capture_on_commit_callbacks, request_id=request_id)
    assert (first.created, again.created, again.message.pk) == (True, False, first.message.pk)
    assert Message.objects.count() == 1 and len(mail.outbox) == 2


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"student_ids": []}, "students"),
        ({"subject": "  "}, "subject"),
        ({"subject": "x" * 151}, "subject"),
        ({"body": ""}, "body"),
        ({"body": "x" * 2001}, "body"),
    ],
)
def test_bad_input_sends_nothing_and_names_the_field(
    school: School, django_capture_on_commit_callbacks: Any, given: dict[str, Any], field: str
) -> None:
    with pytest.raises(ApplicationError) as refused:
        send(school, django_capture_on_commit_callbacks, **given)
    assert list(refused.value.errors) == [field]
    assert not Message.objects.exists() and mail.outbox == []


@pytest.mark.parametrize("who", ["other_student", "foreign_student", "teacher", "missing"])
def test_only_students_of_the_class_the_sender_may_see(
    school: School, django_capture_on_commit_callbacks: Any, who: str
) -> None:
    """A student of another class, of another school, a teacher, or no one: refused alike, and nothing is sent."""
    outsider = 987654321 if who == "missing" else getattr(school, who).pk
    with pytest.raises(ApplicationError) as refused:
        send(school, django_capture_on_commit_callbacks, student_ids=[school.student.pk, outsider])
    assert refused.value.errors == {"students": [f"Not students of this class you may message: {outsider}."]}
    assert not Message.objects.exists()


def test_a_dropped_student_is_not_messaged(school: School, django_capture_on_commit_callbacks: Any) -> None:
    Enrollment.objects.filter(user=school.classmate).update(status="dropped", ended_at=NOW)
    with pytest.raises(ApplicationError):
        send(school, django_capture_on_commit_callbacks)


@override_settings(MESSAGING_MAX_PER_HOUR=2)
def test_at_most_so_many_messages_per_sender_and_hour(school: School, django_capture_on_commit_callbacks: Any) -> None:
    # given: two messages, at 12:00 and 12:10
    send(school, django_capture_on_commit_callbacks)
    send(school, django_capture_on_commit_callbacks, now=NOW + timedelta(minutes=10))

    # when: a third at 12:30
    with pytest.raises(RateLimited) as limited:
        send(school, django_capture_on_commit_callbacks, now=NOW + timedelta(minutes=30))

    # then: refused until the first ages out at 13:00; another teacher is not limited by this one
    assert limited.value.retry_after == 30 * 60 + 1
    assert send(school, django_capture_on_commit_callbacks, now=NOW + timedelta(minutes=61)).created
    EnrollmentFactory.create(user=school.other_teacher, course=school.course, role=Enrollment.Role.TEACHER)
    assert send(school, django_capture_on_commit_callbacks, sender=school.other_teacher, now=NOW).created
    assert Message.objects.count() == 4


# SECTION: the API


def api_post(user: Any, course_id: int, body: dict[str, Any], capture: Any) -> Any:
    with capture(execute=True):
        return client_for(user).post(f"/api/v1/courses/{course_id}/messages", body, format="json")


def a_body(school: School, **changes: Any) -> dict[str, Any]:
    return {"students": [school.student.pk], "subject": "Hello", "body": "See you on Monday."} | changes


def test_the_api_sends_and_the_student_reads_their_notices(
    school: School, django_capture_on_commit_callbacks: Any
) -> None:
    # when
    response = api_post(school.teacher, school.course.pk, a_body(school), django_capture_on_commit_callbacks)

    # then
    assert response.status_code == 201, response.content
    assert response.json()["recipients"] == [school.student.pk]
    assert len(mail.outbox) == 1
    notices = client_for(school.student).get("/api/v1/notices").json()
    assert [(row["subject"], row["course_code"]) for row in notices["results"]] == [("Hello", school.course.code)]
    assert client_for(school.classmate).get("/api/v1/notices").json()["results"] == []
    assert client_for(school.teacher).get("/api/v1/notices").json()["results"] == []


def test_the_api_answers_a_repeated_request_id_with_the_first_message(
    school: School, django_capture_on_commit_callbacks: Any
) -> None:
    body = a_body(school, request_id=str(uuid.uuid4()))
    first = api_post(school.teacher, school.course.pk, body, django_capture_on_commit_callbacks)
    again = api_post(school.teacher, school.course.pk, body, django_capture_on_commit_callbacks)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("who", "course", "status"),
    [
        ("student", "course", 403),
        ("other_teacher", "course", 404),  # not their class: as if it did not exist
        ("teacher", "foreign_course", 404),
        ("admin", "course", 201),
    ],
)
def test_who_may_send(
    school: School, django_capture_on_commit_callbacks: Any, who: str, course: str, status: int
) -> None:
    response = api_post(
        getattr(school, who), getattr(school, course).pk, a_body(school), django_capture_on_commit_callbacks
    )
    assert response.status_code == status, response.content


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"students": []}, "students"),
        ({"students": ["x"]}, "students.0"),  # a bad entry is named by its place
        ({"body": "x" * 2001}, "body"),
        ({"subject": ""}, "subject"),
        ({"subject": 12}, "subject"),
        ({"cc": "everyone"}, "cc"),
    ],
)
def test_the_api_refuses_bad_input_naming_the_field(
    school: School, django_capture_on_commit_callbacks: Any, changes: dict[str, Any], field: str
) -> None:
    response = api_post(school.teacher, school.course.pk, a_body(school, **changes), django_capture_on_commit_callbacks)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Message.objects.exists()


@override_settings(MESSAGING_MAX_PER_HOUR=1)
def test_the_api_answers_429_with_retry_after(school: School, django_capture_on_commit_callbacks: Any) -> None:
    assert (
        api_post(school.teacher, school.course.pk, a_body(school), django_capture_on_commit_callbacks).status_code
        == 201
    )
    response = api_post(school.teacher, school.course.pk, a_body(school), django_capture_on_commit_callbacks)
    assert response.status_code == 429
    assert 3500 < int(response["Retry-After"]) <= 3601


# SECTION: the class page's form and the student's pages


def page_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_form_sends_to_everyone_in_the_filter_and_comes_back(
    school: School, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    teacher = page_client(school.teacher)
    form = {
        "everyone": "1",
        "filtered": f"{school.student.pk},{school.classmate.pk}",
        "subject": "Missing work",
        "body": "Quiz 2 is missing.",
        "request_id": str(uuid.uuid4()),
    }

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = teacher.post(f"/classes/{school.course.pk}/messages/?days=7&status=missing", form)

    # then: back to the page as it was, with a confirmation; each student has a notice on their page
    assert response.status_code == 302
    assert response["Location"] == f"/classes/{school.course.pk}/dashboard/?days=7&status=missing"
    assert "Message sent to 2 students." in teacher.get(response["Location"]).content.decode()
    assert len(mail.outbox) == 2
    own_page = page_client(school.student).get("/progress/").content.decode()
    assert "Messages from your teachers" in own_page and "Quiz 2 is missing." in own_page
    drill_down = teacher.get(f"/students/{school.student.pk}/progress/").content.decode()
    assert "Messages sent to this student" in drill_down and "Missing work" in drill_down


def test_the_form_without_students_is_a_400_with_the_error(school: School) -> None:
    response = page_client(school.teacher).post(
        f"/classes/{school.course.pk}/messages/", {"subject": "Hello", "body": "Kept as typed."}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose at least one student." in html and "Kept as typed." in html
    assert not Message.objects.exists()


def test_the_form_is_not_for_students(school: School) -> None:
    response = page_client(school.student).post(
        f"/classes/{school.course.pk}/messages/", {"students": [school.classmate.pk], "subject": "a", "body": "b"}
    )
    assert response.status_code == 404
    assert not Message.objects.exists()


def test_a_new_student_of_the_class_is_found_by_the_form(school: School) -> None:
    """The form's recipients are the class's students (visible_students), not a copy made when the page loaded."""
    newcomer = StudentFactory.create(organization=school.organization)
    EnrollmentFactory.create(user=newcomer, course=school.course, enrolled_at=timezone.now())
    response = page_client(school.teacher).post(
        f"/classes/{school.course.pk}/messages/", {"students": [newcomer.pk], "subject": "Welcome", "body": "Hi."}
    )
    assert response.status_code == 302
    assert list(MessageRecipient.objects.values_list("student_id", flat=True)) == [newcomer.pk]

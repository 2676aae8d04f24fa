"""Issue 13, must hold 1, in Chromium: a teacher filters the class to one assignment, clicks its "missing" count,
sees exactly the students without a submission, selects them and sends a message; a student who got it logs in and
sees it on their page; a student who did hand in sees nothing; the message is logged per student (rows, and the
teacher's drill-down) and emailed to each student separately (Django's locmem backend in tests)."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Browser, Page
from pytest_django.live_server_helper import LiveServer

from classroom.models import LearningItem, Submission
from messaging.models import Message, MessageRecipient
from tests.conftest import School
from tests.e2e.test_dashboards_browser import log_in, only_this_server
from tests.factories import EnrollmentFactory, LearningItemFactory, ModuleFactory, StudentFactory, SubmissionFactory

TIMEOUT_MS = 15_000

# The live server sees only committed rows.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def coursework(school: School) -> dict[str, Any]:
    """Two assignments already due in MATH-1 and a third student: the essay was handed in by `student` only (so
    `classmate` and `third` are missing it); the quiz by `classmate` only (a filter on the quiz lists others)."""
    now = timezone.now()
    third = StudentFactory.create(organization=school.organization, username="third", first_name="Thea")
    EnrollmentFactory.create(user=third, course=school.course)
    module = ModuleFactory.create(course=school.course, title="Writing")
    essay = LearningItemFactory.create(
        module=module, kind=LearningItem.Kind.ASSIGNMENT, title="Essay 1", due_at=now - timedelta(days=3)
    )
    quiz = LearningItemFactory.create(
        module=module, kind=LearningItem.Kind.QUIZ, title="Quiz 2", due_at=now - timedelta(days=2)
    )
    for item, student in ((essay, school.student), (quiz, school.classmate)):
        SubmissionFactory.create(
            item=item,
            student=student,
            submitted_at=now - timedelta(days=4),
            state=Submission.State.ON_TIME,
            score=Decimal(7),
            max_points=Decimal(10),
        )
    return {"essay": essay, "quiz": quiz, "third": third}


def rows_shown(page: Page) -> set[int]:
    return {
        int(value)
        for value in page.locator("table[data-table=students] tbody tr[data-student]").evaluate_all(
            "rows => rows.map(row => row.dataset.student)"
        )
    }


def test_teacher_messages_the_students_missing_an_assignment(
    school: School,
    coursework: dict[str, Any],
    live_server: LiveServer,
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Playwright's sync API runs an event loop in this thread; the test's own reads of what was stored are plain
    # synchronous queries, made while no request of this thread is in flight.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    essay, third = coursework["essay"], coursework["third"]
    without_submission = {school.classmate.pk, third.pk}
    teacher = browser.new_context().new_page()
    elsewhere = only_this_server(teacher, live_server)
    log_in(teacher, live_server, school.teacher.username)

    # given: the class page, filtered to the essay with the filter beside the timeframe (no reload; the URL keeps it)
    teacher.goto(f"{live_server.url}/classes/{school.course.pk}/dashboard/")
    teacher.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length >= 4", timeout=TIMEOUT_MS)
    assert rows_shown(teacher) == {school.student.pk, school.classmate.pk, third.pk}
    with teacher.expect_response(lambda response: "fragment=1" in response.url):
        teacher.select_option("#item-filter", str(essay.pk))
    teacher.wait_for_function(
        f"() => document.querySelectorAll('table[data-table=assignments] tbody tr[data-item]').length === 1 "
        f"&& document.querySelector('tr[data-item=\"{essay.pk}\"]') !== null",
        timeout=TIMEOUT_MS,
    )
    assert f"item={essay.pk}" in teacher.url

    # when: the essay's "missing" count is clicked
    missing = teacher.locator(f"tr[data-item='{essay.pk}'] a[data-who=missing]")
    assert missing.inner_text() == "2"
    with teacher.expect_navigation():
        missing.click()

    # then: exactly the students without a submission
    assert "status=missing" in teacher.url and f"item={essay.pk}" in teacher.url
    assert rows_shown(teacher) == without_submission
    assert teacher.locator("#status-filter").input_value() == "missing"

    # when: everyone in this filter is selected and the message sent
    teacher.check("[data-everyone]")
    assert teacher.locator("[data-selected-count]").inner_text() == "2 students selected."
    assert teacher.locator("input[data-select-student]:checked").count() == 2
    teacher.fill("#message-subject", "Essay 1 is missing")
    teacher.fill("#message-body", "Please hand in Essay 1 by Friday.")
    with teacher.expect_navigation():
        teacher.click("button[data-send]")

    # then: confirmed on the same filtered page, stored once, logged per student, one email per student
    assert teacher.locator("[data-message-sent]").inner_text() == "Message sent to 2 students."
    assert "status=missing" in teacher.url and rows_shown(teacher) == without_submission
    message = Message.objects.get()
    assert (message.sender_id, message.course_id, message.subject) == (
        school.teacher.pk,
        school.course.pk,
        "Essay 1 is missing",
    )
    assert set(MessageRecipient.objects.values_list("student_id", flat=True)) == without_submission
    assert sorted(email.to for email in mail.outbox) == sorted([[school.classmate.email], [third.email]])
    teacher.goto(f"{live_server.url}/students/{third.pk}/progress/")
    assert "Essay 1 is missing" in teacher.locator("table[data-table=messages-log]").inner_text()

    # when: a student who got it logs in
    student = browser.new_context().new_page()
    log_in(student, live_server, third.username)
    student.goto(f"{live_server.url}/progress/")

    # then: the notice is on their page
    notices = student.locator("[data-notices]")
    assert "Essay 1 is missing" in notices.inner_text()
    assert "Please hand in Essay 1 by Friday." in notices.inner_text()

    # and a student who handed in sees none
    handed_in = browser.new_context().new_page()
    log_in(handed_in, live_server, school.student.username)
    handed_in.goto(f"{live_server.url}/progress/")
    assert "Essay 1 is missing" not in handed_in.content()
    assert "No messages yet." in handed_in.locator("[data-notices]").inner_text()
    assert elsewhere == []

"""Issue 14, must hold 4, in Chromium against daphne (HTTP and WebSocket, as `./dev run` serves them): a teacher opens
the class dashboard, sees a flagged student with the reasons, marks the prediction useful and logs an intervention
(a message to the student, sent and logged by the messaging app); an alert raised while the page is open appears
in "Students at risk" without a reload, with the teacher's focus left where it was. And an administrator's "train
now" on the institution page follows its job to the new version's card."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser

from core.jobs import job_finish, job_progress, job_start
from core.models import Job
from messaging.models import MessageRecipient
from risk.alerts import alerts_for_predictions
from risk.models import Intervention, PredictionFeedback
from tests.conftest import School
from tests.e2e.test_live_browser import daphne_url, database_url, log_in
from tests.risk.factories import IDLE, MISSING, model_version, prediction

__all__ = ["daphne_url", "database_url"]  # fixtures, imported so that pytest finds them here

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
MISSING_TEXT, IDLE_TEXT = str(MISSING["text"]), str(IDLE["text"])
TIMEOUT_MS = 10_000
LIVE_WITHIN_MS = 2_000  # the live pages' bar (tests/e2e/test_live_browser.py)


@pytest.fixture
def flagged(school: School) -> dict[str, Any]:
    """An active model has scored MATH-1: `student` is high (83 %, missing work and idle days) with an open alert;
    `classmate` was low the night before."""
    now = timezone.now()
    version = model_version(organization=school.organization)
    latest = prediction(
        student=school.student, course=school.course, as_of=now - timedelta(hours=1), probability=0.83, version=version
    )
    calm = prediction(
        student=school.classmate,
        course=school.course,
        as_of=now - timedelta(days=1),
        level="low",
        probability=0.12,
        version=version,
        factors=[],
    )
    [alert] = alerts_for_predictions([latest, calm])
    return {"version": version, "latest": latest, "alert": alert}


def test_a_teacher_acts_on_a_flagged_student_and_sees_a_new_alert_live(
    school: School,
    flagged: dict[str, Any],
    daphne_url: str,
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Playwright's sync API runs an event loop in this thread; the test's own reads and writes are plain synchronous
    # queries, made while no request of this thread is in flight.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    log_in(page, daphne_url, school.teacher.username)
    page.goto(f"{daphne_url}/classes/{school.course.pk}/dashboard/")
    page.wait_for_selector("[data-live-state=live]", timeout=TIMEOUT_MS)
    page.evaluate("() => { window.__sameDocument = true; }")

    # given: the flagged student first, with the level, the probability and the reasons against the class
    section = page.locator("[data-risk-section]")
    rows = section.locator("tbody tr[data-student]")
    assert rows.evaluate_all("rows => rows.map(row => Number(row.dataset.student))") == [
        school.student.pk,
        school.classmate.pk,
    ]
    row = section.locator(f"tr[data-student='{school.student.pk}']")
    assert row.locator("[data-risk-level]").inner_text() == "High"
    assert row.locator("[data-risk-probability]").inner_text() == "83 %"
    assert row.locator("[data-risk-factors] li").all_inner_texts() == [MISSING_TEXT, IDLE_TEXT]
    assert row.locator("[data-alert-state]").inner_text() == "Open"

    # when: the teacher marks the prediction useful
    useful = row.locator("button[data-verdict-choice=useful]")
    useful.click()

    # then: stored for this teacher, and the button shows it (from the row the server sent back)
    page.wait_for_selector(f"tr[data-student='{school.student.pk}'][data-verdict=useful]", timeout=TIMEOUT_MS)
    assert useful.get_attribute("aria-pressed") == "true"
    assert row.locator("button[data-verdict-choice=not_useful]").get_attribute("aria-pressed") == "false"
    feedback = PredictionFeedback.objects.get()
    assert (feedback.prediction_id, feedback.teacher_id, feedback.verdict) == (
        flagged["latest"].pk,
        school.teacher.pk,
        "useful",
    )

    # when: the teacher logs an intervention: a message to the student
    row.locator("details.intervention summary").click()
    form = row.locator("form[data-intervention-form]")
    form.locator("select[name=kind]").select_option("message")
    form.locator("input[name=subject]").fill("Essay 1")
    form.locator("textarea[name=body]").fill("Can we find a time to talk about Essay 1 this week?")
    form.locator("textarea[name=note]").fill("Missed two deadlines in a row.")
    form.locator("[data-intervention-submit]").click()

    # then: confirmed, stored on the alert, and the message sent through the class messaging (and logged there)
    toast = page.locator("[data-risk-toast]")
    toast.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => document.querySelector('[data-risk-toast]').textContent.startsWith('Intervention logged')",
        timeout=TIMEOUT_MS,
    )
    assert toast.inner_text().endswith("; the message was sent.")
    intervention = Intervention.objects.get()
    assert (intervention.alert_id, intervention.teacher_id, intervention.kind, intervention.note) == (
        flagged["alert"].pk,
        school.teacher.pk,
        "message",
        "Missed two deadlines in a row.",
    )
    assert intervention.message is not None and intervention.message.subject == "Essay 1"
    assert list(MessageRecipient.objects.filter(message=intervention.message).values_list("student_id", flat=True)) == [
        school.student.pk
    ]
    assert form.locator("textarea[name=note]").input_value() == ""  # the form was cleared for the next one

    # given: the teacher's focus on the student's "Not useful" button
    keep = row.locator("button[data-verdict-choice=not_useful]")
    keep.focus()
    page.evaluate("() => { window.__focused = document.activeElement; }")

    # when: tonight's scoring flags the classmate, while the page is open
    risen = prediction(
        student=school.classmate,
        course=school.course,
        as_of=timezone.now(),
        probability=0.91,
        version=flagged["version"],
        factors=[IDLE],
    )
    [alert] = alerts_for_predictions([risen])

    # then: the classmate's new alert is in the list within the live bar, highest risk first, without a reload
    page.wait_for_selector(f"tr[data-student='{school.classmate.pk}'][data-alert='{alert.pk}']", timeout=LIVE_WITHIN_MS)
    classmate = section.locator(f"tr[data-student='{school.classmate.pk}']")
    assert classmate.locator("[data-risk-level]").inner_text() == "High"
    assert classmate.locator("[data-risk-probability]").inner_text() == "91 %"
    assert classmate.locator("[data-alert-state]").inner_text() == "Open"
    assert classmate.locator("[data-risk-factors] li").all_inner_texts() == [IDLE_TEXT]
    assert rows.evaluate_all("rows => rows.map(row => Number(row.dataset.student))") == [
        school.classmate.pk,
        school.student.pk,
    ]
    assert page.evaluate("() => window.__sameDocument") is True
    assert page.evaluate("() => document.activeElement === window.__focused && window.__focused.isConnected")


def test_an_administrator_trains_now_and_follows_the_job(
    school: School, daphne_url: str, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Train now" queues a job and shows its progress and message as the worker reports them (the test plays the
    worker through core.jobs); when it succeeds, the new version's card appears without a reload."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    log_in(page, daphne_url, school.admin.username)
    page.goto(f"{daphne_url}/institution/")
    page.evaluate("() => { window.__sameDocument = true; }")
    assert page.locator("[data-models-empty]").is_visible()

    # when: "Train now"
    page.click("button[data-train]")

    # then: one job queued for the school, asked by the administrator, followed on the page
    status = page.locator("[data-train-status]")
    page.wait_for_function(
        "() => document.querySelector('[data-train-status]').textContent.startsWith('Queued')", timeout=TIMEOUT_MS
    )
    job = Job.objects.get(kind="risk.train")
    assert (job.requested_by_id, job.organization_id) == (school.admin.pk, school.organization.pk)
    assert job_start(job_id=job.pk, message="Reading the enrolments")
    job_progress(job_id=job.pk, percent=40, message="Cross-validating")
    page.wait_for_function(
        "() => document.querySelector('[data-train-status]').textContent === 'Training (40 %): Cross-validating'",
        timeout=TIMEOUT_MS,
    )
    assert page.locator("[data-train-progress]").evaluate("bar => bar.value") == 40

    # when: the run ends with a version
    version = model_version(organization=school.organization)
    job_finish(
        job_id=job.pk,
        result={"model_version": version.pk, "status": version.status, "decision": version.decision, "roc_auc": 0.84},
        message="Activated",
    )

    # then: done, and the version's card is on the page without a reload
    page.wait_for_selector(f"[data-model-card='{version.pk}']", timeout=TIMEOUT_MS)
    assert status.inner_text() == "Done (100 %): Activated"
    assert page.evaluate("() => window.__sameDocument") is True

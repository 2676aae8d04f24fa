"""Issue 16, must hold 5, in Chromium against daphne (HTTP and WebSocket, as `./dev run` serves them): a student opens
their progress page and sees their next steps with the reasons and the explanation line (EduPath's words, and the
note saying why: Gemini is off); they dismiss one, and the list is replaced without a reload — the dismissed step
gone, the next in line shown; and when their next steps are refreshed while the page is open (the live
`recommendations` message), the list is read again and re-rendered in place."""

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page

from accounts.models import User
from analytics.services import events_ingest
from classroom.models import LearningItem
from recommendations.models import Recommendation
from recommendations.services import refresh_course
from risk.alerts import alerts_for_predictions
from tests.conftest import School
from tests.e2e.test_live_browser import daphne_url, database_url, log_in
from tests.factories import EnrollmentFactory, LearningItemFactory, ModuleFactory, StudentFactory
from tests.risk.factories import model_version, prediction

__all__ = ["daphne_url", "database_url"]  # fixtures, imported so that pytest finds them here

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
TIMEOUT_MS = 10_000
LIVE_WITHIN_MS = 2_000  # the live pages' bar (tests/e2e/test_live_browser.py)
SHOWN = 5  # dashboards.recommendation_parts.SHOWN
READINGS = 10


def _view(student: User, item: LearningItem, when: Any) -> None:
    body = {
        "event_id": str(uuid4()),
        "action": "material_view",
        "timestamp": when.isoformat(),
        "course": item.module.course_id,
        "item": item.pk,
    }
    outcome = events_ingest(items=[body], principal=student, now=timezone.now(), horizon=None)
    assert outcome.accepted == 1 and not outcome.dead_letters, outcome


@pytest.fixture
def next_steps(school: School) -> list[LearningItem]:
    """MATH-1 this week: ten readings, which the student's nine classmates opened in the last days (reading n by
    fewer of them as n grows), the student none; their next steps written as the nightly job would."""
    now = timezone.now()
    classmates = [school.classmate] + [StudentFactory.create(organization=school.organization) for _ in range(8)]
    for student in classmates[1:]:
        EnrollmentFactory.create(user=student, course=school.course)
    module = ModuleFactory.create(course=school.course, title="This week")
    readings = [
        LearningItemFactory.create(
            module=module, kind=LearningItem.Kind.RESOURCE, title=f"Reading {n}", max_points=None, due_at=None
        )
        for n in range(1, READINGS + 1)
    ]
    for n, reading in enumerate(readings):
        for index, classmate in enumerate(classmates[: max(1, 9 - n)]):
            _view(classmate, reading, now - timedelta(days=1 + index % 5, hours=n))
    refresh_course(course=school.course, now=timezone.now())
    assert Recommendation.objects.filter(student=school.student, status="active").count() > SHOWN
    return readings


def _titles(page: Page) -> list[str]:
    return page.locator("[data-next-steps] li[data-recommendation] [data-next-step-title]").all_inner_texts()


def test_a_student_dismisses_a_next_step_and_another_takes_its_place_without_a_reload(
    school: School,
    next_steps: list[LearningItem],
    daphne_url: str,
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Playwright's sync API runs an event loop in this thread; the test's own reads and writes are plain synchronous
    # queries, made while no request of this thread is in flight.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    log_in(page, daphne_url, school.student.username)
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    page.goto(f"{daphne_url}/progress/")
    page.wait_for_selector("[data-live-state=live]", timeout=TIMEOUT_MS)
    page.evaluate("() => { window.__sameDocument = true; }")
    loaded = len(navigations)

    # given: five next steps, each with its reasons and facts, and the explanation line with its note
    panel = page.locator("[data-next-steps]")
    before = _titles(page)
    assert len(before) == SHOWN and all(title.startswith("Reading ") for title in before)
    first = panel.locator("li[data-recommendation]").first
    reason = first.locator("[data-next-step-reason]").inner_text()
    assert "classmates" in reason and "opened it" in reason
    assert first.locator("[data-next-step-relevance]").inner_text().endswith(" %")
    page.wait_for_function(
        "() => !document.querySelector('[data-explanation-text]').textContent.startsWith('Loading')",
        timeout=TIMEOUT_MS,
    )
    assert panel.locator("[data-next-steps-explanation]").get_attribute("data-source") == "local"
    assert panel.locator("[data-explanation-text]").inner_text().strip()
    assert panel.locator("[data-explanation-note]").inner_text().strip()  # why the words are EduPath's
    more = panel.locator("[data-explanation-more]")  # the local text names every step's facts: three lines first
    assert more.is_visible()
    more.click()
    assert more.get_attribute("aria-expanded") == "true" and more.inner_text() == "Show less"

    # when: the student dismisses the first
    dismissed = before[0]
    first.locator("button[data-next-step-action=dismiss]").click()

    # then: the list is re-rendered in place from the answer: the dismissed step gone, the next in line shown
    page.wait_for_function(
        "(title) => ![...document.querySelectorAll('[data-next-steps] [data-next-step-title]')]"
        ".some((node) => node.textContent === title)",
        arg=dismissed,
        timeout=TIMEOUT_MS,
    )
    after = _titles(page)
    assert dismissed not in after and len(after) == SHOWN
    assert set(after) - set(before), (before, after)  # a replacement
    assert page.locator("[data-next-steps-status]").inner_text().startswith(f"Dismissed “{dismissed}”")
    assert page.evaluate("() => window.__sameDocument") is True and len(navigations) == loaded  # no reload
    stored = Recommendation.objects.get(student=school.student, title=dismissed, status="dismissed")
    assert stored.dismissed_at is not None
    # the buttons of the new list work: "Helpful" on the first is stored
    top_entry = page.locator("[data-next-steps] li[data-recommendation]").first
    top_entry.locator("button[data-next-step-action=helpful]").click()
    top_entry.locator("button[data-next-step-action=helpful][aria-pressed=true]").wait_for(timeout=TIMEOUT_MS)
    rated = Recommendation.objects.get(pk=int(top_entry.get_attribute("data-recommendation") or 0))
    assert rated.feedback.helpful is True

    # when: the student opens the top reading elsewhere, and their next steps are refreshed while the page is open
    top = next(reading for reading in next_steps if reading.title == after[0])
    _view(school.student, top, timezone.now())
    refresh_course(course=school.course, student_ids=[school.student.pk], announce=True, now=timezone.now())

    # then: the live message has the list read again: the opened reading is gone, without a reload
    page.wait_for_function(
        "(title) => ![...document.querySelectorAll('[data-next-steps] [data-next-step-title]')]"
        ".some((node) => node.textContent === title)",
        arg=top.title,
        timeout=LIVE_WITHIN_MS,
    )
    assert len(_titles(page)) == SHOWN and dismissed not in _titles(page)
    assert page.evaluate("() => window.__sameDocument") is True and len(navigations) == loaded


def test_a_teacher_reads_the_next_steps_and_asks_for_ideas_on_an_alert(
    school: School,
    next_steps: list[LearningItem],
    daphne_url: str,
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Staff see the student's next steps read-only with "Recommended before"; on the class page, "Ideas" on an alert
    shows the intervention ideas with the note saying who wrote them, and they stay through a live patch."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    version = model_version(organization=school.organization)
    latest = prediction(
        student=school.student, course=school.course, as_of=timezone.now(), probability=0.83, version=version
    )
    [alert] = alerts_for_predictions([latest])
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    log_in(page, daphne_url, school.teacher.username)

    # the student's page: read-only, with what was recommended before
    page.goto(f"{daphne_url}/students/{school.student.pk}/progress/")
    panel = page.locator("[data-next-steps]")
    assert len(_titles(page)) == SHOWN
    assert panel.locator("button[data-next-step-action]").count() == 0
    panel.locator("[data-next-steps-history-part] summary").click()
    assert panel.locator("[data-next-steps-history] tr[data-row]").first.is_visible()
    assert panel.locator("[data-next-steps-history] tr[data-row]").count() >= SHOWN
    page.wait_for_function(
        "() => !document.querySelector('[data-explanation-text]').textContent.startsWith('Loading')",
        timeout=TIMEOUT_MS,
    )

    # the class page: ideas on the student's alert
    page.goto(f"{daphne_url}/classes/{school.course.pk}/dashboard/")
    page.wait_for_selector("[data-live-state=live]", timeout=TIMEOUT_MS)
    row = page.locator(f"[data-risk-section] tr[data-alert='{alert.pk}']")
    button = row.locator("button[data-alert-ideas-button]")
    button.click()
    box = row.locator("[data-alert-ideas]")
    box.locator("[data-ideas-list] li").first.wait_for(timeout=TIMEOUT_MS)
    assert button.get_attribute("aria-expanded") == "true" and button.inner_text() == "Hide ideas"
    assert box.get_attribute("data-source") == "local"
    assert box.locator("[data-ideas-note]").inner_text().strip()  # who wrote them, and why

    # a patch of the part (here: the teacher's own feedback, which re-reads it) keeps the ideas open
    page.evaluate(
        "() => { window.__patches = 0; document.addEventListener('dashboard:updated', () => window.__patches++); }"
    )
    row.locator("button[data-verdict-choice=useful]").click()
    page.wait_for_function("() => window.__patches > 0", timeout=TIMEOUT_MS)
    assert box.is_visible() and box.locator("[data-ideas-list] li").count() >= 1

    # and "Hide ideas" closes them
    button.click()
    assert box.is_hidden() and button.get_attribute("aria-expanded") == "false"

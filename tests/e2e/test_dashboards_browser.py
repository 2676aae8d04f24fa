"""The dashboards in Chromium: a teacher and a student log in through the login form, open their page, and find the
numbers the API returns for the same scope; the charts are drawn by the locally served Chart.js; the timeframe
picker changes the data without reloading the page; nothing is fetched from another host."""

import importlib
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
from django.apps import apps as django_apps
from django.utils import timezone
from playwright.sync_api import Browser, Page
from pytest_django.live_server_helper import LiveServer

from analytics.services import events_ingest
from dashboards.templatetags.dashboards_format import duration
from tests.conftest import School

PASSWORD = "pass-word-123"  # tests.factories.UserFactory
TIMEOUT_MS = 15_000

# The live server sees only committed rows. Transactional tests empty every table afterwards, the rows migrations
# create included, so `activity` puts the default XP rules and achievements back (idempotently).
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
DEFAULT_RULES = importlib.import_module("gamification.migrations.0002_default_rules")


@pytest.fixture
def activity(school: School) -> School:
    """Recent events for the student and the classmate, through the ingestion path (XP inline in tests)."""
    DEFAULT_RULES.create(django_apps, None)
    now = timezone.now()

    def post(student: Any, minutes_ago: int, action: str, **metadata: Any) -> None:
        body = {
            "event_id": str(uuid4()),
            "action": action,
            "timestamp": (now - timedelta(minutes=minutes_ago)).isoformat(),
            "course": school.course.pk,
            "item": school.item.pk,
            "metadata": metadata,
        }
        assert events_ingest(items=[body], principal=student, now=now, horizon=None).accepted == 1

    post(school.student, 90, "material_view", duration=600)
    post(school.student, 60, "lesson_complete", duration=1200)
    post(school.classmate, 30, "quiz_submit", duration=300, score=8, max_score=10)
    return school


def log_in(page: Page, server: LiveServer, username: str) -> None:
    page.goto(f"{server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")


def metric(page: Page, name: str) -> str:
    return page.locator(f"[data-dashboard] [data-metric='{name}']").first.inner_text().strip()


def shown(value: Any) -> str:
    return "—" if value is None else str(value)


def only_this_server(page: Page, server: LiveServer) -> list[str]:
    host = urlsplit(server.url).hostname
    elsewhere: list[str] = []

    def route(route: Any, request: Any) -> None:
        url = urlsplit(request.url)
        if url.scheme in ("data", "blob", "about") or url.hostname == host:
            route.continue_()
        else:
            elsewhere.append(request.url)
            route.abort()

    page.route("**/*", route)
    return elsewhere


def test_teacher_class_dashboard_shows_the_api_numbers(
    activity: School, live_server: LiveServer, browser: Browser
) -> None:
    school = activity
    page = browser.new_page()
    elsewhere = only_this_server(page, live_server)
    log_in(page, live_server, school.teacher.username)

    page.goto(f"{live_server.url}/classes/{school.course.pk}/dashboard/")
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length >= 4", timeout=TIMEOUT_MS)
    api = page.request.get(f"{live_server.url}/api/v1/analytics/dashboards/meso?course={school.course.pk}").json()

    for name in ("students_enrolled", "active_students", "events", "items_completed"):
        assert metric(page, name) == str(api[name]), name
    for name in ("engagement_rate", "average_score_percent", "average_progress_percent"):
        assert metric(page, name) == shown(api[name]), name
    rows = page.locator("table[data-table=students] tbody tr")
    assert rows.count() == len(api["students"]) == 2
    for row in api["students"]:
        cells = page.locator(f"tr[data-student='{row['student']}'] td").all_inner_texts()
        assert cells[:3] == [str(row["events"]), duration(row["active_minutes"]), str(row["progress_percent"])]

    # The timeframe picker swaps in the 7-day figures without a reload: the marker set on this window survives.
    page.evaluate("() => { window.__sameDocument = true; }")
    with page.expect_response(lambda response: "fragment=1" in response.url):
        page.select_option("#period-picker", "7d")
    page.wait_for_function("() => document.querySelector('[data-metric=as_of]') !== null")
    assert page.evaluate("() => window.__sameDocument") is True
    assert "period=7d" in page.url
    week = page.request.get(f"{live_server.url}/api/v1/analytics/dashboards/meso?course={school.course.pk}&period=7d")
    assert metric(page, "events") == str(week.json()["events"])
    assert page.locator("table[data-table=engagement] tbody tr").count() == 7
    assert elsewhere == []


def test_student_progress_page_shows_the_api_numbers(
    activity: School, live_server: LiveServer, browser: Browser
) -> None:
    school = activity
    page = browser.new_page()
    elsewhere = only_this_server(page, live_server)
    log_in(page, live_server, school.student.username)

    page.goto(f"{live_server.url}/progress/")
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length >= 3", timeout=TIMEOUT_MS)
    api = page.request.get(f"{live_server.url}/api/v1/analytics/dashboards/micro").json()

    for name in ("xp", "level", "xp_to_next_level", "items_completed", "items_total"):
        assert metric(page, name) == str(api[name]), name
    assert metric(page, "overall_progress_percent") == shown(api["overall_progress_percent"])
    assert metric(page, "streak.current") == str(api["streak"]["current"])
    for name in ("events", "materials_completed"):
        assert metric(page, f"activity.{name}") == str(api["activity"][name]), name
    assert metric(page, "activity.active_minutes") == duration(api["activity"]["active_minutes"]) == "30 min"
    assert api["xp"] == 22 and api["activity"]["events"] == 2  # 2 + 20 XP; the classmate's event is not hers
    # two students in the class: below the peer minimum, so no class average for a student
    assert "Shown when at least 5 students take part." in page.locator("table[data-table=courses]").inner_text()
    assert page.locator("table[data-table=recent] tbody tr").count() == 2
    assert elsewhere == []

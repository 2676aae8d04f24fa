"""Live pages in Chromium against daphne (HTTP and WebSocket, as `./dev run` serves them): with a student's progress
page or a teacher's class dashboard open, an event posted through the API changes the page's XP and progress within
2 seconds, without a reload; with Redis stopped the pages still work from PostgreSQL and show that they are offline,
and they go live again when Redis returns."""

import importlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

import pytest
import requests
from django.apps import apps as django_apps
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Browser, Page

from tests.conftest import School
from tests.processes import free_port, wait_until_answering

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PROJECT_DIR = Path(__file__).resolve().parents[2]
PASSWORD = "pass-word-123"  # tests.factories.UserFactory
LIVE_WITHIN_MS = 2_000  # the bar
DEFAULT_RULES = importlib.import_module("gamification.migrations.0002_default_rules")


@pytest.fixture
def database_url(school: School) -> str:
    """The test database (the test is transactional: its rows are committed), with the default XP rules back.
    Requested before `browser`: Playwright's loop makes the thread async for Django."""
    DEFAULT_RULES.create(django_apps, None)
    database = connection.settings_dict
    return (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
    )


@contextmanager
def running_daphne(database_url: str, extra_env: dict[str, str]) -> Iterator[str]:
    """daphne in its own process on `database_url`."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
        cwd=PROJECT_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": database_url, **extra_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/accounts/login/", server)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def daphne_url(database_url: str) -> Iterator[str]:
    with running_daphne(database_url, {}) as url:
        yield url


def log_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")


def post_event(url: str, school: School) -> None:
    """A lesson completed by the student, through the tracking API with the student's JWT."""
    token = requests.post(
        f"{url}/api/v1/auth/token/", json={"username": school.student.username, "password": PASSWORD}, timeout=10
    ).json()["access"]
    body = {
        "event_id": str(uuid4()),
        "action": "lesson_complete",
        "timestamp": timezone.now().isoformat(),
        "course": school.course.pk,
        "item": school.item.pk,
        "metadata": {"duration": 300},
    }
    response = requests.post(
        f"{url}/api/v1/events/", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 201, response.text


def metric(page: Page, name: str) -> str:
    return page.locator(f"[data-dashboard] [data-metric='{name}']").first.inner_text().strip()


def changed_within(page: Page, names: list[str], before: dict[str, str]) -> None:
    """Every metric in `names` shows another value than `before` within LIVE_WITHIN_MS of now."""
    page.wait_for_function(
        """([names, before]) => names.every((name) => {
            const element = document.querySelector(`[data-dashboard] [data-metric='${name}']`);
            return element && element.textContent.trim() !== before[name];
        })""",
        arg=[names, before],
        timeout=LIVE_WITHIN_MS,
    )


def test_a_students_page_follows_their_events_live(school: School, daphne_url: str, browser: Browser) -> None:
    page = browser.new_page()
    log_in(page, daphne_url, school.student.username)
    page.goto(f"{daphne_url}/progress/")
    page.wait_for_selector("[data-live-state=live]", timeout=10_000)
    page.evaluate("() => { window.__sameDocument = true; }")
    names = ["xp", "items_completed", "overall_progress_percent"]
    before = {name: metric(page, name) for name in names}

    post_event(daphne_url, school)

    changed_within(page, names, before)
    assert (metric(page, "xp"), metric(page, "items_completed")) == ("20", "1")  # lesson_complete: 20 XP
    assert page.evaluate("() => window.__sameDocument") is True  # no reload


def test_a_teachers_class_dashboard_follows_events_live(school: School, daphne_url: str, browser: Browser) -> None:
    page = browser.new_page()
    log_in(page, daphne_url, school.teacher.username)
    page.goto(f"{daphne_url}/classes/{school.course.pk}/dashboard/")
    page.wait_for_selector("[data-live-state=live]", timeout=10_000)
    page.evaluate("() => { window.__sameDocument = true; }")
    names = ["events", "items_completed", "average_progress_percent"]
    before = {name: metric(page, name) for name in names}

    post_event(daphne_url, school)

    changed_within(page, names, before)
    assert metric(page, "events") == str(int(before["events"]) + 1)
    row = page.locator(f"tr[data-student='{school.student.pk}'] td").all_inner_texts()
    assert row[0] == "1"  # the student's events in the students table
    assert page.evaluate("() => window.__sameDocument") is True


class PrivateRedis:
    """A redis-server of this test's own, which the test may stop and start again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (./dev test installs it on a fresh machine)")
    redis = PrivateRedis()
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


def test_pages_stay_usable_without_redis_and_go_live_again(
    school: School, database_url: str, private_redis: PrivateRedis, browser: Browser
) -> None:
    with running_daphne(database_url, {"REDIS_URL": f"redis://127.0.0.1:{private_redis.port}"}) as url:
        page = browser.new_page()
        log_in(page, url, school.student.username)
        page.goto(f"{url}/progress/")
        page.wait_for_selector("[data-live-state=live]", timeout=10_000)

        private_redis.stop()
        # the open page notices, and a fresh one still renders from PostgreSQL; the REST API answers
        page.wait_for_selector("[data-live-state=offline]", timeout=15_000)
        assert page.reload() is not None
        assert metric(page, "xp") == "0"
        assert page.request.get(f"{url}/api/v1/analytics/dashboards/micro").status == 200
        page.wait_for_selector("[data-live-state=offline]", timeout=15_000)

        private_redis.start()
        page.wait_for_selector("[data-live-state=live]", timeout=40_000)  # backoff: 1, 2, 4, 8 ... s
        before = {name: metric(page, name) for name in ("xp", "items_completed")}
        post_event(url, school)
        changed_within(page, ["xp", "items_completed"], before)

"""Swagger UI renders in a real browser without a single request leaving the machine (the docs must work offline:
schools run behind restrictive firewalls, and third-party CDNs would learn who reads our docs)."""

import shutil
from contextlib import suppress
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Request, Route, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from pytest_django.live_server_helper import LiveServer

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # Chromium's own background traffic (updates, sync, field trials) is not the page's and must not muddy the record.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RENDER_TIMEOUT_MS = 30_000
# Inline resources (SVG icons in Swagger's CSS) involve no network at all.
NON_NETWORK_SCHEMES = {"data", "blob", "about"}


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "Debian's chromium is not installed; install it with `apt-get install -y chromium` (./dev test does this "
            "on a fresh machine). Never `playwright install`: the suite uses the system browser."
        )
    return path


@pytest.mark.e2e
def test_api_docs_render_without_leaving_the_machine(live_server: LiveServer) -> None:
    # given
    server_host = urlsplit(live_server.url).hostname
    seen: list[str] = []
    left_the_machine: list[str] = []

    def only_this_server(route: Route, request: Request) -> None:
        url = urlsplit(request.url)
        if url.scheme in NON_NETWORK_SCHEMES or url.hostname == server_host:
            route.continue_()
        else:
            left_the_machine.append(request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: seen.append(request.url))
            page.route("**/*", only_this_server)

            # when
            response = page.goto(f"{live_server.url}/api/docs/")
            # A page that never renders fails below, after the more telling check on outside requests.
            with suppress(PlaywrightTimeoutError):
                page.wait_for_selector(".opblock", timeout=RENDER_TIMEOUT_MS)
            operations = page.locator(".opblock").count()
            title = page.locator(".info .title").all_inner_texts()
        finally:
            browser.close()

    # then
    assert left_the_machine == [], f"requests to other hosts: {left_the_machine}"
    assert response is not None
    assert response.status == 200
    assert any(urlsplit(url).path == "/api/schema/" for url in seen), seen
    assert operations > 0, "Swagger UI rendered no operations"
    assert any("EduPath Analytics API" in text for text in title), title

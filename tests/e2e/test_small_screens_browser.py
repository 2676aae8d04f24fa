"""The dashboards on a 390 px phone in Chromium: the page never scrolls sideways (wide tables scroll inside their
card), the top bar takes at most two lines, and the first Tab lands on "Skip to content". bench/screenshots.py
checks the same width on the demo data; this holds it on test data for each page and the role that opens it."""

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize
from pytest_django.live_server_helper import LiveServer

from tests.conftest import School
from tests.e2e.test_dashboards_browser import TIMEOUT_MS, activity, log_in, only_this_server

__all__ = ["activity"]  # fixtures, imported so that pytest finds them here

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE: ViewportSize = {"width": 390, "height": 844}

# For every table: the nearest ancestor that scrolls sideways (overflow-x auto or scroll), whether it lies inside a
# card (.card or a chart figure) and within the window, and whether it actually scrolls (content wider than it).
TABLES_SCROLL_IN_CARDS = """() => Array.from(document.querySelectorAll("main table")).map((table) => {
  let box = table.parentElement;
  while (box && !["auto", "scroll"].includes(getComputedStyle(box).overflowX)) { box = box.parentElement; }
  const card = table.closest(".card, .chart");
  const rect = box ? box.getBoundingClientRect() : null;
  return {
    table: table.dataset.table || "(unnamed)",
    scroller: Boolean(box),
    insideCard: Boolean(box && card && card.contains(box)),
    withinWindow: Boolean(rect && rect.left >= 0 && rect.right <= window.innerWidth),
    scrolls: Boolean(box && box.scrollWidth > box.clientWidth),
  };
})"""

# The top bar's lines: its visible items grouped by vertical overlap, and its height against two of its tallest.
TOP_BAR = """() => {
  const bar = document.querySelector(".topbar");
  const items = Array.from(bar.querySelectorAll(".brand, nav > *"))
    .map((element) => element.getBoundingClientRect()).filter((rect) => rect.height > 0)
    .sort((a, b) => a.top - b.top);
  let lines = 0, bottom = -Infinity;
  for (const rect of items) {
    if (rect.top >= bottom - 1) { lines += 1; bottom = rect.bottom; } else { bottom = Math.max(bottom, rect.bottom); }
  }
  const style = getComputedStyle(bar);
  const chrome = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom) + parseFloat(style.rowGap || 0);
  const tallest = Math.max(...items.map((rect) => rect.height));
  return { lines, height: bar.getBoundingClientRect().height, twoLines: 2 * tallest + chrome + 1 };
}"""


def open_on_a_phone(
    browser: Browser, live_server: LiveServer, username: str, path: str, charts: int
) -> tuple[Page, list[str]]:
    """The page at 390 px as `username`, charts drawn; and the list of requests to other hosts (refused)."""
    page = browser.new_page(viewport=PHONE)
    elsewhere = only_this_server(page, live_server)
    log_in(page, live_server, username)
    page.goto(f"{live_server.url}{path}")
    page.wait_for_function(f"() => window.Chart && Object.keys(Chart.instances).length >= {charts}", timeout=TIMEOUT_MS)
    return page, elsewhere


def assert_fits_a_phone(page: Page) -> list[dict[str, Any]]:
    """No sideways page scroll, every table scrolling inside its own card, the top bar on two lines at most."""
    page_width, window_width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert window_width == PHONE["width"]
    assert page_width <= window_width, f"the page is {page_width} px wide in a {window_width} px window"
    tables: list[dict[str, Any]] = page.evaluate(TABLES_SCROLL_IN_CARDS)
    assert tables, "no table on the page"
    for table in tables:
        assert table["scroller"] and table["insideCard"] and table["withinWindow"], table
    bar = page.evaluate(TOP_BAR)
    assert bar["lines"] <= 2, bar
    assert bar["height"] <= bar["twoLines"], bar
    return tables


PAGES: dict[str, tuple[Callable[[School], str], Callable[[School], str], int]] = {
    "class dashboard (teacher)": (lambda s: s.teacher.username, lambda s: f"/classes/{s.course.pk}/dashboard/", 4),
    "student page (the student)": (lambda s: s.student.username, lambda s: "/progress/", 3),
    "student page (teacher)": (lambda s: s.teacher.username, lambda s: f"/students/{s.student.pk}/progress/", 3),
    "institution page (administrator)": (lambda s: s.admin.username, lambda s: "/institution/", 2),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_page_fits_a_390_px_phone(name: str, activity: School, live_server: LiveServer, browser: Browser) -> None:
    """At 390 px the page itself never scrolls sideways: a reader who swipes a wide table moves only that table."""
    # given
    username, path, charts = PAGES[name]

    # when
    page, elsewhere = open_on_a_phone(browser, live_server, username(activity), path(activity), charts)

    # then
    tables = assert_fits_a_phone(page)
    if name.startswith("class dashboard"):
        # the students table (nine columns) is wider than a phone: it scrolls, inside its card
        students = next(table for table in tables if table["table"] == "students")
        assert students["scrolls"], students
    assert elsewhere == []


def test_first_tab_reaches_the_skip_link(activity: School, live_server: LiveServer, browser: Browser) -> None:
    """Keyboard users skip the top bar: the first Tab focuses "Skip to content", Enter moves focus to the page."""
    # given
    page, _ = open_on_a_phone(
        browser, live_server, activity.teacher.username, f"/classes/{activity.course.pk}/dashboard/", 4
    )

    # when
    page.keyboard.press("Tab")

    # then
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Skip to content"
    assert page.locator(".skip-link").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "content"

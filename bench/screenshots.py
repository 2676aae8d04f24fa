"""Screenshots of the three dashboards, so anyone can look at them without setting anything up.

Usage (from the project root, PostgreSQL and Redis running, Debian's chromium installed):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edupath_screenshots .venv/bin/python bench/screenshots.py \
        [--out docs/screenshots] [--skip-setup]

Uses a database of its own: migrates it and loads what `./dev run` loads (seed_demo, four weeks of demo activity
through the ingestion path, XP for it), starts gunicorn (as bench/process_model.py does), logs in through the login
form as the demo student, teacher and administrator in headless Chromium, and saves full-page PNGs of each page at
a laptop width (1366 px) and a phone width (390 px):

- student-1366.png, student-390.png: "My progress" (student1);
- class-1366.png, class-390.png: the class dashboard of teacher1's first class;
- institution-1366.png, institution-390.png: the institution dashboard (admin).

At 390 px it checks that the page does not scroll sideways (wide tables scroll inside their card) and stops with
an error naming the page if it does (tests/e2e/test_small_screens_browser.py tests the same on test data).
Every number in them comes from that database. The last line printed is `RESULT pages=3 widths=1366,390
out=<folder>`.
"""

import argparse
import os
import shutil
import signal
import tempfile
from pathlib import Path

import psycopg
from playwright.sync_api import Page, sync_playwright
from process_model import (
    HOST,
    PROJECT_DIR,
    free_port,
    manage,
    running_server,
    server_command,
    stop_on_signal,
    wait_until_serving,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/edupath_screenshots"
# The public demo password (config.settings.base.DEMO_PASSWORD), unless the environment sets another.
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "edupath-demo")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A common laptop width and a common phone width (CSS pixels); the phone is drawn at its device pixel ratio 1.
WIDTHS = ((1366, 900), (390, 844))


def log_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def shoot(page: Page, url: str, path: Path, charts: int) -> None:
    page.goto(url)
    page.wait_for_function(f"() => window.Chart && Object.keys(Chart.instances).length >= {charts}", timeout=30_000)
    page_width, window_width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if page_width > window_width:
        raise SystemExit(f"{url} scrolls sideways at {window_width} px: the page is {page_width} px wide")
    page.screenshot(path=str(path), full_page=True)
    print(f"{path}: {url}")


def first_class_of(database_url: str, username: str) -> int:
    with psycopg.connect(database_url) as connection:
        row = connection.execute(
            "SELECT c.id FROM classroom_course c JOIN classroom_enrollment e ON e.course_id = c.id "
            "JOIN accounts_user u ON u.id = e.user_id WHERE u.username = %s AND e.role = 'teacher' ORDER BY c.code",
            [username],
        ).fetchone()
    if row is None:
        raise SystemExit(f"{username} teaches no class: did seed_demo run?")
    return int(row[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNGs (default docs/screenshots)")
    parser.add_argument("--skip-setup", action="store_true", help="do not migrate and load the demo data")
    parser.add_argument("--password", default=DEMO_PASSWORD, help="the demo password (DEMO_PASSWORD)")
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, stop_on_signal)
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's chromium is not installed (apt-get install chromium)")
    out = (PROJECT_DIR / arguments.out).resolve()
    out.mkdir(parents=True, exist_ok=True)

    if not arguments.skip_setup:
        for command in (
            ("migrate", "--noinput", "--verbosity", "0"),
            ("seed_demo",),
            ("generate_demo_activity",),
            ("award_xp",),
        ):
            manage(*command, database_url=database_url)
    course = first_class_of(database_url, "teacher1")

    port = free_port()
    log_dir = Path(tempfile.mkdtemp(prefix="edupath-screenshots-"))
    with running_server(server_command("gunicorn", port, "sync"), database_url, log_dir / "gunicorn.log") as server:
        wait_until_serving(port, server, log_dir / "gunicorn.log")
        base = f"http://{HOST}:{port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            try:
                for username, url, name, charts in (
                    ("student1", f"{base}/progress/", "student", 3),
                    ("teacher1", f"{base}/classes/{course}/dashboard/", "class", 4),
                    ("admin", f"{base}/institution/", "institution", 2),
                ):
                    for width, height in WIDTHS:
                        context = browser.new_context(viewport={"width": width, "height": height})
                        page = context.new_page()
                        log_in(page, base, username, arguments.password)
                        shoot(page, url, out / f"{name}-{width}.png", charts)
                        context.close()
            finally:
                browser.close()
    widths = ",".join(str(width) for width, _ in WIDTHS)
    shown = out.relative_to(PROJECT_DIR) if out.is_relative_to(PROJECT_DIR) else out
    print(f"RESULT pages=3 widths={widths} out={shown}")


if __name__ == "__main__":
    main()

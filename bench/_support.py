"""Helpers shared by the benchmarks (bench/ingest.py, ingest_durability.py, dashboards.py, gamification.py, live.py).

Server start/stop, ports and the environment are reused from bench/process_model.py (same settings:
config.settings.local with DJANGO_DEBUG=false; gunicorn config.wsgi:application with 2 sync workers, in its own
process group so that the whole group is stopped on exit). This module adds: an integration API key for the demo
school, the demo enrolments, and generators of valid learning events for them.
"""

import http.client
import json
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from process_model import (
    HOST,
    PROJECT_DIR,
    free_port,
    manage,
    running_server,
    server_command,
    server_environment,
    stop_on_signal,
    stop_process_group,
    wait_until_serving,
)

__all__ = [
    "HOST",
    "PROJECT_DIR",
    "free_port",
    "manage",
    "running_server",
    "server_command",
    "server_environment",
    "stop_on_signal",
    "stop_process_group",
    "wait_until_serving",
]

REQUEST_TIMEOUT_SECONDS = 60
# Actions with the metadata an LMS typically sends; a mix of viewed / completed / scored events.
ACTIONS = [
    ("material_view", lambda r: {"duration": r.randint(5, 600), "device": "web"}),
    ("material_complete", lambda r: {"duration": r.randint(30, 900)}),
    ("video_play", lambda r: {"duration": r.randint(5, 300), "position": r.randint(0, 1200)}),
    ("quiz_submit", lambda r: {"score": r.randint(0, 10), "max_score": 10, "attempts": r.randint(1, 3)}),
    ("page_view", lambda r: {}),
]


@dataclass(frozen=True)
class Demo:
    organization_id: int
    api_key: str
    enrolments: list[tuple[int, int]]  # (student id, course id)
    items: dict[int, list[int]]  # course id -> item ids


CREATE_KEY = """
import json
from accounts.api_keys import api_key_create
from accounts.models import Organization, User
student = User.objects.get(username="student1")
organization = Organization.objects.get(pk=student.organization_id)
_, key = api_key_create(organization=organization, name="bench-ingest")
print("BENCH_JSON " + json.dumps({"organization_id": organization.pk, "api_key": key}))
"""


def demo_setup(database_url: str) -> Demo:
    """Create an integration API key for the demo school (through accounts.api_keys.api_key_create, in a
    `manage.py shell`), and read the demo students' active enrolments and each course's items."""
    output = subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [sys.executable, "manage.py", "shell", "-c", CREATE_KEY],
        cwd=PROJECT_DIR,
        env=server_environment(database_url),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH_JSON "))
    created = json.loads(line.removeprefix("BENCH_JSON "))
    with psycopg.connect(database_url) as connection:
        enrolments = connection.execute(
            "SELECT e.user_id, e.course_id FROM classroom_enrollment e JOIN accounts_user u ON u.id = e.user_id "
            "WHERE e.status = 'active' AND u.username LIKE 'student%%' AND u.organization_id = %s ORDER BY 1, 2",
            [created["organization_id"]],
        ).fetchall()
        items: dict[int, list[int]] = {}
        for item_id, course_id in connection.execute(
            "SELECT i.id, m.course_id FROM classroom_learningitem i JOIN classroom_module m ON m.id = i.module_id"
        ):
            items.setdefault(course_id, []).append(item_id)
    if not enrolments:
        raise SystemExit("no active student enrolments: did seed_demo run?")
    return Demo(created["organization_id"], created["api_key"], [tuple(row) for row in enrolments], items)


def make_event(demo: Demo, rng: random.Random, now: datetime) -> dict[str, Any]:
    """A valid event as an integration posts it: a demo student in one of their courses, on one of its items,
    a few minutes ago, with a fresh uuid4."""
    student, course = rng.choice(demo.enrolments)
    action, metadata = rng.choice(ACTIONS)
    item = rng.choice(demo.items[course])
    return {
        "event_id": str(uuid.uuid4()),
        "actor": student,
        "action": action,
        "resource_type": "item",
        "resource_id": f"item-{item}",
        "timestamp": (now - timedelta(seconds=rng.randint(60, 600))).isoformat().replace("+00:00", "Z"),
        "session_id": f"s-{student}-{rng.randint(1, 50)}",
        "course": course,
        "item": item,
        "metadata": metadata(rng),
    }


def make_batches(demo: Demo, count: int, size: int, seed: int = 1) -> list[list[dict[str, Any]]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    return [[make_event(demo, rng, now) for _ in range(size)] for _ in range(count)]


def batch_body(events: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"events": events})


def api_headers(demo: Demo) -> dict[str, str]:
    return {"Authorization": f"Api-Key {demo.api_key}", "Content-Type": "application/json"}


def post(connection: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


@dataclass(frozen=True)
class Reply:
    """One timed GET: its number (from 0, warm-up calls included), status and body, or the error that ended it."""

    number: int
    status: int
    content: bytes
    elapsed_ms: float
    error: str | None = None


def timed_gets(port: int, path: str, token: str, calls: int) -> Iterator[Reply]:
    """`calls` sequential GETs of `path` with a bearer token over one http.client connection (reopened after a
    failure), each timed from sending the request to reading the whole body. The caller skips its warm-up calls and
    decides what counts as a success; it may stop early by leaving the loop."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        for number in range(calls):
            began = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                content = response.read()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                yield Reply(number, 0, b"", 0.0, f"{exc.__class__.__name__}: {exc}")
                continue
            elapsed = (time.perf_counter() - began) * 1000
            yield Reply(number, response.status, content, elapsed)
    finally:
        connection.close()


def percentile(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def database_url_for(database_url: str, name: str) -> str:
    base, _, _ = database_url.rpartition("/")
    return f"{base}/{name}"


def access_token(port: int, username: str, password: str) -> str:
    """A JWT access token for `username` from the server on `port` (POST /api/v1/auth/token/); exits on failure."""
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        status, content = post(
            connection,
            "/api/v1/auth/token/",
            orjson.dumps({"username": username, "password": password}),
            {"Content-Type": "application/json"},
        )
    finally:
        connection.close()
    if status != 200:
        raise SystemExit(f"login as {username} failed: HTTP {status}: {content[:300]!r}")
    token: str = orjson.loads(content)["access"]
    return token


def migrate_and_import_oulad(oulad: str, *, skip_import: bool) -> None:
    """Migrate the benchmark's database and import OULAD into it (`manage.py import_oulad PATH`, idempotent);
    `skip_import` reuses an earlier import."""
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=PROJECT_DIR, check=True)  # noqa: S603
    if not skip_import:
        began = time.perf_counter()
        subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", "import_oulad", oulad], cwd=PROJECT_DIR, check=True
        )
        print(f"# OULAD import: {time.perf_counter() - began:.0f} s", flush=True)

"""Measure the live stream (/ws/live/): latency from an event POST to the first WebSocket message that reflects it.

Usage (from the project root, PostgreSQL and Redis running):

    createdb -h 127.0.0.1 -U postgres edupath_bench_live
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edupath_bench_live .venv/bin/python bench/live.py \
        [--clients 1000] [--rate-a 200] [--rate-b 20] [--seconds 20] [--scenario a|b|both] [--skip-setup]

Use a database of its own: the run adds users, classes and events to it. Unless --skip-setup, it migrates that
database and creates the demo data (`seed_demo --quiet`). Then, always, a `manage.py shell` step (idempotent) creates
through the project's services, in the demo school: 4 bench classes (BENCH-LIVE-1..4, one module of 6 lessons each),
`--clients` students (live-student-NNNN, student i in class i % 4) and `--clients` teachers (live-teacher-NNNN, all
teaching BENCH-LIVE-1), an integration API key, and a JWT access token per user (simplejwt, as the login would give).

Servers, as deployed (docs/decisions/0002-process-model.md; config.settings.local, DJANGO_DEBUG=false), each on a free
127.0.0.1 port in its own process group, always stopped on exit:
- `scripts/serve_live.py -n <--ws-processes>` (default: one per core) serves /ws/live/ only: that many daphne
  processes of config.asgi:application, on one port through SO_REUSEPORT (how it is deployed: decision 0008);
- gunicorn config.wsgi:application --workers 2 (sync) serves HTTP: the tickets and the event POSTs. The ingestion's
  on-commit hook (live.publish.scopes_changed) therefore runs in gunicorn, as in production.

The servers get a channel-layer prefix of their own (CHANNELS_PREFIX) and Redis database 14 for the cache (watch
index, tickets, throttles): the scratch database's user ids overlap those of a running `./dev run`.

(a0) First, for comparison, `--baseline-seconds` (default 5) of the same POSTs at `--rate-a` with nobody connected:
    the request's cost without the live publish's sends.
Scenarios (each: wait until daphne is idle, connect, measure, close every socket):
(a) `--clients` students, each on their own `progress` stream. Each client fetches a single-use ticket
    (POST /api/v1/realtime/ticket with its own JWT), connects to ws://.../ws/live/?ticket=... (Origin: an allowed
    host; no permessage-deflate), sends {"type": "subscribe", "channels": ["progress"]} and waits for `subscribed`.
    Events for random students (in their class, on one of its items, `material_view`, uuid4 ids, event i
    timestamped (time the bodies were built - 2 s) + i / rate, i.e. shortly before it is sent) are POSTed to
    /api/v1/events/ with `actor` and the API key, open loop at `--rate-a` per second for `--seconds`.
    "Reflects it": a `live_update` on the student's socket whose `snapshot.events_today` is at least the student's
    count before the run (read from analytics_studentdailyrollup for today, each class's day, as the snapshot
    does) plus k, for the student's k-th event of the run (in send order), received after that event was sent.
    One latency per event.
(b) `--clients` teachers of BENCH-LIVE-1, each with its own ticket, subscribed to {"channels": ["engagement"],
    "course": <id>}. Events for random students of that class at `--rate-b` per second. "Reflects it": the first
    of (a `user_event` carrying the event's id; a `live_update` whose `events_today` reaches the class's count
    before the run plus k, received after the send). One latency per receipt: every client x every event.
Latency = receive time (time.monotonic() when the bench's loop reads the frame's bytes) - the time the POST was sent
(same clock, in the poster process). An event / receipt with no reflecting message within `--timeout` seconds
(default 5) is missed. Method details:
- One asyncio event loop in this process drives every socket (a minimal WebSocket client, LiveSocket: it keeps
  each message's bytes and arrival time and decodes the JSON after the run); the POSTs are sent by 16 threads in a
  separate process (so that the GIL of the receiving loop does not delay the sends), each request due at
  start + i / rate (open loop). The soft RLIMIT_NOFILE is raised to the hard limit first (inherited by the servers).
- The client loop's lag (a 10 ms timer's overshoot) is reported: when it is large, the bench itself adds latency.
- Breakdown from the reflecting messages' `as_of` (server clock = same machine): send -> as_of and as_of -> receive.
  A live_update's as_of is taken before its snapshot is computed; a user_event's after its events were read.
- CPU seconds of each daphne process (main thread, other threads), gunicorn, redis-server and postgres during
  each measurement (from /proc); open sockets per daphne process after connecting (how the kernel spread them).
- Caveats: all on one machine (2 cores shared by servers, PostgreSQL, Redis and the clients). A run across local
  midnight of a class's time zone would miscount the baselines. XP is awarded by Celery (no worker runs here:
  the tasks go to a throw-away queue), so no level_up / achievement arrives; they are not needed to match.

The last line printed is:

    RESULT clients=... p95_ms=<the worse scenario's p95> a_p95_ms=... b_p95_ms=... a_p50_ms=... b_p50_ms=... missed=...

(missed = events of (a) plus receipts of (b) not reflected within the timeout). No assertion: the figures are the
output; the issue's goal is p95 < 250 ms in both.
"""

import argparse
import asyncio
import base64
import bisect
import contextlib
import hashlib
import http.client
import json
import multiprocessing
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import psycopg
from _support import (
    HOST,
    PROJECT_DIR,
    REQUEST_TIMEOUT_SECONDS,
    free_port,
    manage,
    percentile,
    running_server,
    server_command,
    server_environment,
    stop_on_signal,
    wait_until_serving,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/edupath_bench_live"
CLASSES = 4
POSTER_THREADS = 16
SETUP_CONCURRENCY = 32
LAG_TICK_SECONDS = 0.01
BENCH_REDIS_DB_CACHE = 14
SETTLE_TIMEOUT_SECONDS = 120

SETUP = """
import json
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken
from accounts.api_keys import api_key_create
from accounts.models import Organization, Role, User
from accounts.services import user_create
from classroom.models import Course, Enrollment, LearningItem
from classroom.services import course_create, enrollment_create, learning_item_create, module_create

CLIENTS, CLASSES = {clients}, {classes}
organization = Organization.objects.get(pk=User.objects.get(username="student1").organization_id)
now = timezone.now()
courses = []
for n in range(1, CLASSES + 1):
    course = Course.objects.filter(organization=organization, code=f"BENCH-LIVE-{{n}}").first()
    if course is None:
        course = course_create(organization=organization, title=f"Live bench class {{n}}", code=f"BENCH-LIVE-{{n}}")
        module = module_create(course=course, title="Week 1", position=1)
        for position in range(1, 7):
            learning_item_create(module=module, kind="lesson", title=f"Lesson {{position}}", position=position)
    courses.append(course)


def ensure(prefix, role):
    existing = {{user.username: user for user in User.objects.filter(username__startswith=prefix)}}
    users = []
    for index in range(1, CLIENTS + 1):
        name = f"{{prefix}}{{index:04d}}"
        user = existing.get(name)
        if user is None:
            user = user_create(
                username=name, organization=organization, role=role, first_name="Live", last_name=f"{{index:04d}}"
            )
        users.append(user)
    return users


students = ensure("live-student-", Role.STUDENT)
teachers = ensure("live-teacher-", Role.TEACHER)
active = set(
    Enrollment.objects.filter(course__in=courses, status="active").values_list("user_id", "course_id")
)
with transaction.atomic():
    for index, student in enumerate(students):
        course = courses[index % CLASSES]
        if (student.pk, course.pk) not in active:
            enrollment_create(user=student, course=course, enrolled_at=now)
    for teacher in teachers:
        if (teacher.pk, courses[0].pk) not in active:
            enrollment_create(user=teacher, course=courses[0], role=Enrollment.Role.TEACHER, enrolled_at=now)
_, key = api_key_create(organization=organization, name="bench-live")
items = {{
    course.pk: list(LearningItem.objects.filter(module__course=course).order_by("pk").values_list("pk", flat=True))
    for course in courses
}}
print("BENCH_JSON " + json.dumps({{
    "organization_id": organization.pk,
    "time_zone": organization.time_zone,
    "api_key": key,
    "courses": [course.pk for course in courses],
    "course_time_zones": [course.time_zone or organization.time_zone for course in courses],
    "items": items,
    "students": [[student.pk, courses[index % CLASSES].pk, str(AccessToken.for_user(student))]
                 for index, student in enumerate(students)],
    "teachers": [[teacher.pk, str(AccessToken.for_user(teacher))] for teacher in teachers],
}}))
"""


@dataclass(frozen=True)
class LiveSetup:
    organization_id: int
    time_zone: str
    api_key: str
    courses: list[int]
    course_time_zones: list[str]
    items: dict[int, list[int]]
    students: list[tuple[int, int, str]]  # (user id, class id, access token)
    teachers: list[tuple[int, str]]  # (user id, access token)


def live_setup(database_url: str, clients: int) -> LiveSetup:
    output = subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [sys.executable, "manage.py", "shell", "-c", SETUP.format(clients=clients, classes=CLASSES)],
        cwd=PROJECT_DIR,
        env=server_environment(database_url),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH_JSON "))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return LiveSetup(
        organization_id=data["organization_id"],
        time_zone=data["time_zone"],
        api_key=data["api_key"],
        courses=data["courses"],
        course_time_zones=data["course_time_zones"],
        items={int(course): items for course, items in data["items"].items()},
        students=[(pk, course, token) for pk, course, token in data["students"]],
        teachers=[(pk, token) for pk, token in data["teachers"]],
    )


# --- events and the poster process -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    event_id: str
    student: int
    body: bytes


def plan_events(setup: LiveSetup, students: list[tuple[int, int]], count: int, seed: int, rate: float) -> list[Planned]:
    """`count` valid events for students drawn at random from (student id, class id) pairs. Event i occurred at
    (now - 2 s) + i / rate: before it is sent (at start + i / rate, start being later than now), each at its own
    instant (the hub finds a notification's learner actions by occurred_at, at most 50 per notification)."""
    rng = random.Random(seed)
    origin = datetime.now(UTC) - timedelta(seconds=2)
    planned = []
    for index in range(count):
        stamp = (origin + timedelta(seconds=index / rate)).isoformat().replace("+00:00", "Z")
        student, course = rng.choice(students)
        item = rng.choice(setup.items[course])
        event_id = str(uuid.uuid4())
        event = {
            "event_id": event_id,
            "actor": student,
            "action": "material_view",
            "resource_type": "item",
            "resource_id": f"item-{item}",
            "timestamp": stamp,
            "session_id": f"live-{student}",
            "course": course,
            "item": item,
            "metadata": {"duration": rng.randint(5, 600), "device": "bench-live"},
        }
        planned.append(Planned(event_id, student, orjson.dumps(event)))
    return planned


def post_schedule(
    port: int, api_key: str, bodies: list[bytes], rate: float, start_at: float
) -> tuple[list[float], list[float], list[str]]:
    """In the poster process: POST body i at start_at + i / rate (time.monotonic(), system-wide on Linux) from
    POSTER_THREADS threads. Returns (send time per body, NaN when not sent; response ms per body; errors)."""
    headers = {"Authorization": f"Api-Key {api_key}", "Content-Type": "application/json"}
    sent = [float("nan")] * len(bodies)
    answered = [float("nan")] * len(bodies)
    errors: list[str] = []

    def sender(k: int) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_SECONDS)
        for i in range(k, len(bodies), POSTER_THREADS):
            delay = start_at + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.monotonic()
            try:
                connection.request("POST", "/api/v1/events/", body=bodies[i], headers=headers)
                response = connection.getresponse()
                content = response.read()
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{exc.__class__.__name__}: {exc}")
                connection.close()
                continue
            if response.status != 201:
                errors.append(f"HTTP {response.status}: {content[:200]!r}")
                continue
            sent[i] = began
            answered[i] = (time.monotonic() - began) * 1000
        connection.close()

    threads = [threading.Thread(target=sender, args=(k,), daemon=True) for k in range(POSTER_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sent, answered, errors


# --- WebSocket clients -----------------------------------------------------------------------------------------------


WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x8, 0x9, 0xA, 0x0


def _frame(opcode: int, payload: bytes) -> bytes:
    """A client frame: final, masked (RFC 6455 5.3)."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        head = bytes([0x80 | opcode, 0x80 | length])
    elif length < 1 << 16:
        head = bytes([0x80 | opcode, 0x80 | 126]) + length.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + length.to_bytes(8, "big")
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes((mask * (length // 4 + 1))[:length], "big")).to_bytes(
        length, "big"
    )
    return head + mask + masked


class LiveSocket(asyncio.Protocol):
    """A minimal WebSocket client (RFC 6455) for measuring: it stamps each text message with the time its bytes
    were read from the socket and keeps the raw bytes; JSON is decoded after the measurement. The websockets library
    cost ~29 us per message here (half a core at scenario b's 18 000 messages a second, on a machine the servers
    share); this costs a few us, so the client's own load adds little to the latencies it measures."""

    def __init__(self, key: str) -> None:
        loop = asyncio.get_running_loop()
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.reply: asyncio.Future[bytes] | None = None  # the next message, when someone waits for it
        self.fragments = bytearray()
        self.messages: list[tuple[float, bytes]] = []
        self.close_code: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError("closed during the handshake"))
        if self.reply is not None and not self.reply.done():
            self.reply.set_exception(ConnectionError("closed"))
        if self.close_code is None:
            self.close_code = 1006
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.buffer += data
        if not self.upgraded.done():
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1")
            del self.buffer[: end + 4]
            # SHA-1 is what RFC 6455 prescribes for the handshake (not a security use)
            digest = hashlib.sha1((self.key + WEBSOCKET_GUID).encode(), usedforsecurity=False).digest()
            expected = base64.b64encode(digest).decode()
            status, *lines = head.split("\r\n")
            fields = (line.partition(":") for line in lines)
            headers = {name.strip().lower(): value.strip() for name, _, value in fields}
            if not status.startswith("HTTP/1.1 101") or headers.get("sec-websocket-accept") != expected:
                self.upgraded.set_exception(ConnectionError(f"handshake refused: {status}"))
                return
            self.upgraded.set_result(None)
        self._read_frames(now)

    def _read_frames(self, now: float) -> None:
        buffer = self.buffer
        while len(buffer) >= 2:
            first, second = buffer[0], buffer[1]
            length, start = second & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            opcode = first & 0x0F
            if opcode in (TEXT, CONTINUATION):
                if not first & 0x80:
                    self.fragments += payload
                    continue
                message = bytes(self.fragments) + payload if self.fragments else payload
                self.fragments.clear()
                if self.reply is not None and not self.reply.done():
                    self.reply.set_result(message)
                else:
                    self.messages.append((now, message))
            elif opcode == PING:
                self.write(PONG, payload)
            elif opcode == CLOSE:
                self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self.write(CLOSE, payload[:2])
                if self.transport is not None:
                    self.transport.close()

    def write(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_frame(opcode, payload))

    async def next_message(self, timeout: float) -> bytes:
        self.reply = asyncio.get_running_loop().create_future()
        try:
            return await asyncio.wait_for(self.reply, timeout)
        finally:
            self.reply = None

    async def close(self) -> None:
        self.write(CLOSE, (1000).to_bytes(2, "big"))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.closed), 5)
        if self.transport is not None:
            self.transport.close()


async def live_connect(port: int, path: str, origin: str) -> LiveSocket:
    loop = asyncio.get_running_loop()
    key = base64.b64encode(os.urandom(16)).decode()
    _, socket = await loop.create_connection(lambda: LiveSocket(key), HOST, port)
    assert socket.transport is not None
    socket.transport.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
        ).encode()
    )
    try:
        await asyncio.wait_for(socket.upgraded, REQUEST_TIMEOUT_SECONDS)
    except BaseException:
        socket.transport.close()
        raise
    return socket


@dataclass
class Client:
    user_id: int
    token: str
    socket: LiveSocket | None = None
    setup_ms: float = 0.0
    failure: str = ""
    # (receive time, kind, value, as_of): kind "count" (a live_update's events_today) or "event" (a user_event's id)
    received: list[tuple[float, str, Any, str]] = field(default_factory=list)

    def decode(self) -> None:
        """Turn the raw messages kept during the measurement into `received` (after it)."""
        assert self.socket is not None
        for at, raw in self.socket.messages:
            message = orjson.loads(raw)
            kind = message.get("type")
            if kind == "live_update":
                self.received.append((at, "count", message["snapshot"]["events_today"], message["as_of"]))
            elif kind == "user_event":
                self.received.append((at, "event", message["event_id"], message["as_of"]))


_http = threading.local()


def fetch_ticket(port: int, token: str) -> str:
    """POST /api/v1/realtime/ticket with the user's JWT (a keep-alive connection per thread)."""

    connection: http.client.HTTPConnection | None = getattr(_http, "connection", None)
    if connection is None:
        connection = _http.connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        connection.request("POST", "/api/v1/realtime/ticket", headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        content = response.read()
    except (OSError, http.client.HTTPException):
        connection.close()
        _http.connection = None
        raise
    if response.status != 201:
        raise RuntimeError(f"ticket: HTTP {response.status}: {content[:200]!r}")
    ticket: str = orjson.loads(content)["ticket"]
    return ticket


async def open_client(
    client: Client, ws_port: int, http_port: int, subscribe: dict[str, Any], tickets: ThreadPoolExecutor
) -> None:
    loop = asyncio.get_running_loop()
    began = time.monotonic()
    try:
        ticket = await loop.run_in_executor(tickets, fetch_ticket, http_port, client.token)
        socket = await live_connect(ws_port, f"/ws/live/?ticket={ticket}", origin=f"http://{HOST}:{ws_port}")
        client.socket = socket
        socket.write(TEXT, orjson.dumps(subscribe))
        reply = orjson.loads(await socket.next_message(REQUEST_TIMEOUT_SECONDS))
        if reply.get("type") != "subscribed":
            client.failure = f"subscribe answered {reply}"
            return
    except Exception as exc:  # a failed client is counted and reported, not fatal
        client.failure = f"{exc.__class__.__name__}: {exc}"
        return
    client.setup_ms = (time.monotonic() - began) * 1000


async def open_all(clients: list[Client], ws_port: int, http_port: int, subscribe: dict[str, Any]) -> float:
    """Connect every client, SETUP_CONCURRENCY at a time; returns the wall seconds."""
    began = time.monotonic()
    pending = iter(clients)
    with ThreadPoolExecutor(max_workers=8) as tickets:

        async def worker() -> None:
            for client in pending:
                await open_client(client, ws_port, http_port, subscribe, tickets)

        await asyncio.gather(*(worker() for _ in range(SETUP_CONCURRENCY)))
    return time.monotonic() - began


async def close_all(clients: list[Client]) -> None:
    async def close(client: Client) -> None:
        if client.socket is not None:
            with contextlib.suppress(Exception):
                await client.socket.close()

    await asyncio.gather(*(close(client) for client in clients))


async def watch_lag(lags: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + LAG_TICK_SECONDS
        await asyncio.sleep(LAG_TICK_SECONDS)
        lags.append((loop.time() - due) * 1000)


# --- CPU accounting (from /proc) -------------------------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_of(stat_path: Path) -> tuple[str, float]:
    """(comm, CPU seconds) of a /proc/<pid>[/task/<tid>]/stat file."""
    text = stat_path.read_text()
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return comm, (int(fields[11]) + int(fields[12])) / TICKS


def cpu_sample(daphne_pgid: int, gunicorn_pgid: int) -> dict[str, float]:
    """CPU seconds so far: each daphne process's main thread and its other threads, gunicorn's process group,
    redis-server, postgres, this process."""
    sample: dict[str, float] = {}
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError):
            comm, seconds = _cpu_of(proc / "stat")
            pgid = os.getpgid(int(proc.name))
            if pgid == daphne_pgid and int(proc.name) != daphne_pgid:
                for task in (proc / "task").glob("*"):
                    _, used = _cpu_of(task / "stat")
                    part = "main thread" if task.name == proc.name else "other threads"
                    key = f"daphne {proc.name} {part}"
                    sample[key] = sample.get(key, 0.0) + used
                continue
            if pgid == gunicorn_pgid:
                key = "gunicorn (master + workers)"
            elif comm.startswith("redis-server"):
                key = "redis-server"
            elif comm.startswith("postgres"):
                key = "postgres (all backends)"
            elif int(proc.name) == os.getpid():
                key = "bench client process"
            else:
                continue
            sample[key] = sample.get(key, 0.0) + seconds
    return sample


def sockets_per_daphne(daphne_pgid: int) -> str:
    """Open sockets per daphne process (its clients, plus a few to Redis and PostgreSQL): how the kernel spread the
    connections over the processes."""
    counts = []
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError):
            if os.getpgid(int(proc.name)) == daphne_pgid and int(proc.name) != daphne_pgid:
                fds = (proc / "fd").iterdir()
                counts.append(sum(1 for fd in fds if os.readlink(fd).startswith("socket:")))
    return "/".join(str(count) for count in sorted(counts))


def cpu_report(before: dict[str, float], after: dict[str, float], seconds: float) -> str:
    rows = sorted(((after[key] - before.get(key, 0.0), key) for key in after), reverse=True)
    return "; ".join(f"{key} {used / seconds * 100:.0f}%" for used, key in rows if used / seconds >= 0.01)


# --- baselines and matching ------------------------------------------------------------------------------------------


def student_counts(database_url: str, setup: LiveSetup) -> dict[int, int]:
    """Each bench student's events today in the bench classes, each class's day in its time zone (what the progress
    snapshot's events_today sums)."""
    days = [datetime.now(ZoneInfo(zone)).date() for zone in setup.course_time_zones]
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT r.student_id, coalesce(sum(r.events), 0) FROM analytics_studentdailyrollup r "
            "JOIN unnest(%s::bigint[], %s::date[]) AS today(course_id, day) "
            "ON today.course_id = r.course_id AND today.day = r.day GROUP BY r.student_id",
            [setup.courses, days],
        ).fetchall()
    return {student: int(count) for student, count in rows}


def course_count(database_url: str, course_id: int, time_zone: str) -> int:
    today = datetime.now(ZoneInfo(time_zone)).date()
    with psycopg.connect(database_url) as connection:
        row = connection.execute(
            "SELECT coalesce(sum(events), 0) FROM analytics_coursedailyrollup WHERE course_id = %s AND day = %s",
            [course_id, today],
        ).fetchone()
    return int(row[0]) if row else 0


@dataclass
class Outcome:
    latencies_ms: list[float] = field(default_factory=list)
    missed: int = 0
    winners: dict[str, int] = field(default_factory=dict)
    to_as_of_ms: list[float] = field(default_factory=list)  # send -> as_of of the reflecting message
    from_as_of_ms: list[float] = field(default_factory=list)  # as_of -> receive
    early: int = 0  # messages counting more events than had been sent (a wrong baseline would show here)


def match(
    outcome: Outcome,
    posts: list[tuple[float, str]],
    base: int,
    received: list[tuple[float, str, Any, str]],
    timeout: float,
    clock_offset: float,
    all_sends: list[float],
) -> None:
    """Match one client's messages to the events it should see. `posts`: (send time, event id) of the events of the
    client's scope, in send order (sent ones only); `all_sends`: sorted send times of those events."""
    counts = [(at, value, as_of) for at, kind, value, as_of in received if kind == "count"]
    ids = {value: (at, as_of) for at, kind, value, as_of in received if kind == "event"}
    for at, value, _ in counts:
        if value > base + bisect.bisect_right(all_sends, at):
            outcome.early += 1
    pointer = 0
    for k, (sent, event_id) in enumerate(posts, start=1):
        while pointer < len(counts) and (counts[pointer][1] < base + k or counts[pointer][0] < sent):
            pointer += 1
        candidates: list[tuple[float, str, str]] = []
        if pointer < len(counts):
            candidates.append((counts[pointer][0], "live_update", counts[pointer][2]))
        if event_id in ids:
            candidates.append((ids[event_id][0], "user_event", ids[event_id][1]))
        if not candidates:
            outcome.missed += 1
            continue
        at, kind, as_of = min(candidates)
        if at - sent > timeout:
            outcome.missed += 1
            continue
        outcome.latencies_ms.append((at - sent) * 1000)
        outcome.winners[kind] = outcome.winners.get(kind, 0) + 1
        server_at = datetime.fromisoformat(as_of).timestamp() - clock_offset
        outcome.to_as_of_ms.append((server_at - sent) * 1000)
        outcome.from_as_of_ms.append((at - server_at) * 1000)


def spread(values: list[float]) -> str:
    if len(values) < 2:
        return "n/a"
    return "p50={:.1f}ms p95={:.1f}ms p99={:.1f}ms max={:.1f}ms".format(
        *(percentile(values, p) for p in (50, 95, 99)), max(values)
    )


# --- one scenario ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Servers:
    ws_port: int
    http_port: int
    daphne_pgid: int  # the process group of scripts/serve_live.py and its daphne processes
    gunicorn_pgid: int


async def settle(servers: Servers) -> float:
    """Wait until daphne is idle (under 5 % of a core over a second): closing a thousand sockets queues work there
    (disconnects, hub detaches), and a scenario must not start behind the previous one's backlog."""
    began = time.monotonic()
    while time.monotonic() - began < SETTLE_TIMEOUT_SECONDS:
        before = cpu_sample(servers.daphne_pgid, servers.gunicorn_pgid)
        await asyncio.sleep(1.0)
        after = cpu_sample(servers.daphne_pgid, servers.gunicorn_pgid)
        busy = sum(after[key] - before.get(key, 0.0) for key in after if key.startswith("daphne"))
        if busy < 0.05:
            break
    return time.monotonic() - began


async def post_only(
    servers: Servers, setup: LiveSetup, planned: list[Planned], rate: float, posters: ProcessPoolExecutor
) -> None:
    """The same kind of POSTs with nobody watching: what the request costs without the live publish's sends."""
    loop = asyncio.get_running_loop()
    start_at = time.monotonic() + 0.2
    _, answered, errors = await loop.run_in_executor(
        posters, post_schedule, servers.http_port, setup.api_key, [event.body for event in planned], rate, start_at
    )
    posting = time.monotonic() - start_at
    done = [ms for ms in answered if ms == ms]
    print(
        f"(a0) nobody connected: {len(done)} of {len(planned)} events posted at target {rate:.0f}/s in "
        f"{posting:.1f}s (achieved {len(done) / posting:.1f}/s); POST /api/v1/events/ response {spread(done)}; "
        f"errors={len(errors)}",
        flush=True,
    )


async def scenario(
    name: str,
    *,
    servers: Servers,
    setup: LiveSetup,
    clients: list[Client],
    subscribe: dict[str, Any],
    planned: list[Planned],
    rate: float,
    baselines: "Any",
    timeout: float,
    posters: ProcessPoolExecutor,
) -> Outcome:
    """Connect, post, wait, close; print the figures. `baselines()` returns (per-client base count function)."""
    loop = asyncio.get_running_loop()
    print(f"# ({name}) daphne idle after {await settle(servers):.1f}s", flush=True)
    print(f"# ({name}) connecting {len(clients)} clients: {orjson.dumps(subscribe).decode()}", flush=True)
    seconds = await open_all(clients, servers.ws_port, servers.http_port, subscribe)
    connected = [client for client in clients if not client.failure]
    failures = [client.failure for client in clients if client.failure]
    setup_ms = [client.setup_ms for client in connected]
    print(
        f"({name}) connection setup: {len(connected)} of {len(clients)} subscribed in {seconds:.1f}s "
        f"({len(connected) / seconds:.0f}/s; per client ticket + handshake + subscribed: {spread(setup_ms)}); "
        f"failed={len(failures)}",
        flush=True,
    )
    for failure in failures[:5]:
        print(f"#   {failure}", flush=True)
    print(f"# ({name}) open sockets per daphne process: {sockets_per_daphne(servers.daphne_pgid)}", flush=True)
    await asyncio.sleep(1.0)  # let the hub's watch-index writes for the last subscriptions land
    base_of = baselines()
    lags: list[float] = []
    stop = asyncio.Event()
    lag_task = loop.create_task(watch_lag(lags, stop))
    start_at = time.monotonic() + 0.5
    cpu_before = cpu_sample(servers.daphne_pgid, servers.gunicorn_pgid)
    sent, answered, errors = await loop.run_in_executor(
        posters, post_schedule, servers.http_port, setup.api_key, [event.body for event in planned], rate, start_at
    )
    posting = time.monotonic() - start_at
    cpu_after = cpu_sample(servers.daphne_pgid, servers.gunicorn_pgid)
    await asyncio.sleep(timeout)
    stop.set()
    await lag_task
    closed_early = sum(1 for client in connected if client.socket is not None and client.socket.close_code is not None)
    await close_all(clients)
    for client in connected:
        client.decode()

    clock_offset = time.time() - time.monotonic()
    sent_events = [(at, event) for at, event in zip(sent, planned, strict=True) if at == at]  # not NaN
    outcome = Outcome()
    per_student: dict[int, list[tuple[float, str]]] = {}
    for at, event in sent_events:
        per_student.setdefault(event.student, []).append((at, event.event_id))
    all_posts = sorted((at, event.event_id) for at, event in sent_events)
    for client in connected:
        posts = sorted(per_student.get(client.user_id, [])) if name == "a" else all_posts
        match(outcome, posts, base_of(client), client.received, timeout, clock_offset, [at for at, _ in posts])
    ok_answers = [ms for ms in answered if ms == ms]
    unit = "events" if name == "a" else "receipts"
    expected = len(sent_events) if name == "a" else len(sent_events) * len(connected)
    print(
        f"({name}) posted {len(sent_events)} of {len(planned)} events at target {rate:.0f}/s in {posting:.1f}s "
        f"(achieved {len(sent_events) / posting:.1f}/s); POST /api/v1/events/ response {spread(ok_answers)}; "
        f"errors={len(errors)}",
        flush=True,
    )
    for error in errors[:5]:
        print(f"#   {error}", flush=True)
    print(
        f"({name}) latency event POST -> first reflecting message, over {len(outcome.latencies_ms)} {unit} of "
        f"{expected}: {spread(outcome.latencies_ms)}; missed (none within {timeout:.0f}s)={outcome.missed}",
        flush=True,
    )
    print(
        f"({name}) first reflecting message was: {outcome.winners}; breakdown: POST sent -> message's as_of "
        f"{spread(outcome.to_as_of_ms)}; as_of -> received {spread(outcome.from_as_of_ms)}",
        flush=True,
    )
    messages = sum(len(client.received) for client in connected)
    print(
        f"({name}) messages received {messages} ({messages / (posting + timeout):.0f}/s over the run); sockets "
        f"closed by the server during the run={closed_early}; counts ahead of the events sent (baseline check, "
        f"expect 0)={outcome.early}; client loop lag {spread(lags)}",
        flush=True,
    )
    print(f"({name}) CPU while posting ({posting:.0f}s): {cpu_report(cpu_before, cpu_after, posting)}", flush=True)
    return outcome


# --- main ------------------------------------------------------------------------------------------------------------


def raise_file_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@contextlib.contextmanager
def servers_running(database_url: str, log_dir: Path, ws_processes: int) -> Iterator[Servers]:
    ws_port, http_port = free_port(), free_port()
    daphne = [sys.executable, "scripts/serve_live.py", "-b", HOST, "-p", str(ws_port), "-n", str(ws_processes)]
    gunicorn = server_command("gunicorn", http_port, "sync")
    print(f"# WebSocket: {' '.join(daphne[1:])} (log: {log_dir / 'daphne.log'})", flush=True)
    print(f"# HTTP (tickets, events): {' '.join(gunicorn[1:])} (log: {log_dir / 'gunicorn.log'})", flush=True)
    with (
        running_server(daphne, database_url, log_dir / "daphne.log") as daphne_process,
        running_server(gunicorn, database_url, log_dir / "gunicorn.log") as gunicorn_process,
    ):
        wait_until_serving(ws_port, daphne_process, log_dir / "daphne.log")
        wait_until_serving(http_port, gunicorn_process, log_dir / "gunicorn.log")
        yield Servers(ws_port, http_port, daphne_process.pid, gunicorn_process.pid)


async def run(arguments: argparse.Namespace, setup: LiveSetup, servers: Servers, database_url: str) -> None:
    outcomes: dict[str, Outcome] = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as posters:
        # Warm-up (unmeasured): the poster process, gunicorn's workers and their connections.
        warm = plan_events(setup, [(pk, course) for pk, course, _ in setup.students[:20]], 40, seed=99, rate=40.0)
        await asyncio.get_running_loop().run_in_executor(
            posters, post_schedule, servers.http_port, setup.api_key, [e.body for e in warm], 40.0, time.monotonic()
        )
        if arguments.scenario in ("a", "both"):
            students = setup.students[: arguments.clients]
            count = int(arguments.rate_a * arguments.seconds)
            pairs = [(pk, course) for pk, course, _ in students]
            if arguments.baseline_seconds > 0:
                alone = plan_events(
                    setup, pairs, int(arguments.rate_a * arguments.baseline_seconds), seed=3, rate=arguments.rate_a
                )
                await post_only(servers, setup, alone, arguments.rate_a, posters)
            planned = plan_events(setup, pairs, count, seed=1, rate=arguments.rate_a)

            def student_bases() -> Any:
                counts = student_counts(database_url, setup)
                return lambda client: counts.get(client.user_id, 0)

            outcomes["a"] = await scenario(
                "a",
                servers=servers,
                setup=setup,
                clients=[Client(pk, token) for pk, _, token in students],
                subscribe={"type": "subscribe", "channels": ["progress"]},
                planned=planned,
                rate=arguments.rate_a,
                baselines=student_bases,
                timeout=arguments.timeout,
                posters=posters,
            )
        if arguments.scenario in ("b", "both"):
            course = setup.courses[0]
            pupils = [(pk, c) for pk, c, _ in setup.students[: arguments.clients] if c == course]
            count = int(arguments.rate_b * arguments.seconds)
            planned = plan_events(setup, pupils, count, seed=2, rate=arguments.rate_b)

            def course_bases() -> Any:
                base = course_count(database_url, course, setup.course_time_zones[0])
                return lambda client: base

            outcomes["b"] = await scenario(
                "b",
                servers=servers,
                setup=setup,
                clients=[Client(pk, token) for pk, token in setup.teachers[: arguments.clients]],
                subscribe={"type": "subscribe", "channels": ["engagement"], "course": course},
                planned=planned,
                rate=arguments.rate_b,
                baselines=course_bases,
                timeout=arguments.timeout,
                posters=posters,
            )

    figures: dict[str, float] = {}
    for name, outcome in outcomes.items():
        values = outcome.latencies_ms
        figures[f"{name}_p95_ms"] = percentile(values, 95) if len(values) >= 2 else float("nan")
        figures[f"{name}_p50_ms"] = percentile(values, 50) if len(values) >= 2 else float("nan")
    worst = max(figures[f"{name}_p95_ms"] for name in outcomes)
    missed = sum(outcome.missed for outcome in outcomes.values())
    ordered = " ".join(
        f"{key}={figures[key]:.1f}" for key in ("a_p95_ms", "b_p95_ms", "a_p50_ms", "b_p50_ms") if key in figures
    )
    print(f"RESULT clients={arguments.clients} p95_ms={worst:.1f} {ordered} missed={missed}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000, help="WebSocket clients per scenario (default 1000)")
    parser.add_argument("--rate-a", type=float, default=200.0, help="events/s in scenario a (default 200)")
    parser.add_argument("--rate-b", type=float, default=20.0, help="events/s in scenario b (default 20)")
    parser.add_argument("--seconds", type=float, default=20.0, help="posting time per scenario (default 20)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds after which an event is missed")
    parser.add_argument(
        "--baseline-seconds",
        type=float,
        default=5.0,
        help="before (a), POST at --rate-a this long with nobody connected, for comparison (default 5; 0: skip)",
    )
    parser.add_argument("--scenario", choices=["a", "b", "both"], default="both")
    parser.add_argument(
        "--ws-processes",
        type=int,
        default=os.cpu_count() or 1,
        help="daphne processes behind the WebSocket port (scripts/serve_live.py; default: the number of cores)",
    )
    parser.add_argument("--skip-setup", action="store_true", help="do not run migrate and seed_demo")
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, stop_on_signal)

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    # The servers' channel layer (a prefix of this run) and cache Redis database (watch index, tickets, throttles)
    # are kept apart from a running `./dev run`, whose user ids overlap the scratch database's.
    os.environ.setdefault("CHANNELS_PREFIX", f"edupath-bench-live-{os.getpid()}")
    os.environ.setdefault("REDIS_DB_CACHE", str(BENCH_REDIS_DB_CACHE))
    files = raise_file_limit()
    print(
        f"# machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; database {database_url}; "
        f"open files limit {files}",
        flush=True,
    )
    if not arguments.skip_setup:
        manage("migrate", "--noinput", "-v", "0", database_url=database_url)
        manage("seed_demo", "--quiet", database_url=database_url)
    began = time.monotonic()
    setup = live_setup(database_url, arguments.clients)
    print(
        f"# setup: {len(setup.students)} students in classes {setup.courses}, {len(setup.teachers)} teachers of "
        f"class {setup.courses[0]}, API key and JWTs in {time.monotonic() - began:.1f}s",
        flush=True,
    )
    log_dir = Path(tempfile.mkdtemp(prefix="edupath-bench-live-"))
    with servers_running(database_url, log_dir, arguments.ws_processes) as servers:
        asyncio.run(run(arguments, setup, servers, database_url))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        # The servers were stopped on the way out (running_server's finally).
        sys.exit("interrupted; every server this run started has been stopped")

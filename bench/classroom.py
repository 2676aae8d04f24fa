"""Measure the Google Classroom sync (google_classroom/sync.py) on a fake school of 200 courses, 6 000 students,
4 000 pieces of course work and 120 000 submissions, served by the local fake of Google's API
(tests/google_classroom/fake_google.py) that the real client libraries talk to.

Usage (from the project root, PostgreSQL and Redis running):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edupath_bench_classroom REDIS_URL=redis://127.0.0.1:6379/3 \
        .venv/bin/python bench/classroom.py [--courses 200] [--students 30] [--work 20] [--changed 0.01]

Use a database of its own: the run migrates it and adds a new organisation each time (so it can be run again).
One teacher teaches every course and connects their Google account (a grant from the fake, as after consent).

1. The first, full sync: time, requests sent to Google (retries included), rows written (our count, and PostgreSQL's
   own count of tuples inserted, updated and deleted in the teaching, people and event tables).
2. A second sync with nothing changed in Google: requests, and rows written by both counts (the bar: 0).
3. `--changed` of the submissions change in Google (graded, turned in: `FakeSchool.change_submissions`), then a
   sync: time, submissions the sync found changed (must equal what the fake changed), rows written.

The fake runs in a process of its own (as Google would be elsewhere: its JSON encoding does not compete with the sync
for this process's interpreter), and the sync's events wake the usual followers (XP, live, progress) through the
broker without a worker: what is timed is the sync.

The last line printed is:

    RESULT full_s=... full_requests=... full_rows=... noop_s=... noop_requests=... noop_rows=... delta_s=...
           delta_changed=... delta_rows=...  (one line)
"""

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

# The tables a sync writes data into (its own bookkeeping, google_classroom_*, is not counted as data).
DATA_TABLES = (
    "accounts_user",
    "classroom_course",
    "classroom_module",
    "classroom_learningitem",
    "classroom_enrollment",
    "classroom_submission",
    "analytics_learningevent",
    "analytics_studentdailyrollup",
    "analytics_coursedailyrollup",
    "analytics_studentitemday",
)
SYNC_AT = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)


def tuples_written() -> int:
    """Tuples inserted, updated and deleted so far in DATA_TABLES (event partitions included), per PostgreSQL."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
    time.sleep(1.2)  # statistics reach the shared counters at the next flush (at most ~1 s later)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT COALESCE(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables
            WHERE relname = ANY(%s) OR relname LIKE 'analytics_learningevent_%%'
            """,
            [list(DATA_TABLES)],
        )
        (total,) = cursor.fetchone() or (0,)
    return int(total)


def serve_fake(pipe: Any, courses: int, students: int, work: int, seed: int) -> None:
    """The child process: builds the school, serves it with FakeGoogle, and answers the parent's commands."""
    from tests.google_classroom.fake_google import FakeGoogle
    from tests.google_classroom.fake_school import school_generate

    began = time.perf_counter()
    school = school_generate(
        courses=courses, students_per_course=students, course_work_per_course=work, teachers=1, seed=seed
    )
    generated = time.perf_counter() - began
    with FakeGoogle(school, now=lambda: SYNC_AT) as fake:
        pipe.send(
            {
                "client_id": fake.client_id,
                "client_secret": fake.client_secret,
                "token_uri": fake.token_uri,
                "revoke_uri": fake.revoke_uri,
                "endpoint": fake.classroom_endpoint,
                "domain": school.domain,
                "courses": len(school.courses),
                "students": sum(len(people) for people in school.students.values()),
                "work": sum(len(items) for items in school.course_work.values()),
                "submissions": len(school.all_submissions()),
                "generated_s": generated,
            }
        )
        while True:
            command, argument = pipe.recv()
            if command == "grant":
                pipe.send({**fake.grant(argument), "user_id": (school.user_by_email(argument) or {})["id"]})
            elif command == "change":
                pipe.send(school.change_submissions(fraction=argument, at=datetime(2027, 1, 10, tzinfo=UTC)))
            elif command == "stats":
                pipe.send({"requests": fake.request_count, "violations": len(fake.violations)})
            else:
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--courses", type=int, default=200)
    parser.add_argument("--students", type=int, default=30, help="students per course")
    parser.add_argument("--work", type=int, default=20, help="pieces of course work per course")
    parser.add_argument("--changed", type=float, default=0.01, help="share of submissions changed before sync 3")
    arguments = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=PROJECT_DIR, check=True)  # noqa: S603
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake speaks http on 127.0.0.1

    # The fake starts first, in a fresh interpreter (spawn: nothing of Django's is copied into it).
    began = time.perf_counter()
    parent, child = multiprocessing.get_context("spawn").Pipe()
    fake_process = multiprocessing.get_context("spawn").Process(
        target=serve_fake,
        args=(child, arguments.courses, arguments.students, arguments.work, int(time.time()) % 10_000),
        daemon=True,
    )
    fake_process.start()
    fake = parent.recv()
    print(
        f"# school: {fake['courses']} courses, {fake['students']} students, {fake['work']} course work, "
        f"{fake['submissions']} submissions (generated in {fake['generated_s']:.1f} s; fake up after "
        f"{time.perf_counter() - began:.1f} s)",
        flush=True,
    )

    import django

    django.setup()
    from cryptography.fernet import Fernet
    from django.conf import settings

    from accounts.models import Organization, Role, User
    from google_classroom import client as google_client
    from google_classroom.client import READ_SCOPES
    from google_classroom.crypto import token_encrypt
    from google_classroom.models import Connection, SyncedCourse
    from google_classroom.services import connection_client
    from google_classroom.sync import connection_sync

    settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET = fake["client_id"], fake["client_secret"]
    settings.GOOGLE_TOKEN_KEYS = [Fernet.generate_key().decode()]
    settings.GOOGLE_TOKEN_URI, settings.GOOGLE_REVOKE_URI = fake["token_uri"], fake["revoke_uri"]
    settings.GOOGLE_CLASSROOM_ENDPOINT = fake["endpoint"]
    slug = f"gc-bench-{int(time.time())}"
    organization = Organization.objects.create(
        name=f"Classroom bench {slug}", slug=slug, email_domains=[fake["domain"]]
    )
    email = f"teacher0@{fake['domain']}"
    teacher = User.objects.create(
        username=slug, email=f"{slug}@{fake['domain']}", role=Role.TEACHER, organization=organization
    )
    parent.send(("grant", email))
    grant = parent.recv()
    connection = Connection.objects.create(
        organization=organization,
        user=teacher,
        google_user_id=str(grant["user_id"]),
        google_email=email,
        scopes=list(READ_SCOPES),
        refresh_token_encrypted=token_encrypt(grant["refresh_token"]),
    )
    waits: list[float] = []

    def counted_sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    google_client.sleep = counted_sleep

    def sync(label: str) -> tuple[float, dict[str, Any], int]:
        before = tuples_written()
        started = time.perf_counter()
        result = connection_sync(connection=connection, client=connection_client(connection), now=SYNC_AT)
        seconds = time.perf_counter() - started
        tuples = tuples_written() - before
        print(
            f"# {label}: {seconds:.1f} s, {result['requests']} requests, {result['synced']}/{result['courses']} "
            f"courses, {result['written']} rows written (PostgreSQL: {tuples} tuples), {result['events']} new "
            f"events, {result['failed']} failed",
            flush=True,
        )
        return seconds, dict(result), tuples

    full_s, full, full_tuples = sync("full sync")
    noop_s, noop, noop_tuples = sync("no-change sync")
    parent.send(("change", arguments.changed))
    changed = parent.recv()
    delta_s, _delta, delta_tuples = sync(f"sync after {changed} submissions changed")
    found = sum(
        int(row.counts.get("submissions_changed", 0)) for row in SyncedCourse.objects.filter(connection=connection)
    )
    parent.send(("stats", None))
    stats = parent.recv()
    parent.send(("stop", None))
    fake_process.join(timeout=10)
    print(f"# delta: the fake changed {changed} submissions; the sync found {found} changed", flush=True)
    print(
        f"# the fake answered {stats['requests']} requests over the three syncs (token refreshes included), "
        f"{stats['violations']} outside the discovery document; "
        f"retries waited: {len(waits)}",
        flush=True,
    )

    print(
        f"RESULT full_s={full_s:.1f} full_requests={full['requests']} full_rows={full_tuples} "
        f"noop_s={noop_s:.1f} noop_requests={noop['requests']} noop_rows={noop_tuples} "
        f"delta_s={delta_s:.1f} delta_changed={found} delta_rows={delta_tuples} under_5min={full_s < 300}"
    )


if __name__ == "__main__":
    main()

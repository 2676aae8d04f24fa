"""Measure the roster CSV import (classroom/roster.py, docs/roster-csv.md) on a 5 000-student file.

Usage (from the project root, PostgreSQL and Redis running, gunicorn installed in the venv):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edupath_bench_roster .venv/bin/python bench/roster_import.py \
        [--students 5000] [--courses 8] [--per-student 3] [--bad-lines 50] [--seed 1] [--no-http]

Use a database of its own (it is migrated first). Each run adds a new school with its own prefix, so the script can be
run again on the same database. The issue's bar (must-hold 3): a 5 000-student file, dry run and apply, under 60 s;
a file with bad lines applies nothing and names each bad line; re-applying changes nothing.

1. Setup, in a child process with Django set up (config.settings.local): an organisation, `--courses` courses and an
   administrator (a password, for part 3). The roster: `--students` students, each in `--per-student` of the courses
   (chosen at random), and one teacher per course teaching it and the next one; all new to the school.
2. The service, in that child process (classroom.roster.roster_import, as the API and admin call it), each step
   timed and its SQL statements counted (set-based: the count does not grow with the file):
   - dry run of the file (everything to create), apply, dry run again and apply again (nothing to do; the school's
     people and enrolments are compared before and after: unchanged);
   - a second file: every 10th student with a new email and everyone in one more course (changes and enrolments);
     dry run and apply;
   - a third file: the second one with `--bad-lines` lines spoilt (unknown course, bad email, a username twice):
     the dry run must name each of them, and applying must refuse and write nothing (compared before and after).
3. Over HTTP, as an administrator sees it (skipped with --no-http): gunicorn (2 sync workers) and a Celery worker
   (solo pool) on a queue of this run, config.settings.local with DJANGO_DEBUG=false. A fourth file of `--students`
   new students is posted to POST /api/v1/rosters/import (JSON: {"csv": ..., "dry_run": ...}); more than 500 lines,
   so each answer is 202 with a job, polled every 0.2 s at GET /api/v1/jobs/{id} until it finishes. Timed from the
   POST to the finished job: the dry run, the apply, the re-apply.

The last line printed is:

    RESULT students=... enrolments=... dry_run_s=... apply_s=... reapply_s=... change_apply_s=... bad_dry_run_s=...
        bad_lines_named=... http_dry_run_s=... http_apply_s=... http_reapply_s=... under_60s=...

(http_* are 0 with --no-http.)
"""

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from _support import (
    HOST,
    PROJECT_DIR,
    access_token,
    free_port,
    manage,
    running_server,
    server_command,
    server_environment,
    stop_on_signal,
    wait_until_serving,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/edupath_bench_roster"
PASSWORD = "bench-roster-password"  # noqa: S105 - a throwaway account in a scratch database
HEADER = "username,email,first_name,last_name,role,courses"
BAR_SECONDS = 60.0
POLL_SECONDS = 0.2
JOB_TIMEOUT_SECONDS = 600


def roster_file(prefix: str, students: int, codes: list[str], per_student: int, seed: int) -> tuple[str, int]:
    """The CSV text and the number of enrolments it asks for."""
    rng = random.Random(seed)
    lines = [HEADER]
    enrolments = 0
    for number, code in enumerate(codes):
        taught = [code, codes[(number + 1) % len(codes)]]
        name = f"{prefix}t{number:03d}"
        lines.append(f"{name},{name}@bench.test,Teacher,{number:03d},teacher,{';'.join(taught)}")
        enrolments += len(taught)
    for number in range(students):
        chosen = rng.sample(codes, per_student)
        name = f"{prefix}s{number:05d}"
        lines.append(f"{name},{name}@bench.test,Student,{number:05d},student,{';'.join(chosen)}")
        enrolments += per_student
    return "\n".join(lines) + "\n", enrolments


# --- 1 and 2: the service, in a child process with Django set up -----------------------------------------------------


def child(arguments: argparse.Namespace) -> None:
    sys.path.insert(0, str(PROJECT_DIR))
    import django

    django.setup()

    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Organization, Role, User
    from classroom.models import Course, Enrollment
    from classroom.roster import RosterRefused, roster_import

    run = f"r{int(time.time())}"
    organization = Organization.objects.create(name=f"Bench roster {run}", slug=f"bench-roster-{run}")
    codes = [f"{run.upper()}-{number}" for number in range(1, arguments.courses + 1)]
    Course.objects.bulk_create(
        [Course(organization=organization, title=f"Course {code}", code=code, time_zone="UTC") for code in codes]
    )
    admin = User.objects.create(
        username=f"{run}-admin",
        password=make_password(PASSWORD),
        role=Role.ADMIN,
        organization=organization,
    )
    prefix = f"{run}-"
    text, enrolments = roster_file(prefix, arguments.students, codes, arguments.per_student, arguments.seed)
    print(
        f"# setup: organisation {organization.pk}, {len(codes)} courses; file of {arguments.students} students and "
        f"{len(codes)} teachers, {enrolments} enrolments, {len(text.encode()):,} bytes",
        flush=True,
    )

    def state() -> tuple[list[Any], list[Any]]:
        people = list(
            User.objects.filter(organization=organization)
            .order_by("username")
            .values_list("username", "email", "first_name", "last_name", "role")
        )
        enrolled = list(
            Enrollment.objects.filter(course__organization=organization)
            .order_by("user_id", "course_id", "id")
            .values_list("user_id", "course_id", "role", "status", "enrolled_at")
        )
        return people, enrolled

    figures: dict[str, Any] = {"students": arguments.students, "enrolments": enrolments}

    def timed(name: str, data: str, dry_run: bool) -> dict[str, Any]:
        with CaptureQueriesContext(connection) as queries:
            began = time.perf_counter()
            result = roster_import(organization=organization, data=data.encode(), dry_run=dry_run)
            seconds = time.perf_counter() - began
        summary = result["summary"]
        print(
            f"{name:<16} {seconds:6.2f}s {len(queries):4d} SQL statements  created={summary['created']} "
            f"changed={summary['changed']} enrolled={summary['enrolled']} unchanged={summary['unchanged']} "
            f"refused={summary['refused']}",
            flush=True,
        )
        figures[f"{name}_s"] = round(seconds, 2)
        figures[f"{name}_sql"] = len(queries)
        return dict(result)

    first = timed("dry_run", text, True)
    assert first["summary"]["created"] == arguments.students + len(codes) and first["summary"]["refused"] == 0
    assert state()[0] == [(admin.username, "", "", "", "admin")], "a dry run wrote"
    applied = timed("apply", text, False)
    assert applied["summary"]["enrolled"] == enrolments
    after_apply = state()
    again = timed("redry_run", text, True)
    assert again["lines"] == [] and again["summary"]["unchanged"] == arguments.students + len(codes)
    reapplied = timed("reapply", text, False)
    assert reapplied["lines"] == [] and state() == after_apply, "re-applying changed something"
    print("# re-applying changed nothing: people and enrolments identical", flush=True)

    # every 10th student with a new email; everyone in one more course
    changed_lines = [HEADER]
    for line in text.splitlines()[1:]:
        username, email, first_name, last_name, role, courses = line.split(",")
        if role == "student":
            taken = courses.split(";")
            extra = next(code for code in codes if code not in taken)
            courses = ";".join([*taken, extra])
            if int(username[-5:]) % 10 == 0:
                email = email.replace("@bench.test", "@new.bench.test")
        changed_lines.append(",".join([username, email, first_name, last_name, role, courses]))
    changed = "\n".join(changed_lines) + "\n"
    timed("change_dry_run", changed, True)
    change = timed("change_apply", changed, False)
    assert change["summary"]["changed"] == arguments.students // 10
    assert change["summary"]["enrolled"] == arguments.students

    # bad lines: unknown course, bad email, a username twice (both lines of the pair are refused)
    rng = random.Random(arguments.seed + 1)
    bad_lines = changed.splitlines()
    spoilt: set[int] = set()
    for kind, index in enumerate(rng.sample(range(len(codes) + 1, len(bad_lines)), arguments.bad_lines)):
        username, email, first_name, last_name, role, courses = bad_lines[index].split(",")
        if kind % 3 == 0:
            courses += ";NO-SUCH-COURSE"
        elif kind % 3 == 1:
            email = "not an email"
        else:
            username = bad_lines[index - 1].split(",")[0]
            spoilt.add(index)  # the line it repeats (line number index) is refused too
        bad_lines[index] = ",".join([username, email, first_name, last_name, role, courses])
        spoilt.add(index + 1)
    bad = "\n".join(bad_lines) + "\n"
    before_bad = state()
    bad_dry = timed("bad_dry_run", bad, True)
    named = sorted(line["line"] for line in bad_dry["lines"] if line["outcome"] == "refuse")
    assert named == sorted(spoilt), (named, sorted(spoilt))
    began = time.perf_counter()
    try:
        roster_import(organization=organization, data=bad.encode(), dry_run=False)
    except RosterRefused as refused:
        messages = refused.errors["csv"]
        figures["bad_apply_s"] = round(time.perf_counter() - began, 2)
    else:
        raise AssertionError("a file with bad lines was applied")
    assert state() == before_bad, "a refused file wrote something"
    figures["bad_lines_named"] = len(named)
    print(
        f"bad_apply        {figures['bad_apply_s']:6.2f}s refused, naming {len(named)} lines "
        f"(e.g. {messages[0]!r}); people and enrolments unchanged",
        flush=True,
    )
    figures["admin"] = admin.username
    figures["codes"] = codes
    figures["http_prefix"] = f"{run}-h-"
    print("BENCH_JSON " + json.dumps(figures), flush=True)


# --- 3: over HTTP, with a Celery worker ---------------------------------------------------------------------------


def post_and_wait(port: int, token: str, text: str, dry_run: bool) -> tuple[float, dict[str, Any]]:
    """POST the roster, follow its job to the end; seconds from the POST to the finished job, and the job."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection = http.client.HTTPConnection(HOST, port, timeout=120)
    began = time.perf_counter()
    try:
        connection.request("POST", "/api/v1/rosters/import", orjson.dumps({"csv": text, "dry_run": dry_run}), headers)
        response = connection.getresponse()
        body = orjson.loads(response.read())
        if response.status != 202:
            raise SystemExit(f"expected 202 with a job, got {response.status}: {str(body)[:300]}")
        deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
        while body["status"] in ("queued", "running"):
            if time.monotonic() > deadline:
                raise SystemExit(f"job {body['id']} did not finish within {JOB_TIMEOUT_SECONDS}s: {body}")
            time.sleep(POLL_SECONDS)
            connection.request("GET", f"/api/v1/jobs/{body['id']}", headers=headers)
            body = orjson.loads(connection.getresponse().read())
    finally:
        connection.close()
    return time.perf_counter() - began, body


def over_http(database_url: str, figures: dict[str, Any], arguments: argparse.Namespace) -> None:
    log_dir = Path(tempfile.mkdtemp(prefix="edupath-bench-roster-"))
    port = free_port()
    web = server_command("gunicorn", port, "sync")
    worker = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-l", "info"]
    worker += ["-n", f"bench-roster-{os.getpid()}@%h"]
    print(f"# server: {' '.join(web[1:])}; worker: celery {' '.join(worker[3:])} (logs: {log_dir})", flush=True)
    text, _ = roster_file(figures["http_prefix"], arguments.students, figures["codes"], arguments.per_student, 7)
    with (
        running_server(web, database_url, log_dir / "gunicorn.log") as process,
        running_server(worker, database_url, log_dir / "worker.log"),
    ):
        wait_until_serving(port, process, log_dir / "gunicorn.log")
        token = access_token(port, figures["admin"], PASSWORD)
        for name, dry_run in (("http_dry_run", True), ("http_apply", False), ("http_reapply", False)):
            seconds, job = post_and_wait(port, token, text, dry_run)
            if job["status"] != "succeeded":
                raise SystemExit(f"{name}: job {job['id']} {job['status']}: {job['message']}")
            figures[f"{name}_s"] = round(seconds, 2)
            print(f"{name:<16} {seconds:6.2f}s job {job['id']}: {job['message']}", flush=True)
        if job["result"]["summary"]["unchanged"] != arguments.students + len(figures["codes"]):
            raise SystemExit(f"re-applying over HTTP changed something: {job['result']['summary']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=5000, help="students in the file (default 5000)")
    parser.add_argument("--courses", type=int, default=8, help="courses of the school (default 8)")
    parser.add_argument("--per-student", type=int, default=3, help="courses per student (default 3)")
    parser.add_argument("--bad-lines", type=int, default=50, help="lines spoilt in the bad file (default 50)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated files (default 1)")
    parser.add_argument("--no-http", action="store_true", help="skip part 3 (gunicorn and a Celery worker)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # parts 1 and 2
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments)
        return
    signal.signal(signal.SIGTERM, stop_on_signal)

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    print(f"# machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; database {database_url}", flush=True)
    began = time.perf_counter()
    manage("migrate", "--noinput", "-v", "0", database_url=database_url)
    print(f"# migrate: {time.perf_counter() - began:.1f}s", flush=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", *sys.argv[1:]]
    figures: dict[str, Any] = {}
    with subprocess.Popen(  # noqa: S603 - fixed arguments, our own interpreter and script
        command, cwd=PROJECT_DIR, env=server_environment(database_url), stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("BENCH_JSON "):
                figures = json.loads(line.removeprefix("BENCH_JSON "))
            else:
                print(line, end="", flush=True)
    if process.returncode != 0 or not figures:
        raise SystemExit(f"the service part failed (exit {process.returncode})")
    for name in ("http_dry_run_s", "http_apply_s", "http_reapply_s"):
        figures[name] = 0.0
    if not arguments.no_http:
        over_http(database_url, figures, arguments)
    slowest = max(figures["dry_run_s"] + figures["apply_s"], figures["http_dry_run_s"] + figures["http_apply_s"])
    print(
        f"RESULT students={figures['students']} enrolments={figures['enrolments']} dry_run_s={figures['dry_run_s']} "
        f"apply_s={figures['apply_s']} reapply_s={figures['reapply_s']} change_apply_s={figures['change_apply_s']} "
        f"bad_dry_run_s={figures['bad_dry_run_s']} bad_lines_named={figures['bad_lines_named']} "
        f"http_dry_run_s={figures['http_dry_run_s']} http_apply_s={figures['http_apply_s']} "
        f"http_reapply_s={figures['http_reapply_s']} under_60s={'yes' if slowest < BAR_SECONDS else 'no'}",
        flush=True,
    )


if __name__ == "__main__":
    main()

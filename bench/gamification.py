"""Measure the gamification leaderboard of one large course: 5 000 students, 1 M learning events.

Usage (from the project root, PostgreSQL and Redis running, gunicorn installed in the venv):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edupath_bench_gam .venv/bin/python bench/gamification.py \
        [--students 5000] [--events 1000000] [--requests 200] [--warmup 20] [--seed 1] [--skip-setup]

Use a database of its own: the setup adds a whole school to it. The issue's bar: the leaderboard of a course of
5 000 students over 1 M events answers in under 50 ms at p95.

1. Setup (skipped with --skip-setup, which reuses the data of an earlier run): migrates the database, then, in a
   child process of this script with Django set up (config.settings.local), creates an organisation (Europe/London),
   one course with a teacher and `--students` active student enrolments (bulk_create; one password hash, made once
   with make_password, for every account), 5 modules of 10 items (lessons, resources, quizzes). It generates
   `--events` events over the last 60 days (the organisation's days; weekends quieter; a log-normal activity per
   student so that XP spreads out; mostly material_view, some lesson/material completions, quiz attempts and
   quiz_submit with scores out of 10), in time order with time-ordered ids (analytics.importers.oulad
   .ordered_event_id), and stores them through analytics.services.events_store (COPY + one statement, rollups
   updated) in chunks of `--chunk`. Then it awards XP with gamification.services.xp_award_backfill (UTC days, as
   `manage.py award_xp` does; the default global rules of migration gamification/0002: view caps, score bonuses;
   achievements too), and
   ANALYZEs the tables it filled, as autovacuum soon would. Timings: generation, storage (events/s), award.
2. Starts `gunicorn config.wsgi:application --workers 2` (sync workers; config.settings.local, DJANGO_DEBUG=false),
   as production does (docs/decisions/0002-process-model.md), gets a JWT for the teacher and for the student ranked
   in the middle of the course's all-time leaderboard (POST /api/v1/auth/token/), and for each viewer (teacher,
   student), timeframe (day, week, month, all-time) and limit (10, 100) sends `--warmup` unmeasured requests, then
   `--requests` sequential GET /api/v1/gamification/leaderboard?course=...&timeframe=...&limit=... over one
   http.client connection (sync gunicorn workers close it after each response; http.client reopens it, so a TCP
   connect on 127.0.0.1 is part of every latency). Each answer must be HTTP 200 with rows (and, for the student,
   not hidden and with their own standing). Latency is from sending the request to reading the whole body.

The last line printed is:

    RESULT students=... events=... leaderboard_p50_ms=... leaderboard_p95_ms=... leaderboard_p99_ms=... setup_s=...

where each percentile is the worst over all 16 combinations, events is the number stored for the organisation, and
setup_s is the wall time of step 1 (0 with --skip-setup).
"""

import argparse
import itertools
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import psycopg
from _support import (
    PROJECT_DIR,
    access_token,
    free_port,
    manage,
    percentile,
    running_server,
    server_command,
    server_environment,
    stop_on_signal,
    timed_gets,
    wait_until_serving,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/edupath_bench_gam"
ORGANIZATION_SLUG = "bench-gamification"
COURSE_CODE = "GAM-5000"
TEACHER_USERNAME = "gam-teacher"
STUDENT_PREFIX = "gam-student-"
PASSWORD = "bench-gamification-password"  # noqa: S105 - a throwaway account in a scratch database
TIME_ZONE = "Europe/London"
DAYS = 60
MODULES = 5
# The items of every module, in position order.
MODULE_ITEM_KINDS = ("lesson", "resource", "lesson", "quiz", "lesson", "resource", "quiz", "lesson", "resource", "quiz")
# (action, kinds of item it happens on, share of all events)
ACTION_MIX = (
    ("material_view", ("lesson", "resource"), 0.62),
    ("page_view", ("lesson", "resource", "quiz"), 0.04),
    ("lesson_complete", ("lesson",), 0.08),
    ("material_complete", ("resource",), 0.06),
    ("quiz_attempt", ("quiz",), 0.10),
    ("quiz_submit", ("quiz",), 0.10),
)
# Quiz scores out of 10, most of them good.
SCORE_WEIGHTS = (1, 1, 1, 2, 3, 5, 8, 11, 12, 9, 6)
TIMEFRAMES = ("day", "week", "month", "all-time")
LIMITS = (10, 100)
BAR_P95_MS = 50.0


# --- 1. Setup, in a child process with Django set up ----------------------------------------------------------------


def day_counts(total: int, days: list[tuple[datetime, datetime]]) -> list[int]:
    """Split `total` events over the days: weekends at 40 %, today by the part of it already past; exact sum."""
    weights = [(0.4 if start.weekday() >= 5 else 1.0) * (end - start).total_seconds() / 86400 for start, end in days]
    shares = [total * weight / sum(weights) for weight in weights]
    counts = [int(share) for share in shares]
    by_remainder = sorted(range(len(days)), key=lambda d: shares[d] - counts[d], reverse=True)
    for d in by_remainder[: total - sum(counts)]:
        counts[d] += 1
    return counts


def populate(students: int, events: int, chunk: int, seed: int) -> None:
    """Create the school and its events, award XP; print timings. Runs in a child process: Django is set up here."""
    sys.path.insert(0, str(PROJECT_DIR))
    import django

    django.setup()

    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from accounts.models import Organization, Role, User
    from analytics.importers.oulad import ordered_event_id
    from analytics.models import Source
    from analytics.services import ResolvedEvent, events_store
    from analytics.validation import EventIn
    from classroom.models import Course, Enrollment, LearningItem, Module
    from gamification.services import AwardOutcome, xp_award_backfill

    if Organization.objects.filter(slug=ORGANIZATION_SLUG).exists():
        raise SystemExit(f"organisation {ORGANIZATION_SLUG} exists already: use a fresh database or --skip-setup")
    rng = random.Random(seed)
    now = datetime.now(UTC)

    began = time.perf_counter()
    password = make_password(PASSWORD)
    with transaction.atomic():
        organization = Organization.objects.create(
            name="Bench Gamification School", slug=ORGANIZATION_SLUG, time_zone=TIME_ZONE
        )
        teacher = User.objects.create(
            username=TEACHER_USERNAME,
            email=f"{TEACHER_USERNAME}@bench.test",
            first_name="Bench",
            last_name="Teacher",
            password=password,
            role=Role.TEACHER,
            organization=organization,
        )
        course = Course.objects.create(
            organization=organization,
            title="Mathematics for everyone",
            code=COURSE_CODE,
            subject="Mathematics",
            start_date=(now - timedelta(days=DAYS + 10)).date(),
            time_zone=TIME_ZONE,
        )
        users = User.objects.bulk_create(
            [
                User(
                    username=f"{STUDENT_PREFIX}{n:05d}",
                    email=f"{STUDENT_PREFIX}{n:05d}@bench.test",
                    first_name="Student",
                    last_name=f"{n:05d}",
                    password=password,
                    role=Role.STUDENT,
                    organization=organization,
                )
                for n in range(1, students + 1)
            ],
            batch_size=1000,
        )
        enrolled_at = now - timedelta(days=DAYS + 5)
        Enrollment.objects.bulk_create(
            [Enrollment(user=teacher, course=course, role=Enrollment.Role.TEACHER, enrolled_at=enrolled_at)]
            + [
                Enrollment(user=user, course=course, role=Enrollment.Role.STUDENT, enrolled_at=enrolled_at)
                for user in users
            ],
            batch_size=1000,
        )
        modules = Module.objects.bulk_create(
            [Module(course=course, title=f"Unit {n}", position=n) for n in range(1, MODULES + 1)]
        )
        items = LearningItem.objects.bulk_create(
            [
                LearningItem(
                    module=module,
                    kind=kind,
                    title=f"{module.title}: {kind} {position}",
                    position=position,
                    max_points=Decimal(10) if kind == LearningItem.Kind.QUIZ else None,
                    estimated_minutes=15,
                )
                for module in modules
                for position, kind in enumerate(MODULE_ITEM_KINDS, start=1)
            ]
        )
    print(
        f"# setup: organisation {organization.pk}, course {course.pk}, {len(users)} students, "
        f"{len(modules)} modules, {len(items)} items in {time.perf_counter() - began:.1f}s",
        flush=True,
    )

    # Events, day by day in time order: the BRIN index on occurred_at and the event-key index stay tight.
    student_ids = [user.pk for user in users]
    activity = list(itertools.accumulate(rng.lognormvariate(0, 0.8) for _ in student_ids))
    items_of = {kinds: [item.pk for item in items if item.kind in kinds] for _, kinds, _ in ACTION_MIX}
    actions = [action for action, _, _ in ACTION_MIX]
    action_weights = list(itertools.accumulate(share for _, _, share in ACTION_MIX))
    kinds_of = {action: kinds for action, kinds, _ in ACTION_MIX}
    scores = [Decimal(score) for score in range(len(SCORE_WEIGHTS))]
    score_weights = list(itertools.accumulate(SCORE_WEIGHTS))
    ten = Decimal(10)
    # UTC days (London's in winter); the award computes every event's day in the organisation's time zone itself
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    days = [(midnight - timedelta(days=DAYS - 1 - d), midnight - timedelta(days=DAYS - 2 - d)) for d in range(DAYS)]
    days[-1] = (days[-1][0], now - timedelta(seconds=1))
    counts = day_counts(events, days)

    generate_seconds = store_seconds = 0.0
    stored = duplicates = sequence = 0
    pending: list[ResolvedEvent] = []

    def flush() -> None:
        nonlocal store_seconds, stored, duplicates
        started = time.perf_counter()
        inserted, repeated = events_store(events=pending, received_at=now, source=Source.IMPORT)
        store_seconds += time.perf_counter() - started
        stored += inserted
        duplicates += repeated
        pending.clear()

    for d, ((start, end), count) in enumerate(zip(days, counts, strict=True)):
        started = time.perf_counter()
        span = (end - start).total_seconds()
        offsets = sorted(rng.random() * span for _ in range(count))
        actors = rng.choices(student_ids, cum_weights=activity, k=count)
        for offset, actor in zip(offsets, actors, strict=True):
            sequence += 1
            moment = start + timedelta(seconds=offset)
            action = rng.choices(actions, cum_weights=action_weights)[0]
            item = rng.choice(items_of[kinds_of[action]])
            submitted = action == "quiz_submit"
            event = EventIn(
                event_id=ordered_event_id(moment, f"bench:gamification:{seed}:{sequence}"),
                action=action,
                occurred_at=moment,
                actor_id=actor,
                course_id=course.pk,
                item_id=item,
                resource_type="item",
                resource_id=f"item-{item}",
                session_id=f"s-{actor}-{d}",
                duration_seconds=rng.randint(5, 900),
                score_raw=rng.choices(scores, cum_weights=score_weights)[0] if submitted else None,
                score_max=ten if submitted else None,
                attempts=rng.randint(1, 3) if submitted else None,
                metadata={"device": "web"},
            )
            pending.append(ResolvedEvent(event, actor, organization.pk))
            if len(pending) >= chunk:
                generate_seconds += time.perf_counter() - started
                flush()
                started = time.perf_counter()
        generate_seconds += time.perf_counter() - started
        if (d + 1) % 10 == 0:
            print(f"#   events: {sequence} generated, {stored} stored ({d + 1} of {DAYS} days)", flush=True)
    if pending:
        flush()
    print(
        f"# events: {stored} stored ({duplicates} duplicates) over {DAYS} days in chunks of {chunk}: generating "
        f"{generate_seconds:.1f}s, events_store {store_seconds:.1f}s = {stored / store_seconds:.0f} events/s",
        flush=True,
    )

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE analytics_learningevent")
    slowest = (0.0, "")
    started = last = time.perf_counter()

    def window_done(day: Any, outcome: AwardOutcome) -> None:
        nonlocal slowest, last
        now_ = time.perf_counter()
        slowest = max(slowest, (now_ - last, day.isoformat()))
        last = now_

    # The same backfill as `manage.py award_xp` (one UTC day per statement, the ledger re-analysed as it grows).
    award = xp_award_backfill(start=days[0][0], end=days[-1][1], now=datetime.now(UTC), progress=window_done)
    level_ups, achievements = len(award.level_ups), len(award.achievements)
    award_seconds = time.perf_counter() - started
    print(
        f"# xp_award: {DAYS} one-day windows in {award_seconds:.1f}s ({award.events / award_seconds:.0f} events/s; "
        f"slowest window {slowest[0]:.1f}s on {slowest[1]}): {award.events} events matched a rule, {award.xp} XP, "
        f"{level_ups} level-ups, {achievements} achievements",
        flush=True,
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for table in ("gamification_xptotal", "gamification_xpaward", "classroom_enrollment", "accounts_user"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"# vacuum analyze of the filled tables: {time.perf_counter() - started:.1f}s", flush=True)


# --- 2. Leaderboard requests ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    course_id: int
    teacher: str
    student: str
    student_rank: int
    student_xp: int
    students: int
    events: int


def find_target(database_url: str) -> Target:
    """The course, the teacher and the student ranked in the middle of the course's all-time leaderboard."""
    with psycopg.connect(database_url) as connection:
        found = connection.execute(
            "SELECT c.id, c.organization_id FROM classroom_course c JOIN accounts_organization o "
            "ON o.id = c.organization_id WHERE o.slug = %s AND c.code = %s",
            [ORGANIZATION_SLUG, COURSE_CODE],
        ).fetchone()
        if found is None:
            raise SystemExit("no benchmark course in this database: run without --skip-setup first")
        course_id, organization_id = found
        ranked = connection.execute(
            "SELECT u.username, t.xp FROM gamification_xptotal t JOIN accounts_user u ON u.id = t.student_id "
            "WHERE t.organization_id = %s AND t.course_id = %s AND t.period = 'all' AND t.xp > 0 "
            "ORDER BY t.xp DESC, t.student_id",
            [organization_id, course_id],
        ).fetchall()
        students = connection.execute(
            "SELECT count(*) FROM classroom_enrollment WHERE course_id = %s AND role = 'student' AND status = 'active'",
            [course_id],
        ).fetchone()
        events = connection.execute(
            "SELECT count(*) FROM analytics_learningevent WHERE organization_id = %s", [organization_id]
        ).fetchone()
    if not ranked:
        raise SystemExit("nobody in the course has XP: did the award step run?")
    middle = len(ranked) // 2
    return Target(
        course_id=course_id,
        teacher=TEACHER_USERNAME,
        student=ranked[middle][0],
        student_rank=middle + 1,
        student_xp=ranked[middle][1],
        students=students[0] if students else 0,
        events=events[0] if events else 0,
    )


def answer_problem(payload: dict[str, Any], limit: int, is_student: bool) -> str | None:
    """Why a leaderboard answer is not what the benchmark expects, or None."""
    rows = payload.get("rows") or []
    if payload.get("hidden"):
        return "leaderboard hidden"
    if not rows or len(rows) > limit:
        return f"{len(rows)} rows for limit {limit}"
    if is_student and not payload.get("me"):
        return "no own standing for the student"
    return None


@dataclass
class Combination:
    viewer: str
    timeframe: str
    limit: int
    latencies_ms: list[float]
    errors: list[str]
    rows: int = 0
    me: dict[str, Any] | None = None

    def percentile_ms(self, percent: int) -> float:
        return percentile(self.latencies_ms, percent)

    def summary(self) -> str:
        p95 = self.percentile_ms(95)
        standing = (
            f" me: rank {self.me['rank']}, {self.me['xp']} XP, percentile {self.me['percentile']}" if self.me else ""
        )
        return (
            f"leaderboard {self.viewer:<7} timeframe={self.timeframe:<8} limit={self.limit:<3}: "
            f"{len(self.latencies_ms)} requests, {self.rows} rows{standing}; p50={self.percentile_ms(50):.1f}ms "
            f"p95={p95:.1f}ms p99={self.percentile_ms(99):.1f}ms max={max(self.latencies_ms):.1f}ms "
            f"errors={len(self.errors)}{'' if p95 < BAR_P95_MS else '  <-- p95 over the bar'}"
        )


def measure(
    port: int, token: str, viewer: str, course_id: int, timeframe: str, limit: int, warmup: int, count: int
) -> Combination:
    """`warmup` then `count` sequential GETs of one leaderboard over one http.client connection."""
    path = f"/api/v1/gamification/leaderboard?course={course_id}&timeframe={timeframe}&limit={limit}"
    result = Combination(viewer, timeframe, limit, [], [])
    for reply in timed_gets(port, path, token, warmup + count):
        if reply.error is not None:
            result.errors.append(reply.error)
            continue
        if reply.status != 200:
            result.errors.append(f"HTTP {reply.status}: {reply.content[:200]!r}")
            continue
        payload = orjson.loads(reply.content)
        problem = answer_problem(payload, limit, viewer == "student")
        if problem:
            result.errors.append(problem)
            continue
        result.rows, result.me = len(payload["rows"]), payload.get("me")
        if reply.number >= warmup:
            result.latencies_ms.append(reply.elapsed_ms)
    if not result.latencies_ms:
        raise SystemExit(f"no successful request for {viewer} {timeframe} {limit}: {result.errors[:3]}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=5000, help="students enrolled in the course (default 5000)")
    parser.add_argument("--events", type=int, default=1_000_000, help="events over 60 days (default 1000000)")
    parser.add_argument("--chunk", type=int, default=20_000, help="events per events_store call (default 20000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated data (default 1)")
    parser.add_argument("--requests", type=int, default=200, help="measured requests per combination (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests per combination (default 20)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--skip-setup", action="store_true", help="reuse the data of an earlier run")
    parser.add_argument("--populate", action="store_true", help=argparse.SUPPRESS)  # the setup's child process
    arguments = parser.parse_args()
    if arguments.populate:
        populate(arguments.students, arguments.events, arguments.chunk, arguments.seed)
        return
    signal.signal(signal.SIGTERM, stop_on_signal)

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    print(f"# machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; database {database_url}", flush=True)
    setup_seconds = 0.0
    if not arguments.skip_setup:
        began = time.perf_counter()
        manage("migrate", "--noinput", "-v", "0", database_url=database_url)
        print(f"# migrate: {time.perf_counter() - began:.1f}s", flush=True)
        subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter and script
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--populate",
                f"--students={arguments.students}",
                f"--events={arguments.events}",
                f"--chunk={arguments.chunk}",
                f"--seed={arguments.seed}",
            ],
            cwd=PROJECT_DIR,
            # a channel-layer prefix of its own: level-up and achievement messages reach no development page
            env={**server_environment(database_url), "CHANNELS_PREFIX": "edupath-bench-gamification"},
            check=True,
        )
        setup_seconds = time.perf_counter() - began
        print(f"# setup total: {setup_seconds:.1f}s", flush=True)
    target = find_target(database_url)
    print(
        f"# course {target.course_id}: {target.students} active students, {target.events} events stored; student "
        f"{target.student} is ranked {target.student_rank} all time with {target.student_xp} XP",
        flush=True,
    )

    log_dir = Path(tempfile.mkdtemp(prefix="edupath-bench-gamification-"))
    port = free_port()
    command = server_command("gunicorn", port, "sync")
    command[command.index("--workers") + 1] = str(arguments.workers)
    log_path = log_dir / "gunicorn.log"
    print(f"# server: {' '.join(command[1:])} (log: {log_path})", flush=True)
    results: list[Combination] = []
    with running_server(command, database_url, log_path) as process:
        wait_until_serving(port, process, log_path)
        tokens = {
            "teacher": access_token(port, target.teacher, PASSWORD),
            "student": access_token(port, target.student, PASSWORD),
        }
        for viewer, token in tokens.items():
            for timeframe in TIMEFRAMES:
                for limit in LIMITS:
                    result = measure(
                        port,
                        token,
                        viewer,
                        target.course_id,
                        timeframe,
                        limit,
                        arguments.warmup,
                        arguments.requests,
                    )
                    results.append(result)
                    print(result.summary(), flush=True)
                    for error in result.errors[:3]:
                        print(f"#   {error}", flush=True)

    worst = {percent: max(result.percentile_ms(percent) for result in results) for percent in (50, 95, 99)}
    errors = sum(len(result.errors) for result in results)
    print(
        f"worst of {len(results)} combinations: p50={worst[50]:.1f}ms p95={worst[95]:.1f}ms p99={worst[99]:.1f}ms; "
        f"errors={errors} (bar p95 < {BAR_P95_MS:.0f}ms: {'met' if worst[95] < BAR_P95_MS else 'MISSED'})",
        flush=True,
    )
    print(
        f"RESULT students={target.students} events={target.events} leaderboard_p50_ms={worst[50]:.1f} "
        f"leaderboard_p95_ms={worst[95]:.1f} leaderboard_p99_ms={worst[99]:.1f} setup_s={setup_seconds:.1f}",
        flush=True,
    )


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; the server this run started has been stopped")

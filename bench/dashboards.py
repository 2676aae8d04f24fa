"""Measure every analytics read at 10 M events: p50/p95 per endpoint as a teacher and as an administrator, and for
the three heaviest reads the same numbers computed from raw events, with the ratio.

Usage (from the project root, PostgreSQL and Redis running, gunicorn installed in the venv):

    createdb -h 127.0.0.1 -U postgres edupath_bench_dashboards
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edupath_bench_dashboards .venv/bin/python bench/dashboards.py \
        [--oulad ../shared/datasets/oulad] [--events 10000000] [--repeat 50] [--raw-repeat 5] [--seed 1] \
        [--anchor-date YYYY-MM-DD] [--skip-setup]

Use a database of its own (the default DATABASE_URL is the one above); keep it, and measure again with
--skip-setup. The issue's bars (#5): every analytics endpoint under 50 ms at p95 at 10 M events; rollup-backed
answers at least 50x faster than computing them from raw events, for the three heaviest.

1. Setup (skipped with --skip-setup): migrates the database; imports OULAD (`manage.py import_oulad PATH`, about
   5.8 M events; idempotent); then, in a child process of this script with Django set up (config.settings.local),
   creates a teacher (`dash-teacher`, teaching the largest OULAD course and TEACHER_COURSES - 1 more) and an
   organisation administrator (`dash-admin`, not a superuser) through accounts.services.user_create and
   classroom.services.enrollment_create, and tops the event store up to `--events` events in all with generated
   ones, stored through analytics.services.events_store (update_rollups=False, chunks of `--chunk`, as the importer
   does). Then `manage.py rebuild_rollups --since <first generated day>`, `manage.py award_xp --since <anchor -
   (--xp-days - 1)>` (XP, levels, streaks, achievements and leaderboards of the last 14 days by default: the award
   runs a day at a time and takes 5-15 s per day here, far more than the rest of the setup per event; so 30-day
   reads see XP in their last 14 days, and the all-time leaderboard holds those days only) and VACUUM (ANALYZE)
   of the filled tables, as autovacuum soon would (run with --skip-setup too). Each step's time is printed.

   The generated events. OULAD's dates are 2013-2014, so for every "last N days" read the imported events lie
   outside the window, and a benchmark of those reads over OULAD alone measures empty ranges. The top-up therefore
   *replays* each OULAD presentation so that it ends on the anchor day (default: yesterday, UTC): day d of a course
   of L days falls on anchor - (L - 1) + d. Each OULAD student is active only inside their own registration of
   that course (from registration to unregistration), with a log-normal activity level; weekends are quieter.
   Activity comes in sessions (07:00-22:30 Europe/London): `session_start`, 3-14 actions a few minutes apart,
   `session_end` with the session's duration in seconds. The actions: material_view, page_view, video_play and
   material_complete on the course's VLE items of the current week (60 %) or an earlier one, quiz_submit with a
   score out of 100 on its quizzes. Every event gets a time-ordered id (analytics.importers.oulad
   .ordered_event_id) from the seed, the anchor day and its place in the day, so the same arguments give the same
   events: re-running an interrupted setup on the same anchor day adds only what is missing, and a completed one
   is recognised by the count of events in the replay window and skipped. The imported enrolments are left as the
   importer made them (completed or dropped: every presentation is over).

2. For each `--cache` mode (default both: "uncached", the server with ANALYTICS_CACHE_SECONDS=0, so every answer is
   computed afresh as right after new events for its organisation; then "cached", the default configuration, where
   a repeated read is served from the analytics cache until new events or XP arrive, see analytics/cache.py):
   starts `gunicorn config.wsgi:application --workers 2` (sync; config.settings.local, DJANGO_DEBUG=false), gets a
   JWT for the teacher and the administrator (POST /api/v1/auth/token/), checks which URL names of ENDPOINTS exist
   (django.urls.reverse in a `manage.py shell -c`; missing ones are skipped with a note) and, for each endpoint and
   role, sends 3 unmeasured GETs and then `--repeat` sequential GETs over one http.client connection (sync workers
   close it after each answer, so a TCP connect on 127.0.0.1 is part of each latency; from sending the request to
   reading the whole body). The teacher names their largest course where a `course` parameter applies, and
   student-scoped reads name the student of that course with the most events in the last 30 days. A non-200
   answer is printed as an error of that endpoint and role, which then has no percentiles.

3. For the three heaviest reads (HEAVIEST: the administrator's 30-day engagement trend of the organisation, the
   30-day analytics of the largest course, the organisation's 30-day overview), a child process with Django set up
   times, in-process, the selector over the rollups (`--repeat` calls after one warm-up, as the view calls it:
   same scope, period and time zone) against SQL over analytics_learningevent (psycopg, `--raw-repeat` calls after
   one warm-up) computing the same figures: local days in each course's time zone (analytics.services.LOCAL_DAY),
   scores as analytics.services.SCORE_PERCENT, items completed as distinct (student, item, day), XP from the
   ledger. Parts that do not come from the rollups (enrolments, submissions) run the same ORM queries on both
   sides. It prints p50/p95 of both, raw_p50 / rollup_p50, the same answer served through the analytics cache
   (analytics.cache.cached_answer, repeated with no new data) and raw_p50 / served_p50, and whether the headline
   numbers agree.

The last line printed is:

    RESULT events=... endpoints=... worst_p95_ms_uncached=... worst_endpoint_uncached=... worst_p95_ms=...
           worst_endpoint=... ratio_min=... ratio_served_min=... setup_s=...
           (one line; the unsuffixed figures are the cached server's; ratio_min compares the selectors computing
           over the rollups, ratio_served_min the same answers served through the analytics cache)

where endpoints counts the endpoints measured (URL names that resolved), worst_* is over every endpoint and role
that answered 200, ratio_min is the smallest of the three raw/rollup ratios and setup_s the wall time of step 1
(0 with --skip-setup). The figures depend on the machine; record its core count with them.
"""

import argparse
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

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
from psycopg import sql

# ANALYTICS_CACHE_SECONDS of the measured server: "cached" is the default configuration; "uncached" measures every
# answer computed afresh (what a read costs right after new events arrive for its organisation).
CACHE_SECONDS = 60
CACHE_MODES = {"both": ("uncached", "cached"), "on": ("cached",), "off": ("uncached",)}
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/edupath_bench_dashboards"
DEFAULT_OULAD = "../shared/datasets/oulad"
OULAD_SLUG = "oulad"
TEACHER_USERNAME = "dash-teacher"
ADMIN_USERNAME = "dash-admin"
PASSWORD = "bench-dashboards-password"  # noqa: S105 - throwaway accounts in a scratch database
TEACHER_COURSES = 4  # the largest course and the next three: a teacher of several classes
TIME_ZONE = "Europe/London"
WARMUP_CALLS = 3
BAR_P95_MS = 50.0
BAR_RATIO = 50.0


# --- The endpoints ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One analytics read: its URL name, the id its path takes (if any), its query for both roles ({course} and
    {student} filled in), whether the teacher adds course=<their course>, and who is measured."""

    name: str
    query: str = ""
    path_id: str | None = None  # "course" or "student"
    teacher_course: bool = False
    roles: tuple[str, ...] = ("teacher", "admin")


ENDPOINTS: tuple[Endpoint, ...] = (
    # name                                   query                                         path id
    Endpoint("analytics-trends-engagement", "period=30d", teacher_course=True),
    Endpoint("analytics-realtime", "", teacher_course=True),
    Endpoint("analytics-overview", "period=30d", teacher_course=True),
    Endpoint("analytics-dashboard", "period=30d", teacher_course=True),
    Endpoint("analytics-summary", "", teacher_course=True),
    Endpoint("analytics-trends-content", "period=30d", teacher_course=True),
    Endpoint("analytics-system-metrics", "period=24h", roles=("admin",)),
    Endpoint("analytics-learning-heatmap", "student={student}&period=90d"),
    Endpoint("analytics-course-analytics", "period=30d", path_id="course"),
    Endpoint("analytics-weekly-xp", "student={student}"),
    Endpoint("analytics-student-progress", "student={student}", teacher_course=True),
    Endpoint("analytics-subject-mastery", "student={student}", teacher_course=True),
    Endpoint("analytics-learning-overview", "student={student}&period=30d"),
    Endpoint("gamification-leaderboard", "period=week&limit=10", teacher_course=True),
    Endpoint("gamification-progress", "student={student}&period=30d"),
    # being added (issue 5); skipped with a note while their URL name does not resolve
    Endpoint("analytics-engagement-metrics", "period=7d"),
    Endpoint("analytics-progress-tracking", "student={student}"),
    Endpoint("analytics-learning-progress", "student={student}", teacher_course=True),
    Endpoint("analytics-user-analytics", "", path_id="student"),
    Endpoint("analytics-dashboard-micro", "student={student}"),
    Endpoint("analytics-dashboard-meso", "course={course}"),
    Endpoint("analytics-dashboard-macro", ""),
)

# The three reads compared with raw-event computation (step 3).
HEAVIEST = ("engagement trend, organisation, 30 days", "course analytics, largest course, 30 days", "overview, 30 days")


# --- 1. Setup, in a child process with Django set up ----------------------------------------------------------------

# (action, share of a session's actions)
ACTION_MIX = (
    ("material_view", 0.45),
    ("page_view", 0.15),
    ("video_play", 0.12),
    ("material_complete", 0.16),
    ("quiz_submit", 0.12),
)
# Quiz scores out of 100 in bands of 10, most of them passes.
SCORE_BAND_WEIGHTS = (1, 1, 2, 3, 5, 8, 12, 14, 11, 7)
SESSION_FIRST_SECOND = 7 * 3600
SESSION_LAST_START_SECOND = 22 * 3600 + 1800
CURRENT_WEEK_SHARE = 0.6
WEEKEND_WEIGHT = 0.6


@dataclass
class Registration:
    student_id: int
    first_offset: int  # course days the student is active: first_offset..last_offset
    last_offset: int


@dataclass
class ReplayedCourse:
    course_id: int
    days: int
    replay_first: date  # the local day course day 0 falls on
    registrations: list[Registration]
    activity: list[float]  # cumulative activity weights of `registrations`
    materials_by_week: dict[int, list[int]]  # week -> VLE items that are read or watched
    quizzes: list[int]
    active_per_offset: list[int] = field(default_factory=list)

    def offset_of(self, day: date) -> int:
        return (day - self.replay_first).days


def day_counts(total: int, weights: list[float]) -> list[int]:
    """Split `total` by `weights` with an exact sum (largest remainders)."""
    weight_sum = sum(weights)
    shares = [total * weight / weight_sum for weight in weights]
    counts = [int(share) for share in shares]
    by_remainder = sorted(range(len(weights)), key=lambda index: shares[index] - counts[index], reverse=True)
    for index in by_remainder[: total - sum(counts)]:
        counts[index] += 1
    return counts


def ensure_staff() -> dict[str, Any]:
    """The bench teacher (teaching the TEACHER_COURSES largest OULAD courses) and administrator, created through the
    project's services when missing. Returns their ids and the teacher's course ids."""
    from django.db.models import Count, Q

    from accounts.models import Organization, Role, User
    from accounts.services import user_create
    from classroom.models import Course, Enrollment
    from classroom.services import enrollment_create

    organization = Organization.objects.get(slug=OULAD_SLUG)
    people = {}
    for username, role, first_name in (
        (TEACHER_USERNAME, Role.TEACHER, "Teacher"),
        (ADMIN_USERNAME, Role.ADMIN, "Admin"),
    ):
        person = User.objects.filter(username=username).first()
        if person is None:
            person = user_create(
                username=username,
                organization=organization,
                role=role,
                email=f"{username}@bench.test",
                first_name=first_name,
                last_name="Bench",
                password=PASSWORD,
            )
        people[username] = person
    largest = list(
        Course.objects.filter(organization=organization)
        .annotate(students=Count("enrollments", filter=Q(enrollments__role=Enrollment.Role.STUDENT)))
        .order_by("-students", "code")[:TEACHER_COURSES]
    )
    teacher = people[TEACHER_USERNAME]
    taught = set(
        Enrollment.objects.filter(
            user=teacher, role=Enrollment.Role.TEACHER, status=Enrollment.Status.ACTIVE
        ).values_list("course_id", flat=True)
    )
    for course in largest:
        if course.pk not in taught and course.start_date is not None:
            enrolled_at = datetime.combine(course.start_date, datetime.min.time(), tzinfo=UTC)
            enrollment_create(user=teacher, course=course, role=Enrollment.Role.TEACHER, enrolled_at=enrolled_at)
    return {
        "organization_id": organization.pk,
        "teacher_id": teacher.pk,
        "admin_id": people[ADMIN_USERNAME].pk,
        "teacher_courses": [course.pk for course in largest],
    }


def replayed_courses(organization_id: int, anchor: date, rng: random.Random) -> list[ReplayedCourse]:
    """Every OULAD course of the organisation, its students' registrations in course days, and its items by week."""
    from classroom.models import Course, Enrollment, LearningItem

    courses = []
    for course in Course.objects.filter(organization_id=organization_id).order_by("code"):
        if course.start_date is None or course.end_date is None:
            continue
        days = (course.end_date - course.start_date).days
        registrations = []
        for student_id, status, enrolled_at, ended_at in (
            Enrollment.objects.filter(course=course, role=Enrollment.Role.STUDENT)
            .order_by("user_id", "enrolled_at")
            .values_list("user_id", "status", "enrolled_at", "ended_at")
        ):
            first = max(0, (enrolled_at.date() - course.start_date).days)
            last = days - 1
            if status == Enrollment.Status.DROPPED and ended_at is not None:
                last = min(last, (ended_at.date() - course.start_date).days)
            if first <= last:
                registrations.append(Registration(student_id, first, last))
        materials: dict[int, list[int]] = {}
        quizzes = []
        for item_id, kind, position in (
            LearningItem.objects.filter(module__course=course)
            .order_by("id")
            .values_list("id", "kind", "module__position")
        ):
            week = position - 1  # the importer's modules: position = week + 1
            if kind == LearningItem.Kind.QUIZ:
                quizzes.append(item_id)
            elif kind in (LearningItem.Kind.LESSON, LearningItem.Kind.RESOURCE):
                materials.setdefault(week, []).append(item_id)
        if not registrations or not materials:
            continue
        active = [0] * (days + 1)
        for registration in registrations:
            active[registration.first_offset] += 1
            active[registration.last_offset + 1] -= 1
        courses.append(
            ReplayedCourse(
                course_id=course.pk,
                days=days,
                replay_first=anchor - timedelta(days=days - 1),
                registrations=registrations,
                activity=list(itertools.accumulate(rng.lognormvariate(0, 0.9) for _ in registrations)),
                materials_by_week=materials,
                quizzes=quizzes,
                active_per_offset=list(itertools.accumulate(active))[:days],
            )
        )
    return courses


class SessionMaker:
    """Sessions of one student in one course on one day, as EventIn lists (ids assigned later, in time order)."""

    def __init__(self, rng: random.Random, seed: int) -> None:
        from zoneinfo import ZoneInfo

        self.rng = rng
        self.seed = seed
        self.zone = ZoneInfo(TIME_ZONE)
        self.actions = [action for action, _ in ACTION_MIX]
        self.action_weights = list(itertools.accumulate(share for _, share in ACTION_MIX))
        self.band_weights = list(itertools.accumulate(SCORE_BAND_WEIGHTS))
        self.hundred = Decimal(100)

    def material(self, course: ReplayedCourse, week: int) -> int:
        weeks = course.materials_by_week
        if week in weeks and self.rng.random() < CURRENT_WEEK_SHARE:
            return self.rng.choice(weeks[week])
        earlier = [w for w in weeks if w <= week] or list(weeks)
        return self.rng.choice(weeks[self.rng.choice(earlier)])

    def session(self, course: ReplayedCourse, day: date, number: int) -> list[tuple[datetime, dict[str, Any]]]:
        """(moment, EventIn fields but the id) of one session: start, 3-14 actions, end with its duration."""
        rng = self.rng
        start_second = rng.randint(SESSION_FIRST_SECOND, SESSION_LAST_START_SECOND)
        began = datetime.combine(day, datetime.min.time(), tzinfo=self.zone) + timedelta(seconds=start_second)
        week = course.offset_of(day) // 7 + 1
        session_id = f"bench-dash-{self.seed}-{day:%Y%m%d}-{number}"
        moment = began.astimezone(UTC)
        events: list[tuple[datetime, dict[str, Any]]] = [(moment, {"action": "session_start"})]
        for _ in range(rng.randint(3, 14)):
            moment += timedelta(seconds=rng.randint(20, 420))
            action = rng.choices(self.actions, cum_weights=self.action_weights)[0]
            fields: dict[str, Any]
            if action == "quiz_submit" and course.quizzes:
                item = rng.choice(course.quizzes)
                band = rng.choices(range(len(SCORE_BAND_WEIGHTS)), cum_weights=self.band_weights)[0]
                fields = {
                    "score_raw": Decimal(min(100, band * 10 + rng.randint(0, 10))),
                    "score_max": self.hundred,
                    "attempts": rng.randint(1, 3),
                }
            else:
                action = "material_view" if action == "quiz_submit" else action
                item = self.material(course, week)
                fields = {"metadata": {"device": "web"}}
            events.append((moment, {"action": action, "item_id": item, "resource_id": f"item-{item}", **fields}))
        moment += timedelta(seconds=rng.randint(10, 120))
        events.append((moment, {"action": "session_end", "duration_seconds": int((moment - began).total_seconds())}))
        for moment, fields in events:
            fields.update(occurred_at=moment, course_id=course.course_id, session_id=session_id)
            if "item_id" in fields:
                fields["resource_type"] = "item"
        return events


def populate(total_events: int, seed: int, anchor: date, chunk: int, info_path: Path) -> None:
    """Create the bench teacher and administrator and top the event store up to `total_events` with generated
    events; write what the parent needs to `info_path`. Runs in a child process: Django is set up here."""
    sys.path.insert(0, str(PROJECT_DIR))
    import django

    django.setup()

    from django.db import connection

    from analytics.importers.oulad import ordered_event_id
    from analytics.models import LearningEvent, Source
    from analytics.services import ResolvedEvent, events_store
    from analytics.validation import EventIn

    began = time.perf_counter()
    staff = ensure_staff()
    rng = random.Random(f"{seed}:{anchor.isoformat()}")
    courses = replayed_courses(staff["organization_id"], anchor, rng)
    first_day = min(course.replay_first for course in courses)
    window_start = datetime.combine(first_day - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    before = LearningEvent.objects.filter(occurred_at__lt=window_start).count()
    in_window = LearningEvent.objects.filter(occurred_at__gte=window_start).count()
    wanted = max(0, total_events - before)
    print(
        f"# staff: teacher {TEACHER_USERNAME} id {staff['teacher_id']} (courses {staff['teacher_courses']}), "
        f"administrator {ADMIN_USERNAME} id {staff['admin_id']}; {len(courses)} courses replayed over "
        f"{first_day} .. {anchor}; {before:,} events before that, {in_window:,} in it, {wanted:,} to generate "
        f"({time.perf_counter() - began:.1f}s)",
        flush=True,
    )
    info = {**staff, "first_day": first_day.isoformat(), "generated": 0, "stored": 0}
    if wanted == 0 or in_window >= wanted:
        print("# top-up: already done (the replay window holds enough events); nothing generated", flush=True)
        info_path.write_text(json.dumps(info))
        return

    days = [first_day + timedelta(days=n) for n in range((anchor - first_day).days + 1)]
    weights = []
    for day in days:
        active = sum(
            course.active_per_offset[course.offset_of(day)] for course in courses if course.offset_of(day) >= 0
        )
        weights.append(active * (WEEKEND_WEIGHT if day.weekday() >= 5 else 1.0))
    quotas = day_counts(wanted, weights)
    maker = SessionMaker(rng, seed)
    with connection.cursor() as cursor:
        # As the importer: a crash loses at most the last chunks, which a re-run (same anchor day) writes again.
        cursor.execute("SET synchronous_commit TO off")

    generate_seconds = store_seconds = 0.0
    stored = duplicates = generated = 0
    pending: list[Any] = []
    received_at = datetime.now(UTC)
    organization_id = staff["organization_id"]

    def flush() -> None:
        nonlocal store_seconds, stored, duplicates
        started = time.perf_counter()
        inserted, repeated = events_store(
            events=pending, received_at=received_at, source=Source.IMPORT, update_rollups=False
        )
        store_seconds += time.perf_counter() - started
        stored += inserted
        duplicates += repeated
        pending.clear()

    for index, (day, quota) in enumerate(zip(days, quotas, strict=True)):
        started = time.perf_counter()
        open_courses = [course for course in courses if course.offset_of(day) >= 0 < course.days]
        course_weights = list(
            itertools.accumulate(course.active_per_offset[course.offset_of(day)] for course in open_courses)
        )
        day_events: list[tuple[datetime, int, Any]] = []
        number = 0
        while len(day_events) < quota and open_courses and course_weights[-1] > 0:
            course = rng.choices(open_courses, cum_weights=course_weights)[0]
            offset = course.offset_of(day)
            for _ in range(20):  # a student registered on this course day, by activity
                registration = rng.choices(course.registrations, cum_weights=course.activity)[0]
                if registration.first_offset <= offset <= registration.last_offset:
                    break
            else:
                continue
            number += 1
            for moment, fields in maker.session(course, day, number):
                day_events.append((moment, registration.student_id, fields))
        # Sessions are cut at the day's quota (as real sessions end without a session_end), then put in time order.
        del day_events[quota:]
        day_events.sort(key=lambda row: row[0])
        for position, (moment, student_id, fields) in enumerate(day_events):
            event_id = ordered_event_id(moment, f"bench:dashboards:{seed}:{anchor}:{day}:{position}")
            pending.append(ResolvedEvent(EventIn(event_id=event_id, **fields), student_id, organization_id))
            if len(pending) >= chunk:
                generate_seconds += time.perf_counter() - started
                flush()
                started = time.perf_counter()
        generated += len(day_events)
        generate_seconds += time.perf_counter() - started
        if (index + 1) % 30 == 0:
            print(
                f"#   top-up: {generated:,} generated, {stored:,} stored ({index + 1} of {len(days)} days)", flush=True
            )
    if pending:
        flush()
    print(
        f"# top-up: {generated:,} events generated in {generate_seconds:.1f}s; events_store (chunks of {chunk}, "
        f"no rollups) {store_seconds:.1f}s = {stored / max(store_seconds, 1e-6):,.0f} events/s; {stored:,} stored, "
        f"{duplicates:,} already there",
        flush=True,
    )
    info.update(generated=generated, stored=stored)
    info_path.write_text(json.dumps(info))


# --- 2. Endpoint requests --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    organization_id: int
    teacher_id: int
    admin_id: int
    course_id: int  # the teacher's largest course, the largest of the organisation
    course_students: int
    student_id: int  # the student of that course with the most events in the last 30 days
    events: int


def find_target(database_url: str) -> Target:
    with psycopg.connect(database_url) as connection:
        found = connection.execute(
            "SELECT o.id, t.id, a.id FROM accounts_organization o "
            "JOIN accounts_user t ON t.username = %s AND t.organization_id = o.id "
            "JOIN accounts_user a ON a.username = %s AND a.organization_id = o.id WHERE o.slug = %s",
            [TEACHER_USERNAME, ADMIN_USERNAME, OULAD_SLUG],
        ).fetchone()
        if found is None:
            raise SystemExit("no OULAD organisation with the bench teacher and admin: run without --skip-setup first")
        organization_id, teacher_id, admin_id = found
        course = connection.execute(
            "SELECT e.course_id, (SELECT count(*) FROM classroom_enrollment s WHERE s.course_id = e.course_id "
            "AND s.role = 'student') AS students FROM classroom_enrollment e WHERE e.user_id = %s "
            "AND e.role = 'teacher' AND e.status = 'active' ORDER BY students DESC, e.course_id LIMIT 1",
            [teacher_id],
        ).fetchone()
        if course is None:
            raise SystemExit(f"{TEACHER_USERNAME} teaches no course: run without --skip-setup")
        student = connection.execute(
            "SELECT student_id FROM analytics_studentdailyrollup WHERE course_id = %s AND day >= %s "
            "GROUP BY student_id ORDER BY sum(events) DESC, student_id LIMIT 1",
            [course[0], datetime.now(UTC).date() - timedelta(days=30)],
        ).fetchone()
        if student is None:
            raise SystemExit(f"no activity in course {course[0]} in the last 30 days: was the top-up generated?")
        events = connection.execute("SELECT count(*) FROM analytics_learningevent").fetchone()
    return Target(organization_id, teacher_id, admin_id, course[0], course[1], student[0], events[0] if events else 0)


RESOLVE = """
import json
from django.urls import NoReverseMatch, reverse
found = {}
for name, argument in json.loads(__WANTED__):
    try:
        found[name] = reverse(name, args=[argument] if argument is not None else [])
    except NoReverseMatch:
        found[name] = None
print("BENCH_JSON " + json.dumps(found))
"""


def resolve_paths(database_url: str, target: Target) -> dict[str, str | None]:
    """Each endpoint's path (django.urls.reverse with its id), or None when its URL name does not exist (yet)."""
    ids = {"course": target.course_id, "student": target.student_id, None: None}
    wanted = json.dumps([(endpoint.name, ids[endpoint.path_id]) for endpoint in ENDPOINTS])
    output = subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [sys.executable, "manage.py", "shell", "-c", RESOLVE.replace("__WANTED__", repr(wanted))],
        cwd=PROJECT_DIR,
        env=server_environment(database_url),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH_JSON "))
    paths: dict[str, str | None] = json.loads(line.removeprefix("BENCH_JSON "))
    return paths


@dataclass
class Measured:
    endpoint: str
    role: str
    url: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    size: int = 0

    def percentile_ms(self, percent: int) -> float:
        return percentile(self.latencies_ms, percent)

    def line(self) -> str:
        if len(self.latencies_ms) < 2:
            first = self.errors[0] if self.errors else "no answer"
            return f"{self.endpoint:<30} {self.role:<7} ERROR {first}  ({self.url})"
        p95 = self.percentile_ms(95)
        return (
            f"{self.endpoint:<30} {self.role:<7} {self.percentile_ms(50):8.1f} {p95:8.1f} "
            f"{max(self.latencies_ms):8.1f} {self.size:>8} {len(self.errors):>6}"
            f"{'' if p95 < BAR_P95_MS else '  <-- p95 over 50 ms'}"
        )


def endpoint_url(endpoint: Endpoint, path: str, role: str, target: Target) -> str:
    query = endpoint.query.format(course=target.course_id, student=target.student_id)
    parameters = [part for part in query.split("&") if part]
    if role == "teacher" and endpoint.teacher_course:
        parameters.append(urlencode({"course": target.course_id}))
    return path + ("?" + "&".join(parameters) if parameters else "")


def measure(port: int, token: str, endpoint: str, role: str, url: str, repeat: int) -> Measured:
    """WARMUP_CALLS unmeasured, then `repeat` sequential GETs of one URL over one http.client connection."""
    result = Measured(endpoint, role, url)
    for reply in timed_gets(port, url, token, WARMUP_CALLS + repeat):
        if reply.error is not None:
            result.errors.append(reply.error)
        elif reply.status != 200:
            result.errors.append(f"HTTP {reply.status}: {reply.content[:200]!r}")
            if len(result.errors) >= WARMUP_CALLS and not result.latencies_ms:
                break  # it will not start working: do not spend the repeats on it
        else:
            result.size = len(reply.content)
            if reply.number >= WARMUP_CALLS:
                result.latencies_ms.append(reply.elapsed_ms)
    return result


# --- 3. Rollups against raw events, in a child process with Django set up --------------------------------------------


def timed(function: Callable[[], Any], repeat: int) -> tuple[Any, list[float]]:
    """One warm-up call (its answer is returned), then `repeat` timed calls in milliseconds."""
    answer = function()
    latencies = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        latencies.append((time.perf_counter() - began) * 1000)
    return answer, latencies


def compare(database_url: str, course_id: int, admin_id: int, repeat: int, raw_repeat: int, out: Path) -> None:
    """Time the selectors of the three heaviest reads over the rollups and SQL over raw events computing the same
    numbers; print both and write the ratios to `out`."""
    sys.path.insert(0, str(PROJECT_DIR))
    import django

    django.setup()

    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.utils import timezone
    from psycopg import sql

    from accounts.models import User
    from analytics import selectors
    from analytics.cache import cached_answer
    from analytics.sql import COMPLETE_LIST, LOCAL_DAY, SCORE_PERCENT
    from classroom.models import Course, Enrollment, Submission
    from classroom.selectors import visible_courses
    from core.daterange import DateRange

    admin = User.objects.select_related("organization").get(pk=admin_id)
    course = Course.objects.get(pk=course_id)
    now = timezone.now()
    organization_zone = ZoneInfo(admin.organization.time_zone if admin.organization else "UTC")
    # As the views: the organisation's classes in the administrator's time zone; one class in its own time zone.
    organization_period = DateRange.last_days(30, now=now, zone=organization_zone)
    course_period = DateRange.last_days(30, now=now, zone=ZoneInfo(course.time_zone))
    scope = visible_courses(admin).values_list("pk", flat=True)
    scope_ids = list(scope)
    raw = psycopg.connect(database_url, autocommit=True)

    # Raw SQL on purpose: this is the computation the rollups exist to avoid. The fragments are analytics.services'
    # own definitions of a local day, a score percentage and the completing actions, so both sides count alike.
    events_of = sql.SQL(
        "FROM analytics_learningevent e JOIN classroom_course c ON c.id = e.course_id "
        "JOIN accounts_organization o ON o.id = e.organization_id "
        "WHERE e.course_id = ANY(%(courses)s) AND e.occurred_at >= %(start)s AND e.occurred_at < %(end)s "
        "AND {day} BETWEEN %(first)s AND %(last)s"
    ).format(day=sql.SQL(LOCAL_DAY))
    daily_sql = sql.SQL(
        "SELECT {day} AS day, count(DISTINCT e.actor_id), count(*), COALESCE(sum(e.duration_seconds), 0) {events} "
        "GROUP BY 1"
    ).format(day=sql.SQL(LOCAL_DAY), events=events_of)
    totals_sql = sql.SQL(
        "SELECT count(DISTINCT e.actor_id), count(*), COALESCE(sum({score}), 0), count({score}), "
        "count(DISTINCT (e.actor_id, e.course_id)), count(DISTINCT e.course_id), "
        "count(DISTINCT (e.actor_id, e.item_id, {day})) "
        "FILTER (WHERE e.item_id IS NOT NULL AND e.action = ANY({done})) {events}"
    ).format(score=sql.SQL(SCORE_PERCENT), day=sql.SQL(LOCAL_DAY), done=sql.SQL(COMPLETE_LIST), events=events_of)
    xp_sql = sql.SQL(
        "SELECT COALESCE(sum(a.amount), 0) FROM gamification_xpaward a JOIN classroom_course c ON c.id = a.course_id "
        "JOIN accounts_organization o ON o.id = a.organization_id WHERE a.course_id = ANY(%(courses)s) "
        "AND a.occurred_at >= %(start)s AND a.occurred_at < %(end)s "
        "AND (a.occurred_at AT TIME ZONE COALESCE(c.time_zone, o.time_zone))::date BETWEEN %(first)s AND %(last)s"
    )

    def parameters(course_ids: list[int], period: DateRange) -> dict[str, Any]:
        # a local day lies within a day either side of the UTC day
        return {
            "courses": course_ids,
            "start": period.start() - timedelta(days=1),
            "end": period.end() + timedelta(days=1),
            "first": period.first,
            "last": period.last,
        }

    def raw_daily(course_ids: list[int], period: DateRange) -> list[dict[str, Any]]:
        rows = {day: row for day, *row in raw.execute(daily_sql, parameters(course_ids, period)).fetchall()}
        return [
            {
                "date": day,
                "active_students": rows.get(day, (0, 0, 0))[0],
                "events": rows.get(day, (0, 0, 0))[1],
                "active_minutes": round(rows.get(day, (0, 0, 0))[2] / 60, 1),
            }
            for day in period.buckets()
        ]

    def raw_totals(course_ids: list[int], period: DateRange) -> dict[str, Any]:
        row = raw.execute(totals_sql, parameters(course_ids, period)).fetchone()
        assert row is not None
        active, events, score_sum, score_count, attending, classes, completed = row
        return {
            "active_students": active,
            "events": events,
            "average_score_percent": round(float(score_sum) / score_count, 1) if score_count else None,
            "attending": attending,
            "classes_active": classes,
            "items_completed": completed,
        }

    def raw_engagement_trend() -> dict[str, Any]:
        points = raw_daily(scope_ids, organization_period)
        return {"daily": points}

    def rollup_engagement_trend() -> dict[str, Any]:
        return {"daily": selectors.engagement_trend(course_ids=scope, period=organization_period)}

    def rollup_course() -> dict[str, Any]:
        answer: dict[str, Any] = dict(selectors.course_analytics(course=course, period=course_period))
        keys = ("active_students", "events", "items_completed", "xp", "average_score_percent", "students_enrolled")
        return {**{key: answer[key] for key in keys}, "daily": answer["engagement"]}

    def raw_course() -> dict[str, Any]:
        totals = raw_totals([course.pk], course_period)
        xp_row = raw.execute(xp_sql, parameters([course.pk], course_period)).fetchone()
        # not from the rollups: the same ORM reads on both sides
        enrolled = Enrollment.objects.filter(
            course=course, role=Enrollment.Role.STUDENT, status=Enrollment.Status.ACTIVE
        ).count()
        selectors.assignment_timeliness(course=course, period=course_period)
        selectors.score_distribution(course=course, period=course_period)
        return {
            "active_students": totals["active_students"],
            "events": totals["events"],
            "items_completed": totals["items_completed"],
            "xp": xp_row[0] if xp_row else 0,
            "average_score_percent": totals["average_score_percent"],
            "students_enrolled": enrolled,
            "daily": raw_daily([course.pk], course_period),
        }

    def rollup_overview() -> dict[str, Any]:
        answer: dict[str, Any] = dict(selectors.overview(course_ids=scope, period=organization_period))
        keys = ("students_total", "students_active", "classes_active", "events", "average_score_percent")
        return {**{key: answer[key] for key in keys}, "attendance_rate": answer["attendance_rate"]}

    def raw_overview() -> dict[str, Any]:
        period = organization_period
        totals = raw_totals(scope_ids, period)
        # not from the rollups: the same ORM reads as the selector
        active_enrolments = Enrollment.objects.filter(
            course_id__in=scope, role=Enrollment.Role.STUDENT, status=Enrollment.Status.ACTIVE
        )
        students_total = active_enrolments.values("user_id").distinct().count()
        Submission.objects.filter(
            item__module__course_id__in=scope, submitted_at__gte=period.start(), submitted_at__lt=period.end()
        ).count()
        Course.objects.filter(pk__in=scope).count()
        enrolments = active_enrolments.count()
        return {
            "students_total": students_total,
            "students_active": totals["active_students"],
            "classes_active": totals["classes_active"],
            "events": totals["events"],
            "average_score_percent": totals["average_score_percent"],
            "attendance_rate": round(100 * totals["attending"] / enrolments, 1) if enrolments else None,
        }

    pairs = (
        (HEAVIEST[0], rollup_engagement_trend, raw_engagement_trend),
        (HEAVIEST[1], rollup_course, raw_course),
        (HEAVIEST[2], rollup_overview, raw_overview),
    )
    results = []
    settings.ANALYTICS_CACHE_SECONDS = CACHE_SECONDS
    for name, over_rollups, over_raw in pairs:
        rollup_answer, rollup_ms = timed(over_rollups, repeat)
        raw_answer, raw_ms = timed(over_raw, raw_repeat)
        ratio = percentile(raw_ms, 50) / percentile(rollup_ms, 50)
        # As the API serves it: the same computation through the analytics cache (repeated, no new data meanwhile).
        served = partial(cached_answer, name, viewer=admin, parts=[], compute=over_rollups)
        _, served_ms = timed(served, repeat)
        ratio_served = percentile(raw_ms, 50) / percentile(served_ms, 50)
        agree = rollup_answer == raw_answer
        daily = rollup_answer.get("daily", [])
        headline = {key: value for key, value in rollup_answer.items() if key != "daily"}
        if daily:
            headline["events_in_days"] = sum(point["events"] for point in daily)
            headline["peak_active_students"] = max(point["active_students"] for point in daily)
        print(
            f"{name:<42} rollups p50={percentile(rollup_ms, 50):8.1f}ms p95={percentile(rollup_ms, 95):8.1f}ms | "
            f"raw p50={percentile(raw_ms, 50):9.1f}ms p95={percentile(raw_ms, 95):9.1f}ms | "
            f"ratio {ratio:7.1f}{'' if ratio >= BAR_RATIO else ' (under 50x)'} | served from the cache p50="
            f"{percentile(served_ms, 50):.2f}ms, ratio {ratio_served:.0f} | numbers agree: "
            f"{'yes' if agree else 'NO'}",
            flush=True,
        )
        print(f"#   {headline}", flush=True)
        if not agree:
            for key in rollup_answer:
                if rollup_answer[key] != raw_answer.get(key):
                    shown = (rollup_answer[key], raw_answer.get(key))
                    if key == "daily":
                        shown = next(
                            (
                                pair
                                for pair in zip(rollup_answer[key], raw_answer[key], strict=False)
                                if pair[0] != pair[1]
                            ),
                            shown,
                        )
                    print(f"#   differs: {key}: rollups {shown[0]} raw {shown[1]}", flush=True)
        results.append({"name": name, "ratio": ratio, "ratio_served": ratio_served, "agree": agree})
    raw.close()
    out.write_text(json.dumps(results))


# --- main -------------------------------------------------------------------------------------------------------------


# What autovacuum does soon after a bulk load on a running server (statistics for the planner, the visibility map
# for index-only scans); done here at once, so the measurement does not depend on when autovacuum gets to it.
VACUUMED_TABLES = (
    "analytics_learningevent",
    "analytics_studentdailyrollup",
    "analytics_coursedailyrollup",
    "analytics_studentitemday",
    "gamification_xpaward",
    "gamification_xptotal",
    "classroom_enrollment",
    "classroom_course",
    "classroom_module",
    "classroom_learningitem",
    "classroom_submission",
    "accounts_user",
)


def vacuum_analyze(database_url: str) -> None:
    started = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as connection:
        for table in VACUUMED_TABLES:
            connection.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
    print(f"# vacuum (analyze): {time.perf_counter() - started:.1f}s", flush=True)


def setup(arguments: argparse.Namespace, database_url: str) -> float:
    began = time.perf_counter()

    def step(title: str, *command: str) -> None:
        started = time.perf_counter()
        manage(*command, database_url=database_url)
        print(f"# {title}: {time.perf_counter() - started:.1f}s", flush=True)

    step("migrate", "migrate", "--noinput", "-v", "0")
    oulad = Path(arguments.oulad)
    step("import_oulad", "import_oulad", str(oulad if oulad.is_absolute() else (PROJECT_DIR / oulad).resolve()))
    started = time.perf_counter()
    with tempfile.NamedTemporaryFile(prefix="edupath-bench-dashboards-", suffix=".json") as info_file:
        subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter and script
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--populate",
                f"--events={arguments.events}",
                f"--seed={arguments.seed}",
                f"--anchor-date={arguments.anchor_date}",
                f"--chunk={arguments.chunk}",
                f"--info={info_file.name}",
            ],
            cwd=PROJECT_DIR,
            env={**server_environment(database_url), "CHANNELS_PREFIX": "edupath-bench-dashboards"},
            check=True,
        )
        info = json.loads(Path(info_file.name).read_text())
    print(f"# staff and top-up: {time.perf_counter() - started:.1f}s", flush=True)
    if info["stored"]:
        first = date.fromisoformat(info["first_day"]) - timedelta(days=1)
        step("rebuild_rollups", "rebuild_rollups", f"--since={first.isoformat()}", "--chunk-days=92", "--restart")
    if info["stored"] and arguments.xp_days:
        # XP of the last --xp-days days only: the day and week leaderboards and weekly XP see all of theirs; the
        # award of the whole replay window would take longer than everything else in the setup together.
        since = date.fromisoformat(arguments.anchor_date) - timedelta(days=arguments.xp_days - 1)
        step(f"award_xp (last {arguments.xp_days} days)", "award_xp", f"--since={since.isoformat()}")
    vacuum_analyze(database_url)
    seconds = time.perf_counter() - began
    print(f"# setup total: {seconds:.1f}s", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--oulad", default=DEFAULT_OULAD, help=f"OULAD Parquet copy (default {DEFAULT_OULAD})")
    parser.add_argument("--events", type=int, default=10_000_000, help="events in all after the top-up (10000000)")
    parser.add_argument("--repeat", type=int, default=50, help="measured GETs per endpoint and role (default 50)")
    parser.add_argument("--raw-repeat", type=int, default=5, help="timed raw-event computations (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated events (default 1)")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    parser.add_argument(
        "--anchor-date", default=yesterday, help="the day the replayed presentations end (default: yesterday, UTC)"
    )
    parser.add_argument(
        "--xp-days", type=int, default=14, help="award XP for the last N generated days (default 14; 0: none)"
    )
    parser.add_argument("--chunk", type=int, default=5_000, help="events per events_store call (default 5000)")
    parser.add_argument("--skip-setup", action="store_true", help="reuse the data of an earlier run")
    parser.add_argument(
        "--cache",
        choices=sorted(CACHE_MODES),
        default="both",
        help="measure the server with the analytics cache (as deployed), without it, or both (default)",
    )
    parser.add_argument("--populate", action="store_true", help=argparse.SUPPRESS)  # the setup's child process
    parser.add_argument("--compare", action="store_true", help=argparse.SUPPRESS)  # step 3's child process
    parser.add_argument("--info", help=argparse.SUPPRESS)  # where a child writes its results
    parser.add_argument("--course", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--admin", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if arguments.populate:
        anchor = date.fromisoformat(arguments.anchor_date)
        populate(arguments.events, arguments.seed, anchor, arguments.chunk, Path(arguments.info))
        return
    if arguments.compare:
        compare(
            database_url,
            arguments.course,
            arguments.admin,
            arguments.repeat,
            arguments.raw_repeat,
            Path(arguments.info),
        )
        return
    signal.signal(signal.SIGTERM, stop_on_signal)

    print(f"# machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; database {database_url}", flush=True)
    setup_seconds = 0.0 if arguments.skip_setup else setup(arguments, database_url)
    if arguments.skip_setup:
        vacuum_analyze(database_url)
    target = find_target(database_url)
    print(
        f"# {target.events:,} events; organisation {target.organization_id}, teacher {TEACHER_USERNAME} "
        f"id {target.teacher_id}, administrator {ADMIN_USERNAME} id {target.admin_id}; course {target.course_id} "
        f"({target.course_students} student enrolments); student {target.student_id}",
        flush=True,
    )
    paths = resolve_paths(database_url, target)
    for endpoint in ENDPOINTS:
        if paths.get(endpoint.name) is None:
            print(f"# skipped {endpoint.name}: its URL name does not resolve (not built yet)", flush=True)
    endpoints = [endpoint for endpoint in ENDPOINTS if paths.get(endpoint.name)]

    log_dir = Path(tempfile.mkdtemp(prefix="edupath-bench-dashboards-"))
    results: dict[str, list[Measured]] = {}
    for mode in CACHE_MODES[arguments.cache]:
        # The server reads ANALYTICS_CACHE_SECONDS from its environment (server_environment copies os.environ).
        os.environ["ANALYTICS_CACHE_SECONDS"] = "0" if mode == "uncached" else str(CACHE_SECONDS)
        port = free_port()
        command = server_command("gunicorn", port, "sync")
        log_path = log_dir / f"gunicorn-{mode}.log"
        print(
            f"# {mode}: ANALYTICS_CACHE_SECONDS={os.environ['ANALYTICS_CACHE_SECONDS']}; server: "
            f"{' '.join(command[1:])} (log: {log_path})",
            flush=True,
        )
        results[mode] = []
        with running_server(command, database_url, log_path) as process:
            wait_until_serving(port, process, log_path)
            tokens = {
                "teacher": access_token(port, TEACHER_USERNAME, PASSWORD),
                "admin": access_token(port, ADMIN_USERNAME, PASSWORD),
            }
            print(
                f"{'endpoint':<30} {'role':<7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'bytes':>8} {'errors':>6}",
                flush=True,
            )
            for endpoint in endpoints:
                for role in endpoint.roles:
                    url = endpoint_url(endpoint, str(paths[endpoint.name]), role, target)
                    result = measure(port, tokens[role], endpoint.name, role, url, arguments.repeat)
                    results[mode].append(result)
                    print(result.line(), flush=True)
                    for error in sorted(set(result.errors))[:2]:
                        print(f"#   {url}: {error}", flush=True)

    print(
        f"# rollups against raw events (in-process; {arguments.repeat} / {arguments.raw_repeat} timed calls)",
        flush=True,
    )
    with tempfile.NamedTemporaryFile(prefix="edupath-bench-dashboards-", suffix=".json") as out:
        subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter and script
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--compare",
                f"--course={target.course_id}",
                f"--admin={target.admin_id}",
                f"--repeat={arguments.repeat}",
                f"--raw-repeat={arguments.raw_repeat}",
                f"--info={out.name}",
            ],
            cwd=PROJECT_DIR,
            env=server_environment(database_url),
            check=True,
        )
        compared = json.loads(Path(out.name).read_text())

    figures: list[str] = []
    for mode, measured in results.items():
        answered = [result for result in measured if len(result.latencies_ms) >= 2]
        worst = max(answered, key=lambda result: result.percentile_ms(95))
        failed = [f"{result.endpoint}/{result.role}" for result in measured if result not in answered]
        over = [f"{result.endpoint}/{result.role}" for result in answered if result.percentile_ms(95) >= BAR_P95_MS]
        print(
            f"# {mode}: {len(endpoints)} endpoints, {len(measured)} endpoint/role pairs: {len(over)} with p95 over "
            f"{BAR_P95_MS:.0f} ms {over}; errors: {failed or 'none'}",
            flush=True,
        )
        suffix = "" if mode == "cached" else "_uncached"
        figures.append(
            f"worst_p95_ms{suffix}={worst.percentile_ms(95):.1f} worst_endpoint{suffix}={worst.endpoint}/{worst.role}"
        )
    ratio_min = min(row["ratio"] for row in compared)
    ratio_served_min = min(row["ratio_served"] for row in compared)
    print(
        f"RESULT events={target.events} endpoints={len(endpoints)} {' '.join(figures)} ratio_min={ratio_min:.1f} "
        f"ratio_served_min={ratio_served_min:.0f} setup_s={setup_seconds:.1f}",
        flush=True,
    )


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; the server this run started has been stopped")

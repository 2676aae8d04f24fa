"""Every analytics, gamification and dashboard endpoint answers the fixed school (snapshot_fixture) as it did before
the metric catalogue (issue 12): the snapshot in snapshots/answers.json was written by the code before that change.

An answer may add fields (a superset of the snapshot); what it held must be unchanged, except the figures the
catalogue corrected on purpose (CORRECTIONS: each says why). Ids are replaced by the names of what they identify.

Regenerate (only when an answer is meant to change, saying why in the commit): EDUPATH_WRITE_SNAPSHOT=1 pytest this.
"""

import json
import os
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from tests.analytics.snapshot_fixture import NOW, Snapshot, build_snapshot_school
from tests.conftest import client_for

SNAPSHOT = Path(__file__).parent / "snapshots" / "answers.json"
ID_KEYS = {"student": "user", "course": "course", "item": "item", "module": "module"}

# (role, URL template): ids in braces are the snapshot school's objects by name.
REQUESTS: list[tuple[str, str]] = [
    *[
        (role, url)
        for role in ("teacher", "admin", "operator")
        for url in (
            "/api/v1/analytics/trends/engagement",
            "/api/v1/analytics/trends/engagement?days=7&course={MATH}",
            "/api/v1/analytics/realtime",
            "/api/v1/analytics/overview",
            "/api/v1/analytics/overview?days=7&course={SCI}",
            "/api/v1/analytics/dashboard",
            "/api/v1/analytics/dashboard?time_range=month",
            "/api/v1/analytics/summary",
            "/api/v1/analytics/summary?start_date=2026-03-25&end_date=2026-03-29&course={MATH}",
            "/api/v1/analytics/trends/content?days=14",
            "/api/v1/analytics/courses/{MATH}/analytics?days=14",
            "/api/v1/analytics/engagement-metrics?timeframe=1h",
            "/api/v1/analytics/engagement-metrics",
            "/api/v1/analytics/engagement-metrics?timeframe=7d",
            "/api/v1/analytics/engagement-metrics?timeframe=30d&course={MATH}",
            "/api/v1/analytics/dashboards/meso?course={MATH}&days=14",
            "/api/v1/analytics/dashboards/macro?days=14",
            "/api/v1/analytics/dashboards/micro?student={s1}&days=14",
            "/api/v1/analytics/users/{s2}/analytics?days=14",
            "/api/v1/analytics/learning/heatmap?student={s1}&days=14",
            "/api/v1/analytics/progress-tracking?student={s1}",
            "/api/v1/analytics/learning-progress?student={s2}",
            "/api/v1/analytics/weekly-xp?student={s1}",
            "/api/v1/analytics/student-progress?student={s1}",
            "/api/v1/analytics/subject-mastery?student={s1}&course={MATH}",
            "/api/v1/analytics/learning/overview?student={s2}&days=14",
            "/api/v1/gamification/progress?student={s1}&days=7",
            "/api/v1/gamification/leaderboard?course={MATH}&timeframe=all-time",
            "/api/v1/gamification/leaderboard",
        )
    ],
    ("admin", "/api/v1/analytics/system-metrics"),
    ("operator", "/api/v1/analytics/system-metrics?hours=2"),
    *[
        ("s1", url)
        for url in (
            "/api/v1/analytics/learning/heatmap",
            "/api/v1/analytics/learning/overview",
            "/api/v1/analytics/progress-tracking",
            "/api/v1/analytics/learning-progress",
            "/api/v1/analytics/users/{s1}/analytics",
            "/api/v1/analytics/weekly-xp",
            "/api/v1/analytics/student-progress",
            "/api/v1/analytics/subject-mastery",
            "/api/v1/analytics/dashboards/micro?days=7",
            "/api/v1/gamification/progress",
            "/api/v1/gamification/leaderboard?course={MATH}",
            "/api/v1/gamification/leaderboard?timeframe=month",
        )
    ],
    ("s5", "/api/v1/analytics/dashboards/micro"),
    ("s5", "/api/v1/gamification/progress"),
    ("s6", "/api/v1/analytics/progress-tracking"),
]

# Paths whose snapshot value may differ (fnmatch patterns over "<role> <url>.body.<key>[<index>]..."), and why.
CORRECTIONS: dict[str, str] = {
    # Issue 12: a school's administrator saw every organisation's requests and learners; now only their school's
    # (platform operators, `operator` here, still see all of it, unchanged).
    "admin */analytics/system-metrics.body.*": "system metrics are per organisation",
    "admin */analytics/dashboards/macro*.body.system.*": "system metrics are per organisation",
    # Issue 12: one percentile definition (the share of the group, the student included, ranked below), as the
    # leaderboard and the class comparison already had it; the micro peers excluded the student.
    "* /api/v1/analytics/dashboards/micro*.body.courses[[]*[]].peers.percentile": "one percentile definition",
    # Issue 12: submit events record their submissions, as work entered in admin always did: the fixture's
    # quiz_submit events (quiz1 by s1 on time and s2 late, quiz2 by s1) now count as handed in, not missing. The new
    # figures are asserted in tests/analytics/test_submissions_from_events.py.
    **dict.fromkeys(
        [
            "* /api/v1/analytics/courses/*/analytics*.body.assignment_timeliness.*",
            "* /api/v1/analytics/courses/*/analytics*.body.score_distribution[[]*[]].submissions",
            "* /api/v1/analytics/dashboards/meso*.body.assignment_timeliness.*",
            "* /api/v1/analytics/dashboards/meso*.body.score_distribution[[]*[]].submissions",
            "* /api/v1/analytics/dashboards/macro*.body.assignments.*",
            "* /api/v1/analytics/overview*.body.assignments.*",
        ],
        "submit events record submissions",
    ),
    # Issue 13: a teacher's view of a student counts only the classes they teach, in every figure (s1 has an event
    # outside `teacher`'s classes on the 14-day heatmap's sixth day), and leaves out what counts every class:
    # achievements, the school-wide rank. The shared-student figures are asserted in
    # tests/dashboards/test_student_page.py.
    **dict.fromkeys(
        [
            "teacher */analytics/dashboards/micro*.body.activity.*",
            "teacher */analytics/dashboards/micro*.body.heatmap[[]*[]].*",
            "teacher */analytics/dashboards/micro*.body.achievements",
            "teacher */analytics/learning/heatmap*.body.heatmap[[]*[]].*",
            "teacher */analytics/learning/overview*.body.achievements_earned*",
            "teacher */analytics/student-progress*.body.rank",
            "teacher */gamification/progress*.body.achievements",
        ],
        "a teacher sees only their classes of a student",
    ),
    # Issue 13: users/{id}/analytics counted the student's shared classes even for the student themselves, while
    # their micro dashboard counted all their learning (145 and 278 events on the demo): both now count the same
    # classes for the same viewer (all of it for the student and their administrators).
    **dict.fromkeys(
        [
            f"s1 /api/v1/analytics/users/*/analytics.body.{field}"
            for field in (
                "events",
                "sessions",
                "active_minutes",
                "average_session_minutes",
                "active_days",
                "materials_viewed",
                "materials_completed",
                "xp_earned",
                "average_score_percent",
                "daily[[]*[]].*",
            )
        ],
        "user analytics and the micro dashboard count the same classes",
    ),
    # Issue 13: the class dashboard's leaderboard follows the picked timeframe (XP of the last `days` days,
    # `timeframe` "<days>d") like every other figure of the page, instead of the current ISO week.
    "*/analytics/dashboards/meso*.body.leaderboard.*": "the class leaderboard follows the picked timeframe",
    # Issue 13: one spelling per period; the answer echoes the canonical one (time_range=month is 30d, the default
    # week 7d, timeframe=all-time all). The seeds' spellings are still read (tests/core/test_consistent_api.py).
    **dict.fromkeys(
        ["* /api/v1/analytics/dashboard*.body.time_range", "* /api/v1/gamification/leaderboard*.body.timeframe"],
        "one spelling per period",
    ),
}


def normalise(value: Any, labels: dict[str, dict[int, str]], key: str | None = None) -> Any:
    """The answer with every id replaced by its object's name, and public handles kept (they are explicit)."""
    if isinstance(value, dict):
        return {name: normalise(inner, labels, name) for name, inner in value.items()}
    if isinstance(value, list):
        return [normalise(inner, labels, key) for inner in value]
    if key in ID_KEYS and isinstance(value, int) and not isinstance(value, bool):
        return f"<{labels[ID_KEYS[key]].get(value, value)}>"
    return value


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where `actual` does not hold `expected`: dicts may have more keys, lists must match item by item."""
    if any(fnmatch(path, pattern) for pattern in CORRECTIONS):
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        found = []
        for name, inner in expected.items():
            if name not in actual:
                found.append(f"{path}.{name}: missing")
            else:
                found += differences(inner, actual[name], f"{path}.{name}")
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {expected!r}, got {actual!r}"]
        pairs = enumerate(zip(expected, actual, strict=True))
        return [line for n, (a, b) in pairs for line in differences(a, b, f"{path}[{n}]")]
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


def answers(school: Snapshot) -> dict[str, Any]:
    ids, labels = school.ids(), school.labels()
    result = {}
    for role, template in REQUESTS:
        response = client_for(school.users[role]).get(template.format(**ids))
        body = response.json() if response["Content-Type"].startswith("application/json") else response.content
        result[f"{role} {template}"] = {"status": response.status_code, "body": normalise(body, labels)}
    return result


@pytest.fixture
def snapshot_school(db: None, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch) -> Snapshot:
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return build_snapshot_school(django_capture_on_commit_callbacks)


def test_every_endpoint_answers_as_in_the_snapshot(snapshot_school: Snapshot) -> None:
    # when
    now = answers(snapshot_school)

    # then
    if os.environ.get("EDUPATH_WRITE_SNAPSHOT") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
    before = json.loads(SNAPSHOT.read_text())
    assert set(before) <= set(now), "a request of the snapshot is no longer asked"
    found = [line for name in before for line in differences(before[name], now[name], name)]
    assert found == [], "\n".join(found)

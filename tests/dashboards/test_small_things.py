"""The small things a person notices on the pages (issue 13): human action labels, durations in minutes or h:mm,
one meaning of "active students", definitions of growth / engagement / attendance, chart empty states, the heatmap
legend, the chart orange's contrast, the skip link, the API link hidden from students, the class leaderboard
following the picked timeframe, and a ReDoc-free-of-CDNs page (tests/core/test_openapi.py)."""

import importlib
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import User
from analytics.models import Action
from analytics.services import events_ingest
from dashboards.templatetags.dashboards_format import ACTION_LABELS, action_label, duration
from tests.conftest import School

pytestmark = pytest.mark.django_db
# The default XP rules come from a migration, which a transactional test elsewhere may have emptied: put them back.
DEFAULT_RULES = importlib.import_module("gamification.migrations.0002_default_rules")


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_event(school: School, student: User, action: str, days_ago: float, **metadata: Any) -> None:
    """One event through the ingestion path (XP awarded inline in tests)."""
    now = timezone.now()
    body = {
        "event_id": str(uuid4()),
        "action": action,
        "timestamp": (now - timedelta(days=days_ago)).isoformat(),
        "course": school.course.pk,
        "item": school.item.pk,
        "metadata": metadata,
    }
    assert events_ingest(items=[body], principal=student, now=now, horizon=None).accepted == 1


class Focusable(HTMLParser):
    """The tags a keyboard user can Tab to, in document order (links with href, buttons, form fields)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        reachable = (tag == "a" and named.get("href")) or tag in ("button", "input", "select", "textarea")
        if reachable and named.get("type") != "hidden" and named.get("tabindex") != "-1":
            self.found.append((tag, named))


def test_every_action_has_a_human_label() -> None:
    """Recent activity reads "Ended a session", not `session_end`; a new action cannot slip in without a label."""
    assert set(ACTION_LABELS) == set(Action.values)
    assert action_label("session_end") == "Ended a session"
    assert all("_" not in label for label in ACTION_LABELS.values())


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [(None, "—"), (0, "0 min"), (0.4, "0 min"), (29.5, "30 min"), (59.4, "59 min"), (59.6, "1:00 h"), (125, "2:05 h")],
)
def test_minutes_are_whole_or_hours_and_minutes(minutes: float | None, shown: str) -> None:
    assert duration(minutes) == shown


def test_recent_activity_and_minutes_read_as_words(school: School) -> None:
    # given: a 90-second session end and a 20-minute lesson
    post_event(school, school.student, "session_end", 0.01, duration=90)
    post_event(school, school.student, "lesson_complete", 0.02, duration=1200)

    # when
    page = signed_in(school.student).get("/progress/").content.decode()

    # then
    recent = page[page.index('data-table="recent"') :]
    assert "Ended a session" in recent and "Completed a lesson" in recent
    assert "session_end" not in recent and "lesson_complete" not in recent
    assert re.search(r'data-metric="activity.active_minutes">\d+ min<', page)


def test_active_students_means_one_thing(school: School) -> None:
    """Home's per-class count is enrolment, not activity: it is called "Students enrolled", as on the class page;
    "Active students" is used only for students with an event in the period, and says so."""
    home = signed_in(school.teacher).get("/").content.decode()
    assert "Students enrolled" in home and "Active students" not in home
    dashboard = signed_in(school.teacher).get(f"/classes/{school.course.pk}/dashboard/").content.decode()
    assert 'title="Active students: students enrolled now with at least one event in the class in the period."' in (
        dashboard
    )


def test_institution_page_defines_growth_engagement_and_attendance(school: School) -> None:
    page = signed_in(school.admin).get("/institution/").content.decode()
    definitions = page[page.index('class="definitions"') :]
    for term in ("Active students", "Growth", "Engagement", "Attendance"):
        assert f"<dt>{term}</dt>" in definitions, term
    assert 'title="Growth: events of the last 7 days against the first 7 days of the period."' in page


def test_empty_charts_say_so_and_the_heatmap_has_a_legend(school: School) -> None:
    # given: no activity in the class yet
    empty = signed_in(school.teacher).get(f"/classes/{school.course.pk}/dashboard/").content.decode()
    assert '<figure class="chart" id="figure-engagement" data-empty>' in empty
    assert "No activity in this period." in empty

    # when: the student is active today
    post_event(school, school.student, "lesson_complete", 0.01, duration=600)
    student_page = signed_in(school.student).get("/progress/").content.decode()

    # then: the heatmap is drawn, with a legend from no events to the busiest day (1 event)
    assert '<figure class="chart" id="figure-heatmap">' in student_page
    legend = student_page[student_page.index('class="heat-legend"') :]
    assert legend.index("0 <span") < legend.index("1 events a day")


def contrast_on_white(colour: str) -> float:
    """WCAG 2 contrast ratio of `#rrggbb` against white."""
    channels = [int(colour[index : index + 2], 16) / 255 for index in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def test_chart_colours_have_3_to_1_contrast_on_the_white_card() -> None:
    script = (Path(settings.BASE_DIR) / "dashboards/static/dashboards/dashboards.js").read_text()
    palette = re.findall(r"#[0-9a-fA-F]{6}", re.search(r"const palette = \[([^\]]*)\]", script).group(1))  # type: ignore[union-attr]
    orange = palette[1]
    assert contrast_on_white(orange) >= 3, orange  # was #e07b39: 2.97:1
    assert all(contrast_on_white(colour) >= 3 for colour in palette), palette


@pytest.mark.parametrize("role", ["student", "teacher", "admin"])
def test_skip_link_comes_first_and_students_see_no_api_link(school: School, role: str) -> None:
    user: User = getattr(school, role)
    page = signed_in(user).get("/").content.decode()
    focusable = Focusable()
    focusable.feed(page)
    assert focusable.found[0] == ("a", {"class": "skip-link", "href": "#content"})
    assert '<main id="content" tabindex="-1">' in page
    api_links = [attrs for tag, attrs in focusable.found if tag == "a" and attrs.get("href") == "/api/docs/"]
    assert len(api_links) == (0 if role == "student" else 1)


def test_class_leaderboard_follows_the_picked_timeframe(
    school: School, django_capture_on_commit_callbacks: Any
) -> None:
    """XP earned 20 days ago counts in the last 30 days, not in the last 7: the table says which."""
    # given: XP is awarded after the events' commit
    DEFAULT_RULES.create(django_apps, None)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(school, school.classmate, "lesson_complete", 20, duration=600)
        post_event(school, school.student, "lesson_complete", 0.01, duration=600)
    client = signed_in(school.teacher)

    def board(days: int) -> str:
        page = client.get(f"/classes/{school.course.pk}/dashboard/", {"days": days}).content.decode()
        start = page.index('<table data-table="leaderboard">')
        return page[page.rindex("<h2>", 0, start) : page.index("</table>", start)]

    # when
    week, month = board(7), board(30)

    # then
    assert "last 7 days" in week and "last 30 days" in month
    assert school.student.get_full_name() in week and school.classmate.get_full_name() not in week
    assert school.student.get_full_name() in month and school.classmate.get_full_name() in month

"""Ids and numbers in query strings are ASCII digits only (issue 12, "Bad input"): `str.isdigit()` accepts '²' and
Arabic-Indic digits, which `int()` then refuses (a 500) or reads as another number. Every analytics endpoint and
dashboard page answers them with a 400 naming the parameter, never a 500 and never a figure.

The cases are generated from the catalogue (core.metrics.catalogue()): every metric gets every bad value in each of
`course`, `student`, `days`, `hours` and `limit` (its QuerySerializer refuses a value it cannot read, and a
parameter it does not take), and an empty value in each of its choice parameters; so a new metric is covered with
no change here. Each request is first asked with good values, to show that the 400 is the parameter's doing."""

import json
import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from core.metrics import Audience, Metric, Subject, catalogue
from core.params import ChoiceParam, IdParam, JsonObjectParam
from tests.conftest import School, client_for

PARAMETERS = ("course", "student", "days", "hours", "limit")
BAD_NUMBERS = {
    "superscript two": "²",
    "Arabic-Indic thirty": "\u0663\u0660",
    "Arabic-Indic one": "\u0661",
    "thirty digits": "1" * 30,
    "negative": "-1",
    "zero": "0",
    "fullwidth seven": "\uff17",
    "a space": " 7",
}
PATH_PARAMETER = re.compile(r"<int:(\w+)>")

# The endpoints the outside probe found answering 500 or reading a wrong number (issue 12): each must be a metric.
PROBED = {
    "analytics/overview",
    "analytics/dashboard",
    "analytics/summary",
    "analytics/realtime",
    "analytics/engagement-metrics",
    "analytics/trends/engagement",
    "analytics/trends/content",
    "analytics/learning/heatmap",
    "analytics/learning-progress",
    "analytics/progress-tracking",
    "analytics/dashboards/micro",
    "analytics/dashboards/meso",
    "analytics/dashboards/macro",
    "analytics/users/<int:student>/analytics",
    "analytics/weekly-xp",
    "analytics/student-progress",
    "analytics/subject-mastery",
    "analytics/learning/overview",
    "gamification/progress",
    "gamification/leaderboard",
    "analytics/system-metrics",
}


def test_every_probed_endpoint_is_a_catalogue_metric() -> None:
    assert {metric.path for metric in catalogue()} >= PROBED


def asker(metric: Metric, school: School) -> User:
    """Someone the metric's audience admits, who needs no parameter to name themselves: a student about themselves,
    an administrator otherwise."""
    if metric.audience == Audience.EVERYONE and metric.subject == Subject.STUDENT:
        return school.student
    return school.admin


def good_request(metric: Metric, school: School) -> tuple[str, dict[str, str]]:
    """The metric's URL (path parameters filled) and the query parameters it needs to answer at all."""
    ids = {"course": school.course.pk, "student": school.student.pk}
    path = "/api/v1/" + PATH_PARAMETER.sub(lambda match: str(ids[match.group(1)]), metric.path)
    needed: dict[str, str] = {}
    if metric.subject == Subject.COURSE and "course" in metric.query().fields:
        needed["course"] = str(school.course.pk)
    return path, needed


def refusals(metric: Metric) -> list[tuple[str, str]]:
    """(parameter, value) pairs the metric must refuse, naming the parameter."""
    fields = metric.query().fields
    cases = [(name, value) for name in PARAMETERS for value in BAD_NUMBERS.values()]
    cases += [(name, "") for name, field in fields.items() if isinstance(field, ChoiceParam)]
    for name, field in fields.items():
        if isinstance(field, JsonObjectParam):
            ids = [key for key, inner in field.keys.items() if isinstance(inner, IdParam)]
            cases += [(name, json.dumps({key: value})) for key in ids for value in ("²", "\u0661", 10**30, -1, 0)]
    return cases


@pytest.mark.parametrize("metric", catalogue(), ids=lambda metric: metric.name)
def test_non_ascii_digits_and_out_of_range_numbers_are_refused_by_name(school: School, metric: Metric) -> None:
    # given a request the metric answers
    path, needed = good_request(metric, school)
    client = client_for(asker(metric, school))
    client.raise_request_exception = False  # a 500 is a finding to report, not an exception to stop at
    assert client.get(path, needed).status_code == 200, f"{path} {needed}"

    # when each parameter in turn holds a bad value
    wrong = []
    for name, value in refusals(metric):
        response = client.get(path, {**needed, name: value})

        # then a 400 names it (alone)
        body = response.json() if response["Content-Type"].startswith("application/json") else response.content
        if response.status_code != 400 or not isinstance(body, dict) or list(body) != [name]:
            wrong.append(f"{name}={value!r}: {response.status_code} {body!r}"[:300])

    assert wrong == [], f"{path}:\n" + "\n".join(wrong)


def test_a_named_number_is_read_as_written(school: School) -> None:
    # Arabic-Indic one and thirty: refused, never read as course 1 or 30 days
    admin = client_for(school.admin)

    assert admin.get("/api/v1/analytics/overview", {"days": "\u0663\u0660"}).json() == {
        "days": ["Must be a whole number of days (or use period, e.g. period=30d)."]
    }
    assert admin.get("/api/v1/analytics/overview", {"course": "\u0661"}).json() == {
        "course": ["Must be a positive integer id."]
    }
    assert admin.get("/api/v1/analytics/system-metrics", {"hours": "²"}).json() == {
        "hours": ["Must be a whole number of hours (or use period, e.g. period=24h)."]
    }
    assert admin.get("/api/v1/gamification/leaderboard", {"limit": "²"}).json() == {
        "limit": ["Must be a whole number of rows from 1 to 100."]
    }
    # the largest id PostgreSQL holds is an id (no such class: 404); one more is not
    assert admin.get("/api/v1/analytics/overview", {"course": str(2**63 - 1)}).status_code == 404
    assert admin.get("/api/v1/analytics/overview", {"course": str(2**63)}).status_code == 400


def test_an_empty_choice_is_refused_with_the_allowed_values(school: School) -> None:
    admin = client_for(school.admin)

    engagement = admin.get("/api/v1/analytics/engagement-metrics", {"period": ""})
    seed_engagement = admin.get("/api/v1/analytics/engagement-metrics", {"timeframe": ""})
    dashboard = admin.get("/api/v1/analytics/dashboard", {"time_range": ""})
    leaderboard = admin.get("/api/v1/gamification/leaderboard", {"period": ""})

    assert {r.status_code for r in (engagement, seed_engagement, dashboard, leaderboard)} == {400}
    assert engagement.json() == {"period": ["period must be one of: 1h, 6h, 1d, 7d, 30d, 90d."]}
    assert seed_engagement.json() == {"timeframe": ["period must be one of: 1h, 6h, 1d, 7d, 30d, 90d."]}
    assert dashboard.json() == {"time_range": ["time_range must be one of: day, week, month, year."]}
    assert leaderboard.json() == {
        "period": ["period must be one of: day, week, month, all, or 1d to 365d (local days ending today)."]
    }


# --- the pages ---------------------------------------------------------------------------------------------------


def pages(school: School) -> list[tuple[str, User]]:
    return [
        ("/progress/", school.student),
        (f"/students/{school.student.pk}/progress/", school.teacher),
        (f"/classes/{school.course.pk}/dashboard/", school.teacher),
        ("/institution/", school.admin),
    ]


@pytest.mark.parametrize("page", range(4), ids=["progress", "student-progress", "class-dashboard", "institution"])
def test_pages_refuse_bad_numbers_naming_the_parameter(school: School, page: int) -> None:
    # given a page its viewer may open
    url, viewer = pages(school)[page]
    client = Client(raise_request_exception=False)
    client.force_login(viewer)
    assert client.get(url).status_code == 200
    cases: list[tuple[str, Any]] = [(name, value) for name in PARAMETERS for value in BAD_NUMBERS.values()]
    cases += [("days", ""), ("fragment", ""), ("fragment", "²")]

    wrong = []
    for name, value in cases:
        # when
        response = client.get(url, {name: value})

        # then: a 400 in plain text that says which parameter
        text = response.content.decode()
        if response.status_code != 400 or not text.startswith(f"{name}: "):
            wrong.append(f"{name}={value!r}: {response.status_code} {text[:120]!r}")

    assert wrong == [], f"{url}:\n" + "\n".join(wrong)


def test_the_catalogue_listing_takes_no_parameters(school: School) -> None:
    assert client_for(school.admin).get("/api/v1/analytics/catalogue", {"days": "²"}).json() == {
        "days": ["Unknown parameter; this endpoint takes none."]
    }

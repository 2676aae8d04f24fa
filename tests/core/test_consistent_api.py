"""One vocabulary across the API (issue 13, "Consistent API"): a period is `period` on every endpoint that takes one,
with the seeds' spellings read as aliases; a value outside a set is refused in one wording, whichever layer refuses
it (query parameters, bodies, list filters, ordering, the tracking API)."""

import re
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from django.conf import settings
from django.utils import timezone

from core.metrics import catalogue
from core.params import PeriodParam
from tests.conftest import School, client_for

ONE_WORDING = re.compile(r"^(Unknown \w+ '[^']*'; )?[\w ]+ must be one of: [^.]+(\.[^.]+)*\.$")


def test_every_period_of_the_catalogue_is_spelled_period() -> None:
    spellings = {name for metric in catalogue() for name in metric.query().fields if name in PeriodParam.aliases}
    assert spellings == set(), f"period parameters under another name: {spellings}"
    periods = [metric.name for metric in catalogue() if "period" in metric.query().fields]
    assert len(periods) >= 15


@pytest.mark.parametrize(
    ("path", "seed", "canonical"),
    [
        ("analytics/overview", "days=7", "period=7d"),
        ("analytics/system-metrics", "hours=48", "period=48h"),
        ("analytics/system-metrics", "hours=48", "period=2d"),
        ("analytics/dashboard", "time_range=month", "period=30d"),
        ("analytics/dashboard", "timeframe=1y", "period=365d"),
        ("analytics/engagement-metrics", "timeframe=6h", "period=6h"),
        ("gamification/leaderboard", "timeframe=month", "period=month"),
        ("gamification/leaderboard", "timeframe=all-time", "period=all"),
        ("gamification/leaderboard", "days=14", "period=14d"),
    ],
)
def test_the_seeds_spellings_answer_as_the_canonical_one(school: School, path: str, seed: str, canonical: str) -> None:
    admin = client_for(school.admin)
    first, second = (admin.get(f"/api/v1/{path}?{query}") for query in (seed, canonical))
    assert first.status_code == second.status_code == 200, (first.content, second.content)
    volatile = {"as_of", "generated_at", "timestamp", "start", "end"}  # instants of "now", a moment apart
    assert {k: v for k, v in first.json().items() if k not in volatile} == {
        k: v for k, v in second.json().items() if k not in volatile
    }


def test_the_schema_documents_only_the_canonical_spelling(school: School) -> None:
    schema = client_for(school.admin).get("/api/schema/?format=json").json()
    names = {
        parameter["name"]
        for operation in (op for item in schema["paths"].values() for op in item.values() if isinstance(op, dict))
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    }
    assert "period" in names
    assert names.isdisjoint({"days", "hours", "timeframe", "time_range"})


def test_two_spellings_of_one_period_are_refused(school: School) -> None:
    response = client_for(school.admin).get("/api/v1/analytics/overview?period=7d&days=30")
    assert response.status_code == 400
    assert response.json() == {"days": ["Give one of period, days, not several."]}


def refusal(response: Any) -> str:
    """'field: message' of a 400 that refuses one field."""
    assert response.status_code == 400, response.content
    ((field, messages),) = response.json().items()
    return f"{field}: {messages[0]}"


def test_a_value_outside_a_set_gets_one_wording_everywhere(school: School) -> None:
    admin = client_for(school.admin)
    answers = {
        "query choice": admin.get(f"/api/v1/analytics/dashboards/meso?course={school.course.pk}&status=sleepy"),
        "period choice": admin.get("/api/v1/analytics/engagement-metrics?period=2h"),
        "body choice": admin.post(
            "/api/v1/users/",
            {"username": "newbie", "email": "newbie@example.org", "role": "wizard"},
            format="json",
        ),
        "list filter": admin.get("/api/v1/users/?role=wizard"),
        "ordering": admin.get("/api/v1/courses/?ordering=colour"),
        "event action": client_for(school.student).post(
            "/api/v1/events/",
            {"event_id": str(uuid4()), "action": "dance", "timestamp": timezone.now().isoformat()},
            format="json",
        ),
    }
    said = {name: refusal(response) for name, response in answers.items()}
    assert said["query choice"] == ("status: status must be one of: active, inactive, missing, late, on_time, excused.")
    assert said["period choice"] == "period: period must be one of: 1h, 6h, 1d, 7d, 30d, 90d."
    assert said["body choice"] == "role: role must be one of: admin, teacher, student."
    assert said["list filter"] == "role: role must be one of: admin, teacher, student."
    assert said["ordering"].startswith("ordering: Unknown ordering 'colour'; ordering must be one of: code, -code,")
    assert said["event action"].startswith("action: action must be one of: ")
    for name, text in said.items():
        assert ONE_WORDING.match(text.split(": ", 1)[1]), (name, text)


def test_app_code_refuses_choices_through_the_projects_fields() -> None:
    # DRF's ChoiceField and django-filter's ChoiceFilter word a refusal their own way; core's subclasses do not
    stray = []
    for path in Path(settings.BASE_DIR).glob("*/**/*.py"):
        if path.parts[len(Path(settings.BASE_DIR).parts)] in {".venv", "tests", "node_modules"}:
            continue
        text = path.read_text()
        if "serializers.ChoiceField(" in text or "django_filters.ChoiceFilter(" in text:
            stray.append(str(path))
    assert stray == []

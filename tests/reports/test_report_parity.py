"""Must-hold 2 of issue 15: a report's figures equal the API's for the same parameters, for every dataset.

Each dataset is asked twice on the fixed school of tests/analytics/snapshot_fixture.py, by the same viewer with the
same parameters: through its metric's endpoint (GET /api/v1/<path>) and as a report (reports.specs, the rows every
format writes). The rows, rendered to JSON the way the API renders them, must be equal; and so must a JSON run's
file."""

import json
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from accounts.models import User
from reports.datasets import DATASETS, Dataset
from reports.models import ReportDefinition
from reports.services import definition_create, file_path, run_execute, run_request
from reports.specs import report_table, spec_from
from tests.analytics.snapshot_fixture import NOW, Snapshot, build_snapshot_school
from tests.risk.factories import prediction

# dataset -> (viewer, parameters by snapshot name: a value naming a course or user is replaced by its id)
CASES: dict[str, tuple[str, dict[str, str]]] = {
    "engagement": ("teacher", {"course": "MATH", "period": "14d", "interval": "week"}),
    "activity-daily": ("teacher", {"start_date": "2026-03-01", "end_date": "2026-03-31"}),
    "class-progress": ("teacher", {"period": "30d"}),
    "student-progress": ("teacher", {"course": "MATH", "period": "30d"}),
    "assignment-timeliness": ("teacher", {"course": "MATH", "period": "30d"}),
    "scores": ("teacher", {"student": "s1"}),
    "leaderboard": ("admin", {"period": "all"}),
    "xp-daily": ("teacher", {"student": "s1", "period": "7d"}),
    "achievements": ("admin", {"student": "s2"}),
    "at-risk": ("teacher", {"course": "MATH"}),
    "system-endpoints": ("admin", {"period": "24h"}),
}


@pytest.fixture
def school(db: None, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch) -> Snapshot:
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    built = build_snapshot_school(django_capture_on_commit_callbacks)
    for name, level in (("s1", "high"), ("s2", "low"), ("s4", "medium")):
        prediction(student=built.users[name], course=built.courses["MATH"], as_of=NOW - timedelta(hours=2), level=level)
    return built


def resolved(parameters: dict[str, str], school: Snapshot) -> dict[str, str]:
    ids = school.ids()
    return {
        name: str(ids[value]) if name in ("course", "student") and value in ids else value
        for name, value in parameters.items()
    }


def api_rows(chosen: Dataset, viewer: User, parameters: dict[str, str]) -> list[dict[str, Any]]:
    path = chosen.metric.path
    query = dict(parameters)
    for name in chosen.path_parameters:
        path = path.replace(f"<int:{name}>", query.pop(name))
    client = APIClient()
    client.force_authenticate(viewer)
    response = client.get(f"/api/v1/{path}", query)
    assert response.status_code == 200, response.content[:300]
    answer = response.json()
    rows = chosen.table(answer)
    while answer.get("next"):  # a paged metric: every page
        answer = client.get(f"/api/v1/{path}", {**query, "after": answer["next"]}).json()
        rows += chosen.table(answer)
    return rows


def instants(value: Any) -> Any:
    """`value` with every ISO date-time string read as the instant it names."""
    if isinstance(value, dict):
        return {key: instants(item) for key, item in value.items()}
    if isinstance(value, list):
        return [instants(item) for item in value]
    if isinstance(value, str) and "T" in value and ":" in value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


def test_every_dataset_has_a_case() -> None:
    assert set(CASES) == set(DATASETS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_report_holds_exactly_what_the_api_answers(school: Snapshot, name: str) -> None:
    # given a viewer and parameters
    viewer_name, given = CASES[name]
    viewer = User.objects.select_related("organization").get(pk=school.users[viewer_name].pk)
    chosen = DATASETS[name]
    parameters = resolved(given, school)

    # when the metric's endpoint and the report are asked the same question
    expected = api_rows(chosen, viewer, parameters)
    spec = spec_from({"dataset": name, "parameters": parameters}, viewer=viewer)
    reported = json.loads(JSONRenderer().render(list(report_table(spec, viewer=viewer).rows)))

    # then they hold the same rows, and there is something to compare
    assert reported == expected
    assert expected, f"{name}: no rows in the snapshot school; the comparison proves nothing"


def test_a_json_run_writes_the_rows_the_api_answers(school: Snapshot, django_capture_on_commit_callbacks: Any) -> None:
    # given a saved report of the class's assignments
    teacher = User.objects.select_related("organization").get(pk=school.users["teacher"].pk)
    parameters = resolved({"course": "MATH", "period": "30d"}, school)
    spec = spec_from({"dataset": "assignment-timeliness", "parameters": parameters}, viewer=teacher)
    definition = definition_create(
        owner=teacher, name="Math work", description="", visibility=ReportDefinition.Visibility.PRIVATE, spec=spec
    )

    # when it runs as JSON
    with django_capture_on_commit_callbacks(execute=False):
        run = run_request(definition, fmt="json", run_for=teacher, requested_by=teacher)
    run_execute(run.pk)

    # then the file's rows are the endpoint's
    run.refresh_from_db()
    path = file_path(run)
    assert path is not None
    document = orjson.loads(path.read_bytes())
    expected = api_rows(DATASETS["assignment-timeliness"], teacher, parameters)
    assert instants(document["rows"]) == instants(expected)  # times written in the class's zone: the same instants
    assert run.row_count == len(expected) > 0

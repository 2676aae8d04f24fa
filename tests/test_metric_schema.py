"""The served OpenAPI schema types every catalogue answer, and real answers validate against it (issue 12, must-hold
2): a schema that calls a nullable figure a number, or an id a string, tells SPA clients and report builders
something false, and only real answers show it.

- every metric's 200 answer is a $ref to an object component with properties, and no schema reachable from an
  analytics, gamification, dashboards or realtime operation is a bare object (or an untyped `{}`);
- every metric answers the fixed school of tests/analytics/snapshot_fixture.py (a dropped enrolment, a class
  without items, a student without XP, two time zones) as teachers, administrators, platform operators and
  students, over queries generated from its QuerySerializer; each answer validates against the component the
  schema names for it (openapi_schema_validator's OAS 3.0 validator, formats included).
"""

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from core.metrics import Metric, Subject, catalogue
from core.params import ChoiceParam, CountParam, IdParam, PeriodParam
from tests.analytics.snapshot_fixture import NOW, Snapshot, build_snapshot_school
from tests.conftest import client_for

TAGS = {"analytics", "gamification", "dashboards", "live"}  # the apps that register metrics
PATH_PARAMETER = re.compile(r"<int:(\w+)>")
VIEWERS = ("teacher", "teacher2", "admin", "operator", "foreign_admin", "s1", "s3", "s5", "s6")
COURSES = ("MATH", "SCI", "EMPTY", "HIST")
STUDENTS = ("s1", "s3", "s5", "s6")


def served_schema() -> dict[str, Any]:
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


def openapi_path(metric: Metric) -> str:
    return "/api/v1/" + PATH_PARAMETER.sub(r"{\1}", metric.path)


def answer_schema(schema: dict[str, Any], path: str) -> dict[str, Any]:
    answer: dict[str, Any] = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    return answer


def resolved(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def bare_schemas(schema: dict[str, Any], node: Any, where: str, seen: set[str]) -> Iterator[str]:
    """Where a schema says nothing about what it holds: an object without properties (or typed additional ones),
    an empty schema, an array of anything."""
    if isinstance(node, list):
        for index, inner in enumerate(node):
            yield from bare_schemas(schema, inner, f"{where}[{index}]", seen)
        return
    if not isinstance(node, dict):
        return
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            yield from bare_schemas(schema, schema["components"]["schemas"][name], name, seen)
        return
    if node.get("enum") == [None]:
        return  # null alone (the other half of a nullable reference)
    if not node or set(node) <= {"description", "nullable"}:
        yield f"{where}: an untyped schema"
    if node.get("type") == "object" and not node.get("properties") and not node.get("additionalProperties"):
        yield f"{where}: an object without properties"
    if node.get("type") == "array" and not node.get("items"):
        yield f"{where}: an array of anything"
    for key in ("properties",):
        for name, inner in node.get(key, {}).items():
            yield from bare_schemas(schema, inner, f"{where}.{name}", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from bare_schemas(schema, node[key], f"{where}.{key}", seen)
    for key in ("allOf", "oneOf", "anyOf"):
        if key in node:
            yield from bare_schemas(schema, node[key], f"{where}.{key}", seen)


def test_the_catalogue_is_not_empty() -> None:
    assert len(catalogue()) >= 20


@pytest.mark.parametrize("metric", catalogue(), ids=lambda metric: metric.name)
def test_each_metric_answers_a_typed_component(db: None, metric: Metric) -> None:
    schema = served_schema()

    answer = answer_schema(schema, openapi_path(metric))

    assert set(answer) == {"$ref"}, f"{metric.name} answers an inline schema: {answer}"
    component = resolved(schema, answer)
    assert component["type"] == "object" and component["properties"], f"{metric.name}: {component}"
    assert set(component["required"]) <= set(component["properties"])


def test_no_analytics_operation_answers_a_bare_object(db: None) -> None:
    # given
    schema = served_schema()
    operations = [
        (f"{method.upper()} {path}", operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if TAGS & set(operation.get("tags", []))
    ]
    assert len(operations) >= len(catalogue())

    # when
    found = [
        line
        for name, operation in operations
        for status, response in operation["responses"].items()
        for content in response.get("content", {}).values()
        for line in bare_schemas(schema, content["schema"], f"{name} {status}", set())
    ]

    # then
    assert found == []


# --- real answers ------------------------------------------------------------------------------------------------


def parameter_values(metric: Metric, school: Snapshot) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(the parameters a question must give, with the values to try; the optional ones, likewise)."""
    courses = [str(school.courses[name].pk) for name in COURSES]
    students = [str(school.users[name].pk) for name in STUDENTS]
    required = {name: courses if name == "course" else students for name in PATH_PARAMETER.findall(metric.path)}
    optional: dict[str, list[str]] = {}
    for name, field in metric.query().fields.items():
        if isinstance(field, IdParam):
            values = students if name == "student" else courses
            if name == "course" and metric.subject == Subject.COURSE:
                required[name] = values
            else:
                optional[name] = values
        elif isinstance(field, CountParam):
            optional[name] = ["1", str(field.maximum)]
        elif isinstance(field, ChoiceParam):
            optional[name] = [str(choice) for choice in field.choices]
        elif isinstance(field, PeriodParam):
            optional[name] = field.examples()
    return required, optional


def urls(metric: Metric, school: Snapshot) -> Iterator[str]:
    """Every combination of the required parameters, and from the first one each optional value in turn."""
    required, optional = parameter_values(metric, school)
    path_names = set(PATH_PARAMETER.findall(metric.path))
    bases = [dict(zip(required, values, strict=True)) for values in itertools.product(*required.values())]
    questions = [*bases, *({**bases[0], name: value} for name, values in optional.items() for value in values)]
    for question in questions:
        path = metric.path
        for name in path_names:
            path = path.replace(f"<int:{name}>", question[name])
        query = "&".join(f"{name}={value}" for name, value in question.items() if name not in path_names)
        yield f"/api/v1/{path}" + (f"?{query}" if query else "")


@pytest.fixture
def snapshot_school(db: None, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch) -> Snapshot:
    # answers are computed "now": the fixture's NOW, as in the answers snapshot
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return build_snapshot_school(django_capture_on_commit_callbacks)


@pytest.mark.parametrize("metric", catalogue(), ids=lambda metric: metric.name)
def test_real_answers_validate_against_the_served_schema(snapshot_school: Snapshot, metric: Metric) -> None:
    # given the schema of the metric's answer, its $refs resolved within the served document
    schema = served_schema()
    validator = OAS30Validator(
        {**answer_schema(schema, openapi_path(metric)), "components": schema["components"]},
        format_checker=oas30_format_checker,
    )
    validated: set[str] = set()
    errors: list[str] = []

    for viewer, url in itertools.product(VIEWERS, list(urls(metric, snapshot_school))):
        # when
        response = client_for(snapshot_school.users[viewer]).get(url)

        # then every answer given is one the schema describes
        assert response.status_code in (200, 400, 403, 404), f"{viewer} {url}: {response.status_code}"
        if response.status_code != 200:
            continue
        validated.add(viewer)
        for error in validator.iter_errors(response.json()):
            errors.append(f"{viewer} {url}: {'.'.join(map(str, error.absolute_path))}: {error.message}")

    assert validated, f"no viewer got an answer of {metric.name}"
    assert errors == [], "\n".join(sorted(set(errors))[:20])


def test_the_catalogue_listing_validates_against_the_served_schema(snapshot_school: Snapshot) -> None:
    schema = served_schema()
    validator = OAS30Validator(
        {**answer_schema(schema, "/api/v1/analytics/catalogue"), "components": schema["components"]},
        format_checker=oas30_format_checker,
    )

    for viewer in ("teacher", "admin", "s1"):
        answer = client_for(snapshot_school.users[viewer]).get("/api/v1/analytics/catalogue").json()
        assert [error.message for error in validator.iter_errors(answer)] == []
        assert answer["metrics"]

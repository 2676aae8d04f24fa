"""The schema is complete and stable (issue 21): every /api/v1/ operation has an operation id, one tag naming its
app, a summary, typed responses with an example each, and the error answers it can give as shared components; the
served schema is the committed docs/openapi.yaml, so a change of contract shows in review (`./dev schema` rewrites
the file)."""

import difflib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import Client
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from tests.core.test_openapi import served_schema
from tests.test_metric_schema import bare_schemas

COMMITTED = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"
APPS = {
    "accounts",
    "classroom",
    "analytics",
    "gamification",
    "messaging",
    "risk",
    "reports",
    "recommendations",
    "google_classroom",
    "dashboards",
    "live",
}
# Answers that are files (reports, issue 15), in the format asked for.
FILE_ANSWERS = {
    ("get", "/api/v1/reports/{id}/export", "200"),
    ("get", "/api/v1/reports/runs/{id}/download", "200"),
}
FILE_MEDIA_TYPES = {
    "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/json",
    "application/pdf",
}
ERROR_COMPONENTS = {
    "400": "ValidationError",
    "401": "Unauthenticated",
    "403": "Forbidden",
    "404": "NotFound",
    "413": "PayloadTooLarge",
    "415": "UnsupportedMediaType",
    "429": "Throttled",
    "503": "ServiceUnavailable",
}


def operations(schema: dict[Any, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), route, operation)
        for route, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def test_the_served_schema_is_the_committed_one() -> None:
    # when
    response = Client().get("/api/schema/")
    served = response.content.decode()

    # then
    assert response.status_code == 200
    committed = COMMITTED.read_text()
    if served != committed:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(keepends=True), served.splitlines(keepends=True), "committed", "served"
                )
            )[:80]
        )
        raise AssertionError(f"docs/openapi.yaml differs from the served schema; run ./dev schema\n{diff}")


def test_every_operation_has_an_id_an_app_tag_and_a_summary() -> None:
    schema = served_schema()
    found = operations(schema)
    assert found
    ids = [operation["operationId"] for _method, _route, operation in found]
    assert len(ids) == len(set(ids))
    for method, route, operation in found:
        assert route.startswith("/api/v1/"), route
        assert len(operation["tags"]) == 1 and operation["tags"][0] in APPS, (method, route, operation["tags"])
        assert operation.get("summary"), (method, route)
    assert {tag["name"] for tag in schema["tags"]} == APPS


def test_every_response_is_typed_with_an_example_that_fits() -> None:
    schema = served_schema()
    problems = []
    for method, route, operation in operations(schema):
        for status, response in operation["responses"].items():
            where = f"{method} {route} {status}"
            content = response.get("content")
            if status == "204":
                assert content is None, where
                continue
            assert response.get("description") is not None, where
            if (method.lower(), route, status) in FILE_ANSWERS:
                # a report file, in the format asked for: the JSON one typed like any answer, the others files
                assert content and set(content) == FILE_MEDIA_TYPES, where
            else:
                assert content and set(content) == {"application/json"}, where
            media = content["application/json"]
            examples = media.get("examples", {})
            if len(examples) != 1:
                problems.append(f"{where}: {len(examples)} examples")
                continue
            example = next(iter(examples.values()))["value"]
            validator = OAS30Validator(
                {**media["schema"], "components": schema["components"]}, format_checker=oas30_format_checker
            )
            problems.extend(f"{where}: {error.message}" for error in validator.iter_errors(example))
    assert problems == []


def test_errors_are_shared_components_with_their_headers() -> None:
    schema = served_schema()
    for method, route, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status in ERROR_COMPONENTS:
                reference = response["content"]["application/json"]["schema"]["$ref"]
                assert reference == f"#/components/schemas/{ERROR_COMPONENTS[status]}", (method, route, status)
        if "429" in operation["responses"]:
            assert "Retry-After" in operation["responses"]["429"]["headers"]
        if operation.get("security") or "auth/token" in route:
            assert "401" in operation["responses"], (method, route)
        if "{" in route:
            assert "404" in operation["responses"], (method, route)
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= set(operation["responses"]), (method, route)
            assert set(operation["requestBody"]["content"]) == {"application/json"}, (method, route)


def test_no_body_anywhere_is_an_untyped_object() -> None:
    """Checking answers against a schema proves nothing where it says "any object": every request body and answer
    of every operation is typed all the way down (the rule the catalogue's answers follow, for all of the API)."""
    schema: dict[str, Any] = dict(served_schema())  # type: ignore[arg-type]
    found: list[str] = []
    for method, route, operation in operations(schema):
        bodies = [("request", operation.get("requestBody", {}).get("content", {}))]
        bodies += [(status, response.get("content", {})) for status, response in operation["responses"].items()]
        for where, content in bodies:
            for media in content.values():
                found += bare_schemas(schema, media["schema"], f"{method} {route} {where}", set())
    assert found == []

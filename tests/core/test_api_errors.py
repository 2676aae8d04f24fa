"""Every error under /api/ is JSON a client can act on (issue 21): bodies the API does not read are a 415 naming what
it does, oversized ones a 413 with the limit, unknown routes a JSON 404, a server error a JSON 500 with a correlation
id that is also in the log (and no traceback), and every filter of every list endpoint refuses a value out of
bounds with a 400 naming the parameter, before it reaches SQL."""

import logging
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import path
from rest_framework.views import APIView

from config.urls import urlpatterns as project_urlpatterns
from tests.conftest import School, client_for
from tests.core.test_openapi import served_schema


def assert_json_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].split(";")[0] == "application/json"
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("url", ["/api/v1/events/", "/api/v1/events/batch/"])
def test_a_multipart_body_on_the_tracking_api_is_a_415_naming_json(school: School, url: str) -> None:
    # when
    response = client_for(school.student).post(url, {"action": "page_view"}, format="multipart")

    # then
    body = assert_json_error(response, 415)
    assert "multipart/form-data" in body["detail"]
    assert "application/json" in body["detail"]


@pytest.mark.parametrize("url", ["/api/v1/events/", "/api/v1/events/batch/", "/api/v1/auth/token/"])
def test_a_form_or_text_body_is_a_415(school: School, url: str) -> None:
    client = client_for(school.admin)
    for content_type in ("application/x-www-form-urlencoded", "text/plain"):
        response = client.generic("POST", url, "a=b", content_type=content_type)
        assert "application/json" in assert_json_error(response, 415)["detail"]


def test_a_malformed_multipart_body_is_a_415_not_an_empty_400(school: School) -> None:
    body = "--x\r\nContent-Disposition: form-data\r\n\r\n"  # no closing boundary, no name
    response = client_for(school.student).generic(
        "POST", "/api/v1/events/", body, content_type="multipart/form-data; boundary=x"
    )
    assert_json_error(response, 415)


@pytest.mark.parametrize("url", ["/api/v1/events/batch/", "/api/v1/schools/", "/api/v1/auth/token/"])
def test_an_oversized_body_is_a_413_with_the_limit(school: School, url: str, settings: Any) -> None:
    # given
    settings.API_MAX_BODY_BYTES = 1000

    # when
    response = client_for(school.admin).generic("POST", url, "[" + "1," * 600 + "1]", content_type="application/json")

    # then
    assert "at most 1000 bytes" in assert_json_error(response, 413)["detail"]


@pytest.mark.parametrize("url", ["/api/v1/nothing/", "/api/v2/", "/api/v1/courses/1/nothing/", "/api/"])
def test_unknown_routes_under_api_are_json_404s(school: School, url: str) -> None:
    assert assert_json_error(client_for(school.admin).get(url), 404) == {"detail": "Not found."}


def test_the_api_answers_json_whatever_accept_says(school: School) -> None:
    response = client_for(school.student).get("/api/v1/users/", HTTP_ACCEPT="text/html")
    assert assert_json_error(response, 403)["detail"]
    response = client_for(school.student).get("/api/v1/me/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_every_answer_carries_a_correlation_id_and_keeps_a_clients(school: School) -> None:
    client = client_for(school.student)
    assert re.fullmatch(r"[0-9a-f]{32}", client.get("/api/v1/me/")["X-Request-ID"])
    assert client.get("/api/v1/me/", HTTP_X_REQUEST_ID="lms-batch-0042")["X-Request-ID"] == "lms-batch-0042"
    # a value that is not a plain token is replaced, so it cannot forge log lines
    assert client.get("/api/v1/me/", HTTP_X_REQUEST_ID="a\nb c")["X-Request-ID"] != "a\nb c"


class Exploding(APIView):
    permission_classes = ()

    def get(self, request: Any) -> Any:
        raise RuntimeError("secret detail of the failure")


urlpatterns = [path("api/v1/explode/", Exploding.as_view()), *project_urlpatterns]


@pytest.mark.urls(__name__)
def test_a_server_error_is_json_with_a_correlation_id_in_the_log(db: None, caplog: pytest.LogCaptureFixture) -> None:
    # when
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = Client(raise_request_exception=False).get("/api/v1/explode/")

    # then
    body = assert_json_error(response, 500)
    assert set(body) == {"detail", "correlation_id"}
    assert body["correlation_id"] == response["X-Request-ID"]
    assert "secret detail" not in response.content.decode() and "Traceback" not in response.content.decode()
    logged = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert logged and logged[0].exc_info is not None
    assert logging.getLogger().handlers, "no root handler to check the format of"
    assert getattr(logged[0], "correlation_id", None) == body["correlation_id"] or any(
        body["correlation_id"] == getattr(getattr(record, "request", None), "correlation_id", None) for record in logged
    )


def test_page_errors_stay_html(db: None) -> None:
    # JSON errors are for /api/ only; pages keep Django's (a signed-out visitor is sent to log in)
    response = Client().get("/classes/999999/dashboard/")
    assert response.status_code in (302, 404)
    assert "application/json" not in response["Content-Type"]


def test_the_out_of_range_due_after_of_the_review_is_a_400(school: School) -> None:
    url = f"/api/v1/courses/{school.course.pk}/items/"
    response = client_for(school.teacher).get(url, {"due_after": "0352-03-13T04:40:25+18:24"})
    assert "UTC offset within ±14:00" in assert_json_error(response, 400)["due_after"][0]


def list_operations() -> list[tuple[str, dict[str, Any]]]:
    """GET operations that list (they take `limit`), with their query parameters, from the served schema."""
    operations = []
    for route, methods in served_schema()["paths"].items():
        operation = methods.get("get")
        names = {parameter["name"] for parameter in (operation or {}).get("parameters", [])}
        if operation and "limit" in names:
            operations.append((route, operation))
    return operations


def bad_values(parameter: dict[str, Any]) -> list[str]:
    """Values outside what the parameter's schema documents, of the kinds the review found reaching SQL."""
    schema = parameter["schema"]
    if parameter["name"] == "ordering":
        return ["nope", "-nope", "title,nope", "password"]
    if parameter["name"] == "search":
        return ["a\x00b", "x" * 101]
    if schema.get("format") == "date-time":
        return [
            "0352-03-13T04:40:25+18:24",  # an offset PostgreSQL cannot hold
            "2026-01-01T00:00:00+14:01",
            "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
            "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
            "2026-01-01T00:00:00",  # no offset
            "yesterday",
        ]
    if schema.get("format") == "date":
        return ["2026-02-30", "10000-01-01", "\u0662\u0660\u0662\u0666-01-01", "01/02/2026"]  # Arabic-Indic
    if schema.get("type") == "integer":
        maximum = schema.get("maximum", 2**63 - 1)
        return [str(maximum + 1), "\u0661\u0662", "1e3", "-1" if schema.get("minimum", 0) == 0 else "0", "1_0", " 5"]
    if schema.get("type") == "boolean":
        return ["maybe", "yes please"]
    if "enum" in schema:
        return ["not-a-choice"]
    return []


def test_every_list_filter_refuses_values_out_of_bounds(school: School) -> None:
    """A date-time, an integer, a date, an ordering, a search term, a boolean and a choice out of bounds on every
    filter of every list endpoint: a 400 naming the parameter, never a 500 or a silently ignored value."""
    # given
    operations = list_operations()
    assert len(operations) >= 5, "the schema lists fewer list endpoints than the API has"
    tried, missed = 0, []
    clients = {"admin": client_for(school.admin), "teacher": client_for(school.teacher)}
    report = clients["teacher"].post("/api/v1/reports", {"name": "R", "dataset": "class-progress"}, format="json")

    # when
    for route, operation in operations:
        admin_only = route.startswith("/api/v1/users/") or "schools" in route or "analytics/aggregations" in route
        client = clients["admin" if admin_only else "teacher"]
        url = route.replace("{course_pk}", str(school.course.pk))
        if route.startswith("/api/v1/reports/{id}"):  # the teacher's report
            url = url.replace("{id}", str(report.json()["id"]))
        for parameter in operation["parameters"]:
            if parameter["in"] != "query":
                continue
            for value in bad_values(parameter):
                tried += 1
                response = client.get(url, {parameter["name"]: value})
                if response.status_code != 400 or parameter["name"] not in response.json():
                    answer = f"{response.status_code} {response.content[:120]!r}"
                    missed.append(f"{url}?{parameter['name']}={value!r}: {answer}")

    # then
    assert tried > 100
    assert missed == []


@pytest.mark.parametrize(
    ("method", "route", "role"),
    [
        ("post", "/api/v1/recommendations/{}/dismiss", "student"),
        ("post", "/api/v1/recommendations/{}/open", "student"),
        ("get", "/api/v1/recommendations/goals/{}", "student"),
        ("patch", "/api/v1/recommendations/goals/{}", "student"),
        ("delete", "/api/v1/recommendations/goals/{}", "student"),
        ("get", "/api/v1/recommendations/alerts/{}/ideas", "teacher"),
    ],
)
def test_ids_in_recommendation_paths_past_what_postgresql_holds_are_404s(
    school: School, method: str, route: str, role: str
) -> None:
    """The path converter takes any digits; an id past bigint must be a missing one (404), never a 500."""
    client = client_for(getattr(school, role))
    client.raise_request_exception = False
    for pk in (2**63 - 1, 2**63, 10**30):
        response = getattr(client, method)(route.format(pk), {"target": 60} if method == "patch" else None, "json")
        assert assert_json_error(response, 404) == {"detail": "Not found."}, (route, pk)


@pytest.mark.parametrize("value", [2**63, 0, -1, "1e3", True, "one"])
def test_a_recommendation_id_out_of_bounds_in_the_feedback_body_is_a_400(school: School, value: Any) -> None:
    body = {"recommendation_id": value, "rating": 4}
    response = client_for(school.student).post("/api/v1/recommendations/feedback", body, format="json")
    assert "recommendation_id" in assert_json_error(response, 400)


@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("post", "/api/v1/integrations/google-classroom/sync-assignments/{}"),
        ("get", "/api/v1/integrations/google-classroom/analytics/{}"),
        ("get", "/api/v1/integrations/google-classroom/summary/{}"),
        ("post", "/api/v1/integrations/google-classroom/summary/{}"),
    ],
)
def test_google_course_ids_no_course_has_are_404s(school: School, method: str, route: str) -> None:
    """A Google course id is any text: one far longer than Google's, with a NUL or in other digits is a missing
    course (404), never a 500."""
    client = client_for(school.teacher)
    client.raise_request_exception = False
    for course_id in ("9" * 300, "12%0034", "%D9%A1%D9%A2", "%20", "a.b"):
        response = getattr(client, method)(route.format(course_id))
        assert assert_json_error(response, 404) == {"detail": "Not found."}, (route, course_id)


@pytest.mark.parametrize(
    ("written", "route"),
    [
        ("/api/v1/me", "/api/v1/me/"),
        ("/api/v1/analytics/catalogue/", "/api/v1/analytics/catalogue"),
        ("/api/v1/courses", "/api/v1/courses/"),
    ],
)
def test_either_spelling_of_the_final_slash_is_served_not_redirected(school: School, written: str, route: str) -> None:
    client = client_for(school.admin)
    assert client.get(written).json() == client.get(route).json()
    assert client.get(written).status_code == 200


def test_a_post_without_the_final_slash_is_served_as_a_post(school: School) -> None:
    # Django's APPEND_SLASH would answer a 301, and clients follow it with a GET
    response = client_for(school.student).post("/api/v1/auth/logout", {"refresh": "x"}, format="json")
    assert "refresh" in assert_json_error(response, 400)


def test_an_object_not_found_stays_a_404_with_either_spelling(school: School) -> None:
    client = client_for(school.admin)
    assert_json_error(client.get("/api/v1/courses/999999/"), 404)
    assert_json_error(client.get("/api/v1/courses/999999"), 404)

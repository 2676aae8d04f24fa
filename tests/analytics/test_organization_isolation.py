"""An administrator of one organisation finds nothing of another in system metrics, /metrics, the macro dashboard or
the institution page (issue 12, must-hold 8); platform operators (is_staff or superuser) and the METRICS_TOKEN
scraper still see every organisation's figures and the store-wide ones.

The request metrics are produced the way production produces them: real requests through the middleware
(analytics.request_metrics records them per organisation in Redis), then `request_metrics_flush` with an explicit
`now` a little after them, so that their minutes are finished."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.api_keys import api_key_create
from accounts.models import Role, User
from analytics.request_metrics import KEY_PREFIX, request_metrics_flush, send_buffered
from core.metrics import Metric, Subject, catalogue
from core.redis import cache_redis
from tests.conftest import School, client_for
from tests.factories import AdminFactory, OrganizationFactory, TeacherFactory

SYSTEM_METRICS = "/api/v1/analytics/system-metrics"
MACRO = "/api/v1/analytics/dashboards/macro"
TOKEN = "isolation-scrape-secret"
STORE_FIGURES = ("edupath_learning_events_estimate", "edupath_dead_letters_pending")

# What each organisation's users (and nobody's) ask below: (method, route) -> requests.
NORTHFIELD = {("GET", "api/v1/courses/$"): 2, ("GET", "api/v1/me/"): 1, ("POST", "api/v1/events/"): 1}
SOUTHFIELD = {
    ("GET", "api/v1/schools/(?P<pk>[^/.]+)/$"): 3,
    ("GET", "api/v1/analytics/overview"): 1,  # a 400
    ("POST", "api/v1/events/"): 1,
    ("POST", "api/v1/events/batch/"): 1,  # an LMS integration's API key
}
NOBODY = {("GET", "api/v1/courses/$"): 1}  # a 401 (anonymous)


@pytest.fixture
def clean_request_metrics() -> Iterator[None]:
    # requests of earlier tests still buffered in this process or waiting in Redis are not this test's
    send_buffered()
    client = cache_redis()
    for key in client.scan_iter(match=f"{KEY_PREFIX}*"):
        client.delete(key)
    yield
    send_buffered()
    for key in client.scan_iter(match=f"{KEY_PREFIX}*"):
        client.delete(key)


def event(course: int, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid4()),
        "action": "material_view",
        "timestamp": at.isoformat(),
        "course": course,
        **extra,
    }


@pytest.fixture
def traffic(school: School, clean_request_metrics: None) -> dict[str, User]:
    """Requests of both organisations' users and of nobody, recorded by the middleware and flushed; learning events
    of one learner in each organisation. Returns the platform operators."""
    operators = {
        "staff": User.objects.create_user("platform-staff", role=Role.ADMIN, organization=None, is_staff=True),
        "superuser": User.objects.create_superuser("platform-root", "root@example.test", "pass-word-123"),
    }
    started = datetime.now(UTC)  # the middleware stamps requests with the wall clock
    just_now = started - timedelta(minutes=5)

    # Northfield
    for _ in range(2):
        assert client_for(school.admin).get("/api/v1/courses/").status_code == 200
    assert client_for(school.teacher).get("/api/v1/me/").status_code == 200
    posted = client_for(school.student).post("/api/v1/events/", event(school.course.pk, just_now), format="json")
    assert posted.status_code in (200, 201, 202), posted.content
    # nobody's
    assert APIClient().get("/api/v1/courses/").status_code in (401, 403)
    # Southfield: routes no Northfield user asked for, a refused request, and an integration
    for _ in range(3):
        assert (
            client_for(school.foreign_admin).get(f"/api/v1/schools/{school.foreign_organization.pk}/").status_code
            == 200
        )
    assert client_for(school.foreign_admin).get("/api/v1/analytics/overview", {"days": "0"}).status_code == 400
    posted = client_for(school.foreign_student).post(
        "/api/v1/events/", event(school.foreign_course.pk, just_now), format="json"
    )
    assert posted.status_code in (200, 201, 202), posted.content
    _, key = api_key_create(organization=school.foreign_organization, name="LMS")
    integration = APIClient()
    integration.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    batch = {"events": [event(school.foreign_course.pk, just_now, actor=school.foreign_student.pk)]}
    assert integration.post("/api/v1/events/batch/", batch, format="json").status_code in (200, 201, 202)

    # the minutes of those requests are over two minutes later: flush them
    assert request_metrics_flush(now=datetime.now(UTC) + timedelta(minutes=2)) > 0
    return operators


def endpoints(answer: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(row["method"], row["route"]): row["requests"] for row in answer["top_endpoints"]}


def merged(*organisations: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    total: dict[tuple[str, str], int] = {}
    for requests in organisations:
        for endpoint, count in requests.items():
            total[endpoint] = total.get(endpoint, 0) + count
    return total


def prometheus_requests(text: str) -> dict[tuple[str, str], int]:
    found = re.findall(r'^edupath_http_requests_5m\{method="([^"]+)",route="((?:[^"\\]|\\.)*)"\} (\d+)$', text, re.M)
    return {(method, route.replace("\\\\", "\\")): int(count) for method, route, count in found}


def prometheus_statuses(text: str) -> set[str]:
    return set(re.findall(r'^edupath_http_responses_5m\{status="(\d+)"\}', text, re.M))


def page_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- system metrics ------------------------------------------------------------------------------------------------


def test_an_administrator_sees_only_their_organisations_requests_and_learners(
    school: School, traffic: dict[str, User]
) -> None:
    # when
    northfield = client_for(school.admin).get(SYSTEM_METRICS, {"hours": "1"}).json()
    southfield = client_for(school.foreign_admin).get(SYSTEM_METRICS, {"hours": "1"}).json()

    # then each sees exactly their own users' requests, statuses and learners
    assert northfield["organization"] == school.organization.pk
    assert endpoints(northfield) == NORTHFIELD
    assert northfield["requests"] == sum(NORTHFIELD.values())
    assert northfield["errors_by_status"] == []
    assert northfield["client_error_rate_percent"] == 0.0
    assert northfield["active_learners"] == 1

    assert southfield["organization"] == school.foreign_organization.pk
    assert endpoints(southfield) == SOUTHFIELD
    assert southfield["requests"] == sum(SOUTHFIELD.values())
    assert southfield["errors_by_status"] == [{"status": 400, "kind": "client", "requests": 1}]
    assert southfield["active_learners"] == 1


@pytest.mark.parametrize("operator", ["staff", "superuser"])
def test_a_platform_operator_sees_every_organisation(school: School, traffic: dict[str, User], operator: str) -> None:
    # when
    answer = client_for(traffic[operator]).get(SYSTEM_METRICS, {"hours": "1"}).json()

    # then
    assert answer["organization"] is None
    assert endpoints(answer) == merged(NORTHFIELD, SOUTHFIELD, NOBODY)
    assert answer["requests"] == sum(merged(NORTHFIELD, SOUTHFIELD, NOBODY).values())
    assert {row["status"] for row in answer["errors_by_status"]} >= {400}
    assert answer["errors_by_status"][-1]["status"] in (401, 403)  # nobody's refused request
    assert answer["active_learners"] == 2


# --- /metrics ------------------------------------------------------------------------------------------------------


def test_metrics_text_for_an_administrator_holds_only_their_organisation(
    school: School, traffic: dict[str, User], settings: Any
) -> None:
    settings.METRICS_TOKEN = TOKEN

    # when
    northfield = page_client(school.admin).get("/metrics")
    southfield = page_client(school.foreign_admin).get("/metrics").content.decode()

    # then: their routes and counts only, no status nobody of theirs caused, no figure of the whole store
    assert northfield.status_code == 200
    text = northfield.content.decode()
    assert prometheus_requests(text) == NORTHFIELD
    assert prometheus_statuses(text) == set()
    assert "api/v1/schools" not in text and "events/batch" not in text
    assert not any(figure in text for figure in STORE_FIGURES)
    assert 'edupath_http_route_latency_ms_5m{method="GET",route="api/v1/courses/$",quantile="0.50"}' in text

    assert prometheus_requests(southfield) == SOUTHFIELD
    assert prometheus_statuses(southfield) == {"400"}
    assert not any(figure in southfield for figure in STORE_FIGURES)


def test_metrics_text_for_the_scraper_and_platform_operators_holds_everything(
    school: School, traffic: dict[str, User], settings: Any
) -> None:
    settings.METRICS_TOKEN = TOKEN
    everything = merged(NORTHFIELD, SOUTHFIELD, NOBODY)

    # when
    scraped = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    as_staff = page_client(traffic["staff"]).get("/metrics").content.decode()
    as_superuser = page_client(traffic["superuser"]).get("/metrics").content.decode()

    # then
    for text in (scraped, as_staff, as_superuser):
        assert prometheus_requests(text) == everything
        assert "400" in prometheus_statuses(text)
        assert all(figure in text for figure in STORE_FIGURES)


def test_metrics_text_is_refused_to_teachers_and_students(school: School, traffic: dict[str, User]) -> None:
    assert page_client(school.teacher).get("/metrics").status_code == 403
    assert page_client(school.student).get("/metrics").status_code == 403


# --- the macro dashboard and the institution page ------------------------------------------------------------------


def test_the_macro_dashboard_of_an_administrator_is_their_organisations(
    school: School, traffic: dict[str, User]
) -> None:
    # when
    northfield = client_for(school.admin).get(MACRO, {"days": "7"}).json()
    operator = client_for(traffic["staff"]).get(MACRO, {"days": "7"}).json()
    teacher = client_for(school.teacher).get(MACRO, {"days": "7"}).json()

    # then: Northfield's classes and requests only
    assert {row["course"] for row in northfield["courses"]} == {school.course.pk, school.other_course.pk}
    assert northfield["system"]["organization"] == school.organization.pk
    assert endpoints(northfield["system"]) == NORTHFIELD
    assert northfield["system"]["active_learners"] == 1
    # a platform operator: every organisation's requests
    assert operator["system"]["organization"] is None
    assert endpoints(operator["system"]) == merged(NORTHFIELD, SOUTHFIELD, NOBODY)
    # teachers get no system figures at all
    assert teacher["system"] is None


def test_the_institution_page_of_an_administrator_is_their_organisations(
    school: School, traffic: dict[str, User]
) -> None:
    # when
    page = page_client(school.admin).get("/institution/")
    operator_page = page_client(traffic["superuser"]).get("/institution/").content.decode()

    # then
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-metric="system.requests">{sum(NORTHFIELD.values())}<' in html
    assert 'data-metric="system.active_learners">1<' in html
    assert "api/v1/courses/" in html
    assert "api/v1/schools" not in html and "events/batch" not in html
    assert f'data-course="{school.foreign_course.pk}"' not in html
    assert school.foreign_course.title not in html
    assert {int(pk) for pk in re.findall(r'data-course="(\d+)"', html)} == {school.course.pk, school.other_course.pk}
    # the platform operator's page shows every organisation's requests
    assert f'data-metric="system.requests">{sum(merged(NORTHFIELD, SOUTHFIELD, NOBODY).values())}<' in operator_page
    assert "api/v1/schools" in operator_page


# --- nobody's classes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metric", [m for m in catalogue() if m.subject in (Subject.COURSES, Subject.ORGANIZATION)], ids=lambda m: m.name
)
def test_viewers_without_classes_get_empty_answers(school: School, metric: Metric) -> None:
    # given a platform operator outside any organisation, a school without classes and a teacher without any (their
    # scope compiles to no course at all: a statement splicing it in must still run)
    viewers = [
        User.objects.create_user("platform-staff", role=Role.ADMIN, organization=None, is_staff=True),
        AdminFactory.create(organization=OrganizationFactory.create(slug="no-classes")),
        TeacherFactory.create(organization=school.organization),
    ]

    for viewer in viewers:
        # when
        client = client_for(viewer)
        client.raise_request_exception = False
        response = client.get(f"/api/v1/{metric.path}")

        # then: an answer (or the audience's refusal), never a 500
        assert response.status_code in (200, 403), f"{viewer.username}: {response.status_code}"
        if response.status_code == 200 and metric.rows == "courses":
            assert response.json()["courses"] == []


def test_the_institution_page_of_viewers_without_classes(school: School) -> None:
    for viewer in (
        User.objects.create_user("platform-staff", role=Role.ADMIN, organization=None, is_staff=True),
        AdminFactory.create(organization=OrganizationFactory.create(slug="no-classes")),
        TeacherFactory.create(organization=school.organization),
    ):
        page = page_client(viewer).get("/institution/")
        assert page.status_code == 200, viewer.username
        assert "No classes." in page.content.decode()

"""The analytics answer cache: a repeated read is served from the cache, new events (and XP) make the next read
compute afresh, answers are per viewer, and permissions are checked on every request."""

from typing import Any
from uuid import uuid4

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics import cache as cache_module
from analytics.cache import answers_changed, cached_answer
from analytics.services import events_ingest
from classroom.models import Enrollment
from tests.conftest import School, client_for

OVERVIEW = "/api/v1/analytics/overview?days=7"


@pytest.fixture(autouse=True)
def _cache_on(settings: Any) -> None:
    settings.ANALYTICS_CACHE_SECONDS = 60


def post_event(school: School, capture: Any) -> None:
    body = {
        "event_id": str(uuid4()),
        "action": "lesson_complete",
        "timestamp": timezone.now().isoformat(),
        "course": school.course.pk,
        "metadata": {"duration": 60},
    }
    with capture(execute=True):  # the data version moves on after commit
        assert events_ingest(items=[body], principal=school.student, now=timezone.now(), horizon=None).accepted == 1


def queries_of(client: Any, url: str) -> tuple[dict[str, Any], int]:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json(), len(context)


def test_a_repeated_read_is_served_from_the_cache_until_new_events_arrive(
    school: School, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(school.teacher)
    first, computed = queries_of(client, OVERVIEW)
    again, cached = queries_of(client, OVERVIEW)
    assert again == first and cached < computed  # only the scope check runs
    post_event(school, django_capture_on_commit_callbacks)
    fresh, _ = queries_of(client, OVERVIEW)
    assert fresh["events"] == first["events"] + 1
    assert fresh["as_of"] != first["as_of"]


def test_answers_are_per_viewer(school: School, django_capture_on_commit_callbacks: Any) -> None:
    post_event(school, django_capture_on_commit_callbacks)
    teacher, _ = queries_of(client_for(school.teacher), OVERVIEW)
    admin, _ = queries_of(client_for(school.admin), OVERVIEW)
    assert (teacher["classes_total"], admin["classes_total"]) == (1, 2)


def test_an_enrolment_change_makes_answers_stale(school: School, django_capture_on_commit_callbacks: Any) -> None:
    client = client_for(school.teacher)
    first, _ = queries_of(client, OVERVIEW)
    with django_capture_on_commit_callbacks(execute=True):
        Enrollment.objects.filter(user=school.classmate, course=school.course).delete()
    fresh, _ = queries_of(client, OVERVIEW)
    assert fresh["students_total"] == first["students_total"] - 1


def test_permissions_are_checked_before_the_cache(school: School) -> None:
    url = f"/api/v1/analytics/courses/{school.course.pk}/analytics?days=7"
    client = client_for(school.teacher)
    assert client.get(url).status_code == 200
    Enrollment.objects.filter(user=school.teacher, course=school.course).delete()
    assert client.get(url).status_code == 404


def test_a_rebuild_or_any_change_makes_every_answer_stale(school: School) -> None:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert cached_answer("q", viewer=school.teacher, parts=[1], compute=compute) == 1
    assert cached_answer("q", viewer=school.teacher, parts=[1], compute=compute) == 1
    assert cached_answer("q", viewer=school.teacher, parts=[2], compute=compute) == 2  # another question
    answers_changed()  # e.g. rollups rebuilt
    assert cached_answer("q", viewer=school.teacher, parts=[1], compute=compute) == 3
    answers_changed([school.foreign_organization.pk])  # another school's events: still cached here
    assert cached_answer("q", viewer=school.teacher, parts=[1], compute=compute) == 3
    answers_changed([school.organization.pk])
    assert cached_answer("q", viewer=school.teacher, parts=[1], compute=compute) == 4


def test_no_cache_when_turned_off(school: School, settings: Any) -> None:
    settings.ANALYTICS_CACHE_SECONDS = 0
    calls: list[int] = []
    for _ in range(2):
        cached_answer("q", viewer=school.teacher, parts=[], compute=lambda: calls.append(1))
    assert len(calls) == 2


def test_without_redis_answers_are_computed(school: School, monkeypatch: pytest.MonkeyPatch) -> None:
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(cache_module, "cache_redis", lambda: unreachable)
    assert cached_answer("q", viewer=school.teacher, parts=[], compute=lambda: 42) == 42
    answers_changed([school.organization.pk])  # logs, does not raise: the write has happened anyway

"""The tracking API: what is stored, what is counted, what is refused and why."""

from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import orjson
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.api_keys import api_key_create
from analytics.models import CourseDailyRollup, DeadLetterEvent, LearningEvent, StudentDailyRollup
from tests.conftest import School, client_for


def event(**fields: Any) -> dict[str, Any]:
    # The API compares times with the server clock (horizon, future limit), so events are stamped just now.
    body = {"event_id": str(uuid4()), "action": "material_view", "timestamp": timezone.now().isoformat()}
    body.update(fields)
    return body


def post_batch(client: APIClient, events: list[Any]):
    return client.post("/api/v1/events/batch/", {"events": events}, format="json")


def test_single_event_is_stored_with_the_authenticated_actor(school: School) -> None:
    body = event(course=school.course.pk, item=school.item.pk, metadata={"duration": 90, "clicks": 3})
    response = client_for(school.student).post("/api/v1/events/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {"accepted": 1, "duplicates": 0, "dead_lettered": 0, "rejected": [], "dead_letters": []}
    stored = LearningEvent.objects.get(event_id=body["event_id"])
    assert (stored.actor_id, stored.course_id, stored.item_id) == (school.student.pk, school.course.pk, school.item.pk)
    assert stored.duration_seconds == 90
    assert stored.metadata == {"clicks": 3}
    assert stored.organization_id == school.organization.pk


def test_repeated_event_id_is_a_duplicate_not_a_second_row(school: School) -> None:
    client = client_for(school.student)
    body = event(course=school.course.pk)
    assert client.post("/api/v1/events/", body, format="json").status_code == 201
    again = client.post("/api/v1/events/", body, format="json")
    assert again.status_code == 200
    assert again.json()["duplicates"] == 1
    assert LearningEvent.objects.filter(event_id=body["event_id"]).count() == 1
    rollup = StudentDailyRollup.objects.get(student=school.student, course=school.course)
    assert rollup.events == 1


def test_item_fills_in_its_course(school: School) -> None:
    body = event(item=school.item.pk)
    assert client_for(school.student).post("/api/v1/events/", body, format="json").status_code == 201
    assert LearningEvent.objects.get(event_id=body["event_id"]).course_id == school.course.pk


def test_batch_stores_valid_items_and_reports_rejected_ones(school: School) -> None:
    good = [event(course=school.course.pk, item=school.item.pk) for _ in range(3)]
    bad = {"event_id": "not-a-uuid", "action": "dance", "timestamp": "yesterday"}
    response = post_batch(client_for(school.student), [good[0], bad, good[1], good[2], good[0]])
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 3
    assert body["duplicates"] == 0
    assert [row["index"] for row in body["rejected"]] == [1, 4]
    assert set(body["rejected"][0]["errors"]) == {"event_id", "action", "timestamp"}
    assert body["rejected"][1]["errors"] == {"event_id": ["Repeated within this batch (first at index 0)."]}
    assert LearningEvent.objects.count() == 3


def test_rollups_count_what_was_stored(school: School) -> None:
    client = client_for(school.student)
    events = [
        event(
            course=school.course.pk,
            item=school.item.pk,
            action="quiz_attempt",
            metadata={"duration": 60, "attempts": 1},
        ),
        event(
            course=school.course.pk,
            item=school.item.pk,
            action="quiz_attempt",
            metadata={"duration": 30, "attempts": 1},
        ),
        event(
            course=school.course.pk,
            item=school.item.pk,
            action="quiz_submit",
            metadata={"score": 8, "max_score": 10, "duration": 10},
        ),
    ]
    assert post_batch(client, events).json()["accepted"] == 3
    assert (
        post_batch(client_for(school.classmate), [event(course=school.course.pk, action="page_view")]).status_code
        == 200
    )
    student = StudentDailyRollup.objects.get(student=school.student, course=school.course)
    assert (student.events, student.active_seconds, student.attempts) == (3, 100, 2)
    assert (student.items_viewed, student.items_completed) == (1, 1)
    assert (student.score_sum, student.score_count) == (Decimal("80"), 1)
    course = CourseDailyRollup.objects.get(course=school.course)
    assert (course.active_students, course.events, course.completions, course.score_count) == (2, 4, 1, 1)


def test_student_may_not_post_to_another_class_or_as_someone_else(school: School) -> None:
    client = client_for(school.student)
    response = post_batch(client, [event(course=school.other_course.pk), event(actor=school.classmate.pk)])
    rejected = {row["index"]: row["errors"] for row in response.json()["rejected"]}
    assert rejected[0] == {"course": ["Unknown course."]}
    assert "Only integrations" in rejected[1]["actor"][0]
    assert LearningEvent.objects.count() == 0


def test_unknown_item_is_dead_lettered_and_replayable(school: School) -> None:
    body = event(course=school.course.pk, item=999999)
    response = client_for(school.student).post("/api/v1/events/", body, format="json")
    assert response.status_code == 201
    assert response.json()["dead_lettered"] == 1
    letter = DeadLetterEvent.objects.get(event_id=body["event_id"])
    assert letter.reason == "unknown learning item"
    # a retry of the same event is a duplicate, not a second letter
    again = client_for(school.student).post("/api/v1/events/", body, format="json")
    assert again.json()["duplicates"] == 1
    assert DeadLetterEvent.objects.count() == 1


def test_an_item_of_another_class_looks_like_an_unknown_item(school: School) -> None:
    response = client_for(school.student).post("/api/v1/events/", event(item=school.other_item.pk), format="json")
    assert response.json()["dead_lettered"] == 1
    assert DeadLetterEvent.objects.get().reason == "unknown learning item"


def api_key_client(school: School) -> APIClient:
    _, full_key = api_key_create(organization=school.organization, name="LMS")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {full_key}")
    return client


def test_integration_names_actors_of_its_organisation_only(school: School) -> None:
    client = api_key_client(school)
    response = post_batch(
        client,
        [
            event(actor=school.student.pk, course=school.course.pk),
            event(actor=school.foreign_student.pk),
            event(),
            event(actor=school.other_student.pk, course=school.foreign_course.pk),
        ],
    )
    body = response.json()
    assert body["accepted"] == 1
    rejected = {row["index"]: row["errors"] for row in body["rejected"]}
    assert rejected == {
        1: {"actor": ["Unknown learner in this organisation."]},
        2: {"actor": ["Required for integrations: the learner's id, username, email or external id."]},
        3: {"course": ["Unknown course."]},
    }
    assert LearningEvent.objects.get().actor_id == school.student.pk


def test_api_key_only_opens_ingestion(school: School) -> None:
    client = api_key_client(school)
    assert client.get("/api/v1/courses/").status_code == 401
    assert client.get("/api/v1/me/").status_code == 401


def test_revoked_or_wrong_key(school: School) -> None:
    key, full_key = api_key_create(organization=school.organization, name="LMS")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {full_key}x")
    assert client.post("/api/v1/events/", event(actor=school.student.pk), format="json").status_code == 401
    key.revoked_at = timezone.now()
    key.save()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {full_key}")
    assert client.post("/api/v1/events/", event(actor=school.student.pk), format="json").status_code == 401


# bad input


def test_malformed_json(school: School) -> None:
    response = client_for(school.student).generic(
        "POST", "/api/v1/events/batch/", '{"events": [', content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"event_id": None}, "event_id", "Required"),
        ({"event_id": "1234"}, "event_id", "Not a valid UUID"),
        ({"action": "dance"}, "action", "action must be one of: "),
        ({"action": 7}, "action", "Required: a string"),
        ({"course": "12"}, "course", "positive integer id"),
        ({"item": True}, "item", "positive integer id"),
        ({"session_id": "x" * 65}, "session_id", "At most 64 characters"),
        ({"timestamp": "2026-11-25T10:00:00"}, "timestamp", "time zone"),
        ({"metadata": []}, "metadata", "JSON object"),
        ({"metadata": {"blob": "x" * 5000}}, "metadata", "At most 4096 bytes"),
        ({"metadata": {"duration": -5}}, "metadata.duration", "between 0"),
        ({"metadata": {"score": "lots"}}, "metadata.score", "number"),
        ({"metadata": {"score": 11, "max_score": 10}}, "metadata.score", "Greater than"),
        ({"colour": "blue"}, "colour", "Unknown field"),
    ],
)
def test_field_errors(school: School, change: dict[str, Any], field: str, says: str) -> None:
    response = client_for(school.student).post("/api/v1/events/", event(**change), format="json")
    assert response.status_code == 400, response.content
    assert says in " ".join(response.json()[field])
    assert LearningEvent.objects.count() == 0


def test_times_outside_the_window(school: School) -> None:
    client = client_for(school.student)
    future = (timezone.now() + timedelta(hours=2)).isoformat()
    past = (timezone.now() - timedelta(days=31)).isoformat()
    assert "future" in client.post("/api/v1/events/", event(timestamp=future), format="json").json()["timestamp"][0]
    assert "horizon" in client.post("/api/v1/events/", event(timestamp=past), format="json").json()["timestamp"][0]


def test_batch_limits(school: School) -> None:
    client = client_for(school.student)
    assert post_batch(client, [event() for _ in range(501)]).status_code == 413
    huge = orjson.dumps({"events": [event(metadata={"note": "x" * 3000}) for _ in range(400)]})
    assert len(huge) > 1024 * 1024
    response = client.generic("POST", "/api/v1/events/batch/", huge.decode(), content_type="application/json")
    assert response.status_code == 413
    assert post_batch(client, []).status_code == 400
    assert client.post("/api/v1/events/batch/", [event()], format="json").status_code == 400
    assert LearningEvent.objects.count() == 0


def test_event_in_an_old_month_gets_its_partition(school: School) -> None:
    body = event(timestamp=(timezone.now() - timedelta(days=29)).isoformat())
    assert client_for(school.student).post("/api/v1/events/", body, format="json").status_code == 201


@pytest.mark.parametrize("size", [1, 11], ids=["one event", "a batch"])
def test_both_write_paths_store_every_column_alike(school: School, size: int) -> None:
    # Every column, typed by PostgreSQL from the JSON parameter, alone or among others.
    full = event(
        course=school.course.pk,
        item=school.item.pk,
        action="quiz_submit",
        resource_type="quiz",
        resource_id=42,
        session_id="s-1",
        metadata={"duration": 30, "score": 7.5, "max_score": 10, "scaled_score": 0.75, "attempts": 2, "note": "é"},
    )
    bare = [event() for _ in range(size - 1)]
    response = post_batch(client_for(school.student), [full, *bare])
    assert response.json()["accepted"] == size, response.content
    stored = LearningEvent.objects.get(event_id=full["event_id"])
    assert (stored.action, stored.resource_type, stored.resource_id, stored.session_id) == (
        "quiz_submit",
        "quiz",
        "42",
        "s-1",
    )
    assert (stored.duration_seconds, stored.attempts) == (30, 2)
    assert (stored.score_raw, stored.score_max, stored.score_scaled) == (Decimal("7.5"), Decimal(10), Decimal("0.75"))
    assert stored.metadata == {"note": "é"}
    assert stored.source == "api"
    empty = LearningEvent.objects.filter(event_id__in=[e["event_id"] for e in bare])
    assert all(e.course_id is None and e.score_raw is None and e.metadata == {} for e in empty)

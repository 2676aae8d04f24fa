"""The tracking API refuses what PostgreSQL or the conversion to UTC cannot hold item by item, with a reason that names
the field and says what is allowed; never a 500 (issue 12, "Bad input": each case here answered 500 before)."""

from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest
from django.utils import timezone

from analytics.models import LearningEvent
from analytics.validation import MAX_METADATA_DEPTH
from tests.analytics.test_ingest_api import api_key_client
from tests.conftest import School, client_for

NUL = "\u0000"
TOO_DEEP = f"Nested at most {MAX_METADATA_DEPTH} levels deep."


def event(**fields: Any) -> dict[str, Any]:
    body = {"event_id": str(uuid4()), "action": "material_view", "timestamp": timezone.now().isoformat()}
    body.update(fields)
    return {key: value for key, value in body.items() if value is not None}


def nested_object(depth: int) -> str:
    """`depth` objects inside one another, as JSON text (Python's own encoders give up far earlier)."""
    return '{"a":' * depth + "1" + "}" * depth


def nested_list(depth: int) -> str:
    """An object holding lists `depth - 1` deep: `depth` levels in all."""
    return '{"l":' + "[" * (depth - 1) + "1" + "]" * (depth - 1) + "}"


def event_text(metadata_json: str, **fields: Any) -> str:
    """An event whose metadata is the given JSON text."""
    return orjson.dumps(event(**fields)).decode()[:-1] + f',"metadata":{metadata_json}}}'


def batch_text(*events: dict[str, Any] | str) -> str:
    parts = [item if isinstance(item, str) else orjson.dumps(item).decode() for item in events]
    return '{"events":[' + ",".join(parts) + "]}"


# (what makes an event bad, the field named, a part of the reason)
BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"metadata": {"note": f"a{NUL}b"}}, "metadata", "NUL"),
    ({"metadata": {f"key{NUL}": 1}}, "metadata", "NUL"),
    ({"metadata": {"deep": [{"x": ["ok", NUL]}]}}, "metadata", "NUL"),
    ({"resource_id": f"quiz{NUL}1"}, "resource_id", "NUL"),
    ({"resource_type": f"quiz{NUL}"}, "resource_type", "NUL"),
    ({"session_id": NUL}, "session_id", "NUL"),
    ({"timestamp": "0001-01-01T00:00:00+14:00"}, "timestamp", "between"),
    ({"timestamp": "9999-12-31T23:59:59-14:00"}, "timestamp", "between"),
    ({"timestamp": None, "occurred_at": "0001-01-01T00:00:00+01:00"}, "timestamp", "between"),
    ({"resource_id": int("9" * 200)}, "resource_id", "string"),
]
BAD_IDS = [f"{n}-{field}" for n, (_, field, _) in enumerate(BAD)]


@pytest.mark.parametrize(("change", "field", "says"), BAD, ids=BAD_IDS)
def test_a_bad_item_of_a_batch_is_rejected_with_its_reason(
    school: School, change: dict[str, Any], field: str, says: str
) -> None:
    # given: a good event, then the bad one
    good = event(course=school.course.pk)
    bad = event(course=school.course.pk, **change)

    # when
    response = client_for(school.student).post("/api/v1/events/batch/", {"events": [good, bad]}, format="json")

    # then: the good one is stored, the bad one is refused with a reason naming the field
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["accepted"] == 1
    assert [row["index"] for row in answer["rejected"]] == [1]
    errors = answer["rejected"][0]["errors"]
    assert any(says in message for message in errors[field]), errors
    assert list(LearningEvent.objects.values_list("event_id", flat=True)) == [UUID(good["event_id"])]


@pytest.mark.parametrize(("change", "field", "says"), BAD, ids=BAD_IDS)
def test_a_bad_single_event_is_a_400_with_its_reason(
    school: School, change: dict[str, Any], field: str, says: str
) -> None:
    response = client_for(school.student).post(
        "/api/v1/events/", event(course=school.course.pk, **change), format="json"
    )
    assert response.status_code == 400, response.content
    assert any(says in message for message in response.json()[field]), response.json()
    assert not LearningEvent.objects.exists()


@pytest.mark.parametrize(
    "metadata_json",
    [
        nested_object(1000),
        nested_list(1000),
        nested_object(300),  # deeper than orjson writes (255 levels)
        nested_object(MAX_METADATA_DEPTH + 1),
        nested_list(MAX_METADATA_DEPTH + 1),
    ],
    ids=["objects 1000", "lists 1000", "objects 300", "objects one too deep", "lists one too deep"],
)
def test_deeply_nested_metadata_is_rejected_with_its_reason(school: School, metadata_json: str) -> None:
    # given: a good event, then one with the deep metadata, from an integration
    good = event(course=school.course.pk, actor=school.student.pk)
    bad = event_text(metadata_json, actor=school.student.pk)

    # when
    response = api_key_client(school).generic(
        "POST", "/api/v1/events/batch/", batch_text(good, bad), "application/json"
    )

    # then
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["accepted"] == 1
    assert answer["rejected"] == [{"index": 1, "errors": {"metadata": [TOO_DEEP]}}]

    # and the same event alone, from a student, on the single-event endpoint
    response = client_for(school.student).generic(
        "POST", "/api/v1/events/", event_text(metadata_json), "application/json"
    )
    assert response.status_code == 400, response.content
    assert response.json() == {"metadata": [TOO_DEEP]}


@pytest.mark.parametrize("metadata_json", [nested_object(MAX_METADATA_DEPTH), nested_list(MAX_METADATA_DEPTH)])
def test_metadata_as_deep_as_allowed_is_stored(school: School, metadata_json: str) -> None:
    response = client_for(school.student).post(
        "/api/v1/events/batch/", orjson.loads(batch_text(event_text(metadata_json))), format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 1


def test_whole_numbers_beyond_64_bits_in_metadata_are_stored_as_numbers(school: School) -> None:
    # given: numbers the fast path (msgspec) reads as Python ints, which no JSON writer here takes; the item-by-item
    # reader (orjson) reads them as floats
    body = batch_text(event_text('{"big": 123456789012345678901234567890, "small": -9223372036854775809}'))

    # when
    response = client_for(school.student).generic("POST", "/api/v1/events/batch/", body, "application/json")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 1
    stored = LearningEvent.objects.get().metadata  # (jsonb gives the floats back as whole numbers)
    assert {key: float(value) for key, value in stored.items()} == {"big": 1.2345678901234568e29, "small": -(2.0**63)}

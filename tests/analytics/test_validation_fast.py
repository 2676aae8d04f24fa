"""The batch fast path (analytics.validation.batch_decode_fast) only ever accepts what validate_event accepts, with the
same result; anything else it hands back (None) for item-by-item validation, which names the errors."""

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import orjson
import pytest
from django.utils import timezone

from analytics.models import DeadLetterEvent, LearningEvent
from analytics.services import dead_letters_replay
from analytics.validation import MAX_BATCH, MAX_METADATA_DEPTH, batch_decode_fast, validate_event
from tests.analytics.test_ingest_api import api_key_client, post_batch
from tests.conftest import School, client_for
from tests.factories import LearningItemFactory, ModuleFactory

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
HORIZON = timedelta(days=365)


def event(**fields: Any) -> dict[str, Any]:
    body = {"event_id": str(uuid4()), "action": "quiz_submit", "timestamp": "2026-11-25T11:30:00Z"}
    body.update(fields)
    return {key: value for key, value in body.items() if value is not ...}


def nested(depth: int) -> dict[str, Any]:
    """Objects `depth` levels deep."""
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"inner": value}
    return value


def nested_lists(depth: int) -> list[Any]:
    value: list[Any] = [1]
    for _ in range(depth - 1):
        value = [value]
    return value


VALID = [
    event(),
    event(timestamp=..., occurred_at="2026-11-25T12:30:00+01:00"),
    event(timestamp="2026-11-25T11:59:59.123456+00:00", occurred_at="2026-01-01T00:00:00Z"),
    event(actor=7, course=3, item=12, resource_type="quiz", resource_id=42, session_id="s-1"),
    event(resource_id="algebra-1", resource_type="", session_id=None, course=None, metadata=None),
    event(metadata={"duration": 300, "score": 8, "max_score": 10, "attempts": 1, "clicks": 3}),
    event(metadata={"score": "7.5", "max_score": 10.0, "scaled_score": 0.75, "note": {"deep": [1, 2]}}),
    event(action="ai_feedback_rated", metadata={"rating": 5}),
    event(event_id=str(uuid4()).upper()),
    event(event_id=uuid4().hex),
    event(metadata=nested(MAX_METADATA_DEPTH)),
    event(metadata={"list": nested_lists(MAX_METADATA_DEPTH - 1)}),
    event(resource_id=2**63 - 1),
    event(resource_id=-(2**63)),
]

# Each is refused, or accepted only by the item-by-item path; the fast path must hand the batch back.
UNUSUAL = [
    event(event_id="not-a-uuid"),
    event(event_id=None),
    event(event_id=12),
    event(action="dance"),
    event(action=None),
    event(timestamp=None),
    event(timestamp=..., occurred_at=...),
    event(timestamp="2026-11-25T11:30:00"),  # no time zone
    event(timestamp="2026-11-25T14:00:00Z"),  # two hours ahead
    event(timestamp="2024-01-01T00:00:00Z"),  # beyond the horizon
    event(timestamp="yesterday"),
    event(actor=True),
    event(actor=0),
    event(actor="7"),
    event(course=2**63),
    event(item=1.0),
    event(resource_id=True),  # the item-by-item path reads it as "True"
    event(resource_type="x" * 33),
    event(session_id="s" * 65),
    event(resource_id="r" * 129),
    event(metadata=[1]),
    event(metadata={"blob": "x" * 5000}),
    event(metadata={"score": 11, "max_score": 10}),
    event(metadata={"duration": -1}),
    event(metadata={"attempts": "2"}),
    event(metadata={"scaled_score": 2}),
    event(colour="blue"),
    # what PostgreSQL or the conversion to UTC cannot hold (issue 12: each answered 500 before)
    event(metadata={"note": "a\u0000b"}),
    event(metadata={"key\u0000": 1}),
    event(metadata={"deep": [{"x": ["\u0000"]}]}),
    event(resource_id="quiz\u00001"),
    event(resource_type="\u0000"),
    event(session_id="s\u0000"),
    event(timestamp="0001-01-01T00:00:00+14:00"),
    event(timestamp="9999-12-31T23:59:59-14:00"),
    event(timestamp=..., occurred_at="0001-01-01T00:00:00+00:01"),
    event(metadata=nested(MAX_METADATA_DEPTH + 1)),
    event(metadata={"list": nested_lists(MAX_METADATA_DEPTH)}),
    event(metadata=nested(250)),
    event(resource_id=2**63),  # validate_event's reader (orjson) reads it exactly, but the fast path stops at 63 bits
]

# Bodies only JSON text can hold (no Python writer nests this deep or writes such numbers): the fast path hands each
# back, and validate_event, given what orjson reads, refuses it or accepts it alone.
EVENT_TEXT = '{"event_id": "%s", "action": "quiz_submit", "timestamp": "2026-11-25T11:30:00Z", %s}'
TEXT_ONLY = {
    "objects 1000 deep": ('"metadata": ' + '{"a": ' * 1000 + "1" + "}" * 1000, False),
    "lists 1000 deep": ('"metadata": {"l": ' + "[" * 999 + "1" + "]" * 999 + "}", False),
    "objects 300 deep": ('"metadata": ' + '{"a": ' * 300 + "1" + "}" * 300, False),
    "a whole number beyond 64 bits": ('"metadata": {"big": 123456789012345678901234567890}', True),
    "a resource id beyond 64 bits": ('"resource_id": ' + "9" * 200, False),
    "a backslash before u0000 (no NUL)": ('"metadata": {"path": "C:\\\\u0000"}', True),
}


def slow(items: list[Any], *, may_name_actor: bool = True) -> list[Any]:
    return [validate_event(item, now=NOW, horizon=HORIZON, may_name_actor=may_name_actor)[0] for item in items]


def fast(body: Any, *, may_name_actor: bool = True) -> list[Any] | None:
    checked = batch_decode_fast(orjson.dumps(body), now=NOW, horizon=HORIZON, may_name_actor=may_name_actor)
    return None if checked is None else [event for event, _ in checked]


def test_valid_events_come_out_exactly_as_validate_event_makes_them() -> None:
    assert fast({"events": VALID}) == slow(VALID)


@pytest.mark.parametrize("unusual", UNUSUAL, ids=range(len(UNUSUAL)))
def test_a_batch_with_anything_unusual_is_handed_back(unusual: dict[str, Any]) -> None:
    assert fast({"events": [*VALID, unusual]}) is None


@pytest.mark.parametrize(
    "body",
    [
        {"events": []},
        {"events": [event()] * (MAX_BATCH + 1)},
        {"events": VALID, "extra": 1},
        {"events": VALID[0]},
        [VALID[0]],
        {},
    ],
    ids=["empty", "too many", "unknown top-level field", "not a list", "not an object", "no events"],
)
def test_a_malformed_batch_is_handed_back(body: Any) -> None:
    assert fast(body) is None


@pytest.mark.parametrize("name", list(TEXT_ONLY))
def test_bodies_only_json_text_holds_are_handed_back(name: str) -> None:
    # given
    fields, accepted = TEXT_ONLY[name]
    text = EVENT_TEXT % (uuid4(), fields)
    body = ('{"events": [' + text + "]}").encode()

    # when
    checked = batch_decode_fast(body, now=NOW, horizon=HORIZON, may_name_actor=True)
    event, errors = validate_event(orjson.loads(text), now=NOW, horizon=HORIZON, may_name_actor=True)

    # then
    assert checked is None
    assert (event is not None) == accepted, errors


def test_a_user_naming_the_actor_is_handed_back() -> None:
    assert fast({"events": [event(actor=7)]}, may_name_actor=False) is None
    own = event()
    assert fast({"events": [own]}, may_name_actor=False) == slow([own], may_name_actor=False)


def test_malformed_json_is_handed_back() -> None:
    assert batch_decode_fast(b'{"events": [', now=NOW, horizon=HORIZON, may_name_actor=True) is None


def test_random_mutations_never_make_the_two_paths_disagree() -> None:
    # given: valid events with one field replaced by a value from a pool of good and bad ones
    rng = random.Random(20261202)
    pool: list[Any] = [None, True, 0, -1, 1, 2**63, 1.5, "", "x", "2026-11-25T11:00:00Z", str(uuid4()), [], {}, "7"]
    pool += ["\u0000", {"k": "\u0000"}, "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", nested(40)]
    fields = ["event_id", "action", "timestamp", "occurred_at", "actor", "course", "item", "resource_type"]
    fields += ["resource_id", "session_id", "metadata"]
    for _ in range(2000):
        base = dict(rng.choice(VALID))
        base[rng.choice(fields)] = rng.choice(pool)
        metadata = base.get("metadata")
        if isinstance(metadata, dict) and rng.random() < 0.5:
            base["metadata"] = {**metadata, rng.choice(["duration", "score", "max_score"]): rng.choice(pool)}
        # then: whenever the fast path accepts, it gives what the item-by-item path gives
        result = fast({"events": [base]})
        if result is not None:
            assert result == slow([base]), base


def test_a_fast_path_dead_letter_keeps_the_event_as_posted_and_replays(school: School) -> None:
    # given: a batch whose one event names an item that does not exist yet
    posted = event(
        timestamp=timezone.now().isoformat(),
        actor=school.student.pk,
        course=school.course.pk,
        item=999_999,
        metadata={"score": 8, "max_score": 10, "clicks": 2},
    )
    response = post_batch(api_key_client(school), [posted])
    assert response.json()["dead_lettered"] == 1
    letter = DeadLetterEvent.objects.get()
    assert letter.payload["event_id"] == posted["event_id"]
    assert letter.payload["metadata"] == posted["metadata"]
    assert letter.payload["item"] == 999_999

    # when: the item appears (same id), and the letters are replayed
    LearningItemFactory.create(id=999_999, module=ModuleFactory.create(course=school.course))
    assert dead_letters_replay(now=timezone.now()) == (1, 0)

    # then
    stored = LearningEvent.objects.get(event_id=posted["event_id"])
    assert (stored.actor_id, stored.item_id, stored.score_raw) == (school.student.pk, 999_999, 8)
    assert stored.metadata == {"clicks": 2}


def test_a_student_batch_through_the_fast_path_is_stored_as_theirs(school: School) -> None:
    good = [event(timestamp=timezone.now().isoformat(), course=school.course.pk) for _ in range(3)]
    response = post_batch(client_for(school.student), good)
    assert response.json() == {"accepted": 3, "duplicates": 0, "dead_lettered": 0, "rejected": [], "dead_letters": []}
    assert set(LearningEvent.objects.values_list("actor_id", flat=True)) == {school.student.pk}

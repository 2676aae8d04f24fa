"""Validation of incoming learning events, written for speed.

DRF serializers cost ~8x the database write for a batch of 500 (measured, see issue 3), so each event is checked
by plain Python here: types, vocabulary, bounds and times, collecting every error per field as DRF would. Anything
that needs the database (do the course, item and actor exist and belong together?) is checked in one query per
batch by analytics.services.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
import orjson
from msgspec import Meta

from analytics.models import Action
from classroom.references import ACTOR_KINDS, COURSE_KINDS, EXTERNAL_ID, ITEM_KINDS, MAX_LENGTH, Reference
from core.params import one_of

ACTIONS = frozenset(Action.values)
ACTIONS_LISTED = list(Action.values)  # in the order the API documents them
MAX_METADATA_BYTES = 4096
# Levels of objects and lists, `metadata` itself being the first: far more than any tracking vocabulary uses, and far
# fewer than the JSON writers' limits (orjson writes at most 255, and the staged batch adds two).
MAX_METADATA_DEPTH = 32
# PostgreSQL text and jsonb cannot hold the NUL character (its JSON escape is refused too).
NO_NUL = "The NUL character (\\u0000) is not allowed."
MAX_BATCH = 500
MAX_FUTURE = timedelta(hours=1)
# Keys of `metadata` that fill columns (the names used by common LMS tracking APIs).
METADATA_COLUMNS = ("duration", "score", "max_score", "scaled_score", "attempts")
KNOWN_FIELDS = frozenset(
    {
        "event_id",
        "action",
        "resource_type",
        "resource_id",
        "timestamp",
        "occurred_at",
        "session_id",
        "course",
        "item",
        "actor",
        "metadata",
    }
)


@dataclass(slots=True)
class EventIn:
    """One valid event, before the database checks."""

    event_id: UUID
    action: str
    occurred_at: datetime
    actor_id: int | None = None  # named by an integration; None means "the authenticated user"
    course_id: int | None = None
    item_id: int | None = None
    # Named by an identifier other than our id (classroom.references resolves them, filling the ids above).
    actor_ref: Reference | None = None
    course_ref: Reference | None = None
    item_ref: Reference | None = None
    resource_type: str = ""
    resource_id: str = ""
    session_id: str = ""
    duration_seconds: int | None = None
    score_raw: Decimal | None = None
    score_max: Decimal | None = None
    score_scaled: Decimal | None = None
    attempts: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


Errors = dict[str, list[str]]
# Bounds, built once (a Decimal per event and bound cost ~1 us of the ~9 us an event takes to check).
MAX_DURATION = 7 * 24 * 3600
MAX_ATTEMPTS = 10_000
MAX_SCORE = Decimal(1_000_000)
MIN_MAX_SCORE = Decimal("0.01")
MIN_SCALED, MAX_SCALED = Decimal(-1), Decimal(1)


def _string(value: Any, name: str, max_length: int, errors: Errors) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.setdefault(name, []).append("Must be a string.")
        return ""
    if len(value) > max_length:
        errors.setdefault(name, []).append(f"At most {max_length} characters.")
    if "\x00" in value:
        errors.setdefault(name, []).append(NO_NUL)
    return value


def _id(value: Any, name: str, errors: Errors) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        errors.setdefault(name, []).append("Must be a positive integer id.")
        return None
    return value


def _reference(value: Any, name: str, errors: Errors, kinds: tuple[str, ...]) -> int | Reference | None:
    """Our id, or an object naming the row by exactly one of `kinds` (with `source` beside an external id)."""
    if not isinstance(value, dict):
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return _id(value, name, errors)
        errors.setdefault(name, []).append(
            f"Must be a positive integer id or an object with one of: {', '.join(kinds)}."
        )
        return None
    allowed = (*kinds, "source") if EXTERNAL_ID in kinds else kinds
    for key in sorted(value.keys() - set(allowed)):
        errors.setdefault(f"{name}.{key}", []).append(f"Unknown key: name it by one of {', '.join(kinds)}.")
    given = [kind for kind in kinds if kind in value]
    if len(given) != 1:
        errors.setdefault(name, []).append(f"Name it by exactly one of: {', '.join(kinds)}.")
    if "source" in value and EXTERNAL_ID in kinds and "external_id" not in value:
        errors.setdefault(f"{name}.source", []).append("Only beside external_id.")
    texts: dict[str, str] = {}
    for key in (*given, "source") if "source" in value and "source" in allowed else given:
        text = value[key]
        if not isinstance(text, str) or not text:
            errors.setdefault(f"{name}.{key}", []).append("Must be a non-empty string.")
            continue
        if len(text) > MAX_LENGTH[key]:
            errors.setdefault(f"{name}.{key}", []).append(f"At most {MAX_LENGTH[key]} characters.")
        if "\x00" in text:
            errors.setdefault(f"{name}.{key}", []).append(NO_NUL)
        texts[key] = text
    if len(given) != 1 or given[0] not in texts or any(key.startswith(f"{name}.") for key in errors) or name in errors:
        return None
    return _as_reference(given[0], texts[given[0]], texts.get("source"))


def _as_reference(kind: str, value: str, source: str | None) -> Reference:
    # Emails are unique in any case, and compared in lower case.
    return Reference(kind, value.lower() if kind == "email" else value, source)


def _number(value: Any, name: str, errors: Errors, low: Decimal, high: Decimal) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        errors.setdefault(name, []).append("Must be a number.")
        return None
    try:
        number = Decimal(value) if type(value) is int else Decimal(str(value))
    except InvalidOperation:
        errors.setdefault(name, []).append("Must be a number.")
        return None
    if not number.is_finite() or not low <= number <= high:
        errors.setdefault(name, []).append(f"Must be between {low} and {high}.")
        return None
    return number


def _count(value: Any, name: str, errors: Errors, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        errors.setdefault(name, []).append(f"Must be a whole number between 0 and {high}.")
        return None
    return value


def _time(value: Any, errors: Errors, now: datetime, horizon: timedelta | None) -> datetime | None:
    if not isinstance(value, str):
        errors.setdefault("timestamp", []).append("Required: an ISO 8601 date-time with a time zone.")
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        errors.setdefault("timestamp", []).append("Not an ISO 8601 date-time.")
        return None
    if moment.tzinfo is None:
        errors.setdefault("timestamp", []).append("Must include a time zone (e.g. 'Z' or '+01:00').")
        return None
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 is a day before the first one Python knows
        errors.setdefault("timestamp", []).append("Must lie between 0001-01-01 and 9999-12-31 in UTC.")
        return None
    if moment > now + MAX_FUTURE:
        errors.setdefault("timestamp", []).append("More than 1 hour in the future.")
    elif horizon is not None and moment < now - horizon:
        errors.setdefault("timestamp", []).append(f"Older than the accepted horizon of {horizon.days} days.")
    return moment


def _metadata(metadata: Any, errors: Errors) -> tuple[dict[str, Any], dict[str, Any]]:
    """The free `metadata` object without the keys that fill columns, and those columns' values by EventIn field
    (duration, score, max score, scaled score, attempts), checked."""
    columns: dict[str, Any] = {}
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        errors["metadata"] = ["Must be a JSON object."]
        metadata = {}
    else:
        _metadata_check(metadata, errors)
        if not metadata.keys().isdisjoint(METADATA_COLUMNS):
            columns = {key: metadata[key] for key in METADATA_COLUMNS if key in metadata}
            metadata = {key: value for key, value in metadata.items() if key not in columns}
    if not columns:
        return metadata, {}
    duration = _count(columns.get("duration"), "metadata.duration", errors, MAX_DURATION)
    score = _number(columns.get("score"), "metadata.score", errors, -MAX_SCORE, MAX_SCORE)
    max_score = _number(columns.get("max_score"), "metadata.max_score", errors, MIN_MAX_SCORE, MAX_SCORE)
    scaled = _number(columns.get("scaled_score"), "metadata.scaled_score", errors, MIN_SCALED, MAX_SCALED)
    attempts = _count(columns.get("attempts"), "metadata.attempts", errors, MAX_ATTEMPTS)
    if score is not None and max_score is not None and score > max_score:
        errors.setdefault("metadata.score", []).append("Greater than metadata.max_score.")
    fields = {
        "duration_seconds": duration,
        "score_raw": score,
        "score_max": max_score,
        "score_scaled": scaled,
        "attempts": attempts,
    }
    return metadata, fields


def _metadata_check(metadata: dict[str, Any], errors: Errors) -> None:
    """Size, depth and text PostgreSQL can hold. Written once by orjson, and looked into closely only when that text
    could hide a problem (enough brackets to be too deep, a NUL escape), so a plain object costs one dumps."""
    try:
        encoded: bytes | None = orjson.dumps(metadata)
    except orjson.JSONEncodeError:  # deeper than orjson writes, or (from the fast path) a whole number beyond 64 bits
        encoded = None
    if encoded is None or encoded.count(b"{") + encoded.count(b"[") > MAX_METADATA_DEPTH or b"\\u0000" in encoded:
        too_deep, has_nul = _json_shape(metadata)
        if too_deep:
            errors.setdefault("metadata", []).append(f"Nested at most {MAX_METADATA_DEPTH} levels deep.")
        if has_nul:
            errors.setdefault("metadata", []).append(f"{NO_NUL[:-1]} in its keys or text.")
        if encoded is None and not (too_deep or has_nul):
            errors.setdefault("metadata", []).append("Whole numbers must lie within 64 bits.")
    if encoded is not None and len(encoded) > MAX_METADATA_BYTES:
        errors.setdefault("metadata", []).append(f"At most {MAX_METADATA_BYTES} bytes of JSON.")


def _json_shape(value: dict[str, Any]) -> tuple[bool, bool]:
    """(nested deeper than MAX_METADATA_DEPTH, holds a NUL in a key or string) of a decoded JSON object. Iterative: the
    readers accept nesting deeper than Python's recursion limit (orjson up to 1024 levels)."""
    has_nul = False
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            if depth > MAX_METADATA_DEPTH:
                return True, has_nul
            has_nul = has_nul or any("\x00" in key for key in node)
            pending.extend((inner, depth + 1) for inner in node.values())
        elif isinstance(node, list):
            if depth > MAX_METADATA_DEPTH:
                return True, has_nul
            pending.extend((inner, depth + 1) for inner in node)
        elif isinstance(node, str) and "\x00" in node:
            has_nul = True
    return False, has_nul


def validate_event(
    raw: Any, *, now: datetime, horizon: timedelta | None, may_name_actor: bool
) -> tuple[EventIn | None, Errors]:
    """Return (event, {}) or (None, errors by field)."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": ["Each event must be a JSON object."]}
    errors: Errors = {}
    unknown = raw.keys() - KNOWN_FIELDS
    for name in sorted(unknown):
        errors[name] = ["Unknown field."]

    event_id: UUID | None = None
    raw_id = raw.get("event_id")
    if not isinstance(raw_id, str):
        errors["event_id"] = ["Required: a UUID chosen by the client (it makes retries safe)."]
    else:
        try:
            event_id = UUID(raw_id)
        except ValueError:
            errors["event_id"] = ["Not a valid UUID."]

    action = raw.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        errors["action"] = [one_of("action", ACTIONS_LISTED) if isinstance(action, str) else "Required: a string."]

    occurred_at = _time(raw.get("timestamp", raw.get("occurred_at")), errors, now, horizon)

    actor = _reference(raw.get("actor"), "actor", errors, ACTOR_KINDS)
    if raw.get("actor") is not None and not may_name_actor:
        errors.setdefault("actor", []).append(
            "Only integrations (API keys) may name the actor; users post their own events."
        )
    course = _reference(raw.get("course"), "course", errors, COURSE_KINDS)
    item = _reference(raw.get("item"), "item", errors, ITEM_KINDS)

    metadata, columns = _metadata(raw.get("metadata"), errors)

    event = EventIn(
        event_id=event_id,  # type: ignore[arg-type]
        action=action,  # type: ignore[arg-type]
        occurred_at=occurred_at,  # type: ignore[arg-type]
        actor_id=actor if isinstance(actor, int) else None,
        course_id=course if isinstance(course, int) else None,
        item_id=item if isinstance(item, int) else None,
        actor_ref=actor if isinstance(actor, Reference) else None,
        course_ref=course if isinstance(course, Reference) else None,
        item_ref=item if isinstance(item, Reference) else None,
        resource_type=_string(raw.get("resource_type"), "resource_type", 32, errors),
        resource_id=_string(
            str(raw["resource_id"]) if isinstance(raw.get("resource_id"), int) else raw.get("resource_id"),
            "resource_id",
            128,
            errors,
        ),
        session_id=_string(raw.get("session_id"), "session_id", 64, errors),
        metadata=metadata,
        **columns,
    )
    if errors:
        return None, errors
    return event, {}


# The fast path for batches. Decoding the body straight into these structs checks types, the vocabulary and the
# bounds in C (msgspec): about 1 us per event, against ~13 us for validate_event on orjson's dicts (measured on a
# batch of 500, see docs/decisions/0004). It only ever ACCEPTS: a batch with anything wrong or unusual in it (a null
# timestamp, a boolean id, an unknown field) is handed back, and the caller checks it item by item with
# validate_event, which names every error. So what is accepted is decided by validate_event alone; the fast path
# accepts a subset of it with the same result (tests/analytics/test_validation_fast.py).
PositiveId = Annotated[int, Meta(gt=0, le=2**63 - 1)]


class _Named(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A person, course or item named otherwise than by our id; which keys may be used is checked after decoding
    (exactly one, `source` only beside `external_id`), lengths by validate_event's rules (MAX_LENGTH)."""

    username: Annotated[str, Meta(min_length=1, max_length=MAX_LENGTH["username"])] | None = None
    email: Annotated[str, Meta(min_length=1, max_length=MAX_LENGTH["email"])] | None = None
    code: Annotated[str, Meta(min_length=1, max_length=MAX_LENGTH["code"])] | None = None
    external_id: Annotated[str, Meta(min_length=1, max_length=MAX_LENGTH["external_id"])] | None = None
    source: Annotated[str, Meta(min_length=1, max_length=MAX_LENGTH["source"])] | None = None


class _FastEvent(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    event_id: UUID
    action: Literal[tuple(sorted(ACTIONS))]  # type: ignore[valid-type]
    timestamp: str | msgspec.UnsetType = msgspec.UNSET
    occurred_at: str | msgspec.UnsetType = msgspec.UNSET
    actor: PositiveId | _Named | None = None
    course: PositiveId | _Named | None = None
    item: PositiveId | _Named | None = None
    resource_type: Annotated[str, Meta(max_length=32)] | None = None
    # Whole numbers within 64 bits: beyond them validate_event's reader (orjson) reads a float, which it refuses.
    resource_id: Annotated[str, Meta(max_length=128)] | Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)] | None = None
    session_id: Annotated[str, Meta(max_length=64)] | None = None
    metadata: dict[str, Any] | None = None


class _FastBatch(msgspec.Struct, forbid_unknown_fields=True):
    events: Annotated[list[_FastEvent], Meta(min_length=1, max_length=MAX_BATCH)]


_FAST_BATCH: msgspec.json.Decoder[_FastBatch] = msgspec.json.Decoder(_FastBatch)


def _fast_reference(value: _Named, kinds: tuple[str, ...]) -> Reference | bool:
    """The Reference, or False: not a plain one (the item-by-item path names why)."""
    given = [(kind, text) for kind in kinds if (text := getattr(value, kind)) is not None]
    others = [kind for kind in ("username", "email", "code", "external_id") if kind not in kinds]
    if len(given) != 1 or any(getattr(value, kind) is not None for kind in others):
        return False
    if value.source is not None and given[0][0] != EXTERNAL_ID:
        return False
    return _as_reference(given[0][0], given[0][1], value.source)


def batch_decode_fast(
    body: bytes, *, now: datetime, horizon: timedelta | None, may_name_actor: bool
) -> list[tuple[EventIn, Any]] | None:
    """Every event of a batch body with its source (for a dead letter's payload: see payload_of), when the whole
    batch is valid and plain; otherwise None."""
    if b"\\u0000" in body:
        # JSON can carry the NUL character (which PostgreSQL text cannot hold) only as this escape: one search of
        # the body instead of one per string; the item-by-item path names the field.
        return None
    try:
        batch = _FAST_BATCH.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):  # RecursionError: nested ~1000 deep
        return None
    checked: list[tuple[EventIn, Any]] = []
    errors: Errors = {}
    for fast in batch.events:
        moment = fast.timestamp if fast.timestamp is not msgspec.UNSET else fast.occurred_at
        occurred_at = _time(moment, errors, now, horizon)
        if fast.actor is not None and not may_name_actor:
            return None
        metadata, columns = _metadata(fast.metadata, errors)
        if errors or occurred_at is None:
            return None
        actor: int | _Named | Reference | bool | None = fast.actor
        course: int | _Named | Reference | bool | None = fast.course
        item: int | _Named | Reference | bool | None = fast.item
        # Our ids (the common case) need no look at all; a named row is read, or the batch handed back.
        if type(actor) is _Named and (actor := _fast_reference(actor, ACTOR_KINDS)) is False:
            return None
        if type(course) is _Named and (course := _fast_reference(course, COURSE_KINDS)) is False:
            return None
        if type(item) is _Named and (item := _fast_reference(item, ITEM_KINDS)) is False:
            return None
        resource_id = fast.resource_id
        event = EventIn(
            event_id=fast.event_id,
            action=fast.action,
            occurred_at=occurred_at,
            actor_id=actor if type(actor) is int else None,
            course_id=course if type(course) is int else None,
            item_id=item if type(item) is int else None,
            actor_ref=actor if type(actor) is Reference else None,
            course_ref=course if type(course) is Reference else None,
            item_ref=item if type(item) is Reference else None,
            resource_type=fast.resource_type or "",
            resource_id=str(resource_id) if isinstance(resource_id, int) else resource_id or "",
            session_id=fast.session_id or "",
            metadata=metadata,
            **columns,
        )
        checked.append((event, fast))
    return checked


def payload_of(source: Any) -> Any:
    """The JSON value an event was posted as (from a decoded dict, or a fast-path struct)."""
    return msgspec.to_builtins(source) if isinstance(source, msgspec.Struct) else source

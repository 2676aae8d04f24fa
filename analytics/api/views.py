"""The tracking API: POST one event or a batch. Lean on purpose (see analytics.validation): the body is parsed once
with orjson and validated by plain Python; the answer comes after the transaction commits."""

from datetime import datetime, timedelta
from typing import Annotated, Any, NotRequired, TypedDict

import orjson
from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, ParseError, UnsupportedMediaType
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.api_keys import ApiKeyAuthentication
from analytics.models import Action
from analytics.services import checked_events_ingest, events_ingest, is_integration
from analytics.validation import MAX_BATCH, batch_decode_fast
from core.schema import answer_type


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "payload_too_large"


def _read_body(request: Request) -> bytes:
    """The raw body (DRF's parsers are skipped on purpose), once its Content-Type says JSON: anything else is a 415
    before a byte is read. Declared lengths over the limit never get here (core.api.ApiMiddleware); this catches a
    body sent without one."""
    media_type = request.content_type.split(";", 1)[0].strip().lower()
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(media_type)
    body: bytes = request._request.body
    if len(body) > settings.API_MAX_BODY_BYTES:
        raise PayloadTooLarge(f"Request body too large: at most {settings.API_MAX_BODY_BYTES} bytes.")
    return body


def _read_json(request: Request, body: bytes | None = None) -> Any:
    try:
        return orjson.loads(_read_body(request) if body is None else body)
    except orjson.JSONDecodeError as error:
        raise ParseError(f"JSON parse error - {error}") from None


def _horizon() -> timedelta:
    return timedelta(days=settings.EVENT_MAX_AGE_DAYS)


EVENT_EXAMPLE = {
    "event_id": "0b9f5b7e-8f0c-4a51-9d0e-5d7f0f3b2a11",
    "action": "quiz_submit",
    "resource_type": "quiz",
    "resource_id": "algebra-quiz-1",
    "timestamp": "2026-11-25T10:30:00Z",
    "session_id": "s-42",
    "course": 12,
    "item": 345,
    "metadata": {"duration": 300, "score": 8, "max_score": 10, "attempts": 1},
}


class EventMetadataIn(TypedDict, total=False):
    """Anything else may be added, up to 4 KB and 32 levels deep."""

    duration: Annotated[int, "Whole seconds spent."]
    score: float
    max_score: float
    scaled_score: Annotated[float, "Score divided by max_score, -1 to 1."]
    attempts: Annotated[int, "Which attempt this is, from 1."]


class PersonByUsername(TypedDict):
    """A person of the key's organisation, by username (exactly as they sign in)."""

    username: str


class PersonByEmail(TypedDict):
    """A person of the key's organisation, by email address (in any case)."""

    email: str


class CourseByCode(TypedDict):
    """A course of the organisation, by its code (e.g. "MATH-1")."""

    code: str


class ByExternalId(TypedDict):
    """A person, course or item by the id another system (an LMS) gives it, as synced into `external_id`."""

    external_id: str
    source: NotRequired[Annotated[str, "That system's name as synced (e.g. 'moodle'); without it, any source."]]


class EventIn(TypedDict):
    """One learning event. An LMS integration (API key) names the learner in `actor`; users post their own.
    `actor`, `course` and `item` are our id or an object naming the row another way, within the organisation; an
    identifier that matches no one yet is kept as a dead letter with the reason, one that matches two is refused."""

    event_id: Annotated[str, "A UUID the client chooses; resending it stores nothing twice."]
    action: Annotated[Action, "What happened."]
    timestamp: Annotated[datetime, "When, with a time zone; at most an hour ahead and EVENT_MAX_AGE_DAYS old."]
    actor: NotRequired[
        Annotated[
            int | PersonByUsername | PersonByEmail | ByExternalId,
            "The learner (API keys only): user id, {username}, {email} or {external_id, source}.",
        ]
    ]
    course: NotRequired[Annotated[int | CourseByCode | ByExternalId, "Course id, {code} or {external_id, source}."]]
    item: NotRequired[
        Annotated[int | ByExternalId, "Learning item id or {external_id, source} (within `course` when given)."]
    ]
    resource_type: NotRequired[str]
    resource_id: NotRequired[str]
    session_id: NotRequired[str]
    metadata: NotRequired[EventMetadataIn]


class EventBatchIn(TypedDict):
    events: Annotated[list[EventIn], "At most 500 events."]


class RejectedEvent(TypedDict):
    index: Annotated[int, "Position of the event in the batch, from 0."]
    errors: Annotated[dict[str, list[str]], "Messages per field of that event."]


class DeadLetteredEvent(TypedDict):
    index: Annotated[int, "Position of the event in the batch, from 0."]
    reason: Annotated[str, "Why it was kept aside, e.g. an unknown learner or no active enrolment at its time."]


class IngestOutcome(TypedDict):
    """What became of the events, once committed."""

    accepted: Annotated[int, "Events stored (dead letters included)."]
    duplicates: Annotated[int, "Events whose event_id was already stored (nothing stored twice)."]
    dead_lettered: Annotated[int, "Valid events that could not be counted as they are; kept for an operator."]
    rejected: Annotated[list[RejectedEvent], "Events refused, each with its field errors."]
    dead_letters: Annotated[list[DeadLetteredEvent], "The events newly kept as dead letters, with the reason."]


class IngestView(APIView):
    authentication_classes = [ApiKeyAuthentication, JWTAuthentication, SessionAuthentication]


@extend_schema(
    request=answer_type(EventIn),
    responses={201: answer_type(IngestOutcome), 200: answer_type(IngestOutcome)},
    examples=[OpenApiExample("An event", value=EVENT_EXAMPLE, request_only=True)],
    summary="Record one learning event",
)
class EventIngestView(IngestView):
    """201 when stored, 200 when its event_id was seen before (nothing stored twice), 400 with field errors."""

    def post(self, request: Request) -> Response:
        outcome = events_ingest(
            items=[_read_json(request)], principal=request.user, now=timezone.now(), horizon=_horizon()
        )
        if outcome.rejected:
            return Response(outcome.rejected[0]["errors"], status=status.HTTP_400_BAD_REQUEST)
        code = status.HTTP_201_CREATED if outcome.accepted else status.HTTP_200_OK
        return Response(outcome.as_dict(), status=code)


@extend_schema(
    request=answer_type(EventBatchIn),
    responses={200: answer_type(IngestOutcome)},
    examples=[OpenApiExample("A batch", value={"events": [EVENT_EXAMPLE]}, request_only=True)],
    summary="Record up to 500 learning events",
)
class EventBatchIngestView(IngestView):
    """`{"events": [...]}`. Valid events are stored even when others are rejected; the answer lists each rejected
    index with its errors: `{accepted, duplicates, dead_lettered, rejected: [{index, errors}]}`."""

    def post(self, request: Request) -> Response:
        raw, now = _read_body(request), timezone.now()
        # The common case, a batch with nothing wrong in it, is checked in C; any other goes item by item.
        checked = batch_decode_fast(raw, now=now, horizon=_horizon(), may_name_actor=is_integration(request.user))
        if checked is not None:
            outcome = checked_events_ingest(events=checked, principal=request.user, now=now)
            return Response(outcome.as_dict(), status=status.HTTP_200_OK)
        body = _read_json(request, raw)
        if not isinstance(body, dict) or not isinstance(body.get("events"), list):
            return Response({"events": ["Required: a list of events."]}, status=status.HTTP_400_BAD_REQUEST)
        unknown = sorted(set(body) - {"events"})
        if unknown:
            return Response({name: ["Unknown field."] for name in unknown}, status=status.HTTP_400_BAD_REQUEST)
        events = body["events"]
        if len(events) > MAX_BATCH:
            raise PayloadTooLarge(f"At most {MAX_BATCH} events per batch; got {len(events)}.")
        if not events:
            return Response({"events": ["Empty batch."]}, status=status.HTTP_400_BAD_REQUEST)
        outcome = events_ingest(items=events, principal=request.user, now=now, horizon=_horizon())
        return Response(outcome.as_dict(), status=status.HTTP_200_OK)

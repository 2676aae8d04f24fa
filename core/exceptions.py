"""Domain errors and the one place that turns them into HTTP responses."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """A service refused a request for a reason the client can act on (answered with 400).

    `errors` maps field names to lists of messages, like DRF's own validation errors, so clients handle both alike.
    """

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "message_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError({"non_field_errors": exc.messages})
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, ApplicationError):
        body: dict[str, Any] = {"detail": exc.message}
        body.update(exc.errors)
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        exc = exceptions.UnsupportedMediaType(
            "", detail=f"{str(exc.detail).removesuffix('.')}; send {accepted_media_types(context.get('view'))}."
        )
    return exception_handler(exc, context)


def accepted_media_types(view: Any) -> str:
    """The body types a view reads (the tracking API reads JSON itself, without DRF's parsers)."""
    parsers = getattr(view, "parser_classes", None) or []
    return " or ".join(parser.media_type for parser in parsers) or "application/json"


def flat_field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested field errors ({"chart": {"y": ["…"]}}, {"sort": [{}, {"column": ["…"]}]}) as the documented
    400 answer has them: one name per field, dotted (`chart.y`, `sort.1.column`), each with its messages."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            out.update(flat_field_errors(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        out = {}
        for index, item in enumerate(detail):
            if item:
                out.update(flat_field_errors(item, f"{prefix}.{index}" if prefix else str(index)))
        return out
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(message) for message in messages]}


class FlatFieldErrors:
    """A view mixin: its 400 answers name nested fields with dotted names (flat_field_errors)."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict):
            exc = exceptions.ValidationError(flat_field_errors(exc.detail))
        return super().handle_exception(exc)  # type: ignore[misc]

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

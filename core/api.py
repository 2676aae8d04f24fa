"""What every answer under /api/ has in common, wherever it comes from (a DRF view, a Django error page, the URL
resolver, a body too large to read): a correlation id (`X-Request-ID`, also in every log line of the request),
JSON bodies for every error, and one body-size limit.

- `ApiMiddleware` assigns the correlation id, refuses declared POST, PUT and PATCH bodies over `API_MAX_BODY_BYTES`
  with a JSON 413 before anything reads them, and turns any error answer under /api/ that is not JSON (Django's
  HTML 400/403/500 pages, its DEBUG pages) into `{"detail": ...}` with the same status;
- one trailing-slash rule: each route has one spelling (in the schema); the other (with or without the final `/`)
  is served as if it were that one, never redirected (a redirect turns a POST into a GET);
- `JsonNegotiation` answers JSON whatever the client's Accept header says (the API has no other representation);
- `CorrelationIdFilter` puts the request's id into log records (the format in settings prints it).
"""

import logging
import re
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

API_PREFIX = "/api/"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
REQUEST_ID_HEADER = "X-Request-ID"
CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}", re.ASCII)
current_correlation_id: ContextVar[str] = ContextVar("current_correlation_id", default="-")


def correlation_id_of(request: HttpRequest) -> str:
    """The request's correlation id: the client's `X-Request-ID` when it is a plain token, else a new one."""
    existing: str | None = getattr(request, "correlation_id", None)
    if existing is None:
        offered = request.META.get("HTTP_X_REQUEST_ID", "")
        existing = offered if CLIENT_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        request.correlation_id = existing  # type: ignore[attr-defined]
    return existing


def is_json(response: HttpResponse) -> bool:
    content_type = response.get("Content-Type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def error_body(status: int) -> dict[str, str]:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return {"detail": f"{phrase}."}


def server_error_response(request: HttpRequest) -> JsonResponse:
    """A 500 under /api/: no traceback, the id to quote to whoever reads the logs."""
    body = {"detail": "Server error; quote the correlation id when reporting it.", "correlation_id": ""}
    body["correlation_id"] = correlation_id_of(request)
    return JsonResponse(body, status=500)


class ApiMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = correlation_id_of(request)
        token = current_correlation_id.set(request_id)
        try:
            api = request.path.startswith(API_PREFIX)
            response = self.api_response(request) if api else self.get_response(request)
        finally:
            current_correlation_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response

    def api_response(self, request: HttpRequest) -> HttpResponse:
        limit = settings.API_MAX_BODY_BYTES
        declared = request.META.get("CONTENT_LENGTH") or ""
        if request.method in BODY_METHODS and declared.isascii() and declared.isdigit() and int(declared) > limit:
            return JsonResponse({"detail": f"Request body too large: at most {limit} bytes."}, status=413)
        response = self.get_response(request)
        if response.status_code in (301, 404) and (other := self.other_spelling(request, response)):
            request.path, request.path_info = other
            response = self.get_response(request)
        if response.status_code >= 400 and not is_json(response):
            if response.status_code >= 500:
                return server_error_response(request)
            return JsonResponse(error_body(response.status_code), status=response.status_code)
        return response

    @staticmethod
    def other_spelling(request: HttpRequest, response: HttpResponse) -> tuple[str, str] | None:
        """(path, path_info) with the final slash toggled, when that spelling is a route and this one is not: Django's
        APPEND_SLASH redirect to it, or a 404 from the URL resolver. Resolving only on these answers keeps the cost
        off every other request."""
        toggled = request.path_info[:-1] if request.path_info.endswith("/") else request.path_info + "/"
        if response.status_code == 301:
            location = response.get("Location", "").split("?", 1)[0]
            if not location.endswith(request.path + "/"):
                return None
        else:
            try:
                resolve(request.path_info)
                return None  # the route exists: the 404 is the view's (an object not found)
            except Resolver404:
                pass
            try:
                resolve(toggled)
            except Resolver404:
                return None
        path = request.path[:-1] if request.path.endswith("/") else request.path + "/"
        return path, toggled


class JsonNegotiation(DefaultContentNegotiation):
    """The client's preference when we can meet it; otherwise JSON anyway rather than a 406."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        try:
            selected: tuple[BaseRenderer, str] = super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type
        return selected


class CorrelationIdFilter(logging.Filter):
    """Adds `correlation_id` to every record: the id of the request being served (or the one the record names),
    '-' outside requests."""

    def filter(self, record: logging.LogRecord) -> bool:
        request: Any = getattr(record, "request", None)
        record.correlation_id = getattr(request, "correlation_id", None) or current_correlation_id.get()
        return True

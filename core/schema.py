"""How the API describes itself (drf-spectacular): typed answers (TypedDicts, through core.typed_schema) as schema
components, the query parameter fields of core.params with their bounds and choices, and `ContractSchema`, the one
place that attaches to every operation the errors it can answer, its tag and its summary. Loaded by
CoreConfig.ready."""

import re
from functools import cache
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.authentication import SessionAuthentication
from rest_framework.fields import empty
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework_simplejwt.views import TokenViewBase

from core.api import BODY_METHODS
from core.params import ChoiceParam, CountParam, DateParam, IdParam, JsonObjectParam, PeriodParam
from core.typed_schema import NULL, schema_of


class TypedAnswer:
    """Stands for a TypedDict in @extend_schema(responses=...): see answer_type."""

    typed: Any


@cache
def answer_type(typed: Any) -> type[TypedAnswer]:
    """A class drf-spectacular documents as the TypedDict `typed` (one per TypedDict, named after it)."""
    return type(typed.__name__, (TypedAnswer,), {"typed": typed})


class TypedAnswerExtension(OpenApiSerializerExtension):
    target_class = TypedAnswer
    match_subclasses = True

    def get_name(self, auto_schema: Any, direction: Any) -> str:
        return str(self.target.__name__)

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        components: dict[str, Any] = {}
        types: dict[str, Any] = {}
        reference = schema_of(self.target.typed, components, types)
        name = reference["$ref"].rsplit("/", 1)[-1]
        for component, schema in components.items():
            if component != name:
                # the same identity as a top-level answer of that type: one component, however it is reached
                auto_schema.registry.register_on_missing(
                    ResolvedComponent(
                        name=component,
                        type=ResolvedComponent.SCHEMA,
                        object=answer_type(types[component]),
                        schema=schema,
                    )
                )
        return components[name]


class IdParamExtension(OpenApiSerializerFieldExtension):
    target_class = IdParam

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


class CountParamExtension(OpenApiSerializerFieldExtension):
    target_class = CountParam

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        field = self.target
        return {"type": "integer", "minimum": 1, "maximum": field.maximum, "default": field.default}


class ChoiceParamExtension(OpenApiSerializerFieldExtension):
    target_class = ChoiceParam

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        field = self.target
        schema: dict[str, Any] = {"type": "string", "enum": list(field.choices)}
        if field.default is not empty:
            schema["default"] = field.default
        return schema


class PeriodParamExtension(OpenApiSerializerFieldExtension):
    """`period`: an enum where the parameter takes a fixed set, else a pattern (its bounds are in the description)."""

    target_class = PeriodParam

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        field = self.target
        if field.choices is not None:
            return {"type": "string", "enum": list(field.choices), "default": field.default}
        units = "dh" if field.max_hours is not None else "d"
        spans = [f"[0-9]{{1,6}}[{units}]", *field.calendar]
        return {"type": "string", "pattern": f"^({'|'.join(spans)})$", "default": field.default}


class JsonObjectParamExtension(OpenApiSerializerFieldExtension):
    target_class = JsonObjectParam

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        keys = ", ".join(sorted(self.target.keys))
        return {"type": "string", "description": f"A JSON object with any of: {keys}."}


class DateParamExtension(OpenApiSerializerFieldExtension):
    target_class = DateParam

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "string", "format": "date"}


class RawAnswer:
    """Stands for a schema written out by hand (the error bodies): a subclass per component, named after it."""

    schema: dict[str, Any]


class RawAnswerExtension(OpenApiSerializerExtension):
    target_class = RawAnswer
    match_subclasses = True

    def get_name(self, auto_schema: Any, direction: Any) -> str:
        return str(self.target.__name__)

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return dict(self.target.schema)


DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
FIELD_ERRORS = {
    "type": "object",
    "properties": {"detail": {"type": "string", "description": "What is wrong with the request as a whole."}},
    "additionalProperties": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Messages about the field or parameter of this name (`non_field_errors`: the body as a whole).",
    },
}


class Error:
    """One error answer: its component, what it means, an example body and the headers it carries."""

    def __init__(
        self,
        component: str,
        description: str,
        example: dict[str, Any],
        *,
        schema: dict[str, Any] = DETAIL,
        headers: dict[str, Any] | None = None,
    ) -> None:
        self.answer = type(component, (RawAnswer,), {"schema": {**schema, "description": description}})
        self.description, self.example, self.headers = description, example, headers or {}


ERRORS: dict[int, Error] = {
    400: Error(
        "ValidationError",
        "The request is invalid: each field or query parameter is named with what is wrong with it (DRF's field "
        "errors).",
        {"limit": ["Must be between 1 and 100."]},
        schema=FIELD_ERRORS,
    ),
    401: Error(
        "Unauthenticated",
        "No valid credentials: send `Authorization: Bearer <access token>` (or the session cookie).",
        {"detail": "Authentication credentials were not provided."},
        headers={"WWW-Authenticate": {"schema": {"type": "string"}, "description": "The scheme to authenticate with."}},
    ),
    403: Error(
        "Forbidden",
        "Authenticated, but this is not for your role; with a session, also a missing or wrong CSRF token.",
        {"detail": "Only teachers and administrators may do this."},
    ),
    404: Error(
        "NotFound",
        "No such resource, or none you may see: the two answers are the same.",
        {"detail": "Not found."},
    ),
    413: Error(
        "PayloadTooLarge",
        "The request body is over the limit the message names.",
        {"detail": "Request body too large: at most 1048576 bytes."},
    ),
    415: Error(
        "UnsupportedMediaType",
        "The body is not JSON: send `Content-Type: application/json`.",
        {"detail": 'Unsupported media type "multipart/form-data" in request; send application/json.'},
    ),
    429: Error(
        "Throttled",
        "Too many requests: wait the number of seconds `Retry-After` gives.",
        {"detail": "Request was throttled. Expected available in 42 seconds."},
        headers={"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}},
    ),
    503: Error(
        "ServiceUnavailable",
        "A service this answer needs is down for the moment; retry later.",
        {"detail": "Live updates are unavailable at the moment; the REST API still answers."},
    ),
}

FIRST_SENTENCE = re.compile(r"^(.+?[.!?])(\s|$)", re.DOTALL)


class ContractSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus what every operation must say and no view writes by hand:

    - the errors it can answer, each with its component, example and headers, inferred from the view: 400 when it
      takes a body or query parameters; 401 when it needs authentication (or takes credentials); 403 when a
      permission is about the role, or a session may post without its CSRF token; 404 when the path or an id
      parameter names something; 413 and 415 when it takes a body; 429 when it is throttled. A view names any
      other it may answer (503) in `also_answers`;
    - one tag, the app that defines it (for a catalogue metric, the app that registered the metric);
    - a summary: the one in @extend_schema, else the first sentence of the view's description.
    """

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        operation["tags"] = [self.app_tag()]
        responses: dict[str, Any] = operation["responses"]
        for status in self.error_statuses(operation):
            responses.setdefault(str(status), self.error_response(status))
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def get_summary(self) -> str | None:
        summary: str | None = super().get_summary()
        if summary:
            return summary
        found = FIRST_SENTENCE.match(" ".join(self.get_description().split()))
        return found.group(1) if found else None

    def app_tag(self) -> str:
        metric = getattr(self.view, "metric", None)
        if metric is not None:
            return str(metric.owner)
        return type(self.view).__module__.split(".", 1)[0]

    def error_statuses(self, operation: dict[str, Any]) -> list[int]:
        view, method = self.view, self.method.upper()
        takes_body = method in BODY_METHODS and "requestBody" in operation
        queries = [parameter for parameter in operation.get("parameters", []) if parameter["in"] == "query"]
        strict_query = getattr(view, "query_serializer", None)
        permissions = view.get_permissions()
        needs_login = any(not isinstance(permission, AllowAny) for permission in permissions)
        about_role = any(type(permission) not in (AllowAny, IsAuthenticated) for permission in permissions)
        csrf = method in BODY_METHODS | {"DELETE"} and any(
            isinstance(authenticator, SessionAuthentication) for authenticator in view.get_authenticators()
        )
        names_something = "{" in self.path or any(
            isinstance(field, IdParam) for field in (strict_query().fields.values() if strict_query else [])
        )
        statuses = {
            400: takes_body or bool(queries) or strict_query is not None,
            401: needs_login or isinstance(view, TokenViewBase),
            403: about_role or csrf,
            404: names_something,
            413: method in BODY_METHODS,
            415: takes_body,
            429: bool(view.get_throttles()),
            **dict.fromkeys(getattr(view, "also_answers", ()), True),
        }
        return [status for status, applies in statuses.items() if applies]

    def error_response(self, status: int) -> dict[str, Any]:
        error = ERRORS[status]
        response: dict[str, Any] = self._get_response_for_code(error.answer, str(status))
        response["description"] = error.description
        for media in response.get("content", {}).values():
            media["examples"] = {error.answer.__name__: {"value": error.example}}
        if error.headers:
            response["headers"] = error.headers
        return response


def example_of(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """A value that satisfies `schema` (its first choice, its least number, its formats), to show its shape."""
    if "$ref" in schema:
        return example_of(components[schema["$ref"].rsplit("/", 1)[-1]], components, depth)
    for combined in ("allOf", "oneOf", "anyOf"):
        if combined in schema:
            return example_of(schema[combined][0], components, depth)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        if depth > 6:
            return {}
        value = {name: example_of(inner, components, depth + 1) for name, inner in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra and not value:
            value["name"] = example_of(extra, components, depth + 1)
        return value
    if kind == "array":
        return [] if depth > 6 else [example_of(schema.get("items", {}), components, depth + 1)]
    if kind in ("integer", "number"):
        least = schema.get("minimum", 0)
        return max(least, min(schema.get("maximum", 1), 1))
    if kind == "boolean":
        return True
    if kind == "string":
        return STRING_EXAMPLES.get(schema.get("format", ""), "text")
    return None


STRING_EXAMPLES = {
    "date-time": "2026-09-01T08:00:00Z",
    "date": "2026-09-01",
    "uuid": "0b9f5b7e-8f0c-4a51-9d0e-5d7f0f3b2a11",
    "uri": "https://example.org/",
    "email": "learner@example.org",
    "decimal": "10.00",
}


def nullable_references(node: Any) -> None:
    """OAS 3.0.3: `nullable` means nothing beside `allOf` without a `type`, so drf-spectacular's nullable nested
    serializer ({"allOf": [ref], "nullable": true}) refuses the null it is answered with; make it "ref or null"."""
    if isinstance(node, list):
        for inner in node:
            nullable_references(inner)
    elif isinstance(node, dict):
        if node.get("nullable") and "type" not in node and len(node.get("allOf", ())) == 1:
            del node["nullable"]
            node["oneOf"] = [node.pop("allOf")[0], NULL]
        for inner in node.values():
            nullable_references(inner)


def enum_names(node: Any) -> None:
    """Names for enum values that are not identifiers ("-code", "7d"), which client generators otherwise number
    (VALUE_1): `x-enum-varnames` CODE_DESC, VALUE_7D."""
    if isinstance(node, list):
        for inner in node:
            enum_names(inner)
    elif isinstance(node, dict):
        values = node.get("enum") or []
        strings = bool(values) and all(isinstance(value, str) for value in values)
        if strings and "x-enum-varnames" not in node and not all(value.isidentifier() for value in values):
            node["x-enum-varnames"] = [enum_name(value) for value in values]
        for inner in node.values():
            enum_names(inner)


def enum_name(value: str) -> str:
    name = re.sub(r"\W", "_", value.removeprefix("-")).upper() + ("_DESC" if value.startswith("-") else "")
    return name if name[:1].isalpha() else f"VALUE_{name}"


def complete_schema(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """A drf-spectacular postprocessing hook: nullable references as core.typed_schema writes them, readable names
    for enum values, and every response without an example gets one built from its schema, so each documented
    answer shows its shape (the error responses bring their own)."""
    nullable_references(result)
    enum_names(result)
    components = result.get("components", {}).get("schemas", {})
    for operations in result["paths"].values():
        for operation in operations.values():
            for response in operation["responses"].values():
                for media in response.get("content", {}).values():
                    if "example" not in media and "examples" not in media and "schema" in media:
                        media["examples"] = {"Shape": {"value": example_of(media["schema"], components)}}
    return result

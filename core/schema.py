"""How drf-spectacular describes the catalogue: typed answers (TypedDicts, through core.typed_schema) as schema
components, and the query parameter fields of core.params with their bounds and choices. Loaded by
CoreConfig.ready."""

from functools import cache
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.fields import empty

from core.params import ChoiceParam, CountParam, DateParam, IdParam, JsonObjectParam
from core.typed_schema import schema_of


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


class JsonObjectParamExtension(OpenApiSerializerFieldExtension):
    target_class = JsonObjectParam

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        keys = ", ".join(sorted(self.target.keys))
        return {"type": "string", "description": f"A JSON object with any of: {keys}."}


class DateParamExtension(OpenApiSerializerFieldExtension):
    target_class = DateParam

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "string", "format": "date"}

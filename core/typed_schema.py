"""Answers are typed as TypedDicts (plain dicts at run time: cached, compared and serialised as JSON documents); this
turns one into its OpenAPI 3.0 schema and its tabular columns. A field's description is the text in its
`Annotated[...]`: `events: Annotated[int, "Learning events in the period."]`.
"""

import enum
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, NotRequired, Required, Union, get_args, get_origin, get_type_hints

Schema = dict[str, Any]

SCALARS: dict[Any, Schema] = {
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    Decimal: {"type": "number"},
    str: {"type": "string"},
    datetime: {"type": "string", "format": "date-time"},
    date: {"type": "string", "format": "date"},
}


def description_of(hint: Any) -> str:
    while get_origin(hint) in (Annotated, NotRequired, Required):
        if get_origin(hint) is Annotated:
            return next((meta for meta in hint.__metadata__ if isinstance(meta, str)), "")
        hint = get_args(hint)[0]
    return ""


def _unwrap(hint: Any) -> Any:
    """The type inside Annotated / NotRequired / Required."""
    while get_origin(hint) in (Annotated, NotRequired, Required):
        hint = get_args(hint)[0]
    return hint


# The value null alone. OAS 3.0.3: `nullable` only means something beside a `type` in the same schema object, so a
# nullable reference ({"allOf": [{"$ref": ...}], "nullable": true}) still refuses null; it is "the reference, or null".
NULL: Schema = {"type": "object", "nullable": True, "enum": [None]}


def _nullable(schema: Schema) -> Schema:
    if "$ref" in schema:
        return {"oneOf": [schema, NULL]}
    if "type" not in schema and "oneOf" in schema:
        return {**schema, "oneOf": [*schema["oneOf"], NULL]}
    return {**schema, "nullable": True}


def schema_of(hint: Any, components: dict[str, Schema], found: dict[str, Any] | None = None) -> Schema:
    """The OpenAPI 3.0 schema of a type; TypedDicts become components (added to `components`, and their types to
    `found`) and are referenced."""
    description = description_of(hint)
    hint = _unwrap(hint)
    origin = get_origin(hint)
    schema: Schema
    if typing.is_typeddict(hint):
        name = hint.__name__
        if name not in components:
            components[name] = {}  # placeholder: a recursive reference finds it
            if found is not None:
                found[name] = hint
            components[name] = typed_dict_schema(hint, components, found)
        schema = {"$ref": f"#/components/schemas/{name}"}
    elif origin in (Union, types.UnionType):
        options = [arg for arg in get_args(hint) if arg is not type(None)]
        inner = (
            schema_of(options[0], components, found)
            if len(options) == 1
            else {"oneOf": [schema_of(option, components, found) for option in options]}
        )
        schema = _nullable(inner) if len(options) < len(get_args(hint)) else inner
    elif origin is Literal:
        values = list(get_args(hint))
        schema = {**SCALARS[type(values[0])], "enum": values}
    elif origin in (list, tuple, typing.Sequence) or hint in (list, tuple):
        args = get_args(hint)
        schema = {"type": "array", "items": schema_of(args[0], components, found) if args else {}}
    elif origin is dict:
        args = get_args(hint)
        schema = {"type": "object", "additionalProperties": schema_of(args[1], components, found) if args else {}}
    elif isinstance(hint, type) and issubclass(hint, enum.Enum):
        values = [member.value for member in hint]
        schema = {**SCALARS[type(values[0])], "enum": values}
    elif hint is Any:
        schema = {}
    elif hint in SCALARS:
        schema = dict(SCALARS[hint])
    else:
        raise TypeError(f"no OpenAPI schema for {hint!r}")
    if description:
        schema = (
            {"allOf": [schema], "description": description}
            if "$ref" in schema
            else {**schema, "description": description}
        )
    return schema


def typed_dict_schema(typed: Any, components: dict[str, Schema], found: dict[str, Any] | None = None) -> Schema:
    hints = get_type_hints(typed, include_extras=True)
    schema: Schema = {
        "type": "object",
        "properties": {name: schema_of(hint, components, found) for name, hint in hints.items()},
    }
    if typed.__required_keys__:  # OpenAPI 3.0: `required`, when present, names at least one
        schema["required"] = sorted(typed.__required_keys__)
    if typed.__doc__:
        schema["description"] = " ".join(typed.__doc__.split())
    return schema


@dataclass(frozen=True)
class Column:
    """One column of a metric's table: what exports write as a header and what a report builder offers."""

    name: str
    type: str  # integer, number, string, boolean, date, date-time, array, object
    description: str
    nullable: bool

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "description": self.description, "nullable": self.nullable}


def column_type(hint: Any) -> tuple[str, bool]:
    """(type name, may be empty) of a field's type."""
    hint = _unwrap(hint)
    if get_origin(hint) in (Union, types.UnionType):
        options = [arg for arg in get_args(hint) if arg is not type(None)]
        kind, _ = column_type(options[0]) if len(options) == 1 else ("string", True)
        return kind, True
    schema = schema_of(hint, {})
    if "$ref" in schema or schema.get("type") == "object":
        return "object", False
    return schema.get("format") or schema.get("type", "string"), False


def columns(typed: Any) -> list[Column]:
    """The fields of a TypedDict as columns, in their declared order."""
    return [Column(name, *_column(hint)) for name, hint in get_type_hints(typed, include_extras=True).items()]


def _column(hint: Any) -> tuple[str, str, bool]:
    kind, nullable = column_type(hint)
    return kind, description_of(hint), nullable

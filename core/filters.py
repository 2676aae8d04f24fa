"""The filters every list endpoint uses, reading query parameters by the rules of core.params (ASCII digits, ids
within bigint, dates and date-times PostgreSQL and Python both hold, offsets within ±14:00), so no value reaches SQL
unchecked; and strict ordering and search backends (an unknown ordering field or an unusable search term is a 400
naming the parameter, not silently ignored).

django-filter's own fields read numbers with Decimal (which takes Arabic-Indic digits), dates in any locale format,
date-times with any offset Python holds (PostgreSQL refuses +18:24: a DataError, a 500), and booleans it does not
recognise as "no filter". These do none of that."""

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters as drf_filters
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from core.params import DATE_MESSAGE, DATETIME_MESSAGE, MAX_ID, iso_date, iso_datetime, one_of, row_id

MAX_SEARCH_LENGTH = 100
BOOLEANS = {"true": True, "false": False}


class _StrictField(forms.Field):
    """A form field that reads one query parameter with a core.params reader; empty means "no filter"."""

    message = ""

    def read(self, value: str) -> Any:
        raise NotImplementedError

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        result = self.read(value) if isinstance(value, str) else None
        if result is None:
            raise forms.ValidationError(self.message, code="invalid")
        return result


class DateTimeField(_StrictField):
    message = DATETIME_MESSAGE
    read = staticmethod(iso_datetime)


class DateField(_StrictField):
    message = DATE_MESSAGE
    read = staticmethod(iso_date)


class IdField(_StrictField):
    message = "Must be a positive integer id."
    read = staticmethod(row_id)


class BooleanField(_StrictField):
    message = "Must be true or false."

    @staticmethod
    def read(value: str) -> bool | None:
        return BOOLEANS.get(value)


@extend_schema_field(OpenApiTypes.DATETIME)
class DateTimeFilter(django_filters.Filter):
    field_class = DateTimeField


@extend_schema_field(OpenApiTypes.DATE)
class DateFilter(django_filters.Filter):
    field_class = DateField


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.Filter):
    field_class = IdField


@extend_schema_field(OpenApiTypes.BOOL)
class BooleanFilter(django_filters.Filter):
    field_class = BooleanField


class ChoiceFilter(django_filters.ChoiceFilter):
    """django-filter's ChoiceFilter, refusing a value outside the choices in the project's one wording ("status must
    be one of: active, dropped.") instead of "Select a valid choice. x is not one of the available choices."."""

    @property
    def field(self) -> forms.Field:
        if not hasattr(self, "_field"):
            choices = [str(value) for value, _label in self.extra["choices"]]
            self.extra["error_messages"] = {"invalid_choice": one_of(self.field_name, choices)}
        field: forms.Field = super().field
        return field


class OrderingFilter(drf_filters.OrderingFilter):
    """`ordering` takes a comma-separated list of the view's `ordering_fields`, each optionally prefixed with '-';
    anything else is a 400 listing what is allowed (DRF ignores unknown fields silently)."""

    def allowed(self, view: APIView) -> list[str]:
        """The view's `ordering_fields` (every view with this backend names them), each also descending."""
        fields = getattr(view, "ordering_fields", None)
        if not isinstance(fields, list | tuple):
            raise TypeError(f"{type(view).__name__} must name its ordering_fields")
        return [variant for name in fields for variant in (name, f"-{name}")]

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: APIView) -> Any:
        raw = request.query_params.get(self.ordering_param)
        if raw is None or raw == "":
            return self.get_default_ordering(view)
        allowed = self.allowed(view)
        terms = [term.strip() for term in raw.split(",")]
        unknown = [term for term in terms if term not in allowed]
        if unknown:
            raise ValidationError(
                {self.ordering_param: [f"Unknown ordering {unknown[0]!r}; {one_of(self.ordering_param, allowed)}"]}
            )
        return terms

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Sort by this field ('-' first for descending); several, comma-separated.",
                "schema": {"type": "string", "enum": self.allowed(view)},
            }
        ]


class SearchFilter(drf_filters.SearchFilter):
    """`search`: words matched case-insensitively in the view's `search_fields`; at most 100 characters and no
    control characters (PostgreSQL cannot hold NUL), else a 400 naming the parameter."""

    def get_search_terms(self, request: Request) -> list[str]:
        raw = request.query_params.get(self.search_param, "")
        if len(raw) > MAX_SEARCH_LENGTH or any(ord(character) < 32 for character in raw):
            raise ValidationError(
                {self.search_param: [f"At most {MAX_SEARCH_LENGTH} characters, without control characters."]}
            )
        terms: list[str] = super().get_search_terms(request)
        return terms

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = {"type": "string", "maxLength": MAX_SEARCH_LENGTH, "pattern": "^[^\\x00-\\x1f]*$"}
        return parameters

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination as BaseLimitOffsetPagination
from rest_framework.request import Request

from core.params import MAX_ID, ascii_integer


class LimitOffsetPagination(BaseLimitOffsetPagination):
    """`limit` (default 20, 1 to 100) and `offset` (0 or more), as the API clients of the seed documents expect.

    Out-of-range or non-numeric values (ASCII digits only, as in core.params) are a 400 naming the parameter, not
    silently replaced by a default; the largest offset keeps offset + limit within PostgreSQL's bigint.
    """

    default_limit = 20
    max_limit = 100
    max_offset = MAX_ID - max_limit

    def _integer(self, request: Request, name: str, minimum: int, maximum: int) -> int | None:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return None
        value = ascii_integer(raw)
        if value is None:
            raise ValidationError({name: ["A whole number is required."]})
        if not minimum <= value <= maximum:
            raise ValidationError({name: [f"Must be between {minimum} and {maximum}."]})
        return value

    def get_limit(self, request: Request) -> int:
        limit = self._integer(request, self.limit_query_param, 1, self.max_limit)
        return self.default_limit if limit is None else limit

    def get_offset(self, request: Request) -> int:
        offset = self._integer(request, self.offset_query_param, 0, self.max_offset)
        return 0 if offset is None else offset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": self.max_limit, "default": self.default_limit},
            self.offset_query_param: {"minimum": 0, "maximum": self.max_offset, "default": 0},
        }
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = {**parameter["schema"], **bounds.get(parameter["name"], {})}
        return parameters

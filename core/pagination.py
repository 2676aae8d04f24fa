from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination as BaseLimitOffsetPagination
from rest_framework.request import Request


class LimitOffsetPagination(BaseLimitOffsetPagination):
    """`limit` (default 20, 1 to 100) and `offset` (0 or more), as the API clients of the seed documents expect.

    Out-of-range or non-numeric values are a 400 naming the parameter, not silently replaced by a default.
    """

    default_limit = 20
    max_limit = 100

    def _integer(self, request: Request, name: str, minimum: int, maximum: int | None) -> int | None:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return None
        try:
            value = int(raw)
        except ValueError:
            raise ValidationError({name: ["A whole number is required."]}) from None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            raise ValidationError({name: [f"Must be {bound}."]})
        return value

    def get_limit(self, request: Request) -> int:
        limit = self._integer(request, self.limit_query_param, 1, self.max_limit)
        return self.default_limit if limit is None else limit

    def get_offset(self, request: Request) -> int:
        offset = self._integer(request, self.offset_query_param, 0, None)
        return 0 if offset is None else offset

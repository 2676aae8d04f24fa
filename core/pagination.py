from rest_framework.pagination import LimitOffsetPagination as BaseLimitOffsetPagination


class LimitOffsetPagination(BaseLimitOffsetPagination):
    """`limit` (default 20, at most 100) and `offset`, as the API clients of the seed documents expect."""

    default_limit = 20
    max_limit = 100

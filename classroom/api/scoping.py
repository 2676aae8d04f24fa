"""The base every data-serving API view inherits: its queryset always passes through a classroom selector.

Subclasses name a selector in `scope` and may narrow or annotate the scoped queryset in `refine`; they cannot
define `queryset` or override `get_queryset`, so a new endpoint cannot forget the scoping (checked at class
creation). Objects outside the scope are simply not found: 404, exactly like an id that does not exist.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from rest_framework.generics import GenericAPIView

from classroom.selectors import Actor


class ScopedViewMixin(GenericAPIView):
    scope: Callable[[Actor], QuerySet[Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__ or cls.__dict__.get("queryset") is not None:
            raise TypeError(f"{cls.__name__}: scoped views define `scope` and `refine`, not queryset/get_queryset.")

    def get_queryset(self) -> QuerySet[Any]:
        scope = type(self).scope
        if getattr(self, "swagger_fake_view", False):
            # Schema generation: no request user and no URL kwargs; the scope of nobody is empty anyway.
            return scope(AnonymousUser())
        return self.refine(scope(self.request.user))

    def refine(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset

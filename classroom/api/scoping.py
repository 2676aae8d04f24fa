"""The base every data-serving API view inherits: its queryset always passes through a classroom selector.

Subclasses name a selector in `scope` and may narrow or annotate the scoped queryset in `refine`; they cannot
define `queryset` or override `get_queryset`, so a new endpoint cannot forget the scoping (checked at class
creation). Objects outside the scope are simply not found: 404, exactly like an id that does not exist.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth.models import AnonymousUser
from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView

from accounts.models import Role
from classroom.models import Course
from classroom.selectors import Actor, courses_in_common, visible_students

if TYPE_CHECKING:
    from accounts.models import User


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


def scoped_get_or_404(queryset: QuerySet[Any], pk: Any) -> Model:
    """Fetch one object from an already scoped queryset; a forbidden object and a missing one both raise 404."""
    return get_object_or_404(queryset, pk=pk)


def student_in_scope(user: Any, student_id: int | None) -> "User":
    """The student a request is about: the requester (a student) by default; staff must name one they may see.
    Outside the requester's scope: 404, as if the student did not exist."""
    if student_id is None:
        if getattr(user, "role", None) != Role.STUDENT:
            raise ValidationError({"student": ["Required: the id of a student you may see."]})
        student_id = user.pk
    return cast("User", scoped_get_or_404(visible_students(user).select_related("organization"), student_id))


def student_courses(viewer: Any, student: "User", course_id: int | None) -> QuerySet[Course]:
    """The student's classes that the requester may also see (a teacher: only their own), or the one named (404
    outside them)."""
    courses = courses_in_common(viewer, student)
    if course_id is not None:
        courses = courses.filter(pk=scoped_get_or_404(courses, course_id).pk)
    return courses

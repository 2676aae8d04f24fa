"""Who may write through the API, by role. Which rows they may write is decided by classroom.selectors (the write
views look them up there, 404 outside): administrators write within their organisation; teachers change the
modules and items of the classes they teach; students write nothing here."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import Role


def _member_of_an_organisation(request: Request, roles: tuple[str, ...]) -> bool:
    user = request.user
    return bool(
        user
        and user.is_authenticated
        and getattr(user, "role", None) in roles
        and getattr(user, "organization_id", None) is not None
    )


class WritesForTheSchool(BasePermission):
    """Administrators of an organisation: courses, people and enrolments of their school."""

    message = "Only administrators of a school may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return _member_of_an_organisation(request, (Role.ADMIN,))


class WritesClassContent(BasePermission):
    """Teachers and administrators of an organisation: modules and items (a teacher's only in taught classes)."""

    message = "Only teachers and administrators may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return _member_of_an_organisation(request, (Role.ADMIN, Role.TEACHER))

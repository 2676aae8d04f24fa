"""Role-only permission classes. Whether a user may see a particular course or student is not decided here but in
classroom.selectors, the one place that knows who teaches whom."""

from typing import Any

from django.conf import settings
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import Role


class IsAdminRole(BasePermission):
    message = "Only administrators may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "role", None) == Role.ADMIN)


class IsPlatformOperator(BasePermission):
    """Superusers run the platform: they create organisations."""

    message = "Only platform operators may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_superuser)


class IsStaffRole(BasePermission):
    """Teachers and administrators: class- and school-level figures are not for students."""

    message = "Only teachers and administrators may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_staff_role(request.user)


def is_staff_role(user: Any) -> bool:
    """A teacher, a school administrator or a platform operator (superuser): who may see class-level figures."""
    return bool(
        user
        and user.is_authenticated
        and (user.is_superuser or getattr(user, "role", None) in (Role.TEACHER, Role.ADMIN))
    )


def is_student(user: Any) -> bool:
    """A student (a platform operator never is one, whatever their role says): sees only themselves, and class
    figures only over large enough groups."""
    return bool(
        user and user.is_authenticated and getattr(user, "role", None) == Role.STUDENT and not user.is_superuser
    )


def small_group_minimum(viewer: Any, setting: str) -> int:
    """The least group whose aggregates `viewer` may see: the setting's value for students, 0 (any) for staff."""
    return int(getattr(settings, setting)) if is_student(viewer) else 0


def is_platform_operator(user: Any) -> bool:
    """Who runs the platform (Django admin, `is_staff`; superusers): platform-wide figures (every organisation's
    requests and learners) are theirs and the metrics token's, not a school administrator's."""
    return bool(user and user.is_authenticated and user.is_active and (user.is_staff or user.is_superuser))


def is_administrator(user: Any) -> bool:
    """A school administrator or a platform operator (superuser)."""
    return bool(user and user.is_authenticated and (user.is_superuser or getattr(user, "role", None) == Role.ADMIN))


class IsAdministrator(BasePermission):
    """School administrators and platform operators: system-wide figures."""

    message = "Only administrators may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_administrator(request.user)

"""Reads of the connector, and the one place that decides who sees which connection and synced course:
a teacher sees only their own connection and its courses; an administrator every connection of their
organisation; students none. Anything outside that answers 404, as if it did not exist."""

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Role
from classroom.selectors import Actor, active_member
from google_classroom.models import Connection, PostedSummary, SyncedCourse


def visible_connections(user: Actor) -> QuerySet[Connection]:
    member = active_member(user)
    if member is None or member.organization_id is None:
        return Connection.objects.none()
    if member.role == Role.ADMIN:
        return Connection.objects.filter(organization_id=member.organization_id)
    if member.role == Role.TEACHER:
        return Connection.objects.filter(user=member, organization_id=member.organization_id)
    return Connection.objects.none()


def own_connection(user: Actor) -> Connection | None:
    """The requester's own connection (administrators too: each person connects their own account)."""
    member = active_member(user)
    if member is None or member.role not in (Role.TEACHER, Role.ADMIN):
        return None
    return Connection.objects.filter(user=member).select_related("organization").first()


def visible_synced_courses(user: Actor) -> QuerySet[SyncedCourse]:
    return SyncedCourse.objects.filter(connection__in=visible_connections(user)).select_related("connection", "course")


def synced_course_for(user: Actor, google_course_id: str) -> SyncedCourse:
    """The synced course `google_course_id` among those the requester sees (visible_synced_courses), else 404."""
    return get_object_or_404(visible_synced_courses(user), google_course_id=google_course_id)


def connection_for(user: Actor, connection_id: int) -> Connection:
    return get_object_or_404(visible_connections(user), pk=connection_id)


def connection_status(connection: Connection | None) -> dict[str, Any]:
    """What the teacher sees of their connection (no token, ever)."""
    if connection is None:
        return {"connected": False}
    return {
        "connected": True,
        "google_email": connection.google_email,
        "status": connection.status,
        "status_message": connection.status_message,
        "can_post": "https://www.googleapis.com/auth/classroom.announcements" in connection.scopes,
        "last_sync_at": connection.last_sync_at,
        "last_sync_job": connection.last_sync_job_id,
    }


def posts_of(synced: SyncedCourse) -> QuerySet[PostedSummary]:
    return synced.posts.select_related("posted_by")


__all__ = [
    "connection_for",
    "connection_status",
    "own_connection",
    "posts_of",
    "synced_course_for",
    "visible_connections",
    "visible_synced_courses",
]

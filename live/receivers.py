"""Revocation: open connections follow logouts, deactivations and enrolment changes (sent after commit)."""

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save

from accounts.models import User
from classroom.models import Enrollment
from core.realtime import broadcast_on_commit
from live.groups import user_group

# WebSocket close codes (docs/realtime.md)
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


def revoke(user_id: int, reason: str) -> None:
    broadcast_on_commit(
        group=user_group(user_id), message={"type": "live.revoke", "code": CLOSE_UNAUTHENTICATED, "reason": reason}
    )


def on_logged_out(sender: Any, request: Any, user: User | None, **kwargs: Any) -> None:
    # Every connection of the user closes, not only this browser's: a logout is a request to stop being signed in.
    if user is not None:
        revoke(user.pk, "logged out")


def on_user_saved(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    if not created and not instance.is_active:
        revoke(instance.pk, "deactivated")


def on_enrollment_changed(sender: Any, instance: Enrollment, **kwargs: Any) -> None:
    # The user's connections re-check each subscription and close (4403) when one is no longer allowed.
    broadcast_on_commit(group=user_group(instance.user_id), message={"type": "live.recheck"})


def connect() -> None:
    user_logged_out.connect(on_logged_out, dispatch_uid="live.logged_out")
    post_save.connect(on_user_saved, sender=User, dispatch_uid="live.user_saved")
    post_save.connect(on_enrollment_changed, sender=Enrollment, dispatch_uid="live.enrollment_saved")
    post_delete.connect(on_enrollment_changed, sender=Enrollment, dispatch_uid="live.enrollment_deleted")

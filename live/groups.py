"""Channel-layer group names. Always derived here from ids the server has authorised, never taken from a client."""

from gamification.services import student_group
from risk.alerts import alerts_group

__all__ = ["course_group", "parse_group", "student_group", "user_group"]


def user_group(user_id: int) -> str:
    """Every connection of one user: revocation (logout, deactivation, enrolment changes) is sent here."""
    return f"user.{user_id}"


def course_group(course_id: int, channel: str) -> str:
    """A class's stream for one channel: `course.<id>.live` (engagement snapshots and learner actions, staff only),
    `course.<id>.alerts`, `course.<id>.leaderboard`."""
    if channel == "alerts":
        return alerts_group(course_id)
    suffix = "live" if channel == "engagement" else channel
    return f"course.{course_id}.{suffix}"


def parse_group(group: str) -> tuple[str, int] | None:
    """("student", id) or ("course", id) for the groups that carry live_update snapshots, else None."""
    parts = group.split(".")
    if len(parts) == 2 and parts[0] == "student" and parts[1].isdigit():
        return "student", int(parts[1])
    if len(parts) == 3 and parts[0] == "course" and parts[1].isdigit() and parts[2] == "live":
        return "course", int(parts[1])
    return None

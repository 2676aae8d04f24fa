"""Which live subscriptions a user may hold: every answer comes from classroom.selectors (decision 0001).

A class or student that does not exist and one the user may not see are refused with the same reason, so the
stream cannot be used to probe for ids.
"""

from dataclasses import dataclass
from typing import Any

from accounts.models import Role, User
from accounts.permissions import is_staff_role
from classroom.selectors import (
    can_view_course,
    can_view_student,
    courses_in_common,
    sees_whole_student,
    visible_courses,
)
from live.groups import course_group, student_group

PROGRESS = "progress"
ENGAGEMENT = "engagement"
ALERTS = "alerts"
LEADERBOARD = "leaderboard"
CHANNELS = (PROGRESS, ENGAGEMENT, ALERTS, LEADERBOARD)
COURSE_CHANNELS = (ENGAGEMENT, ALERTS, LEADERBOARD)
STAFF_CHANNELS = (ENGAGEMENT, ALERTS)

UNKNOWN_CHANNEL = "unknown channel"
COURSE_REQUIRED = "course required"
COURSE_NOT_INTEGER = "course must be an integer"
COURSE_NOT_FOUND = "course not found"
STAFF_ONLY = "staff only"
STUDENT_NOT_INTEGER = "student must be an integer"
STUDENT_REQUIRED = "student required"
STUDENT_NOT_FOUND = "student not found"


class Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Subscription:
    """An authorised subscription: the group it joins and, for snapshots, what the snapshot covers."""

    channel: str
    group: str
    course: int | None = None
    student: int | None = None
    # progress: the student's classes this viewer may see (a teacher sees only their own classes' share)
    course_ids: tuple[int, ...] = ()
    # progress: XP and streak count all the student's learning (the student, their administrators), else a teacher's
    # classes only (classroom.selectors.sees_whole_student, as every page and endpoint about the student)
    whole_student: bool = False


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_shape(*, channel: str, course: Any, student: Any) -> None:
    """The checks that need no database: the channel is known, ids are integers where given and needed."""
    if channel not in CHANNELS:
        raise Refused(UNKNOWN_CHANNEL)
    if channel in COURSE_CHANNELS:
        if course is None:
            raise Refused(COURSE_REQUIRED)
        if not _integer(course):
            raise Refused(COURSE_NOT_INTEGER)
    elif student is not None and not _integer(student):
        raise Refused(STUDENT_NOT_INTEGER)


def group_of(*, user: User, channel: str, course: Any, student: Any) -> str:
    """The group a (shape-checked) subscription request names, without asking whether it is allowed."""
    if channel == PROGRESS:
        return student_group(student if student is not None else user.pk)
    return course_group(course, channel)


def subscription_authorise(*, user: User, channel: str, course: Any, student: Any) -> Subscription:
    """The subscription, if `user` may hold it; raises Refused with the reason otherwise."""
    check_shape(channel=channel, course=course, student=student)
    if channel == PROGRESS:
        if student is None or student == user.pk:
            if user.role != Role.STUDENT:
                raise Refused(STUDENT_REQUIRED)
            student = user.pk
        elif not (is_staff_role(user) and can_view_student(user, student)):
            raise Refused(STUDENT_NOT_FOUND)
        student_user = User.objects.get(pk=student)
        courses = (
            visible_courses(student_user) if student == user.pk else courses_in_common(user, student_user)
        ).values_list("pk", flat=True)
        return Subscription(
            channel,
            student_group(student),
            student=student,
            course_ids=tuple(sorted(courses)),
            whole_student=sees_whole_student(user, student_user),
        )
    if not can_view_course(user, course):
        raise Refused(COURSE_NOT_FOUND)
    if channel in STAFF_CHANNELS and not is_staff_role(user):
        raise Refused(STAFF_ONLY)
    return Subscription(channel, course_group(course, channel), course=course)


def subscriptions_authorise(
    *, user: User, channels: list[str], course: Any, student: Any
) -> list[Subscription | Refused]:
    """subscription_authorise for each channel, in one trip to the database thread."""
    results: list[Subscription | Refused] = []
    for channel in channels:
        try:
            results.append(subscription_authorise(user=user, channel=channel, course=course, student=student))
        except Refused as refusal:
            results.append(refusal)
    return results


def active_user(user_id: int) -> User | None:
    return User.objects.filter(pk=user_id, is_active=True).select_related("organization").first()

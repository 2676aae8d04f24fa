"""A connection closes when its user logs out, is deactivated, or loses the enrolment a subscription depended on."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from accounts.models import User
from classroom.models import Enrollment
from tests.conftest import School
from tests.live.conftest import Connect, session_cookie

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def log_out(user: User) -> None:
    client = Client()
    client.cookies["sessionid"] = session_cookie(user)
    assert client.post("/accounts/logout/").status_code in (200, 302)


def deactivate(user: User) -> None:
    user.is_active = False
    user.save()


def drop(user: User, course_id: int) -> None:
    enrollment = Enrollment.objects.get(user=user, course_id=course_id, status=Enrollment.Status.ACTIVE)
    enrollment.status = Enrollment.Status.DROPPED
    enrollment.ended_at = max(timezone.now(), enrollment.enrolled_at + timedelta(seconds=1))
    enrollment.save()


async def test_logout_closes_the_users_connections(school: School, connect: Connect) -> None:
    live = await connect(school.student)
    other = await connect(school.classmate)
    await live.ask({"type": "subscribe", "channels": ["progress"]})

    await database_sync_to_async(log_out)(school.student)

    assert await live.closed_with() == 4401
    assert await other.still_open()


async def test_deactivation_closes_the_users_connections(school: School, connect: Connect) -> None:
    live = await connect(school.teacher)
    await live.ask({"type": "subscribe", "channels": ["engagement"], "course": school.course.pk})

    await database_sync_to_async(deactivate)(school.teacher)

    assert await live.closed_with() == 4401


async def test_student_losing_the_enrolment_of_a_class_subscription_is_closed(school: School, connect: Connect) -> None:
    live = await connect(school.student)
    await live.ask({"type": "subscribe", "channels": ["leaderboard"], "course": school.course.pk})

    await database_sync_to_async(drop)(school.student, school.course.pk)

    assert await live.closed_with() == 4403


async def test_teacher_losing_their_class_is_closed(school: School, connect: Connect) -> None:
    live = await connect(school.teacher)
    await live.ask({"type": "subscribe", "channels": ["progress"], "student": school.student.pk})

    await database_sync_to_async(drop)(school.teacher, school.course.pk)

    assert await live.closed_with() == 4403


async def test_an_enrolment_change_that_keeps_every_subscription_keeps_the_connection(
    school: School, connect: Connect
) -> None:
    # given: the student watches only their own progress, which needs no class
    live = await connect(school.student)
    await live.ask({"type": "subscribe", "channels": ["progress"]})

    # when
    await database_sync_to_async(drop)(school.student, school.course.pk)

    # then: the re-check ran (a message on the user's group is handled before the ping) and allowed it
    assert await live.still_open()

"""Subscriptions are authorised by classroom.selectors; a refusal is an error naming the channel, and a class or
student that does not exist is refused exactly like one the user may not see."""

from typing import Any

import pytest

from tests.conftest import School
from tests.live.conftest import Connect, without_time

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

MISSING_ID = 987654321


async def test_student_subscribes_to_their_own_progress_and_class_leaderboard(school: School, connect: Connect) -> None:
    live = await connect(school.student)
    assert without_time(await live.ask({"type": "subscribe", "channels": ["progress"]})) == {
        "type": "subscribed",
        "channels": ["progress"],
        "course": None,
        "student": school.student.pk,
    }
    reply = await live.ask({"type": "subscribe", "channels": ["leaderboard"], "course": school.course.pk})
    assert (reply["type"], reply["channels"], reply["course"]) == ("subscribed", ["leaderboard"], school.course.pk)


@pytest.mark.parametrize("other", ["classmate", "other_student", "foreign_student"])
async def test_student_cannot_subscribe_to_another_student(school: School, connect: Connect, other: str) -> None:
    live = await connect(school.student)
    reply = await live.ask({"type": "subscribe", "channels": ["progress"], "student": getattr(school, other).pk})
    assert without_time(reply) == {"type": "error", "channel": "progress", "reason": "student not found"}
    assert await live.still_open()


@pytest.mark.parametrize("channel", ["leaderboard", "engagement", "alerts"])
@pytest.mark.parametrize("course", ["other_course", "foreign_course"])
async def test_student_cannot_subscribe_to_a_class_they_are_not_in(
    school: School, connect: Connect, channel: str, course: str
) -> None:
    live = await connect(school.student)
    reply = await live.ask({"type": "subscribe", "channels": [channel], "course": getattr(school, course).pk})
    assert without_time(reply) == {"type": "error", "channel": channel, "reason": "course not found"}


@pytest.mark.parametrize("channel", ["engagement", "alerts"])
async def test_student_cannot_watch_their_own_class_as_staff_do(school: School, connect: Connect, channel: str) -> None:
    live = await connect(school.student)
    reply = await live.ask({"type": "subscribe", "channels": [channel], "course": school.course.pk})
    assert without_time(reply) == {"type": "error", "channel": channel, "reason": "staff only"}


async def test_teacher_subscribes_to_their_class_and_its_students(school: School, connect: Connect) -> None:
    live = await connect(school.teacher)
    reply = await live.ask(
        {"type": "subscribe", "channels": ["engagement", "alerts", "leaderboard"], "course": school.course.pk}
    )
    assert (reply["type"], reply["channels"]) == ("subscribed", ["engagement", "alerts", "leaderboard"])
    reply = await live.ask({"type": "subscribe", "channels": ["progress"], "student": school.classmate.pk})
    assert (reply["type"], reply["student"]) == ("subscribed", school.classmate.pk)


@pytest.mark.parametrize("channel", ["engagement", "alerts", "leaderboard"])
async def test_teacher_cannot_subscribe_to_another_teachers_class(
    school: School, connect: Connect, channel: str
) -> None:
    live = await connect(school.teacher)
    reply = await live.ask({"type": "subscribe", "channels": [channel], "course": school.other_course.pk})
    assert without_time(reply) == {"type": "error", "channel": channel, "reason": "course not found"}


async def test_teacher_cannot_subscribe_to_another_teachers_student(school: School, connect: Connect) -> None:
    live = await connect(school.teacher)
    reply = await live.ask({"type": "subscribe", "channels": ["progress"], "student": school.other_student.pk})
    assert without_time(reply) == {"type": "error", "channel": "progress", "reason": "student not found"}


async def test_staff_must_name_a_student_for_progress(school: School, connect: Connect) -> None:
    live = await connect(school.teacher)
    reply = await live.ask({"type": "subscribe", "channels": ["progress"]})
    assert without_time(reply) == {"type": "error", "channel": "progress", "reason": "student required"}


@pytest.mark.parametrize(
    ("role", "forbidden", "channel"),
    [
        ("teacher", "other_course", "engagement"),
        ("teacher", "foreign_course", "leaderboard"),
        ("student", "other_course", "leaderboard"),
        ("admin", "foreign_course", "engagement"),
    ],
)
async def test_missing_and_forbidden_course_answer_alike(
    school: School, connect: Connect, role: str, forbidden: str, channel: str
) -> None:
    live = await connect(getattr(school, role))
    seen = await live.ask({"type": "subscribe", "channels": [channel], "course": getattr(school, forbidden).pk})
    absent = await live.ask({"type": "subscribe", "channels": [channel], "course": MISSING_ID})
    assert (
        without_time(seen)
        == without_time(absent)
        == {"type": "error", "channel": channel, "reason": "course not found"}
    )


@pytest.mark.parametrize("role", ["student", "teacher"])
async def test_missing_and_forbidden_student_answer_alike(school: School, connect: Connect, role: str) -> None:
    live = await connect(getattr(school, role))
    seen = await live.ask({"type": "subscribe", "channels": ["progress"], "student": school.other_student.pk})
    absent = await live.ask({"type": "subscribe", "channels": ["progress"], "student": MISSING_ID})
    assert without_time(seen) == without_time(absent)


async def test_one_refused_channel_does_not_refuse_the_others(school: School, connect: Connect) -> None:
    live = await connect(school.student)
    await live.send(
        {"type": "subscribe", "channels": ["leaderboard", "engagement", "weather"], "course": school.course.pk}
    )
    replies = [without_time(await live.receive()) for _ in range(3)]
    assert replies == [
        {"type": "error", "channel": "engagement", "reason": "staff only"},
        {"type": "error", "channel": "weather", "reason": "unknown channel"},
        {"type": "subscribed", "channels": ["leaderboard"], "course": school.course.pk, "student": None},
    ]


async def test_unsubscribe(school: School, connect: Connect) -> None:
    live = await connect(school.teacher)
    await live.ask({"type": "subscribe", "channels": ["engagement"], "course": school.course.pk})
    reply: dict[str, Any] = await live.ask(
        {"type": "unsubscribe", "channels": ["engagement"], "course": school.course.pk}
    )
    assert without_time(reply) == {
        "type": "unsubscribed",
        "channels": ["engagement"],
        "course": school.course.pk,
        "student": None,
    }

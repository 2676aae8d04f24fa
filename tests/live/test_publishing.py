"""After an ingestion commits, watchers get coalesced snapshots (live_update) and, for staff, learner actions
(user_event); gamification's level-ups and achievements are forwarded."""

import asyncio
from datetime import datetime
from typing import Any
from uuid import uuid4

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone

from accounts.models import User
from analytics.services import events_ingest
from gamification.models import Achievement, XpRule
from tests.conftest import School
from tests.live.conftest import Connect

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def ingest(student: User, *, course: int, item: int | None = None, action: str = "material_view") -> None:
    body: dict[str, Any] = {
        "event_id": str(uuid4()),
        "action": action,
        "timestamp": timezone.now().isoformat(),
        "course": course,
    }
    if item is not None:
        body["item"] = item
    # A transactional test: the ingestion commits, so its on-commit callbacks (XP award, live notification) run.
    assert events_ingest(items=[body], principal=student, now=timezone.now(), horizon=None).accepted == 1


def rules_for_a_level_and_an_achievement() -> None:
    XpRule.objects.update_or_create(
        organization=None, action="lesson_complete", item_kind="", defaults={"points": 100, "daily_item_cap": None}
    )
    Achievement.objects.update_or_create(
        organization=None,
        code="first-completion",
        defaults={"name": "First steps", "kind": Achievement.Kind.FIRST_COMPLETION, "threshold": None},
    )


def by_type(messages: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        assert datetime.fromisoformat(message["as_of"]).utcoffset() is not None, message
        grouped.setdefault(message["type"], []).append(message)
    return grouped


async def test_an_ingested_event_reaches_the_student_and_their_teacher(
    school: School, connect: Connect, settings: Any
) -> None:
    # given: a completion is worth a level (100 XP) and an achievement (created here: a transactional test's flush
    # removes the defaults that migrations put in)
    await database_sync_to_async(rules_for_a_level_and_an_achievement)()
    student = await connect(school.student)
    teacher = await connect(school.teacher)
    stranger = await connect(school.other_teacher)
    assert (await student.ask({"type": "subscribe", "channels": ["progress"]}))["type"] == "subscribed"
    reply = await teacher.ask({"type": "subscribe", "channels": ["engagement"], "course": school.course.pk})
    assert reply["type"] == "subscribed"
    reply = await stranger.ask({"type": "subscribe", "channels": ["engagement"], "course": school.other_course.pk})
    assert reply["type"] == "subscribed"

    # when
    await database_sync_to_async(ingest)(
        school.student, course=school.course.pk, item=school.item.pk, action="lesson_complete"
    )

    # then: the student sees their new figures, their level-up and achievement
    seen = by_type(await student.collect(1.5))
    [update] = seen["live_update"]
    assert (update["channel"], update["student"]) == ("progress", school.student.pk)
    snapshot = update["snapshot"]
    assert (snapshot["xp"], snapshot["level"], snapshot["items_completed"], snapshot["items_total"]) == (100, 2, 1, 1)
    assert (snapshot["overall_progress_percent"], snapshot["events_today"]) == (100.0, 1)
    assert [(m["student"], m["level"], m["xp"]) for m in seen["level_up"]] == [(school.student.pk, 2, 100)]
    assert "first-completion" in [m["code"] for m in seen["achievement"]]

    # the teacher sees the learner's action and the class's new figures
    seen = by_type(await teacher.collect(1.0))
    [action] = seen["user_event"]
    assert (action["course"], action["student"], action["action"], action["item"]) == (
        school.course.pk,
        school.student.pk,
        "lesson_complete",
        school.item.pk,
    )
    [update] = seen["live_update"]
    assert (update["channel"], update["course"]) == ("engagement", school.course.pk)
    assert update["snapshot"]["events_today"] == 1
    assert update["snapshot"]["active_students_today"] == 1
    assert update["snapshot"]["average_progress_percent"] == 50.0  # student 100 %, classmate 0 %
    assert set(seen) == {"user_event", "live_update"}

    # another teacher's class hears nothing
    assert await stranger.collect(0.3) == []


async def test_nobody_watching_means_no_message(school: School, connect: Connect) -> None:
    live = await connect(school.classmate)
    await live.ask({"type": "subscribe", "channels": ["progress"]})
    await database_sync_to_async(ingest)(school.student, course=school.course.pk)
    assert await live.collect(0.5) == []


async def test_a_burst_gives_one_leading_and_one_trailing_update(
    school: School, connect: Connect, settings: Any
) -> None:
    # given: an interval long enough for the whole burst to fall inside it
    settings.LIVE_COALESCE_MS = 1500
    live = await connect(school.student)
    await live.ask({"type": "subscribe", "channels": ["progress"]})
    loop = asyncio.get_running_loop()

    # when: five events, one request each
    started = loop.time()
    for _ in range(5):
        await database_sync_to_async(ingest)(school.student, course=school.course.pk)
    burst_seconds = loop.time() - started
    assert burst_seconds < 1.0, "the burst must fit in the interval for this test to mean anything"

    # then: the first is pushed at once, the rest fold into one update at the interval's end
    leading = await live.receive(timeout=1.0)
    assert leading["type"] == "live_update"
    trailing = await live.receive(timeout=3.0)
    assert trailing["type"] == "live_update"
    assert trailing["snapshot"]["events_today"] == 5
    assert leading["snapshot"]["events_today"] < 5
    assert await live.collect(2.0) == []


async def test_updates_to_one_scope_are_computed_once_per_process(school: School, connect: Connect) -> None:
    # given: three connections of the same teacher on the same class (one process: one hub)
    connections = [await connect(school.teacher) for _ in range(3)]
    for live in connections:
        await live.ask({"type": "subscribe", "channels": ["engagement"], "course": school.course.pk})

    # when
    await database_sync_to_async(ingest)(school.student, course=school.course.pk)

    # then: each gets exactly one action and one update, and the updates are the same computation
    updates = []
    for live in connections:
        seen = by_type(await live.collect(0.8))
        assert len(seen["user_event"]) == 1
        [update] = seen["live_update"]
        updates.append(update)
    assert len({update["as_of"] for update in updates}) == 1


async def group_members(group: str) -> int:
    """How many channels the channel layer holds in `group` (channels-redis keeps a sorted set per group)."""
    layer = get_channel_layer()
    async with layer.connection(layer.consistent_hash(group)) as redis:
        members: int = await redis.zcard(layer._group_key(group))
    return members


async def test_a_process_joins_a_watched_group_once_however_many_sockets_watch_it(
    school: School, connect: Connect
) -> None:
    # given: three sockets of one process on the same class
    group = f"course.{school.course.pk}.live"
    connections = [await connect(school.teacher) for _ in range(3)]
    for live in connections:
        await live.ask({"type": "subscribe", "channels": ["engagement"], "course": school.course.pk})

    # then: the layer sends the class's messages to one channel, the process's hub
    assert await group_members(group) == 1

    # when: two leave, the hub stays; when the last leaves, the hub leaves the group too
    for live in connections[:2]:
        await live.ask({"type": "unsubscribe", "channels": ["engagement"], "course": school.course.pk})
    assert await group_members(group) == 1
    await connections[2].ask({"type": "unsubscribe", "channels": ["engagement"], "course": school.course.pk})
    for _ in range(50):  # the hub leaves in the background
        if await group_members(group) == 0:
            break
        await asyncio.sleep(0.02)
    assert await group_members(group) == 0

"""Level-ups and achievements are published on the student's channel-layer group (real Redis) after commit."""

import asyncio
from typing import Any
from uuid import uuid4

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from gamification.models import XpRule
from gamification.services import student_group
from tests.conftest import School, client_for


async def receive_all(layer: Any, channel: str, count: int) -> list[dict[str, Any]]:
    return [await asyncio.wait_for(layer.receive(channel), timeout=5) for _ in range(count)]


def test_level_up_and_achievement_reach_the_students_group(
    school: School, django_capture_on_commit_callbacks: Any
) -> None:
    XpRule.objects.filter(organization=None, action="lesson_complete").update(
        points=100, daily_item_cap=None
    )  # level 2: 100
    layer = get_channel_layer()
    assert layer is not None
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(student_group(school.student.pk), channel)
    body = {"event_id": str(uuid4()), "action": "lesson_complete", "timestamp": timezone.now().isoformat()}
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(school.student).post("/api/v1/events/", body, format="json").status_code == 201
    messages = async_to_sync(receive_all)(layer, channel, 2)
    async_to_sync(layer.group_discard)(student_group(school.student.pk), channel)
    by_type = {message["type"]: message for message in messages}
    group = student_group(school.student.pk)
    assert by_type["level.up"] == {
        "type": "level.up",
        "student": school.student.pk,
        "level": 2,
        "xp": 100,
        "group": group,
    }
    assert by_type["achievement.earned"]["code"] == "first-completion"

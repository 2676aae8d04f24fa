"""A goal milestone reaches the student's live connection as `goal_milestone`; staff watching the student's page do
not receive it (they may not see every goal)."""

from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from classroom.models import LearningItem
from recommendations.goals import goal_create, goals_check
from tests.conftest import School
from tests.factories import SubmissionFactory
from tests.live.conftest import Connect, connect

__all__ = ["connect"]  # the live tests' fixture, used here
pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def reach_half_of_a_class(school: School) -> int:
    """A goal of 100 % of MATH-1 (2 items), one graded: the 25 and 50 % milestones, committed."""
    second = LearningItem.objects.create(module=school.item.module, kind="quiz", title="Second")
    now = timezone.now()
    goal = goal_create(
        student=school.student,
        kind="course_completion",
        course=school.course,
        due_date=now.date() + timedelta(days=30),
        now=now,
    )
    SubmissionFactory.create(item=second, student=school.student, submitted_at=now - timedelta(hours=1))
    assert [m.threshold for m in goals_check(student_ids=[school.student.pk], now=now)] == [25, 50]
    return goal.pk


async def test_milestones_reach_the_student_only(school: School, connect: Connect) -> None:
    student = await connect(school.student)
    admin = await connect(school.admin)
    assert (await student.ask({"type": "subscribe", "channels": ["progress"]}))["type"] == "subscribed"
    reply = await admin.ask({"type": "subscribe", "channels": ["progress"], "student": school.student.pk})
    assert reply["type"] == "subscribed", reply

    goal = await database_sync_to_async(reach_half_of_a_class)(school)

    seen: list[dict[str, Any]] = [m for m in await student.collect(1.5) if m["type"] == "goal_milestone"]
    assert sorted((m["goal"], m["threshold"], m["progress"]) for m in seen) == [(goal, 25, 50.0), (goal, 50, 50.0)]
    assert all(m["title"].startswith(f"{m['threshold']} % of the way: Complete 100 % of MATH-1 by ") for m in seen)
    assert [m for m in await admin.collect(0.5) if m["type"] == "goal_milestone"] == []

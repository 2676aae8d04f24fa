"""Outside tests XP is awarded by a task, coalesced: ingestions note their learners in Redis and at most one award
task is queued at a time; the task awards everything noted."""

from typing import Any
from uuid import uuid4

import pytest
from django.utils import timezone

from core.redis import cache_redis
from gamification.selectors import total_xp
from gamification.tasks import PENDING, SCHEDULED, award_pending
from tests.conftest import School, client_for


@pytest.fixture
def queued_awards(settings: Any) -> Any:
    settings.GAMIFICATION_AWARD_INLINE = False
    client = cache_redis()
    client.delete(PENDING, SCHEDULED)
    yield client
    client.delete(PENDING, SCHEDULED)


def test_ingestions_are_noted_once_and_one_task_awards_them(
    school: School, queued_awards: Any, django_capture_on_commit_callbacks: Any
) -> None:
    for student in (school.student, school.classmate, school.student):
        body = {"event_id": str(uuid4()), "action": "lesson_complete", "timestamp": timezone.now().isoformat()}
        with django_capture_on_commit_callbacks(execute=True):
            assert client_for(student).post("/api/v1/events/", body, format="json").status_code == 201
    noted = {int(member) for member in queued_awards.zrange(PENDING, 0, -1)}
    assert noted == {school.student.pk, school.classmate.pk}
    assert queued_awards.exists(SCHEDULED)  # set by the first ingestion; the others queued no task
    assert total_xp(school.student) == 0  # nothing awarded in the request

    assert award_pending() == 3 * 20  # what the queued task does in the worker
    assert (total_xp(school.student), total_xp(school.classmate)) == (40, 20)
    assert not queued_awards.exists(PENDING) and not queued_awards.exists(SCHEDULED)
    assert award_pending() == 0

"""Incremental rollups (upserted by every ingestion) equal a full recompute from the raw events."""

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from analytics.models import CourseDailyRollup, RollupCheckpoint, StudentDailyRollup, StudentItemDay
from analytics.services import events_ingest, rollups_rebuild
from tests.conftest import School
from tests.factories import LearningItemFactory, ModuleFactory

# Across the spring DST change in Europe (29 March 2026) and the US one (8 March 2026).
NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
ACTIONS = [
    "material_view",
    "page_view",
    "lesson_complete",
    "quiz_attempt",
    "quiz_submit",
    "session_start",
    "video_play",
]


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    return {
        "student": sorted(
            StudentDailyRollup.objects.values_list(
                "student_id",
                "course_id",
                "day",
                "events",
                "active_seconds",
                "items_viewed",
                "items_completed",
                "attempts",
                "score_sum",
                "score_count",
            ),
            key=repr,
        ),
        "course": sorted(
            CourseDailyRollup.objects.values_list(
                "course_id", "day", "active_students", "events", "completions", "score_sum", "score_count"
            )
        ),
        "items": sorted(StudentItemDay.objects.values_list("student_id", "item_id", "day", "kind")),
    }


def random_stream(school: School, rng: random.Random, count: int) -> list[tuple[Any, dict[str, Any]]]:
    school.other_course.time_zone = "America/New_York"
    school.other_course.save()
    items = {
        school.course.pk: [
            school.item.pk,
            LearningItemFactory.create(module=ModuleFactory.create(course=school.course)).pk,
        ],
        school.other_course.pk: [school.other_item.pk],
    }
    members = {
        school.course.pk: [school.student, school.classmate],
        school.other_course.pk: [school.other_student],
    }
    stream = []
    for n in range(count):
        course = rng.choice([school.course.pk, school.other_course.pk, None])
        actor = rng.choice(members[course] if course else [school.student, school.other_student])
        # most events are recent, some arrive late (up to 20 days old), all within the three weeks around DST
        occurred = NOW - timedelta(minutes=rng.randint(0, 60 * 24 * 20))
        body: dict[str, Any] = {
            "event_id": str(UUID(int=rng.getrandbits(128))),
            "action": rng.choice(ACTIONS),
            "timestamp": occurred.isoformat(),
            "metadata": {"duration": rng.randint(0, 600)},
        }
        if course:
            body["course"] = course
            if rng.random() < 0.7:
                body["item"] = rng.choice(items[course])
        if body["action"] == "quiz_submit":
            body["metadata"].update({"score": rng.randint(0, 10), "max_score": 10})
        if body["action"] == "quiz_attempt":
            body["metadata"]["attempts"] = 1
        stream.append((actor, body))
        if rng.random() < 0.15:  # a client retry: the same event again, later in the stream
            stream.append((actor, dict(body)))
        if n % 50 == 0:
            rng.shuffle(stream)  # late arrival: order of arrival is not order of occurrence
    return stream


def test_incremental_rollups_equal_full_recompute(school: School) -> None:
    # given a randomised stream with duplicates and late arrivals, ingested in batches per actor
    rng = random.Random(20260329)
    stream = random_stream(school, rng, 600)
    position = 0
    while position < len(stream):
        size = rng.randint(1, 40)
        chunk = stream[position : position + size]
        position += size
        for actor in {actor for actor, _ in chunk}:
            events = [body for who, body in chunk if who == actor]
            outcome = events_ingest(items=events, principal=actor, now=NOW, horizon=None)
            # a retry that lands in the same batch as its original is refused as a repeat; nothing else is
            assert all("Repeated within this batch" in r["errors"]["event_id"][0] for r in outcome.rejected)
    incremental = snapshot()
    assert incremental["student"] and incremental["course"] and incremental["items"]

    # when every rollup is recomputed from the raw events
    rollups_rebuild(since=date(2026, 3, 1), until=date(2026, 4, 2), chunk_days=5, resume=False)

    # then nothing changes
    assert snapshot() == incremental


def test_local_days_follow_each_course_time_zone(school: School) -> None:
    # 23:30 UTC on 28 March is 28 March in London (GMT) and 19:30 on 28 March in New York
    # 23:30 UTC on 29 March is 30 March 00:30 in London (BST since that morning)
    school.other_course.time_zone = "America/New_York"
    school.other_course.save()
    for when in ("2026-03-28T23:30:00+00:00", "2026-03-29T23:30:00+00:00"):
        events_ingest(
            items=[
                {
                    "event_id": str(UUID(int=random.getrandbits(128))),
                    "action": "page_view",
                    "timestamp": when,
                    "course": school.course.pk,
                }
            ],
            principal=school.student,
            now=NOW,
            horizon=None,
        )
    days = sorted(StudentDailyRollup.objects.filter(course=school.course).values_list("day", flat=True))
    assert days == [date(2026, 3, 28), date(2026, 3, 30)]


def test_rebuild_resumes_from_its_checkpoint(school: School) -> None:
    # given an interrupted rebuild that had finished the first chunk
    RollupCheckpoint.objects.create(name="daily", started_from=date(2026, 3, 1), done_through=date(2026, 3, 7))
    # when it is run again for the same start
    chunks = rollups_rebuild(since=date(2026, 3, 1), until=date(2026, 3, 21), chunk_days=7)
    # then it does the two remaining chunks only, and records the end
    assert chunks == 2
    checkpoint = RollupCheckpoint.objects.get(name="daily")
    assert (checkpoint.done_through, checkpoint.finished) == (date(2026, 3, 21), True)


def test_dead_letters_replay_once_their_item_exists(school: School) -> None:
    from django.core.management import call_command

    from analytics.models import DeadLetterEvent, LearningEvent

    # given an event about an item that does not exist yet
    event_id = str(UUID(int=7))
    body = {"event_id": event_id, "action": "material_view", "timestamp": NOW.isoformat(), "item": 10_000_001}
    assert events_ingest(items=[body], principal=school.student, now=NOW, horizon=None).dead_lettered == 1
    call_command("replay_dead_letters")
    assert DeadLetterEvent.objects.get().attempts == 1  # still unknown: stays pending
    # when the item appears (a sync created it) and the letters are replayed
    LearningItemFactory.create(id=10_000_001, module=ModuleFactory.create(course=school.course))
    call_command("replay_dead_letters")
    # then the event is stored, counted, and no longer a letter
    assert not DeadLetterEvent.objects.exists()
    stored = LearningEvent.objects.get(event_id=event_id)
    assert stored.course_id == school.course.pk
    assert StudentDailyRollup.objects.get(student=school.student, course=school.course).events == 1

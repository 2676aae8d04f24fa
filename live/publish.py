"""From a committed ingestion to the live groups, with as little work in the request as possible.

The daphne processes keep a *watch index* in Redis: per student, a sorted set of the live groups currently watched
whose figures that student's events change (`student.<id>` for their own progress stream, `course.<id>.live` for each
watched class they are enrolled in), each member scored with the time it stops counting unless refreshed.

After an ingestion commits, `scopes_changed` reads the sets of its learners in ONE pipelined round trip. Nobody
watching (the common case under load): that is all. Otherwise it sends one small `scope.changed` message per watched
group (ids and times only); the consumers' process computes the snapshot, coalesces (live/hub.py) and announces the
learner actions. Nothing is computed in the request.
"""

import logging
import time
import uuid
from collections.abc import Iterable

from django.utils import timezone

from analytics.hooks import StoredEvents
from core.realtime import group_send_many
from core.redis import cache_redis
from live.groups import parse_group
from live.selectors import course_student_ids

logger = logging.getLogger(__name__)

WATCH_KEY = "edupath:live:watch:{student}"
# A process refreshes what it watches every WATCH_REFRESH_SECONDS; an entry lapses WATCH_SECONDS after its last
# refresh. Entries are never removed on unsubscribe: another process may watch the same group, and a lapsed entry
# costs at most a few unneeded messages.
WATCH_SECONDS = 90
WATCH_REFRESH_SECONDS = 30


def watched_students(group: str) -> list[int]:
    """The students whose events change the figures of a snapshot group."""
    parsed = parse_group(group)
    if parsed is None:
        return []
    kind, pk = parsed
    return [pk] if kind == "student" else course_student_ids(course_id=pk)


def watch_index_add(groups: Iterable[str]) -> None:
    """Note (or refresh) `groups` as watched in every affected student's set: one pipelined round trip."""
    now = time.time()
    deadline = now + WATCH_SECONDS
    pipe = cache_redis().pipeline(transaction=False)
    for group in groups:
        for student in watched_students(group):
            key = WATCH_KEY.format(student=student)
            pipe.zadd(key, {group: deadline}, gt=True)
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.expire(key, WATCH_SECONDS)
    pipe.execute()


def scopes_changed(stored: StoredEvents) -> None:
    """analytics.hooks.on_events_stored callback (runs after commit, in the request)."""
    actors = sorted(stored.actor_ids)
    try:
        pipe = cache_redis().pipeline(transaction=False)
        now = time.time()
        for actor in actors:
            pipe.zrangebyscore(WATCH_KEY.format(student=actor), now, "+inf")
        watched: list[list[bytes]] = pipe.execute()
    except Exception:
        # Live updates are best effort; the ingestion has committed and must answer.
        logger.warning("watch index not read; no live update for this ingestion", exc_info=True)
        return
    students_by_group: dict[str, list[int]] = {}
    for actor, groups in zip(actors, watched, strict=True):
        for group in groups:
            students_by_group.setdefault(group.decode(), []).append(actor)
    if not students_by_group:
        return
    common = {
        "type": "scope.changed",
        # One id per notification: every consumer of a group receives it, and their process acts on it once.
        "nonce": uuid.uuid4().hex,
        "first": stored.first.isoformat(),
        "last": stored.last.isoformat(),
        "at": timezone.now().isoformat(),
    }
    messages = [
        (group, {**common, "group": group, "students": students}) for group, students in students_by_group.items()
    ]
    group_send_many(messages)  # best effort: logs, never raises

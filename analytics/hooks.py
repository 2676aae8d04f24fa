"""How other apps follow the event store without analytics importing them (gamification registers here in its
AppConfig.ready)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction


@dataclass(frozen=True)
class StoredEvents:
    """Who and when a committed write covered: enough for a follower to find the new events again (by the
    (actor_id, occurred_at) index) and to process each at most once (by event id)."""

    actor_ids: frozenset[int]
    first: datetime
    last: datetime


_after_events: list[Callable[[StoredEvents], None]] = []


def on_events_stored(callback: Callable[[StoredEvents], None]) -> None:
    """Call `callback` after the commit of every write that stored events (it may run in the request: keep it
    short, e.g. enqueue a task)."""
    _after_events.append(callback)


def events_stored(stored: StoredEvents) -> None:
    for callback in _after_events:
        transaction.on_commit(partial(callback, stored))


# Learning paths (ordered items, possibly across classes) with each student's progress along them: recommendations
# keeps those and adds them to the progress-tracking figures here, so analytics does not import it.
_path_progress: list[Callable[[int, Any], list[Any]]] = []


def on_path_progress(provider: Callable[[int, Any], list[Any]]) -> None:
    """`provider(student_id, course_ids)` → the student's learning paths with progress
    (analytics.selectors.progress.PathProgressOut), limited to paths lying in the classes `course_ids` (a subquery)
    the viewer may see."""
    _path_progress.append(provider)


def path_progress(student_id: int, course_ids: Any) -> list[Any]:
    return [row for provider in _path_progress for row in provider(student_id, course_ids)]

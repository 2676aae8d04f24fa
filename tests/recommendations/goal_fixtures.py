"""Fixtures of the path and goal tests (imported by them): learning paths across two classes, the refresh tasks
ingestion queues, and a helper to store a student's events at known moments."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from analytics.services import events_ingest
from classroom.models import LearningItem, LearningPath, LearningPathStep
from recommendations import tasks
from tests.conftest import School
from tests.factories import LearningItemFactory, ModuleFactory

# A Wednesday: ISO week 2026-W47 runs from Monday 16 to Sunday 22 November 2026 (UTC).
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


@dataclass
class Paths:
    """`path`: items a, b, c of the student's class then d of another class; `inside`: a and b only (wholly inside
    the teacher's class); `foreign`: a path of another school; `elsewhere`: only items of the other class."""

    a: LearningItem
    b: LearningItem
    c: LearningItem
    d: LearningItem
    path: LearningPath
    inside: LearningPath
    foreign: LearningPath
    elsewhere: LearningPath


def make_path(organization: Any, title: str, items: list[LearningItem]) -> LearningPath:
    path = LearningPath.objects.create(organization=organization, title=title)
    for position, item in enumerate(items, start=1):
        LearningPathStep.objects.create(path=path, item=item, position=position)
    return path


@pytest.fixture
def paths(school: School) -> Paths:
    module = ModuleFactory.create(course=school.course)
    a, b, c = (LearningItemFactory.create(module=module, title=title, position=n) for n, title in enumerate("abc"))
    d = LearningItemFactory.create(module=ModuleFactory.create(course=school.other_course), title="d")
    foreign_item = LearningItemFactory.create(module=ModuleFactory.create(course=school.foreign_course))
    return Paths(
        a=a,
        b=b,
        c=c,
        d=d,
        path=make_path(school.organization, "Algebra then history", [a, b, c, d]),
        inside=make_path(school.organization, "Algebra basics", [a, b]),
        foreign=make_path(school.foreign_organization, "Elsewhere", [foreign_item]),
        elsewhere=make_path(school.organization, "History only", [d]),
    )


@pytest.fixture(autouse=True)  # in the modules that import it
def queued(monkeypatch: Any, settings: Any) -> list[list[int]]:
    """The refresh tasks ingestion queues (recorded instead of sent to the broker, which no worker serves here)."""
    settings.RECOMMENDATIONS_REFRESH_QUEUED = True
    calls: list[list[int]] = []

    def record(*, args: tuple[list[int]], **options: Any) -> None:
        calls.append(list(args[0]))

    monkeypatch.setattr(tasks.progress_refresh, "apply_async", record)
    return calls


@pytest.fixture
def send(django_capture_on_commit_callbacks: Any) -> Any:
    """Ingest one event of `student` through the tracking path (rollups, XP awarded inline in tests)."""

    def ingest(student: Any, action: str, when: datetime, *, course: int, item: int | None = None, **meta: Any) -> None:
        body: dict[str, Any] = {"event_id": str(uuid4()), "action": action, "timestamp": when.isoformat()}
        body["course"] = course
        if item is not None:
            body["item"] = item
        if meta:
            body["metadata"] = meta
        with django_capture_on_commit_callbacks(execute=True):
            outcome = events_ingest(items=[body], principal=student, now=NOW, horizon=None)
        assert outcome.accepted == 1 and not outcome.dead_letters, outcome

    return ingest

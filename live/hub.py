"""Per process (per event loop): who watches which snapshot group, and coalesced snapshot delivery.

Every consumer of a group receives each `scope.changed` notification from the channel layer; the hub acts on a
notification once per process (by its nonce), computes the group's snapshot once (per distinct course set, for a
student watched by viewers who see different classes) and hands it to every local consumer of the group.

Coalescing, per group: leading edge — a notification for an idle group is pushed at once; notifications arriving
within LIVE_COALESCE_MS of that push mark the group dirty, and one snapshot, computed at the interval's end, covers
them all. A push at an interval's end starts a new interval, so a steady stream gives one update per interval.

`user_event` messages (learner actions, for staff watching a class) are not coalesced: each notification's events are
read and announced.
"""

import asyncio
import logging
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from live import publish
from live.groups import parse_group
from live.selectors import (
    class_engagement_snapshot,
    course_user_events,
    received_window,
    student_progress_snapshot,
)

logger = logging.getLogger(__name__)

# Recent notification and event ids remembered per group, to act on each once.
REMEMBERED = 512


class Receiver(Protocol):
    async def deliver(self, payload: dict[str, Any]) -> None: ...


class Recent:
    """A bounded set of recently seen ids."""

    def __init__(self) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        """True when `key` is new."""
        if key in self._ids:
            return False
        self._ids[key] = None
        if len(self._ids) > REMEMBERED:
            self._ids.popitem(last=False)
        return True


@dataclass(eq=False)
class GroupState:
    group: str
    # local consumer -> what its snapshot covers (the course ids of a progress subscription, () for a class)
    members: dict[Receiver, tuple[int, ...]] = field(default_factory=dict)
    notifications: Recent = field(default_factory=Recent)
    events: Recent = field(default_factory=Recent)
    runner: "asyncio.Task[None] | None" = None
    dirty: bool = False


def now_iso() -> str:
    return timezone.now().isoformat()


def compute_snapshot(group: str, course_ids: tuple[int, ...], now: datetime) -> dict[str, Any]:
    parsed = parse_group(group)
    assert parsed is not None  # only snapshot groups are attached  # noqa: S101
    kind, pk = parsed
    if kind == "student":
        return {
            "channel": "progress",
            "student": pk,
            "snapshot": student_progress_snapshot(student_id=pk, course_ids=course_ids, now=now),
        }
    return {"channel": "engagement", "course": pk, "snapshot": class_engagement_snapshot(course_id=pk, now=now)}


class Hub:
    def __init__(self) -> None:
        self.groups: dict[str, GroupState] = {}
        self._refresher: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()

    # membership

    async def attach(self, group: str, receiver: Receiver, course_ids: tuple[int, ...] = ()) -> None:
        state = self.groups.get(group)
        if state is None:
            state = self.groups[group] = GroupState(group)
        first = not state.members
        state.members[receiver] = course_ids
        if first:
            await self._watch([group])
        if self._refresher is None:
            self._refresher = asyncio.get_running_loop().create_task(self._refresh())

    def detach(self, group: str, receiver: Receiver) -> None:
        state = self.groups.get(group)
        if state is None:
            return
        state.members.pop(receiver, None)
        if not state.members:
            if state.runner is not None:
                state.runner.cancel()
            del self.groups[group]
        if not self.groups and self._refresher is not None:
            self._refresher.cancel()
            self._refresher = None

    async def _watch(self, groups: list[str]) -> None:
        try:
            await database_sync_to_async(publish.watch_index_add, thread_sensitive=False)(groups)
        except Exception:
            logger.warning("watch index not updated for %s", groups, exc_info=True)

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(publish.WATCH_REFRESH_SECONDS)
            if self.groups:
                await self._watch(list(self.groups))

    # notifications

    def notify(self, message: dict[str, Any]) -> None:
        """A `scope.changed` message reached a local consumer (each one of them does; act once)."""
        state = self.groups.get(str(message.get("group")))
        if state is None or not state.notifications.add(str(message.get("nonce"))):
            return
        parsed = parse_group(state.group)
        if parsed is not None and parsed[0] == "course":
            self._spawn(self._user_events(state, parsed[1], message))
        if state.runner is None:
            state.runner = asyncio.get_running_loop().create_task(self._coalesce(state))
        else:
            state.dirty = True

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _coalesce(self, state: GroupState) -> None:
        loop = asyncio.get_running_loop()
        interval = int(settings.LIVE_COALESCE_MS) / 1000
        try:
            while True:
                started = loop.time()
                state.dirty = False
                await self._push(state)
                await asyncio.sleep(max(0.0, started + interval - loop.time()))
                if not state.dirty:
                    return
        finally:
            state.runner = None

    async def _push(self, state: GroupState) -> None:
        now = timezone.now()
        snapshots: dict[Hashable, dict[str, Any]] = {}
        for course_ids in set(state.members.values()):
            try:
                snapshots[course_ids] = await database_sync_to_async(compute_snapshot, thread_sensitive=False)(
                    state.group, course_ids, now
                )
            except Exception:
                logger.warning("live snapshot of %s not computed", state.group, exc_info=True)
        as_of = now.isoformat()
        for receiver, course_ids in list(state.members.items()):
            if course_ids in snapshots:
                await receiver.deliver({"type": "live_update", **snapshots[course_ids], "as_of": as_of})

    async def _user_events(self, state: GroupState, course_id: int, message: dict[str, Any]) -> None:
        try:
            at = datetime.fromisoformat(message["at"])
            rows = await database_sync_to_async(course_user_events, thread_sensitive=False)(
                course_id=course_id,
                student_ids=[int(student) for student in message["students"]],
                first=datetime.fromisoformat(message["first"]),
                last=datetime.fromisoformat(message["last"]),
                received_since=received_window(at),
            )
        except Exception:
            logger.warning("learner actions of course %s not read", course_id, exc_info=True)
            return
        as_of = now_iso()
        for row in rows:
            if not state.events.add(row["event_id"]):
                continue
            payload = {"type": "user_event", "channel": "engagement", "course": course_id, **row, "as_of": as_of}
            for receiver in list(state.members):
                await receiver.deliver(payload)


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def current_hub() -> Hub:
    """The hub of the running event loop (one per daphne process; one per test's loop)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub

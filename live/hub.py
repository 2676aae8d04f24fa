"""Per process (per event loop): who watches which snapshot group, and coalesced snapshot delivery.

The hub, not each consumer, is the member of the snapshot groups (`student.<id>`, `course.<id>.live`) in the channel
layer, through ONE channel of its own: a message to a group reaches a process once, however many of its sockets
watch that group (through Channels, a group of 1 000 consumers costs 1 000 copies in Redis, 1 000 decodes here, and
drops once the process's queue holds more than the layer's capacity). The hub computes a group's snapshot once (per
distinct course set, for a student watched by viewers who see different classes), encodes each message once, and
hands the text to every local socket of the group. Other messages to these groups (level_up, achievement) are handed
to each local consumer's handler.

Coalescing, per group: leading edge — a notification for an idle group is pushed at once; notifications arriving
within LIVE_COALESCE_MS of that push mark the group dirty, and one snapshot, computed at the interval's end, covers
them all. A push at an interval's end starts a new interval, so a steady stream gives one update per interval.

`user_event` messages (learner actions, for staff watching a class) are not coalesced: each notification's events are
read and announced.
"""

import asyncio
import json
import logging
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
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
    async def deliver_text(self, text: str) -> None: ...

    async def relay(self, message: dict[str, Any]) -> None: ...


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
    # local consumer -> what its snapshot covers: the course ids of a progress subscription (() for a class), and
    # whether XP and streak count all of the student's learning (live.permissions.Subscription.whole_student)
    members: dict[Receiver, tuple[tuple[int, ...], bool]] = field(default_factory=dict)
    notifications: Recent = field(default_factory=Recent)
    events: Recent = field(default_factory=Recent)
    runner: "asyncio.Task[None] | None" = None
    dirty: bool = False


def now_iso() -> str:
    return timezone.now().isoformat()


def encode(payload: dict[str, Any]) -> str:
    """A server -> client message as JSON text (times and decimals as the REST API writes them)."""
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"))


def compute_snapshot(
    group: str, course_ids: tuple[int, ...], now: datetime, whole_student: bool = True
) -> dict[str, Any]:
    parsed = parse_group(group)
    assert parsed is not None  # only snapshot groups are attached  # noqa: S101
    kind, pk = parsed
    if kind == "student":
        return {
            "channel": "progress",
            "student": pk,
            "snapshot": student_progress_snapshot(
                student_id=pk, course_ids=course_ids, now=now, whole_student=whole_student
            ),
        }
    return {"channel": "engagement", "course": pk, "snapshot": class_engagement_snapshot(course_id=pk, now=now)}


class Hub:
    def __init__(self) -> None:
        self.groups: dict[str, GroupState] = {}
        self.channel: str | None = None  # this process's channel in the layer, while any group is watched
        self._joined: set[str] = set()  # groups the channel is a member of
        self._membership: asyncio.Lock | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()

    # membership

    async def attach(
        self, group: str, receiver: Receiver, course_ids: tuple[int, ...] = (), whole_student: bool = True
    ) -> None:
        """Deliver `group`'s messages to `receiver` from now on (returns once the layer routes them here)."""
        state = self.groups.get(group)
        if state is None:
            state = self.groups[group] = GroupState(group)
        state.members[receiver] = (course_ids, whole_student)
        await self._sync_membership(group)
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
            self._spawn(self._sync_membership(group))
        if not self.groups and self._refresher is not None:
            self._refresher.cancel()
            self._refresher = None

    def _layer_and_lock(self) -> tuple[Any, asyncio.Lock]:
        """The channel layer, and the lock that serialises this hub's membership changes (made in the loop)."""
        layer = get_channel_layer()
        assert layer is not None  # noqa: S101 - the live stream needs a channel layer
        if self._membership is None:
            self._membership = asyncio.Lock()
        return layer, self._membership

    async def _sync_membership(self, group: str) -> None:
        """Make the layer's membership of `group` match whether anyone here watches it. Serialised, so a leave and
        a re-join of the same group reach Redis in the order they happened here. A watched group is joined again on
        every attach (one Redis call per subscription, as a consumer's own join would be): a Redis that restarted
        has forgotten the memberships."""
        layer, lock = self._layer_and_lock()
        async with lock:
            wanted = group in self.groups
            if not wanted and group not in self._joined:
                return
            try:
                if wanted:
                    await layer.group_add(group, await self._own_channel(layer))
                    self._joined.add(group)
                else:
                    self._joined.discard(group)
                    await layer.group_discard(group, self.channel)
            except Exception:
                logger.warning("channel-layer membership of %s not updated", group, exc_info=True)
                return
            if not self._joined and self._receiver is not None:
                self._receiver.cancel()
                self._receiver, self.channel = None, None
        if wanted:
            await self._watch([group])

    async def _own_channel(self, layer: Any) -> str:
        """This process's channel, and the task that reads it, made on first need."""
        if self.channel is None:
            self.channel = await layer.new_channel()
            self._receiver = asyncio.get_running_loop().create_task(self._receive(layer, self.channel))
        return self.channel

    async def _receive(self, layer: Any, channel: str) -> None:
        outage = False
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Redis is away: the sockets stay open (pages show their REST figures). Once it answers again, the
                # groups are joined again (a restarted Redis has forgotten them) before reading on.
                if not outage:
                    logger.warning("live hub lost the channel layer; retrying every second", exc_info=True)
                outage = True
                await asyncio.sleep(1)
                if await self._rejoin():
                    logger.warning("live hub back on the channel layer")
                    outage = False
                continue
            self.dispatch(message)

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
                if not await self._rejoin():
                    logger.warning("channel-layer memberships not renewed (Redis does not answer)")

    async def _rejoin(self) -> bool:
        """Join every watched group again: a membership lapses after the layer's group expiry (a page may stay open
        for days), and a Redis that restarted has forgotten them all. False when Redis does not answer."""
        layer, lock = self._layer_and_lock()
        async with lock:
            try:
                channel = await self._own_channel(layer)
                for group in list(self.groups):
                    await layer.group_add(group, channel)
                    self._joined.add(group)
            except Exception:
                return False
        return True

    # messages

    def dispatch(self, message: dict[str, Any]) -> None:
        """A message to one of the groups watched here (each names its group: core.realtime)."""
        state = self.groups.get(str(message.get("group")))
        if state is None:
            return
        if message.get("type") == "scope.changed":
            self.notify(state, message)
        else:
            self._spawn(self._relay(state, message))

    def notify(self, state: GroupState, message: dict[str, Any]) -> None:
        if not state.notifications.add(str(message.get("nonce"))):
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

    async def _relay(self, state: GroupState, message: dict[str, Any]) -> None:
        for receiver in list(state.members):
            await receiver.relay(message)

    @staticmethod
    async def _send(receivers: list[Receiver], payload: dict[str, Any]) -> None:
        text = encode(payload)
        for receiver in receivers:
            await receiver.deliver_text(text)

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
        as_of = now.isoformat()
        audiences: dict[tuple[tuple[int, ...], bool], list[Receiver]] = {}
        for receiver, coverage in state.members.items():
            audiences.setdefault(coverage, []).append(receiver)
        for (course_ids, whole_student), receivers in audiences.items():
            try:
                snapshot = await database_sync_to_async(compute_snapshot, thread_sensitive=False)(
                    state.group, course_ids, now, whole_student
                )
            except Exception:
                logger.warning("live snapshot of %s not computed", state.group, exc_info=True)
                continue
            await self._send(receivers, {"type": "live_update", **snapshot, "as_of": as_of})

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
            if state.events.add(row["event_id"]):
                payload = {"type": "user_event", "channel": "engagement", "course": course_id, **row, "as_of": as_of}
                await self._send(list(state.members), payload)


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def current_hub() -> Hub:
    """The hub of the running event loop (one per daphne process; one per test's loop)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub

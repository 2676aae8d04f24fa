"""The live stream at /ws/live/ (protocol: docs/realtime.md).

The consumer only authenticates, authorises (live.permissions, i.e. classroom.selectors), joins server-derived groups
and forwards; snapshots are computed and coalesced by the process's hub (live/hub.py).
"""

import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.models import User
from live import permissions
from live.asgi import SERVER_SEND
from live.groups import parse_group, user_group
from live.hub import Hub, current_hub, encode, now_iso
from live.permissions import Refused, Subscription
from live.receivers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from live.tickets import ticket_redeem

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4096
MAX_CHANNELS_PER_MESSAGE = 8
# Token bucket per connection: RATE_BURST messages at once, refilled at RATE_PER_SECOND (20 per 10 s sustained).
RATE_BURST = 20
RATE_PER_SECOND = 2.0
# Refused messages a connection may send before it is closed: one malformed message is a bug, ten are abuse.
MAX_ERRORS = 10
CLOSE_ABUSE = 4429
# The messages of snapshot groups that the hub relays to each consumer (gamification's, goal milestones and fresh
# next steps, on student.<id>).
RELAYED = frozenset({"level.up", "achievement.earned", "goal.milestone", "recommendations.updated"})


class TokenBucket:
    def __init__(self, capacity: int, per_second: float) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self.tokens = float(capacity)
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class LiveConsumer(AsyncWebsocketConsumer):
    user: User | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Also when the application instance dies without a disconnect (e.g. its channel-layer read failed
            # while Redis was away): the hub must not keep a dead socket among a group's members.
            self.closed = True
            for group in list(getattr(self, "subscriptions", {})):
                if parse_group(group) is not None:
                    self.hub.detach(group, self)

    async def connect(self) -> None:
        self.user = None
        self.subscriptions: dict[str, Subscription] = {}
        self.errors = 0
        self.bucket = TokenBucket(RATE_BURST, RATE_PER_SECOND)
        self.hub: Hub = current_hub()
        self.closed = False
        # Data frames skip the middleware stack when the server's own send is at hand (live/asgi.py).
        self._send_frame = self.scope.get(SERVER_SEND) or self.base_send
        user = await self._authenticate()
        # Accepted, then closed: a close before the handshake reaches a browser as a bare 1006, while 4401 tells
        # the client to fetch a new ticket or sign in rather than retry.
        await self.accept()
        if user is None:
            await self._shut(CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)

    async def _authenticate(self) -> User | None:
        """The session's user, or the ticket's (`?ticket=`); a ticket given but not valid refuses the connection
        even when a session cookie came along."""
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if "ticket" in query:
            try:
                user_id = await sync_to_async(ticket_redeem, thread_sensitive=False)(ticket=query["ticket"][0])
            except Exception:
                logger.warning("ticket not checked", exc_info=True)
                return None
            if user_id is None:
                return None
            return await database_sync_to_async(permissions.active_user)(user_id)
        user = self.scope.get("user")
        if isinstance(user, User) and user.is_authenticated and user.is_active:
            return user
        return None

    async def disconnect(self, code: int) -> None:
        await self._leave_all()

    async def _leave_all(self) -> None:
        for subscription in list(self.subscriptions.values()):
            await self._leave(subscription)
        if self.user is not None:
            await self.channel_layer.group_discard(user_group(self.user.pk), self.channel_name)
            self.user = None

    async def _shut(self, code: int) -> None:
        if self.closed:
            return
        self.closed = True
        await self._leave_all()
        await self.close(code=code)

    # sending

    async def deliver(self, payload: dict[str, Any]) -> None:
        await self.deliver_text(encode(payload))

    async def deliver_text(self, text: str) -> None:
        """Send an encoded message to the client (the hub encodes a message once for all its sockets)."""
        if self.closed:
            return
        try:
            await self._send_frame({"type": "websocket.send", "text": text})
        except Exception:
            logger.debug("live message to a closing connection dropped", exc_info=True)

    async def relay(self, message: dict[str, Any]) -> None:
        """A channel-layer message to a group the hub receives for this consumer (level_up, achievement)."""
        if message.get("type") in RELAYED and not self.closed:
            await getattr(self, get_handler_name(message))(message)

    async def refuse(self, reason: str, *, channel: str | None = None, count: bool = True) -> None:
        error: dict[str, Any] = {"type": "error", "reason": reason}
        if channel is not None:
            error["channel"] = channel
        await self.deliver({**error, "as_of": now_iso()})
        if count:
            await self._count_error()

    async def _count_error(self) -> None:
        self.errors += 1
        if self.errors >= MAX_ERRORS:
            await self._shut(CLOSE_ABUSE)

    # client messages

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.user is None or self.closed:
            return
        if not self.bucket.take():
            await self.refuse("rate limited")
            return
        if text_data is None:
            await self.refuse("binary messages are not supported")
            return
        if len(text_data) > MAX_MESSAGE_BYTES // 4 and len(text_data.encode()) > MAX_MESSAGE_BYTES:
            await self.refuse(f"message too large (at most {MAX_MESSAGE_BYTES} bytes)")
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            await self.refuse("malformed JSON")
            return
        if not isinstance(message, dict):
            await self.refuse("message must be a JSON object")
            return
        kind = message.get("type")
        if kind == "subscribe":
            await self._subscribe(message)
        elif kind == "unsubscribe":
            await self._unsubscribe(message)
        elif kind == "ping":
            await self.deliver({"type": "pong", "as_of": now_iso()})
        else:
            await self.refuse("unknown message type")

    @staticmethod
    def _channel_names(message: dict[str, Any]) -> list[str] | None:
        channels = message.get("channels")
        if (
            not isinstance(channels, list)
            or not channels
            or len(channels) > MAX_CHANNELS_PER_MESSAGE
            or not all(isinstance(name, str) for name in channels)
        ):
            return None
        return list(dict.fromkeys(channels))

    async def _subscribe(self, message: dict[str, Any]) -> None:
        assert self.user is not None  # noqa: S101
        names = self._channel_names(message)
        if names is None:
            await self.refuse(f"channels must be a list of 1 to {MAX_CHANNELS_PER_MESSAGE} channel names")
            return
        course, student = message.get("course"), message.get("student")
        results = await database_sync_to_async(permissions.subscriptions_authorise)(
            user=self.user, channels=names, course=course, student=student
        )
        accepted: list[Subscription] = []
        refused = False
        for name, result in zip(names, results, strict=True):
            if isinstance(result, Refused):
                refused = True
                await self.refuse(result.reason, channel=name, count=False)
            else:
                if result.group not in self.subscriptions:
                    await self._join(result)
                accepted.append(result)
        if accepted:
            reply: dict[str, Any] = {"type": "subscribed", "channels": [sub.channel for sub in accepted]}
            reply["course"] = next((sub.course for sub in accepted if sub.course is not None), None)
            reply["student"] = next((sub.student for sub in accepted if sub.student is not None), None)
            await self.deliver({**reply, "as_of": now_iso()})
        if refused:
            await self._count_error()  # once per message, however many channels it named

    async def _unsubscribe(self, message: dict[str, Any]) -> None:
        assert self.user is not None  # noqa: S101
        names = self._channel_names(message)
        if names is None:
            await self.refuse(f"channels must be a list of 1 to {MAX_CHANNELS_PER_MESSAGE} channel names")
            return
        course, student = message.get("course"), message.get("student")
        left: list[str] = []
        refused = False
        for name in names:
            try:
                permissions.check_shape(channel=name, course=course, student=student)
            except Refused as refusal:
                refused = True
                await self.refuse(refusal.reason, channel=name, count=False)
                continue
            group = permissions.group_of(user=self.user, channel=name, course=course, student=student)
            subscription = self.subscriptions.get(group)
            if subscription is not None:
                await self._leave(subscription)
            left.append(name)
        if left:
            await self.deliver(
                {"type": "unsubscribed", "channels": left, "course": course, "student": student, "as_of": now_iso()}
            )
        if refused:
            await self._count_error()

    async def _join(self, subscription: Subscription) -> None:
        """Snapshot groups are joined by the process's hub, once for all its sockets; other groups by the consumer."""
        self.subscriptions[subscription.group] = subscription
        if parse_group(subscription.group) is not None:
            await self.hub.attach(subscription.group, self, subscription.course_ids, subscription.whole_student)
        else:
            await self.channel_layer.group_add(subscription.group, self.channel_name)

    async def _leave(self, subscription: Subscription) -> None:
        self.subscriptions.pop(subscription.group, None)
        if parse_group(subscription.group) is not None:
            self.hub.detach(subscription.group, self)
        else:
            await self.channel_layer.group_discard(subscription.group, self.channel_name)

    # channel-layer messages (type "a.b" arrives at method a_b; those of snapshot groups through the hub's relay)

    async def level_up(self, message: dict[str, Any]) -> None:
        await self.deliver(
            {
                "type": "level_up",
                "student": message["student"],
                "level": message["level"],
                "xp": message["xp"],
                "as_of": now_iso(),
            }
        )

    async def achievement_earned(self, message: dict[str, Any]) -> None:
        await self.deliver(
            {
                "type": "achievement",
                "student": message["student"],
                "code": message["code"],
                "name": message["name"],
                "as_of": now_iso(),
            }
        )

    async def recommendations_updated(self, message: dict[str, Any]) -> None:
        """A student's next steps were refreshed (recommendations.services.refresh_course): the page fetches them
        again over the API, which decides what this viewer may see (a teacher: their classes' only)."""
        await self.deliver({"type": "recommendations", "student": message["student"], "as_of": now_iso()})

    async def goal_milestone(self, message: dict[str, Any]) -> None:
        """A student's goal passed 25, 50, 75 or 100 % (recommendations.goals.goals_check): for the student only, as
        a teacher watching their page may not see every goal (weekly goals count every class)."""
        if self.user is None or self.user.pk != message["student"]:
            return
        await self.deliver(
            {
                "type": "goal_milestone",
                "student": message["student"],
                "goal": message["goal"],
                "kind": message["kind"],
                "threshold": message["threshold"],
                "period": message["period"],
                "progress": message["progress"],
                "title": message["title"],
                "as_of": now_iso(),
            }
        )

    async def leaderboard_changed(self, message: dict[str, Any]) -> None:
        """Reserved: rank changes of a class (course.<id>.leaderboard)."""
        await self.deliver({**_public(message), "type": "leaderboard", "as_of": now_iso()})

    async def alert_raised(self, message: dict[str, Any]) -> None:
        """At-risk alerts of a class (course.<id>.alerts), published by risk.alerts: the seed's `alert` message."""
        await self.deliver({**_public(message), "type": "alert", "as_of": now_iso()})

    async def live_revoke(self, message: dict[str, Any]) -> None:
        await self._shut(int(message.get("code", CLOSE_UNAUTHENTICATED)))

    async def live_recheck(self, message: dict[str, Any]) -> None:
        """An enrolment of this user changed: every subscription must still be allowed, or the connection closes."""
        if self.user is None or not self.subscriptions:
            return
        held = list(self.subscriptions.values())
        still = await database_sync_to_async(_recheck)(self.user.pk, held)
        if not still:
            await self._shut(CLOSE_FORBIDDEN)


def _public(message: dict[str, Any]) -> dict[str, Any]:
    """A channel-layer message without the layer's routing fields."""
    return {key: value for key, value in message.items() if key not in {"group", "type"}}


def _recheck(user_id: int, held: list[Subscription]) -> bool:
    user = permissions.active_user(user_id)
    if user is None:
        return False
    for subscription in held:
        try:
            permissions.subscription_authorise(
                user=user, channel=subscription.channel, course=subscription.course, student=subscription.student
            )
        except Refused:
            return False
    return True

"""core.realtime.broadcast_on_commit through the real Redis channel layer (channels_redis).

Ordering is checked without waiting for silence: a channel delivers in order, so a probe message sent after the
broadcast call arrives *before* the broadcast exactly when the broadcast has not been sent yet.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import BaseChannelLayer, get_channel_layer
from django.db import transaction

from accounts.models import Organization
from core.realtime import broadcast_on_commit

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

# An upper bound for a message already sent to arrive; a healthy Redis delivers in milliseconds.
RECEIVE_TIMEOUT_SECONDS = 10
PROBE = {"type": "test.probe"}


@dataclass
class Listener:
    """A channel added to a group, as a consumer's would be."""

    layer: BaseChannelLayer
    group: str
    channel: str

    async def next_message(self) -> dict[str, Any]:
        message: dict[str, Any] = await asyncio.wait_for(
            self.layer.receive(self.channel), timeout=RECEIVE_TIMEOUT_SECONDS
        )
        return message

    async def probe(self) -> dict[str, Any]:
        """Send PROBE to the channel itself and return the first message waiting there."""
        await self.layer.send(self.channel, PROBE)
        return await self.next_message()


@pytest_asyncio.fixture
async def listener() -> AsyncIterator[Listener]:
    layer = get_channel_layer()
    assert layer is not None
    assert type(layer).__module__ == "channels_redis.core", "the test exercises the real Redis channel layer"
    group = f"test-realtime-{uuid.uuid4().hex}"
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    yield Listener(layer=layer, group=group, channel=channel)
    await layer.group_discard(group, channel)


def create_organization_and_broadcast(*, group: str, slug: str, inside_transaction: Callable[[], None]) -> int:
    """A service-like write: create a row, announce it on commit, then run `inside_transaction` before committing."""
    with transaction.atomic():
        organization = Organization.objects.create(name="Realtime School", slug=slug)
        broadcast_on_commit(group=group, message={"type": "organization.created", "organization_id": organization.pk})
        inside_transaction()
    return organization.pk


@database_sync_to_async
def organization_exists(**lookup: Any) -> bool:
    # database_sync_to_async, not the ORM's a* methods: it hands the connection back to the pool afterwards, so no
    # session is left open on the test database when pytest drops it.
    return Organization.objects.filter(**lookup).exists()


async def test_broadcast_is_delivered_after_commit_and_not_before(listener: Listener) -> None:
    # given
    seen_inside_transaction: list[dict[str, Any]] = []

    def probe_inside_transaction() -> None:
        seen_inside_transaction.append(async_to_sync(listener.probe)())

    # when
    organization_id = await database_sync_to_async(create_organization_and_broadcast)(
        group=listener.group, slug="realtime-commit", inside_transaction=probe_inside_transaction
    )
    delivered = await listener.next_message()

    # then
    assert seen_inside_transaction == [PROBE]
    assert delivered == {"type": "organization.created", "organization_id": organization_id, "group": listener.group}
    # The message announces a row that readers can already see.
    assert await organization_exists(pk=organization_id)


async def test_rolled_back_transaction_delivers_nothing(listener: Listener) -> None:
    # given
    def fail() -> None:
        raise RuntimeError("the write fails after the broadcast was requested")

    # when
    with pytest.raises(RuntimeError):
        await database_sync_to_async(create_organization_and_broadcast)(
            group=listener.group, slug="realtime-rollback", inside_transaction=fail
        )

    # then: the first message on the channel is the probe sent now; nothing came before it
    assert await listener.probe() == PROBE
    assert not await organization_exists(slug="realtime-rollback")


async def test_broadcast_outside_a_transaction_is_delivered_at_once(listener: Listener) -> None:
    # when
    message = {"type": "course.updated", "course_id": 7}
    await database_sync_to_async(broadcast_on_commit)(group=listener.group, message=message)

    # then: the message, naming the group it was sent to
    assert await listener.next_message() == {**message, "group": listener.group}

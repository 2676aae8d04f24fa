"""The one way services publish live messages: after the surrounding transaction commits.

A message sent before commit could announce data that a rollback then removes, or reach a client that re-reads the
REST API before the rows are visible. Messages carry ids and plain JSON values only, and each names the group it was
sent to (`group`): a process that receives a group's messages once for all its sockets (live/hub.py) needs to know.
"""

import asyncio
import logging
import threading
from collections.abc import Iterable
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)
SEND_TIMEOUT_SECONDS = 2

# Sync code (requests, tasks) publishes through ONE event loop per process, running in a daemon thread, so the
# channel layer's Redis connections are made once and reused: async_to_sync per call set up a loop and a connection
# every time (about 8 ms per ingestion request, measured by bench/live.py).
_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _publisher_loop() -> asyncio.AbstractEventLoop:
    global _loop  # one per process, made on first use (after a fork, in the child)
    with _loop_lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="channel-layer-publisher", daemon=True).start()
            _loop = loop
        return _loop


async def _send_all(layer: Any, messages: list[tuple[str, dict[str, Any]]]) -> None:
    for group, message in messages:
        await layer.group_send(group, {**message, "group": group})


def group_send_many(messages: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Send each (group, message) now, in order, from sync code; returns once they are handed to the layer."""
    layer = get_channel_layer()
    batch = list(messages)
    if layer is None or not batch:
        return
    try:
        asyncio.run_coroutine_threadsafe(_send_all(layer, batch), _publisher_loop()).result(SEND_TIMEOUT_SECONDS)
    except Exception:
        # Live updates are best effort: losing Redis must not fail the write that triggered them. Pages re-read the
        # REST API when their socket reconnects.
        logger.warning("live messages to %s not sent", sorted({group for group, _ in batch}), exc_info=True)


def group_send_now(group: str, message: dict[str, Any]) -> None:
    group_send_many([(group, message)])


def broadcast_on_commit(*, group: str, message: dict[str, Any], using: str | None = None) -> None:
    """Send `message` to the channel-layer `group` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: group_send_now(group, message), using=using)

"""The one way services publish live messages: after the surrounding transaction commits.

A message sent before commit could announce data that a rollback then removes, or reach a client that re-reads the
REST API before the rows are visible. Messages carry ids and plain JSON values only.
"""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def group_send_now(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        # Live updates are best effort: losing Redis must not fail the write that triggered them. Pages re-read the
        # REST API when their socket reconnects.
        logger.warning("live message to %s not sent", group, exc_info=True)


def broadcast_on_commit(*, group: str, message: dict[str, Any], using: str | None = None) -> None:
    """Send `message` to the channel-layer `group` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: group_send_now(group, message), using=using)

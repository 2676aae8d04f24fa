"""WebSocket routes. Apps that stream add their routing module's patterns here."""

from typing import Any

from live.routing import websocket_urlpatterns as live_patterns

websocket_urlpatterns: list[Any] = [*live_patterns]

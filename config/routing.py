"""WebSocket routes. Apps that stream add their routing module's patterns here (the live stream arrives with the
realtime issue)."""

from typing import Any

websocket_urlpatterns: list[Any] = []

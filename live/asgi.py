"""ASGI middleware of the live stream."""

from typing import Any

from channels.middleware import BaseMiddleware

SERVER_SEND = "live.server_send"


class ServerSendMiddleware(BaseMiddleware):
    """Outermost on WebSocket connections: puts the server's own `send` in the scope (SERVER_SEND).

    The hub hands one message to hundreds of sockets at once; through the consumer's send every frame also passes
    Channels' layering and the session middleware's check for a session to save (which applies only to
    `http.response.start` and `websocket.accept`), ~10 % of the process's time in bench/live.py (b). Consumers send
    their data frames through this `send` directly; the handshake and closing still pass the whole stack.
    """

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        return await super().__call__({**scope, SERVER_SEND: send}, receive, send)

"""Helpers for the live-stream tests: the real ASGI application (origin check, session middleware, routing) and the
real Redis channel layer, driven by Channels' WebsocketCommunicator."""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from accounts.models import User
from config.asgi import application

ORIGIN = (b"origin", b"http://localhost")
# An upper bound for a message that is on its way; a healthy Redis and database deliver in milliseconds.
TIMEOUT = 5


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


class Live:
    """One WebSocket connection to /ws/live/."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator

    async def send(self, message: Any) -> None:
        await self.communicator.send_to(text_data=message if isinstance(message, str) else json.dumps(message))

    async def receive(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        output = await self.communicator.receive_output(timeout)
        assert output["type"] == "websocket.send", output
        message: dict[str, Any] = json.loads(output["text"])
        return message

    async def ask(self, message: Any) -> dict[str, Any]:
        await self.send(message)
        return await self.receive()

    async def closed_with(self, timeout: float = TIMEOUT) -> int:
        """The close code of the next output, which must be a close."""
        output = await self.communicator.receive_output(timeout)
        assert output["type"] == "websocket.close", output
        code: int = output["code"]
        return code

    async def still_open(self) -> bool:
        return (await self.ask({"type": "ping"}))["type"] == "pong"

    async def collect(self, seconds: float) -> list[dict[str, Any]]:
        """Every message that arrives within `seconds` (polling: a timed-out receive_output would cancel the
        application)."""
        messages = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            if not await self.communicator.receive_nothing(timeout=min(0.05, left), interval=0.01):
                messages.append(await self.receive())
        return messages


Connect = Callable[..., Awaitable[Live]]


@pytest_asyncio.fixture
async def connect() -> AsyncIterator[Connect]:
    """connect(user) opens a connection with that user's session cookie; connect(None, query="ticket=...") without."""
    opened: list[WebsocketCommunicator] = []

    async def open_connection(user: User | None, *, query: str = "", accepted: bool = True) -> Live:
        headers = [ORIGIN]
        if user is not None:
            cookie = await database_sync_to_async(session_cookie)(user)
            headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
        path = "/ws/live/" + (f"?{query}" if query else "")
        communicator = WebsocketCommunicator(application, path, headers=headers)
        opened.append(communicator)
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected is accepted
        return Live(communicator)

    yield open_connection
    for communicator in opened:
        await communicator.disconnect(timeout=TIMEOUT)


def without_time(message: dict[str, Any]) -> dict[str, Any]:
    assert "as_of" in message, message
    return {key: value for key, value in message.items() if key != "as_of"}


@pytest.fixture
def live_settings(settings: Any) -> Any:
    settings.LIVE_COALESCE_MS = 250
    return settings

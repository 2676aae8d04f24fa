"""Bad input gets an error with a reason and the connection stays open; it is closed only after repeated abuse."""

import json
from typing import Any

import pytest

from tests.conftest import School
from tests.live.conftest import Connect, without_time

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

BAD_MESSAGES: list[tuple[str, Any, str]] = [
    ("unknown type", {"type": "dance"}, "unknown message type"),
    ("no type", {"channels": ["progress"]}, "unknown message type"),
    ("malformed JSON", '{"type": "subscribe", ', "malformed JSON"),
    ("JSON array", "[1, 2]", "message must be a JSON object"),
    ("JSON string", '"subscribe"', "message must be a JSON object"),
    ("oversized", {"type": "ping", "padding": "x" * 5000}, "message too large (at most 4096 bytes)"),
    ("oversized multibyte", {"type": "ping", "padding": "é" * 2100}, "message too large (at most 4096 bytes)"),
    (
        "channels not a list",
        {"type": "subscribe", "channels": "progress"},
        "channels must be a list of 1 to 8 channel names",
    ),
    ("no channels", {"type": "subscribe", "channels": []}, "channels must be a list of 1 to 8 channel names"),
]


@pytest.mark.parametrize(("message", "reason"), [case[1:] for case in BAD_MESSAGES], ids=[c[0] for c in BAD_MESSAGES])
async def test_bad_message_gets_an_error_and_the_connection_stays_open(
    school: School, connect: Connect, message: Any, reason: str
) -> None:
    live = await connect(school.student)
    reply = await live.ask(message if isinstance(message, str) else json.dumps(message, ensure_ascii=False))
    assert without_time(reply) == {"type": "error", "reason": reason}
    assert await live.still_open()


async def test_binary_frame_gets_an_error(school: School, connect: Connect) -> None:
    live = await connect(school.student)
    await live.communicator.send_to(bytes_data=b"\x00\x01")
    assert without_time(await live.receive()) == {"type": "error", "reason": "binary messages are not supported"}
    assert await live.still_open()


BAD_SUBSCRIPTIONS: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown channel", {"channels": ["weather"], "course": None}, "weather", "unknown channel"),
    ("course missing", {"channels": ["leaderboard"]}, "leaderboard", "course required"),
    ("course a string", {"channels": ["leaderboard"], "course": "12"}, "leaderboard", "course must be an integer"),
    ("course a float", {"channels": ["leaderboard"], "course": 1.5}, "leaderboard", "course must be an integer"),
    ("course a boolean", {"channels": ["leaderboard"], "course": True}, "leaderboard", "course must be an integer"),
    (
        "course an object",
        {"channels": ["leaderboard"], "course": {"id": 1}},
        "leaderboard",
        "course must be an integer",
    ),
    ("course nonexistent", {"channels": ["leaderboard"], "course": 987654321}, "leaderboard", "course not found"),
    ("course negative", {"channels": ["leaderboard"], "course": -1}, "leaderboard", "course not found"),
    ("student a string", {"channels": ["progress"], "student": "me"}, "progress", "student must be an integer"),
]


@pytest.mark.parametrize(
    ("body", "channel", "reason"), [case[1:] for case in BAD_SUBSCRIPTIONS], ids=[c[0] for c in BAD_SUBSCRIPTIONS]
)
async def test_bad_subscription_gets_an_error_naming_the_channel(
    school: School, connect: Connect, body: dict[str, Any], channel: str, reason: str
) -> None:
    live = await connect(school.student)
    reply = await live.ask({"type": "subscribe", **body})
    assert without_time(reply) == {"type": "error", "channel": channel, "reason": reason}
    assert await live.still_open()


async def test_forbidden_course_gets_the_same_error_as_a_missing_one(school: School, connect: Connect) -> None:
    live = await connect(school.student)
    forbidden = await live.ask({"type": "subscribe", "channels": ["leaderboard"], "course": school.other_course.pk})
    missing = await live.ask({"type": "subscribe", "channels": ["leaderboard"], "course": 987654321})
    assert without_time(forbidden) == without_time(missing)
    assert await live.still_open()


async def test_nine_errors_are_tolerated_the_tenth_closes(school: School, connect: Connect) -> None:
    live = await connect(school.student)
    for _ in range(9):
        assert (await live.ask("{"))["reason"] == "malformed JSON"
    assert await live.still_open()
    assert (await live.ask({"type": "subscribe", "channels": ["weather"]}))["reason"] == "unknown channel"
    assert await live.closed_with() == 4429


async def test_rate_limit_then_close_after_repeated_abuse(school: School, connect: Connect) -> None:
    # given: 20 messages at once are allowed (then 2 a second)
    live = await connect(school.student)

    # when: 35 pings in a burst
    for _ in range(35):
        await live.send({"type": "ping"})

    # then: 20 (or 21, if a token refilled meanwhile) pongs, then "rate limited" errors, and the tenth closes
    replies = []
    while True:
        output = await live.communicator.receive_output(5)
        if output["type"] == "websocket.close":
            assert output["code"] == 4429
            break
        replies.append(json.loads(output["text"])["type"] if "rate" not in output["text"] else "limited")
    assert replies.count("pong") in (20, 21)
    assert replies[replies.count("pong") :] == ["limited"] * 10

"""Who may open /ws/live/: a signed-in session, or a single-use ticket from POST /api/v1/realtime/ticket."""

from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model

from core.redis import cache_redis
from live.tickets import TICKET_KEY
from tests.conftest import School, client_for
from tests.live.conftest import Connect

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def ticket_keys() -> list[bytes]:
    keys: list[bytes] = cache_redis().keys(TICKET_KEY.format(digest="*"))  # type: ignore[assignment]
    return keys


def issue_ticket(user: Any) -> dict[str, Any]:
    response = client_for(user).post("/api/v1/realtime/ticket")
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body


async def test_anonymous_is_refused(connect: Connect) -> None:
    live = await connect(None)
    assert await live.closed_with() == 4401


async def test_signed_in_session_is_accepted(school: School, connect: Connect) -> None:
    live = await connect(school.student)
    assert await live.still_open()


async def test_a_ticket_works_once(school: School, connect: Connect) -> None:
    # given
    body = await database_sync_to_async(issue_ticket)(school.student)
    assert body["expires_in"] == 30
    assert len(body["ticket"]) >= 40

    # when / then: the first connection is the student's
    first = await connect(None, query=f"ticket={body['ticket']}")
    reply = await first.ask({"type": "subscribe", "channels": ["progress"]})
    assert (reply["type"], reply["student"]) == ("subscribed", school.student.pk)

    # a second connection with the same ticket is refused
    second = await connect(None, query=f"ticket={body['ticket']}")
    assert await second.closed_with() == 4401


async def test_a_ticket_is_stored_hashed_with_a_30_second_life(school: School) -> None:
    body = await database_sync_to_async(issue_ticket)(school.teacher)
    redis = cache_redis()
    keys = ticket_keys()
    assert len(keys) == 1
    assert body["ticket"].encode() not in keys[0]
    assert 0 < redis.ttl(keys[0]) <= 30  # type: ignore[operator]
    assert redis.get(keys[0]) == str(school.teacher.pk).encode()


async def test_an_expired_ticket_is_refused(school: School, connect: Connect) -> None:
    # given: a ticket whose key has lapsed (Redis removes it after LIVE_TICKET_SECONDS)
    body = await database_sync_to_async(issue_ticket)(school.student)
    cache_redis().delete(*ticket_keys())

    # then
    live = await connect(None, query=f"ticket={body['ticket']}")
    assert await live.closed_with() == 4401


async def test_a_short_lived_ticket_expires(school: School, connect: Connect, settings: Any) -> None:
    settings.LIVE_TICKET_SECONDS = 1
    body = await database_sync_to_async(issue_ticket)(school.student)
    assert body["expires_in"] == 1
    assert cache_redis().ttl(ticket_keys()[0]) == 1


@pytest.mark.parametrize("ticket", ["", "not-a-ticket", "x" * 500])
async def test_an_unknown_ticket_is_refused_even_with_a_session(school: School, connect: Connect, ticket: str) -> None:
    live = await connect(school.student, query=f"ticket={ticket}")
    assert await live.closed_with() == 4401


async def test_a_ticket_of_a_deactivated_user_is_refused(school: School, connect: Connect) -> None:
    body = await database_sync_to_async(issue_ticket)(school.student)
    await database_sync_to_async(get_user_model().objects.filter(pk=school.student.pk).update)(is_active=False)
    live = await connect(None, query=f"ticket={body['ticket']}")
    assert await live.closed_with() == 4401


async def test_a_user_id_in_the_url_is_not_a_credential(school: School, connect: Connect) -> None:
    live = await connect(None, query=f"user={school.student.pk}&token=anything")
    assert await live.closed_with() == 4401

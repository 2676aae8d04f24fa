"""Connecting a Google account: the consent URL (state, PKCE, least scopes), the callback's checks, tokens that are
never stored or logged in clear, key rotation, and disconnecting (revoked at Google)."""

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as database
from django.utils import timezone

from accounts.models import User
from google_classroom.client import POST_SCOPE, READ_SCOPES
from google_classroom.crypto import token_decrypt
from google_classroom.models import Connection, ConsentRequest
from google_classroom.services import (
    ConsentRefused,
    connection_client,
    connection_disconnect,
    consent_finish,
    consent_start,
)
from google_classroom.sync import connection_sync
from tests.factories import TeacherFactory
from tests.google_classroom.conftest import SYNC_AT, teacher_email
from tests.google_classroom.fake_google import FakeGoogle
from tests.google_classroom.fake_school import FakeSchool

pytestmark = pytest.mark.django_db


def query_of(url: str) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}


def consent_and_return(google: FakeGoogle, teacher: User, email: str, **kwargs: Any) -> Connection:
    url = consent_start(user=teacher)
    back = query_of(google.consent(url, email=email, **kwargs))
    return consent_finish(
        user=teacher, state=back.get("state", ""), code=back.get("code", ""), error=back.get("error", "")
    ).connection


def secrets_issued(google: FakeGoogle) -> set[str]:
    """Every refresh and access token the fake issued, and every PKCE verifier we sent it."""
    issued = {grant.refresh_token for grant in google._grants if grant.refresh_token}
    issued |= set(google._access)
    return issued


def database_text() -> str:
    """Every row of every table, as text."""
    with database.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [name for (name,) in cursor.fetchall()]
        rows: list[str] = []
        for table in tables:
            cursor.execute(f'SELECT t::text FROM "{table}" t')  # noqa: S608 - names from the catalogue
            rows += [text for (text,) in cursor.fetchall()]
    return "\n".join(rows)


def test_the_consent_url_asks_read_only_scopes_with_state_and_a_pkce_challenge(
    google: FakeGoogle, teacher: User
) -> None:
    url = consent_start(user=teacher)

    asked = query_of(url)
    assert set(asked["scope"].split()) == set(READ_SCOPES)
    assert all(scope.endswith(".readonly") or scope.endswith("profile.emails") for scope in READ_SCOPES)
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert asked["access_type"] == "offline" and asked["redirect_uri"].endswith("/google-classroom/callback")
    stored = ConsentRequest.objects.get(state=asked["state"])
    assert stored.user == teacher and asked["code_challenge"] not in stored.code_verifier_encrypted


def test_posting_is_asked_for_separately_when_first_needed(
    google: FakeGoogle, teacher: User, fake_school: FakeSchool
) -> None:
    consent_and_return(google, teacher, teacher_email(fake_school))

    asked = query_of(consent_start(user=teacher, purpose=ConsentRequest.Purpose.POST))

    assert POST_SCOPE in asked["scope"].split()
    assert set(asked["scope"].split()) - {POST_SCOPE} == set(READ_SCOPES)


def test_tokens_are_never_stored_or_logged_in_clear_text(
    google: FakeGoogle, teacher: User, fake_school: FakeSchool, caplog: pytest.LogCaptureFixture
) -> None:
    # when: connect, sync, read everything, at the most talkative log level
    with caplog.at_level(logging.DEBUG):
        found = consent_and_return(google, teacher, teacher_email(fake_school))
        connection_sync(connection=found, client=connection_client(found), now=SYNC_AT)
        dump = database_text()

    # then
    issued = secrets_issued(google)
    assert len(issued) >= 2
    logs = "\n".join(f"{record.getMessage()} {record.args!r}" for record in caplog.records)
    for secret in issued:
        assert secret not in dump
        assert secret not in logs
    assert token_decrypt(found.refresh_token_encrypted) in issued


def test_key_rotation_re_encrypts_every_token(
    google: FakeGoogle, teacher: User, fake_school: FakeSchool, settings: Any
) -> None:
    # given: a connection and an open consent, encrypted with the old key
    found = consent_and_return(google, teacher, teacher_email(fake_school))
    consent_start(user=teacher)
    clear = token_decrypt(found.refresh_token_encrypted)
    open_consent = ConsentRequest.objects.get(used_at__isnull=True)
    verifier = token_decrypt(open_consent.code_verifier_encrypted)
    old_key = settings.GOOGLE_TOKEN_KEYS[0]

    # when: a new key goes first, the command runs, the old key is removed
    settings.GOOGLE_TOKEN_KEYS = [Fernet.generate_key().decode(), old_key]
    call_command("rotate_google_tokens", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.GOOGLE_TOKEN_KEYS = settings.GOOGLE_TOKEN_KEYS[:1]

    # then: both still open with the new key alone
    found.refresh_from_db()
    open_consent.refresh_from_db()
    assert token_decrypt(found.refresh_token_encrypted) == clear
    assert token_decrypt(open_consent.code_verifier_encrypted) == verifier


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong state", "not valid for you"),
        ("another person's state", "not valid for you"),
        ("reused state", "used already"),
        ("state reused after a refusal", "used already"),
        ("stale state", "took too long"),
        ("denied", "did not allow access"),
        ("missing code", "no authorisation code"),
        ("tampered verifier", "did not accept the consent"),
    ],
)
def test_a_callback_that_cannot_be_trusted_connects_nothing(
    google: FakeGoogle, teacher: User, fake_school: FakeSchool, case: str, message: str
) -> None:
    # given
    email = teacher_email(fake_school)
    url = consent_start(user=teacher)
    back = query_of(google.consent(url, email=email, approve=case != "denied"))
    state, code, user = back["state"], back.get("code", ""), teacher
    if case == "wrong state":
        state = "not-a-state-we-issued"
    elif case == "another person's state":
        user = TeacherFactory.create(organization=teacher.organization)
    elif case == "reused state":
        consent_finish(user=teacher, state=state, code=code)
        Connection.objects.all().delete()
    elif case == "state reused after a refusal":
        with pytest.raises(ConsentRefused, match="no authorisation code"):
            consent_finish(user=teacher, state=state, code="")
    elif case == "stale state":
        ConsentRequest.objects.update(created_at=timezone.now() - timedelta(hours=1))
    elif case == "missing code":
        code = ""
    elif case == "tampered verifier":
        other = consent_start(user=teacher)
        swapped = ConsentRequest.objects.get(state=query_of(other)["state"]).code_verifier_encrypted
        ConsentRequest.objects.filter(state=state).update(code_verifier_encrypted=swapped)

    # when / then
    with pytest.raises(ConsentRefused, match=message):
        consent_finish(user=user, state=state, code=code, error=back.get("error", ""))
    assert not Connection.objects.exists()


def test_disconnecting_revokes_the_token_at_google_and_deletes_it(
    google: FakeGoogle, teacher: User, fake_school: FakeSchool
) -> None:
    found = consent_and_return(google, teacher, teacher_email(fake_school))
    refresh_token = token_decrypt(found.refresh_token_encrypted)

    assert connection_disconnect(connection=found) is True

    assert refresh_token in google.revoked
    assert not Connection.objects.exists()

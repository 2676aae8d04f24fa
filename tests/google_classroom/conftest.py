"""Fixtures of the Google Classroom tests: a small fake school served by the local fake of Google
(fake_google.py), settings pointing the real client libraries at it, and a teacher's connection to it."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from cryptography.fernet import Fernet

from accounts.models import Organization, User
from google_classroom.client import READ_SCOPES
from google_classroom.crypto import token_encrypt
from google_classroom.models import Connection
from tests.factories import OrganizationFactory, TeacherFactory
from tests.google_classroom.fake_google import FakeGoogle
from tests.google_classroom.fake_school import FakeSchool, school_generate

# The moment the tests sync at: after the fake school's term (2026-09-01 plus 120 days), so all of it happened.
SYNC_AT = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake_school() -> FakeSchool:
    return school_generate(courses=3, students_per_course=6, course_work_per_course=5, teachers=1, seed=7)


@pytest.fixture
def google(fake_school: FakeSchool, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogle]:
    with FakeGoogle(fake_school, now=lambda: SYNC_AT) as fake:
        settings.GOOGLE_CLIENT_ID = fake.client_id
        settings.GOOGLE_CLIENT_SECRET = fake.client_secret
        settings.GOOGLE_TOKEN_KEYS = [Fernet.generate_key().decode()]
        settings.GOOGLE_AUTH_URI = fake.auth_uri
        settings.GOOGLE_TOKEN_URI = fake.token_uri
        settings.GOOGLE_REVOKE_URI = fake.revoke_uri
        settings.GOOGLE_CLASSROOM_ENDPOINT = fake.classroom_endpoint
        settings.GOOGLE_REDIRECT_URI = "http://testserver/integrations/google-classroom/callback"
        # The fake speaks http on 127.0.0.1; oauthlib insists on https otherwise.
        monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
        yield fake
        assert fake.violations == [], "the connector made requests the discovery document does not allow"
        assert fake.errors == [], "the fake itself failed"


def make_org(fake_school: FakeSchool, slug: str = "gc-school") -> Organization:
    organization = OrganizationFactory.create(slug=slug, name=f"School {slug}")
    organization.email_domains = [fake_school.domain]
    organization.save(update_fields=["email_domains"])
    return organization


def teacher_email(fake_school: FakeSchool) -> str:
    return f"teacher0@{fake_school.domain}"


def connect(google: FakeGoogle, user: User, email: str) -> Connection:
    """A connection as the callback stores one, with tokens the fake granted to `email`."""
    grant = google.grant(email)
    profile = google.school.user_by_email(email) or {}
    return Connection.objects.create(
        organization=cast(Organization, user.organization),
        user=user,
        google_user_id=str(profile.get("id", "")),
        google_email=email,
        scopes=list(READ_SCOPES),
        refresh_token_encrypted=token_encrypt(grant["refresh_token"]),
    )


@pytest.fixture
def organization(db: None, fake_school: FakeSchool) -> Organization:
    return make_org(fake_school)


@pytest.fixture
def teacher(organization: Organization, fake_school: FakeSchool) -> User:
    return TeacherFactory.create(organization=organization, email=teacher_email(fake_school))


@pytest.fixture
def connection(google: FakeGoogle, teacher: User, fake_school: FakeSchool) -> Connection:
    return connect(google, teacher, teacher_email(fake_school))

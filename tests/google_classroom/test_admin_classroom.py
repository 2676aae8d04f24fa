"""Google Classroom in Django admin: every page loads with rows in it, no page shows a token (the encrypted refresh
token, a consent's PKCE verifier), the history is read-only, "Sync now" queues a job, and the organisation's
email domains (which a synced roster matches people within) are edited on the organisation's page."""

from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.utils import timezone

from accounts.models import Organization, User
from core.models import Job
from google_classroom.client import READ_SCOPES
from google_classroom.crypto import token_encrypt
from google_classroom.jobs import SYNC_JOB
from google_classroom.models import Connection, ConsentRequest, PostedSummary, SyncedCourse
from tests.conftest import School

REFRESH_TOKEN = "1//refresh-token-in-clear"
VERIFIER = "pkce-verifier-in-clear"


@pytest.fixture
def rows(school: School, settings: Any) -> dict[str, Any]:
    settings.GOOGLE_TOKEN_KEYS = [Fernet.generate_key().decode()]
    connection = Connection.objects.create(
        organization=school.organization,
        user=school.teacher,
        google_user_id="g1",
        google_email="teacher@school.example",
        scopes=list(READ_SCOPES),
        refresh_token_encrypted=token_encrypt(REFRESH_TOKEN),
    )
    synced = SyncedCourse.objects.create(
        connection=connection,
        google_course_id="611111111111",
        course=school.course,
        name="Algebra",
        status=SyncedCourse.Status.FAILED,
        last_error="Google answered 503 through every retry.",
        counts={"students": 2, "items": 3, "submissions": 4},
    )
    posted = PostedSummary.objects.create(
        synced_course=synced,
        posted_by=school.teacher,
        posted_at=timezone.now(),
        text="Class summary",
        google_announcement_id="777",
        google_state="DRAFT",
    )
    consent = ConsentRequest.objects.create(
        state="state-1",
        user=school.teacher,
        purpose=ConsentRequest.Purpose.CONNECT,
        scopes=list(READ_SCOPES),
        code_verifier_encrypted=token_encrypt(VERIFIER),
        created_at=timezone.now(),
    )
    return {"connection": connection, "synced": synced, "posted": posted, "consent": consent}


def operator() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("operator", "op@example.test", "pass-word-123"))
    return client


@pytest.mark.parametrize("model", ["connection", "syncedcourse", "postedsummary", "consentrequest"])
def test_every_page_loads_and_shows_no_token(rows: dict[str, Any], model: str) -> None:
    client = operator()
    instance = rows[
        {"syncedcourse": "synced", "postedsummary": "posted", "consentrequest": "consent"}.get(model, model)
    ]
    base = f"/admin/google_classroom/{model}/"
    secrets = [
        REFRESH_TOKEN,
        VERIFIER,
        rows["connection"].refresh_token_encrypted,
        rows["consent"].code_verifier_encrypted,
        "refresh_token_encrypted",
        "code_verifier_encrypted",
    ]
    for url in (base, f"{base}?q=a", f"{base}{instance.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert [secret for secret in secrets if secret in page] == [], url


def test_the_connection_list_shows_who_and_how_it_syncs(rows: dict[str, Any]) -> None:
    page = operator().get("/admin/google_classroom/connection/").content.decode()
    assert "teacher@school.example" in page and "Connected" in page


def test_synced_courses_list_their_counts_and_last_error(rows: dict[str, Any]) -> None:
    page = operator().get("/admin/google_classroom/syncedcourse/").content.decode()
    assert "Algebra" in page and "Google answered 503 through every retry." in page and "submissions" in page


def test_history_is_read_only(rows: dict[str, Any]) -> None:
    client = operator()
    for model in ("connection", "syncedcourse", "postedsummary", "consentrequest"):
        assert client.get(f"/admin/google_classroom/{model}/add/").status_code == 403
    posted = rows["posted"]
    client.post(f"/admin/google_classroom/postedsummary/{posted.pk}/change/", {"text": "Changed"})
    posted.refresh_from_db()
    assert posted.text == "Class summary"


def test_only_the_archived_courses_choice_is_edited_on_a_connection(rows: dict[str, Any]) -> None:
    connection = rows["connection"]
    response = operator().post(
        f"/admin/google_classroom/connection/{connection.pk}/change/",
        {
            "include_archived": "on",
            "google_email": "someone-else@example.test",
            "courses-TOTAL_FORMS": "1",
            "courses-INITIAL_FORMS": "1",
            "courses-MIN_NUM_FORMS": "0",
            "courses-MAX_NUM_FORMS": "1000",
            "courses-0-id": str(rows["synced"].pk),
            "courses-0-connection": str(connection.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    connection.refresh_from_db()
    assert connection.include_archived is True
    assert connection.google_email == "teacher@school.example"


def test_sync_now_action_queues_a_job(rows: dict[str, Any]) -> None:
    connection = rows["connection"]
    response = operator().post(
        "/admin/google_classroom/connection/",
        {"action": "sync_now", ACTION_CHECKBOX_NAME: [connection.pk]},
        follow=True,
    )
    job = Job.objects.get(kind=SYNC_JOB)
    assert job.params["connection_id"] == connection.pk
    assert f"sync job {job.pk}" in response.content.decode()


def test_sync_now_action_says_when_a_connection_needs_reconnecting(rows: dict[str, Any]) -> None:
    connection = rows["connection"]
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.NEEDS_RECONNECT)
    response = operator().post(
        "/admin/google_classroom/connection/",
        {"action": "sync_now", ACTION_CHECKBOX_NAME: [connection.pk]},
        follow=True,
    )
    assert "needs reconnecting" in response.content.decode()
    assert not Job.objects.exists()


def test_the_organisations_email_domains_are_edited_on_its_page(school: School) -> None:
    organization = school.organization
    client = operator()
    assert (
        'name="email_domains"' in client.get(f"/admin/accounts/organization/{organization.pk}/change/").content.decode()
    )
    response = client.post(
        f"/admin/accounts/organization/{organization.pk}/change/",
        {
            "name": organization.name,
            "slug": organization.slug,
            "time_zone": organization.time_zone,
            "email_domains": "school.example,lower.school.example",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Organization.objects.get(pk=organization.pk).email_domains == ["school.example", "lower.school.example"]

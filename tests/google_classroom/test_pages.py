"""The Integrations pages (/integrations/): who gets which page, the Google Classroom card in each of its states,
connecting through Google's consent and the callback (the local fake Google), the callback's bad inputs, sync now,
disconnecting, and the class summary's preview and posting. Nothing here talks to the real Google."""

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet
from django.test import Client
from django.utils import timezone

from accounts.models import User
from classroom.models import Course
from core.models import Job
from google_classroom.client import POST_SCOPE, READ_SCOPES
from google_classroom.crypto import token_decrypt, token_encrypt
from google_classroom.jobs import SYNC_JOB
from google_classroom.models import Connection, ConsentRequest, PostedSummary, SyncedCourse
from google_classroom.summary import class_summary
from tests.conftest import School
from tests.factories import CourseFactory
from tests.google_classroom.fake_google import FakeGoogle
from tests.google_classroom.fake_school import FakeSchool

PAGE = "/integrations/"
CONNECT = "/integrations/google-classroom/connect"
CALLBACK = "/integrations/google-classroom/callback"
SYNC = "/integrations/google-classroom/sync"
DISCONNECT = "/integrations/google-classroom/disconnect"
MATH = "611111111111"  # the Google course synced into the teacher's class
HISTORY = "622222222222"  # the Google course synced into the other teacher's class
MISSING = "699999999999"


def summary_url(google_course_id: str) -> str:
    return f"/integrations/google-classroom/courses/{google_course_id}/summary"


def browser(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def configured(settings: Any) -> None:
    """Settings as an administrator sets them; Google itself is unreachable (nothing here calls it)."""
    settings.GOOGLE_CLIENT_ID = "page-tests-client"
    settings.GOOGLE_CLIENT_SECRET = "page-tests-secret"
    settings.GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/auth"  # only built into URLs, never called
    settings.GOOGLE_TOKEN_KEYS = [Fernet.generate_key().decode()]
    settings.GOOGLE_REDIRECT_URI = "http://testserver/integrations/google-classroom/callback"


def connect(
    user: User,
    *,
    scopes: tuple[str, ...] = READ_SCOPES,
    refresh_token: str = "refresh-token",  # noqa: S107 - a test value
    email: str = "",
) -> Connection:
    assert user.organization_id is not None
    return Connection.objects.create(
        organization_id=user.organization_id,
        user=user,
        google_user_id=f"g{user.pk}",
        google_email=email or f"{user.username}@school.example",
        scopes=list(scopes),
        refresh_token_encrypted=token_encrypt(refresh_token),
    )


def synced(connection: Connection, google_course_id: str, course: Any, **fields: Any) -> SyncedCourse:
    values: dict[str, Any] = {
        "name": course.title if course else "Not synced yet",
        "google_state": "ACTIVE",
        "status": SyncedCourse.Status.OK,
        "last_synced_at": timezone.now(),
        "counts": {"students": 2, "items": 3, "submissions": 5, "written": 10},
        **fields,
    }
    return SyncedCourse.objects.create(
        connection=connection, google_course_id=google_course_id, course=course, **values
    )


@pytest.fixture
def connected(school: School, configured: None) -> School:
    """The teacher syncs MATH into their class, the other teacher HISTORY into theirs; the admin has not connected."""
    synced(connect(school.teacher), MATH, school.course)
    synced(connect(school.other_teacher), HISTORY, school.other_course)
    return school


# SECTION: who gets which page


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", 302), ("student", 404), ("teacher", 200), ("other_teacher", 200), ("admin", 200)],
)
def test_the_integrations_page_is_for_teachers_and_administrators(connected: School, role: str, expected: int) -> None:
    user = None if role == "anonymous" else getattr(connected, role)
    response = browser(user).get(PAGE)
    assert response.status_code == expected
    if role == "anonymous":
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("role", "google_course_id", "expected"),
    [
        ("anonymous", MATH, 302),
        ("student", MATH, 404),
        ("teacher", MATH, 200),
        ("teacher", HISTORY, 404),  # another teacher's course: as if it did not exist
        ("teacher", MISSING, 404),
        ("other_teacher", MATH, 404),
        ("admin", MATH, 200),
        ("admin", HISTORY, 200),
        ("foreign_admin", MATH, 404),
    ],
)
def test_the_summary_page_is_for_who_sees_the_course(
    connected: School, role: str, google_course_id: str, expected: int
) -> None:
    user = None if role == "anonymous" else getattr(connected, role)
    assert browser(user).get(summary_url(google_course_id)).status_code == expected


def test_another_teachers_course_looks_exactly_like_a_missing_one(connected: School) -> None:
    client = browser(connected.teacher)
    seen, absent = client.get(summary_url(HISTORY)), client.get(summary_url(MISSING))
    assert (seen.status_code, seen.content) == (absent.status_code, absent.content)


@pytest.mark.parametrize("path", [PAGE, CALLBACK + "?state=x&code=y", DISCONNECT, summary_url(MATH)])
def test_a_student_gets_404_on_every_page(connected: School, path: str) -> None:
    assert browser(connected.student).get(path).status_code == 404


@pytest.mark.parametrize("path", [CONNECT, SYNC, DISCONNECT, summary_url(MATH)])
def test_a_student_gets_404_on_every_form(connected: School, path: str) -> None:
    assert browser(connected.student).post(path).status_code == 404
    assert Job.objects.count() == 0 and ConsentRequest.objects.count() == 0


@pytest.mark.parametrize("path", [CONNECT, SYNC, DISCONNECT, summary_url(MATH)])
def test_every_form_needs_the_csrf_token(connected: School, path: str) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(connected.teacher)
    assert client.post(path).status_code == 403
    assert Connection.objects.filter(user=connected.teacher).exists()
    assert Job.objects.count() == 0 and ConsentRequest.objects.count() == 0


def test_the_nav_links_the_page_for_staff_only(connected: School) -> None:
    assert 'href="/integrations/"' in browser(connected.teacher).get("/").content.decode()
    assert 'href="/integrations/"' in browser(connected.admin).get("/").content.decode()
    assert 'href="/integrations/"' not in browser(connected.student).get("/").content.decode()


# SECTION: the Google Classroom card


def test_not_configured_says_what_the_administrator_sets(school: School) -> None:
    # given: the test settings leave GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and GOOGLE_TOKEN_KEYS empty
    response = browser(school.teacher).get(PAGE)

    # then
    page = response.content.decode()
    assert response.context["configured"] is False
    assert "data-not-configured" in page
    for name in ("GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "GOOGLE_TOKEN_KEYS"):
        assert name in page
    assert "data-connect" not in page

    # and connecting says the same, as a 400 page (never a 500)
    refused = browser(school.teacher).post(CONNECT)
    assert refused.status_code == 400
    assert "GOOGLE_CLIENT_ID" in refused.context["error"]


def test_not_connected_offers_to_connect(school: School, configured: None) -> None:
    page = browser(school.teacher).get(PAGE).content.decode()
    assert 'data-google-card="not-connected"' in page
    assert f'action="{CONNECT}"' in page and "Connect Google Classroom" in page
    assert 'data-table="synced-courses"' not in page


def test_connecting_starts_googles_consent_with_state_and_pkce(school: School, configured: None) -> None:
    # when
    response = browser(school.teacher).post(CONNECT)

    # then: off to Google's consent screen, with a state we keep and the S256 challenge of a verifier we keep
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    consent = ConsentRequest.objects.get(user=school.teacher)
    assert query["state"] == [consent.state]
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == ["http://testserver/integrations/google-classroom/callback"]
    assert set(query["scope"][0].split()) == set(READ_SCOPES)
    assert consent.purpose == ConsentRequest.Purpose.CONNECT


def test_connected_shows_the_account_and_the_synced_courses(connected: School) -> None:
    # given: a second course of the teacher's connection whose last sync failed, not in EduPath yet
    connection = Connection.objects.get(user=connected.teacher)
    synced(connection, "633333333333", None, name="Chemistry", status="failed", last_error="Google said no.")

    # when
    response = browser(connected.teacher).get(PAGE)

    # then
    page = response.content.decode()
    assert 'data-google-card="active"' in page
    assert "teacher@school.example" in page
    rows = [row["synced"].google_course_id for row in response.context["course_rows"]]
    assert rows == ["633333333333", MATH]  # by name: Chemistry, then the class's title
    math = response.context["course_rows"][1]
    assert math["dashboard_url"] == f"/classes/{connected.course.pk}/dashboard/"
    assert (math["students"], math["items"], math["submissions"]) == (2, 3, 5)
    assert f'href="/classes/{connected.course.pk}/dashboard/"' in page
    assert "Google said no." in page
    assert f'href="{summary_url(MATH)}"' in page
    assert f'href="{summary_url("633333333333")}"' not in page  # nothing to summarise before it is in EduPath
    # the other teacher's course is not on the teacher's page
    assert HISTORY not in page
    # posting is not allowed yet: the page offers to ask for it
    assert 'name="purpose" value="post"' in page
    # and administrators' table of every connection is not a teacher's
    assert 'data-table="organisation-connections"' not in page


def test_needing_reconnection_is_shown_first_with_its_reason(connected: School) -> None:
    Connection.objects.filter(user=connected.teacher).update(
        status=Connection.Status.NEEDS_RECONNECT, status_message="Google says the access was revoked."
    )
    page = browser(connected.teacher).get(PAGE).content.decode()
    assert "data-needs-reconnect" in page and "data-reconnect" in page
    assert "Google says the access was revoked." in page
    assert "data-sync-now" not in page  # a sync would only fail


def test_administrators_see_every_connection_of_their_organisation(connected: School) -> None:
    # given: the other teacher's course failed; a connection in another organisation
    SyncedCourse.objects.filter(google_course_id=HISTORY).update(status="failed", last_error="Quota.")
    foreign = User.objects.create_user("foreign_teacher", role="teacher", organization=connected.foreign_organization)
    connect(foreign)

    # when
    response = browser(connected.admin).get(PAGE)

    # then: their school's two connections, with the failed course; not the foreign one
    shown = response.context["organisation_connections"]
    assert sorted(each.user.username for each in shown) == ["other_teacher", "teacher"]
    failed = {each.user.username: [course.name for course in each.failed_courses] for each in shown}
    assert failed == {"teacher": [], "other_teacher": [connected.other_course.title]}
    page = response.content.decode()
    assert "foreign_teacher@school.example" not in page
    assert "Quota." in page
    # the admin has no connection of their own: the card offers to connect
    assert 'data-google-card="not-connected"' in page


# SECTION: the callback's bad inputs: a 400 page saying why, nothing connected


def started(client: Client) -> str:
    """The state of a consent the client's user started."""
    response = client.post(CONNECT)
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"state": "not-one-we-issued", "code": "4/0abc"}, "This sign-in link is not valid for you."),
        ({"code": "4/0abc"}, "This sign-in link is not valid for you."),
        ({"state": "{state}"}, "Google sent no authorisation code"),
        ({"state": "{state}", "error": "access_denied"}, "You did not allow access; nothing was connected."),
    ],
    ids=["wrong-state", "no-state", "missing-code", "access-denied"],
)
def test_a_bad_callback_answers_400_with_the_reason(
    school: School, configured: None, query: dict[str, str], message: str
) -> None:
    client = browser(school.teacher)
    state = started(client)

    # when
    response = client.get(CALLBACK, {name: value.format(state=state) for name, value in query.items()})

    # then
    assert response.status_code == 400
    assert message in response.context["error"]
    assert message in response.content.decode()
    assert not Connection.objects.exists()


def test_another_persons_state_is_not_valid_for_you(school: School, configured: None) -> None:
    state = started(browser(school.other_teacher))
    response = browser(school.teacher).get(CALLBACK, {"state": state, "code": "4/0abc"})
    assert response.status_code == 400
    assert "not valid for you" in response.context["error"]
    assert not Connection.objects.exists()


def test_an_anonymous_callback_goes_to_the_login_keeping_the_query(school: School, configured: None) -> None:
    response = Client().get(CALLBACK, {"state": "s", "code": "c"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/integrations/google-classroom/callback")


def test_a_key_that_is_not_a_fernet_key_is_a_400_saying_so(school: School, configured: None, settings: Any) -> None:
    settings.GOOGLE_TOKEN_KEYS = ["not-a-fernet-key"]
    response = browser(school.teacher).post(CONNECT)
    assert response.status_code == 400
    assert "GOOGLE_TOKEN_KEYS holds a key that is not a Fernet key" in response.context["error"]


def test_keys_changed_during_the_consent_are_a_400_not_a_500(school: School, configured: None, settings: Any) -> None:
    client = browser(school.teacher)
    state = started(client)
    settings.GOOGLE_TOKEN_KEYS = [Fernet.generate_key().decode()]  # the verifier's key is gone
    response = client.get(CALLBACK, {"state": state, "code": "4/0abc"})
    assert response.status_code == 400
    assert "connect again" in response.context["error"]
    assert not Connection.objects.exists()


# SECTION: with the local fake Google


def teacher_email(fake_school: FakeSchool) -> str:
    return f"teacher0@{fake_school.domain}"


def test_connecting_through_google_stores_the_connection_without_a_clear_token(
    school: School, google: FakeGoogle, fake_school: FakeSchool
) -> None:
    client = browser(school.teacher)

    # when: the teacher presses Connect, consents at Google, and Google sends the browser back
    start = client.post(CONNECT)
    back = google.consent(start["Location"], email=teacher_email(fake_school))
    assert back.startswith("http://testserver/integrations/google-classroom/callback?")
    response = client.get(back.removeprefix("http://testserver"))

    # then: back on the Integrations page, connected
    assert response.status_code == 302 and response["Location"] == PAGE
    connection = Connection.objects.get(user=school.teacher)
    assert connection.google_email == teacher_email(fake_school)
    assert set(READ_SCOPES) <= set(connection.scopes)
    # the refresh token is stored encrypted only: no column of the row holds it in clear
    refresh_token = token_decrypt(connection.refresh_token_encrypted)
    row = Connection.objects.filter(pk=connection.pk).values().get()
    assert all(refresh_token not in str(value) for value in row.values())
    page = client.get(PAGE)
    assert f"Connected Google Classroom as {teacher_email(fake_school)}" in page.content.decode()
    assert refresh_token not in page.content.decode()

    # and the same callback again (a reused state) is refused, the connection as it was
    again = client.get(back.removeprefix("http://testserver"))
    assert again.status_code == 400
    assert "This sign-in link was used already." in again.context["error"]
    assert Connection.objects.get().refresh_token_encrypted == connection.refresh_token_encrypted


def test_refusing_at_google_connects_nothing(school: School, google: FakeGoogle, fake_school: FakeSchool) -> None:
    client = browser(school.teacher)
    back = google.consent(client.post(CONNECT)["Location"], email=teacher_email(fake_school), approve=False)
    response = client.get(back.removeprefix("http://testserver"))
    assert response.status_code == 400
    assert "You did not allow access; nothing was connected." in response.content.decode()
    assert not Connection.objects.exists()


def test_allowing_posting_asks_google_for_the_announcements_scope(
    school: School, google: FakeGoogle, fake_school: FakeSchool
) -> None:
    # given: connected with the read-only scopes
    client = browser(school.teacher)
    connect(school.teacher, email=teacher_email(fake_school))

    # when
    start = client.post(CONNECT, {"purpose": "post"})
    assert POST_SCOPE in parse_qs(urlsplit(start["Location"]).query)["scope"][0].split()
    back = google.consent(start["Location"], email=teacher_email(fake_school))
    response = client.get(back.removeprefix("http://testserver"), follow=True)

    # then
    assert "Posting class summaries to Google Classroom is allowed now." in response.content.decode()
    assert POST_SCOPE in Connection.objects.get(user=school.teacher).scopes


def test_an_unknown_purpose_is_refused(school: School, configured: None) -> None:
    response = browser(school.teacher).post(CONNECT, {"purpose": "everything"})
    assert response.status_code == 400
    assert not ConsentRequest.objects.exists()


# SECTION: sync now


def test_sync_now_queues_a_job_the_page_follows(connected: School) -> None:
    client = browser(connected.teacher)

    # when
    response = client.post(SYNC)

    # then: a job for the teacher's connection; the page shows it, with the URL its script polls
    assert response.status_code == 302 and response["Location"] == PAGE + "#sync"
    job = Job.objects.get(kind=SYNC_JOB)
    connection = Connection.objects.get(user=connected.teacher)
    assert job.params == {"connection_id": connection.pk, "google_course_ids": None}
    assert job.requested_by_id == connected.teacher.pk
    page = client.get(PAGE).content.decode()
    assert f'data-job-url="/api/v1/jobs/{job.pk}"' in page
    assert 'data-job-status="queued"' in page
    assert f"queued (job {job.pk})" in page
    assert client.get(f"/api/v1/jobs/{job.pk}").status_code == 200  # what the script reads

    # and pressing again while it is queued does not queue a second one
    client.post(SYNC)
    assert Job.objects.filter(kind=SYNC_JOB).count() == 1


def test_the_page_shows_the_last_jobs_outcome_without_javascript(connected: School) -> None:
    connection = Connection.objects.get(user=connected.teacher)
    job = Job.objects.create(
        kind=SYNC_JOB,
        status=Job.Status.FAILED,
        progress=40,
        message="1 of 2 courses synced; 7 rows written. 1 failed.",
        finished_at=timezone.now(),
        requested_by=connected.teacher,
    )
    Connection.objects.filter(pk=connection.pk).update(last_sync_job=job)
    page = browser(connected.teacher).get(PAGE).content.decode()
    assert 'data-job-status="failed"' in page
    assert "1 of 2 courses synced; 7 rows written. 1 failed." in page


def test_sync_this_course(connected: School) -> None:
    response = browser(connected.teacher).post(SYNC, {"google_course_id": MATH})
    assert response.status_code == 302
    assert Job.objects.get(kind=SYNC_JOB).params["google_course_ids"] == [MATH]


@pytest.mark.parametrize(("role", "google_course_id"), [("teacher", HISTORY), ("teacher", MISSING), ("admin", "")])
def test_syncing_what_you_do_not_have_is_404(connected: School, role: str, google_course_id: str) -> None:
    body = {"google_course_id": google_course_id} if google_course_id else {}
    assert browser(getattr(connected, role)).post(SYNC, body).status_code == 404
    assert not Job.objects.exists()


def test_a_connection_needing_reconnection_does_not_sync(connected: School) -> None:
    Connection.objects.filter(user=connected.teacher).update(status=Connection.Status.NEEDS_RECONNECT)
    response = browser(connected.teacher).post(SYNC)
    assert response.status_code == 400
    assert "needs reconnecting" in response.context["error"]
    assert not Job.objects.exists()


def test_sync_is_a_post(connected: School) -> None:
    assert browser(connected.teacher).get(SYNC).status_code == 405


# SECTION: disconnecting


def test_disconnecting_asks_first(connected: School) -> None:
    response = browser(connected.teacher).get(DISCONNECT)
    assert response.status_code == 200
    page = response.content.decode()
    assert "data-confirm-disconnect" in page and "teacher@school.example" in page
    assert Connection.objects.filter(user=connected.teacher).exists()


def test_disconnecting_revokes_at_google_and_says_so(
    school: School, google: FakeGoogle, fake_school: FakeSchool
) -> None:
    # given: a connection with tokens the fake Google granted, and a synced class
    tokens = google.grant(teacher_email(fake_school))
    connection = connect(school.teacher, refresh_token=tokens["refresh_token"], email=teacher_email(fake_school))
    synced(connection, MATH, school.course)

    # when
    response = browser(school.teacher).post(DISCONNECT, follow=True)

    # then
    assert "Google confirmed the access is revoked." in response.content.decode()
    assert not Connection.objects.exists() and not SyncedCourse.objects.exists()
    assert Course.objects.filter(pk=school.course.pk).exists()  # the class stays in EduPath


def test_disconnecting_when_google_does_not_answer_still_forgets_and_says_so(connected: School) -> None:
    # Google's revoke endpoint is unreachable in the test settings (127.0.0.1:9)
    response = browser(connected.teacher).post(DISCONNECT, follow=True)
    assert "Google did not confirm revoking the access" in response.content.decode()
    assert not Connection.objects.filter(user=connected.teacher).exists()


def test_nothing_to_disconnect_is_404(connected: School) -> None:
    assert browser(connected.admin).get(DISCONNECT).status_code == 404
    assert browser(connected.admin).post(DISCONNECT).status_code == 404


# SECTION: the class summary


def test_the_preview_shows_the_text_exactly_as_it_will_be_posted(connected: School) -> None:
    response = browser(connected.teacher).get(summary_url(MATH))
    expected = class_summary(course=connected.course, now=timezone.now())["text"]
    assert response.context["preview"]["text"] == expected
    page = response.content.decode()
    assert f'<pre class="summary-text" data-summary-text>{expected}</pre>' in page
    assert "data-no-posts" in page
    # not allowed to post yet: the page asks for the permission instead of offering to post
    assert "data-post-form" not in page and "data-allow-posting" in page


def test_posting_without_the_permission_says_what_to_do(connected: School) -> None:
    text = class_summary(course=connected.course, now=timezone.now())["text"]
    response = browser(connected.teacher).post(summary_url(MATH), {"text": text})
    assert response.status_code == 400
    assert "Allow posting announcements first" in response.context["error"]
    assert not PostedSummary.objects.exists()


def test_an_administrator_sees_the_preview_but_does_not_post_as_the_teacher(connected: School) -> None:
    Connection.objects.filter(user=connected.teacher).update(scopes=[*READ_SCOPES, POST_SCOPE])
    client = browser(connected.admin)
    page = client.get(summary_url(MATH)).content.decode()
    assert "data-not-owner" in page and "data-post-form" not in page
    text = class_summary(course=connected.course, now=timezone.now())["text"]
    assert client.post(summary_url(MATH), {"text": text}).status_code == 403
    assert not PostedSummary.objects.exists()


def test_figures_changed_since_the_preview_are_not_posted(connected: School) -> None:
    Connection.objects.filter(user=connected.teacher).update(scopes=[*READ_SCOPES, POST_SCOPE])
    response = browser(connected.teacher).post(summary_url(MATH), {"text": "An older preview."})
    assert response.status_code == 409
    assert "changed since this preview" in response.context["error"]
    assert not PostedSummary.objects.exists()


def test_posting_leaves_a_draft_in_classroom_and_lists_it(
    school: School, google: FakeGoogle, fake_school: FakeSchool
) -> None:
    # given: the teacher connected the fake school's teacher account with the announcements permission, and one
    # of its Google courses is synced into the teacher's class
    google_course_id = next(iter(fake_school.courses))
    tokens = google.grant(teacher_email(fake_school))
    connection = connect(
        school.teacher,
        scopes=(*READ_SCOPES, POST_SCOPE),
        refresh_token=tokens["refresh_token"],
        email=teacher_email(fake_school),
    )
    synced(connection, google_course_id, school.course)
    client = browser(school.teacher)
    preview = client.get(summary_url(google_course_id))
    assert "data-post-form" in preview.content.decode()

    # when
    response = client.post(summary_url(google_course_id), {"text": preview.context["preview"]["text"]}, follow=True)

    # then: a draft announcement in Classroom with exactly the previewed text, listed on the page
    posted = PostedSummary.objects.get()
    [announcement] = fake_school.announcements[google_course_id]
    assert announcement["text"] == posted.text == preview.context["preview"]["text"]
    assert announcement["state"] == "DRAFT"
    page = response.content.decode()
    assert f'data-posted="{posted.google_announcement_id}"' in page
    assert f"as a draft announcement ({posted.google_announcement_id})" in page
    assert [post.pk for post in response.context["posts"]] == [posted.pk]


def test_a_course_not_in_edupath_yet_has_no_summary(connected: School) -> None:
    synced(Connection.objects.get(user=connected.teacher), "644444444444", None, status="pending")
    assert browser(connected.teacher).get(summary_url("644444444444")).status_code == 404


def test_an_unused_class_is_summarised_too(connected: School) -> None:
    # a class with nobody in it: the page still shows a text (no division by zero, no 500)
    empty = CourseFactory.create(organization=connected.organization, code="EMPTY-1")
    synced(Connection.objects.get(user=connected.teacher), "655555555555", empty)
    response = browser(connected.teacher).get(summary_url("655555555555"))
    assert response.status_code == 200
    assert "0 of 0 students were active." in response.context["preview"]["text"]


# SECTION: the page's cost


# the session, the user, their connection, its courses (administrators: every connection with its failed courses
# instead) and the organisation's time zone
@pytest.mark.parametrize(("role", "queries"), [("teacher", 5), ("admin", 6)])
def test_the_page_reads_a_fixed_number_of_queries(
    connected: School, role: str, queries: int, django_assert_num_queries: Any
) -> None:
    # given: more courses and connections do not add queries
    connection = Connection.objects.get(user=connected.teacher)
    for number in range(3):
        synced(connection, f"6700000000{number:02d}", None, name=f"Course {number}", status="failed")
    client = browser(getattr(connected, role))
    client.get(PAGE)  # the session and the user, read once
    with django_assert_num_queries(queries):
        assert client.get(PAGE).status_code == 200

"""The fake Google is only worth trusting if the real client libraries accept it: these tests drive it with
google-api-python-client (bundled discovery document), google-auth and google-auth-oauthlib, and check the fake
school's data for the invariants the connector will rely on. No database: nothing here touches Django."""

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import google_auth_httplib2
import httplib2
import pytest
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import Resource, build
from googleapiclient.errors import HttpError
from oauthlib.oauth2.rfc6749.errors import AccessDeniedError, InvalidGrantError

from tests.google_classroom.fake_google import ANNOUNCEMENTS_SCOPE, DEFAULT_SCOPES, FakeGoogle
from tests.google_classroom.fake_school import (
    FakeSchool,
    due_milliseconds,
    parse_rfc3339,
    school_generate,
    to_milliseconds,
)

TEACHER = "teacher0@school.example"
REDIRECT_URI = "http://testserver/google/callback"
READ_SCOPES = [scope for scope in DEFAULT_SCOPES if scope != ANNOUNCEMENTS_SCOPE]


@pytest.fixture
def school() -> FakeSchool:
    return school_generate(courses=6, students_per_course=8, course_work_per_course=5, teachers=3, archived=1)


@pytest.fixture
def google(school: FakeSchool) -> Iterator[FakeGoogle]:
    with FakeGoogle(school) as fake:
        yield fake
    assert fake.errors == []  # nothing blew up inside the fake


def classroom(google: FakeGoogle, refresh_token: str, *, timeout: float | None = None) -> Resource:
    credentials = Credentials(
        token=None,
        refresh_token=refresh_token,
        token_uri=google.token_uri,
        client_id=google.client_id,
        client_secret=google.client_secret,
    )
    if timeout is None:
        return build(
            "classroom",
            "v1",
            credentials=credentials,
            static_discovery=True,
            client_options={"api_endpoint": google.classroom_endpoint},
        )
    http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=timeout))
    return build(
        "classroom", "v1", http=http, static_discovery=True, client_options={"api_endpoint": google.classroom_endpoint}
    )


def list_all(request_for_page: Any, key: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = None
    while True:
        answer = request_for_page(token).execute()
        items.extend(answer.get(key, []))
        token = answer.get("nextPageToken")
        if not token:
            return items


def raw_get(google: FakeGoogle, path: str, query: list[tuple[str, str]], access_token: str) -> tuple[int, Any]:
    """A request the client library would refuse to build (it validates enums and parameter names itself)."""
    url = f"{google.base_url}{path}?{urllib.parse.urlencode(query)}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {access_token}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - the local fake
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def teacher0_course_ids(school: FakeSchool) -> list[str]:
    teacher = school.user_by_email(TEACHER)
    assert teacher is not None
    return school.teacher_course_ids(teacher["id"])


# -- the fake school --------------------------------------------------------------------------------------------
def test_generated_school_is_deterministic_and_shaped_like_the_brief(school: FakeSchool) -> None:
    again = school_generate(courses=6, students_per_course=8, course_work_per_course=5, teachers=3, archived=1)

    assert again.courses == school.courses
    assert again.submissions == school.submissions
    assert len(school.courses) == 6
    assert sum(len(items) for items in school.submissions.values()) == 6 * 8 * 5
    assert [course["courseState"] for course in school.courses.values()].count("ARCHIVED") == 1
    first_course = next(iter(school.courses))
    assert first_course in teacher0_course_ids(school)
    assert len(teacher0_course_ids(school)) >= 2  # teachers teach several courses
    enrolments = [student["userId"] for students in school.students.values() for student in students]
    assert len(enrolments) == len(set(enrolments)) == 48  # each student in exactly one course
    assert all(
        student["profile"]["emailAddress"].endswith("@school.example") for student in school.students[first_course]
    )


def test_every_submission_history_is_consistent_with_its_state() -> None:
    school = school_generate(courses=10, students_per_course=20, course_work_per_course=10)
    states = set()
    for (course_id, course_work_id), submissions in school.submissions.items():
        item = school.course_work_by_id(course_id, course_work_id)
        assert item is not None
        due = due_milliseconds(item)
        for submission in submissions:
            states.add(submission["state"])
            history = submission["submissionHistory"]
            state_entries = [entry["stateHistory"] for entry in history if "stateHistory" in entry]
            stamps = [
                entry.get("stateHistory", {}).get("stateTimestamp") or entry["gradeHistory"]["gradeTimestamp"]
                for entry in history
            ]
            assert state_entries[0]["state"] == "CREATED"
            assert stamps == sorted(stamps)  # in order
            assert submission["updateTime"] == stamps[-1]
            assert parse_rfc3339(submission["creationTime"]) >= parse_rfc3339(item["creationTime"])
            expected_last = {"NEW": "CREATED", "CREATED": "CREATED"}.get(submission["state"], submission["state"])
            assert state_entries[-1]["state"] == expected_last
            turned_in = [entry["stateTimestamp"] for entry in state_entries if entry["state"] == "TURNED_IN"]
            late = bool(turned_in) and due is not None and to_milliseconds(parse_rfc3339(turned_in[-1])) > due
            assert submission.get("late", False) is late
            assert "late" not in submission or submission["late"] is True  # only present when true
            if "assignedGrade" in submission:
                assert submission["state"] == "RETURNED"
                assert 0 <= submission["assignedGrade"] <= item["maxPoints"]
    assert states == {"NEW", "CREATED", "TURNED_IN", "RETURNED", "RECLAIMED_BY_STUDENT"}


def test_change_submissions_moves_work_along_and_bumps_update_time(school: FakeSchool) -> None:
    at = datetime(2026, 12, 20, 9, 0, tzinfo=UTC)
    before = {submission["id"]: submission["state"] for submission in school.all_submissions()}

    changed = school.change_submissions(fraction=0.25, at=at)

    after = [
        submission for submission in school.all_submissions() if submission["updateTime"] == "2026-12-20T09:00:00.000Z"
    ]
    assert changed == len(after) > 0
    for submission in after:
        if before[submission["id"]] in ("TURNED_IN", "RETURNED"):
            assert submission["state"] == "RETURNED"
        else:
            assert submission["state"] == "TURNED_IN"


def test_generator_builds_a_mid_sized_school_quickly() -> None:
    # The benchmark size (200 courses, 120 000 submissions) takes about 2 s here; a fifth of it keeps this cheap.
    started = time.perf_counter()
    school = school_generate(courses=40, students_per_course=30, course_work_per_course=20)
    assert sum(len(items) for items in school.submissions.values()) == 24_000
    assert time.perf_counter() - started < 5


# -- listing through the real client ----------------------------------------------------------------------------
def test_paged_listings_equal_the_school(google: FakeGoogle, school: FakeSchool) -> None:
    service = classroom(google, google.grant(TEACHER)["refresh_token"])

    courses = list_all(lambda token: service.courses().list(teacherId="me", pageSize=2, pageToken=token), "courses")
    assert [course["id"] for course in courses] == teacher0_course_ids(school)
    course_id = courses[0]["id"]
    course_work = list_all(
        lambda token: service.courses().courseWork().list(courseId=course_id, pageSize=2, pageToken=token),
        "courseWork",
    )
    expected = sorted(school.course_work[course_id], key=lambda item: item["updateTime"], reverse=True)
    assert course_work == expected  # default order: updateTime desc, as Google
    submissions = list_all(
        lambda token: service.courses()
        .courseWork()
        .studentSubmissions()
        .list(courseId=course_id, courseWorkId="-", pageSize=7, pageToken=token),
        "studentSubmissions",
    )
    expected_ids = {
        submission["id"]
        for item in school.course_work[course_id]
        for submission in school.submissions[(course_id, item["id"])]
    }
    assert {submission["id"] for submission in submissions} == expected_ids
    assert len(submissions) == 40
    students = service.courses().students().list(courseId=course_id).execute()["students"]
    assert students == school.students[course_id]
    assert service.courses().topics().list(courseId=course_id).execute()["topic"] == school.topics[course_id]
    assert service.userProfiles().get(userId="me").execute()["emailAddress"] == TEACHER
    assert [request.method_id for request in google.requests][-2:] == [
        "classroom.courses.topics.list",
        "classroom.userProfiles.get",
    ]


def test_filters_and_google_quirks(google: FakeGoogle, school: FakeSchool) -> None:
    service = classroom(google, google.grant(TEACHER)["refresh_token"])
    course_id = teacher0_course_ids(school)[0]
    submissions = service.courses().courseWork().studentSubmissions()

    late = submissions.list(courseId=course_id, courseWorkId="-", late="LATE_ONLY").execute()
    returned = submissions.list(courseId=course_id, courseWorkId="-", states=["RETURNED", "TURNED_IN"]).execute()
    archived = service.courses().list(teacherId="me", courseStates=["ARCHIVED"]).execute()
    ascending = service.courses().courseWork().list(courseId=course_id, orderBy="updateTime asc").execute()
    trimmed = service.courses().courseWork().list(courseId=course_id, fields="courseWork(id,title)").execute()

    assert all(submission["late"] for submission in late.get("studentSubmissions", []))
    assert {submission["state"] for submission in returned["studentSubmissions"]} <= {"RETURNED", "TURNED_IN"}
    teacher_archived = [cid for cid in teacher0_course_ids(school) if school.courses[cid]["courseState"] == "ARCHIVED"]
    # Google leaves an empty list out altogether: {} rather than {"courses": []}.
    assert archived == ({"courses": [school.courses[cid] for cid in teacher_archived]} if teacher_archived else {})
    stamps = [item["updateTime"] for item in ascending["courseWork"]]
    assert stamps == sorted(stamps)
    assert all(set(item) == {"id", "title"} for item in trimmed["courseWork"])


def test_a_course_the_user_does_not_teach_is_not_found(google: FakeGoogle, school: FakeSchool) -> None:
    service = classroom(google, google.grant(TEACHER)["refresh_token"])
    other = next(course_id for course_id in school.courses if course_id not in teacher0_course_ids(school))

    with pytest.raises(HttpError) as error:
        service.courses().courseWork().list(courseId=other).execute()

    assert error.value.status_code == 404
    assert json.loads(error.value.content)["error"]["status"] == "NOT_FOUND"


# -- validation against the discovery document -------------------------------------------------------------------
def test_unknown_parameters_and_bad_enum_values_are_refused_and_recorded(
    google: FakeGoogle, school: FakeSchool
) -> None:
    access_token = google.grant(TEACHER)["access_token"]
    course_id = teacher0_course_ids(school)[0]
    path = f"/v1/courses/{course_id}/courseWork/-/studentSubmissions"

    unknown = raw_get(google, path, [("updatedMin", "2026-09-01T00:00:00Z")], access_token)
    bad_enum = raw_get(google, path, [("states", "GRADED")], access_token)
    single_given_twice = raw_get(google, path, [("late", "LATE_ONLY"), ("late", "NOT_LATE_ONLY")], access_token)
    fine = raw_get(google, path, [("states", "RETURNED"), ("states", "TURNED_IN"), ("alt", "json")], access_token)
    bad_page = raw_get(google, path, [("pageToken", "not-a-token")], access_token)
    no_such_method = raw_get(google, f"/v1/courses/{course_id}/grades", [], access_token)

    assert unknown[0] == bad_enum[0] == single_given_twice[0] == bad_page[0] == 400
    assert unknown[1]["error"]["status"] == "INVALID_ARGUMENT"
    assert fine[0] == 200
    assert no_such_method[0] == 404
    assert len(google.violations) == 5
    assert "updatedMin" in google.violations[0]
    assert "GRADED" in google.violations[1]


def test_a_page_token_only_works_for_the_same_query(google: FakeGoogle, school: FakeSchool) -> None:
    service = classroom(google, google.grant(TEACHER)["refresh_token"])
    course_id = teacher0_course_ids(school)[0]
    submissions = service.courses().courseWork().studentSubmissions()
    token = submissions.list(courseId=course_id, courseWorkId="-", pageSize=5).execute()["nextPageToken"]

    with pytest.raises(HttpError) as error:
        submissions.list(courseId=course_id, courseWorkId="-", pageSize=5, states="RETURNED", pageToken=token).execute()

    assert error.value.status_code == 400
    assert len(google.violations) == 1


def test_requests_without_a_valid_token_are_unauthenticated(google: FakeGoogle) -> None:
    status, body = raw_get(google, "/v1/courses", [], "ya29.made-up")

    assert status == 401
    assert body == {
        "error": {
            "code": 401,
            "message": "Request had invalid authentication credentials.",
            "status": "UNAUTHENTICATED",
        }
    }


# -- OAuth ------------------------------------------------------------------------------------------------------
def start_flow(google: FakeGoogle, scopes: list[str]) -> tuple[Flow, str]:
    flow = Flow.from_client_config(
        google.client_config(redirect_uri=REDIRECT_URI), scopes=scopes, redirect_uri=REDIRECT_URI
    )
    url, _state = flow.authorization_url(access_type="offline", prompt="consent", include_granted_scopes="true")
    return flow, url


def test_consent_token_refresh_revoke_cycle(google: FakeGoogle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    flow, url = start_flow(google, READ_SCOPES)

    redirect = google.consent(url, email=TEACHER)
    token = flow.fetch_token(authorization_response=redirect)
    credentials = flow.credentials
    service = classroom(google, credentials.refresh_token)
    assert service.userProfiles().get(userId="me").execute()["emailAddress"] == TEACHER
    google.expire_access_tokens()
    # google-auth refreshes on the 401 and retries: the expired token does not surface.
    assert service.courses().list(teacherId="me").execute()["courses"]

    assert set(token["scope"]) == set(READ_SCOPES)
    assert google.consents[0]["code_challenge_method"] == "S256"
    assert google.consents[0]["access_type"] == "offline"
    form = urllib.parse.urlencode({"token": credentials.refresh_token}).encode()
    revoked = urllib.request.urlopen(urllib.request.Request(google.revoke_uri, data=form))  # noqa: S310 - the fake
    assert revoked.status == 200
    assert google.revoked == [credentials.refresh_token]
    with pytest.raises(RefreshError):
        service.courses().list(teacherId="me").execute()


def test_wrong_pkce_verifier_reused_code_and_denial_are_refused(
    google: FakeGoogle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    flow, url = start_flow(google, READ_SCOPES)
    redirect = google.consent(url, email=TEACHER)
    right_verifier = flow.code_verifier

    flow.code_verifier = "x" * 64
    with pytest.raises(InvalidGrantError):
        flow.fetch_token(authorization_response=redirect)
    flow.code_verifier = right_verifier
    flow.fetch_token(authorization_response=redirect)
    with pytest.raises(InvalidGrantError):
        flow.fetch_token(authorization_response=redirect)  # a code is single use

    denied_flow, denied_url = start_flow(google, READ_SCOPES)
    denied = google.consent(denied_url, email=TEACHER, approve=False)
    assert "error=access_denied" in denied
    with pytest.raises(AccessDeniedError):
        denied_flow.fetch_token(authorization_response=denied)
    with pytest.raises(ValueError, match="client"):
        google.consent(url.replace("client_id=test-client", "client_id=someone-else"), email=TEACHER)


def test_revoke_all_behind_the_connectors_back(google: FakeGoogle) -> None:
    service = classroom(google, google.grant(TEACHER)["refresh_token"])
    service.courses().list().execute()

    google.revoke_all(TEACHER)

    with pytest.raises(RefreshError):
        service.courses().list().execute()


def test_announcements_need_the_announcements_scope(google: FakeGoogle, school: FakeSchool) -> None:
    course_id = teacher0_course_ids(school)[0]
    read_only = classroom(google, google.grant(TEACHER, scopes=READ_SCOPES)["refresh_token"])
    full = classroom(google, google.grant(TEACHER)["refresh_token"])

    with pytest.raises(HttpError) as error:
        read_only.courses().announcements().create(
            courseId=course_id, body={"text": "Hi", "state": "PUBLISHED"}
        ).execute()
    created = (
        full.courses().announcements().create(courseId=course_id, body={"text": "Hi", "state": "PUBLISHED"}).execute()
    )

    assert error.value.status_code == 403
    assert json.loads(error.value.content)["error"]["status"] == "PERMISSION_DENIED"
    assert created["text"] == "Hi" and created["id"] and created["creationTime"] and created["alternateLink"]
    assert school.announcements[course_id] == [created]
    assert full.courses().announcements().list(courseId=course_id).execute()["announcements"] == [created]


# -- faults -----------------------------------------------------------------------------------------------------
def test_fail_next_answers_429_with_retry_after_then_recovers(google: FakeGoogle) -> None:
    service = classroom(google, google.grant(TEACHER)["refresh_token"])
    google.fail_next(1, status=429, retry_after=7)

    with pytest.raises(HttpError) as error:
        service.courses().list().execute()
    answer = service.courses().list().execute()

    assert error.value.status_code == 429
    assert error.value.resp["retry-after"] == "7"
    assert json.loads(error.value.content)["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert answer["courses"]


def test_fail_next_can_target_paths(google: FakeGoogle, school: FakeSchool) -> None:
    service = classroom(google, google.grant(TEACHER)["refresh_token"])
    course_id = teacher0_course_ids(school)[0]
    google.fail_next(1, status=503, retry_after=None, paths="/studentSubmissions")

    service.courses().list().execute()
    with pytest.raises(HttpError) as error:
        service.courses().courseWork().studentSubmissions().list(courseId=course_id, courseWorkId="-").execute()

    assert error.value.status_code == 503
    assert "retry-after" not in error.value.resp
    assert json.loads(error.value.content)["error"]["status"] == "UNAVAILABLE"


def test_go_down_after_closes_connections_until_it_comes_back(google: FakeGoogle) -> None:
    service = classroom(google, google.grant(TEACHER)["refresh_token"])
    google.go_down_after(1)

    service.courses().list().execute()
    with pytest.raises(ConnectionError):
        service.courses().list().execute()
    google.come_back()

    assert service.courses().list().execute()["courses"]


def test_stall_next_lets_the_client_time_out_and_stop_ends_it(school: FakeSchool) -> None:
    google = FakeGoogle(school).start()
    service = classroom(google, google.grant(TEACHER)["refresh_token"], timeout=0.3)
    google.stall_next(1, seconds=30)

    with pytest.raises(TimeoutError):
        service.courses().list().execute()
    started = time.perf_counter()
    google.stop()

    assert time.perf_counter() - started < 3


def test_corrupt_sends_malformed_answers(google: FakeGoogle, school: FakeSchool) -> None:
    service = classroom(google, google.grant(TEACHER)["refresh_token"])
    course_id = teacher0_course_ids(school)[0]

    def unknown_state(answer: dict[str, Any]) -> dict[str, Any]:
        return {"courseWork": [{**item, "state": "FROM_THE_FUTURE"} for item in answer["courseWork"]]}

    google.corrupt("classroom.courses.courseWork.list", unknown_state)
    answer = service.courses().courseWork().list(courseId=course_id).execute()

    assert {item["state"] for item in answer["courseWork"]} == {"FROM_THE_FUTURE"}
    assert school.course_work[course_id][0]["state"] == "PUBLISHED"  # the school itself is untouched

"""The one way EduPath talks to Google for Classroom: the OAuth consent and token exchange (google-auth-oauthlib),
token refresh and revocation (google-auth), and the Classroom API through google-api-python-client built from the
discovery document bundled with the library (`static_discovery=True`: no discovery fetch at run time).

Every API call goes through `ClassroomClient.call`, which retries 429 and 5xx answers and dropped connections with
exponential backoff and jitter, honouring Retry-After (up to GOOGLE_RETRY_MAX_SECONDS), and turns what Google says
into our errors: `AccessRevoked` (the token no longer works: reconnect, never retry), `GoogleRefused` (403/404/400:
this request will not succeed as asked) and `GoogleUnavailable` (still failing after the retries). No token is
ever logged: log lines name the discovery method and the status only.
"""

import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httplib2
import requests
from django.conf import settings
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

logger = logging.getLogger(__name__)

# Read-only scopes for the sync (what courses.list, topics, rosters with emails, course work, materials and
# students' submissions need), and the one scope posting a summary back needs, asked for only when first used.
READ_SCOPES = (
    "https://www.googleapis.com/auth/classroom.courses.readonly",
    "https://www.googleapis.com/auth/classroom.rosters.readonly",
    "https://www.googleapis.com/auth/classroom.profile.emails",
    "https://www.googleapis.com/auth/classroom.topics.readonly",
    "https://www.googleapis.com/auth/classroom.coursework.students.readonly",
    "https://www.googleapis.com/auth/classroom.courseworkmaterials.readonly",
)
POST_SCOPE = "https://www.googleapis.com/auth/classroom.announcements"

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
# Google may answer with more scopes than asked (include_granted_scopes): that is not an error for us.
os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")


class GoogleError(Exception):
    """Something about Google that a person can act on; the message says what."""


class NotConfigured(GoogleError):
    pass


class AccessRevoked(GoogleError):
    """The refresh token was revoked or expired: the teacher must connect again."""


class GoogleRefused(GoogleError):
    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class GoogleUnavailable(GoogleError):
    """Google (or the network to it) kept failing through every retry."""


class ConsentFailed(GoogleError):
    """The code could not be exchanged (wrong verifier, reused or expired code)."""


def configured() -> bool:
    return bool(settings.GOOGLE_CLIENT_ID and settings.GOOGLE_CLIENT_SECRET and settings.GOOGLE_TOKEN_KEYS)


def _client_config() -> dict[str, Any]:
    if not configured():
        raise NotConfigured(
            "Google Classroom is not set up on this server: GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and "
            "GOOGLE_TOKEN_KEYS must be set (README, 'Google Classroom')."
        )
    return {
        "web": {
            "client_id": settings.GOOGLE_CLIENT_ID,
            "client_secret": settings.GOOGLE_CLIENT_SECRET,
            "auth_uri": settings.GOOGLE_AUTH_URI,
            "token_uri": settings.GOOGLE_TOKEN_URI,
            "redirect_uris": [settings.GOOGLE_REDIRECT_URI],
        }
    }


def _flow(scopes: list[str], *, state: str | None, code_verifier: str) -> Flow:
    return Flow.from_client_config(
        _client_config(),
        scopes=scopes,
        state=state,
        redirect_uri=settings.GOOGLE_REDIRECT_URI,
        code_verifier=code_verifier,
        autogenerate_code_verifier=False,
    )


def consent_url(*, scopes: list[str], state: str, code_verifier: str, login_hint: str = "") -> str:
    """Google's consent screen for `scopes`, with our `state` and the S256 challenge of `code_verifier`. Offline
    access (a refresh token), and `prompt=consent` so Google issues one even to someone who consented before."""
    extra = {"login_hint": login_hint} if login_hint else {}
    try:
        url, _state = _flow(scopes, state=state, code_verifier=code_verifier).authorization_url(
            access_type="offline", include_granted_scopes="true", prompt="consent", state=state, **extra
        )
    except OAuth2Error as error:  # e.g. an http:// GOOGLE_AUTH_URI (oauthlib insists on TLS)
        raise NotConfigured(f"Google's consent address is not usable ({error.error}): check GOOGLE_AUTH_URI.") from None
    return str(url)


@dataclass(frozen=True)
class Grant:
    refresh_token: str
    access_token: str
    scopes: list[str]


def code_exchange(*, code: str, scopes: list[str], state: str, code_verifier: str) -> Grant:
    """Exchange the consent's code (with the PKCE verifier) for tokens."""
    flow = _flow(scopes, state=state, code_verifier=code_verifier)
    try:
        token = flow.fetch_token(code=code, timeout=settings.GOOGLE_TIMEOUT_SECONDS)
    except OAuth2Error as error:
        raise ConsentFailed(f"Google did not accept the consent ({error.error}); please connect again.") from None
    except (requests.RequestException, OSError):
        raise GoogleUnavailable("Google's sign-in service did not answer; please try again.") from None
    refresh_token = token.get("refresh_token")
    if not refresh_token:
        raise ConsentFailed("Google gave no refresh token; please connect again and allow offline access.")
    granted = token.get("scope") or scopes
    return Grant(
        refresh_token=str(refresh_token),
        access_token=str(token["access_token"]),
        scopes=granted.split() if isinstance(granted, str) else list(granted),
    )


def token_revoke(refresh_token: str) -> bool:
    """Ask Google to revoke the token (and every access token minted from it). False when Google could not be
    reached or did not know the token: the caller deletes our copy either way."""
    try:
        answer = requests.post(
            settings.GOOGLE_REVOKE_URI,
            data={"token": refresh_token},
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=settings.GOOGLE_TIMEOUT_SECONDS,
        )
    except requests.RequestException:
        logger.warning("google token revocation failed: no answer")
        return False
    if answer.status_code != 200:
        logger.warning("google token revocation answered %s", answer.status_code)
    return answer.status_code == 200


def retry_delay(attempt: int, retry_after: str | None) -> float:
    """Seconds to wait before retry `attempt` (0-based): base * 2^attempt with full jitter, at least what
    Retry-After asks (seconds), never more than the cap."""
    backoff = settings.GOOGLE_RETRY_BASE_SECONDS * (2**attempt) * random.uniform(0.5, 1.5)  # noqa: S311 (jitter)
    wanted = 0.0
    if retry_after:
        try:
            wanted = float(retry_after)
        except ValueError:
            wanted = 0.0
    return float(min(max(backoff, wanted), settings.GOOGLE_RETRY_MAX_SECONDS))


# How the retry loop waits; a benchmark or test may count the waits.
sleep: Callable[[float], None] = time.sleep


class ClassroomClient:
    """The Classroom API for one connection's refresh token."""

    def __init__(self, *, refresh_token: str, scopes: list[str]) -> None:
        self._refresh_token, self._scopes = refresh_token, scopes
        config = _client_config()["web"]
        self.credentials = Credentials(
            token=None,
            refresh_token=refresh_token,
            token_uri=config["token_uri"],
            client_id=config["client_id"],
            client_secret=config["client_secret"],
            scopes=scopes,
        )
        http = AuthorizedHttp(self.credentials, http=httplib2.Http(timeout=settings.GOOGLE_TIMEOUT_SECONDS))
        self.service = build(
            "classroom",
            "v1",
            http=http,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": settings.GOOGLE_CLASSROOM_ENDPOINT},
        )
        self.requests = 0  # HTTP requests sent, retries included
        # The library builds a resource's methods from the discovery document each time one is asked for (~8 ms);
        # built once here.
        courses = self.service.courses()
        course_work = courses.courseWork()
        self._courses, self._topics, self._teachers, self._students = (
            courses,
            courses.topics(),
            courses.teachers(),
            courses.students(),
        )
        self._course_work, self._materials, self._submissions = (
            course_work,
            courses.courseWorkMaterials(),
            course_work.studentSubmissions(),
        )
        self._announcements, self._profiles = courses.announcements(), self.service.userProfiles()

    def copy(self) -> "ClassroomClient":
        """Another client for the same account (for another thread: the HTTP library is not thread-safe)."""
        return ClassroomClient(refresh_token=self._refresh_token, scopes=self._scopes)

    def call(self, request: Any) -> dict[str, Any]:
        """Execute one API request with the retry policy (module docstring)."""
        method = getattr(request, "methodId", "classroom")
        for attempt in range(settings.GOOGLE_RETRIES + 1):
            last = attempt == settings.GOOGLE_RETRIES
            self.requests += 1
            try:
                answer = request.execute(num_retries=0)
            except HttpError as error:
                status = int(error.resp.status)
                if status == 401:
                    raise AccessRevoked("Google no longer accepts this connection; please reconnect.") from None
                if status in RETRIED_STATUSES and not last:
                    delay = retry_delay(attempt, error.resp.get("retry-after"))
                    logger.info("google %s answered %s; retrying in %.2f s", method, status, delay)
                    sleep(delay)
                    continue
                if status in RETRIED_STATUSES:
                    raise GoogleUnavailable(
                        f"Google Classroom kept failing ({status}) after {attempt + 1} attempts."
                    ) from None
                raise GoogleRefused(
                    f"Google Classroom refused {method} ({status}): {error.reason}", status=status
                ) from None
            except RefreshError:
                raise AccessRevoked("Google no longer accepts this connection; please reconnect.") from None
            except (TimeoutError, TransportError, httplib2.HttpLib2Error, ConnectionError, OSError) as error:
                if last:
                    raise GoogleUnavailable(
                        f"Google Classroom did not answer ({type(error).__name__}) after {attempt + 1} attempts."
                    ) from None
                delay = retry_delay(attempt, None)
                logger.info("google %s: %s; retrying in %.2f s", method, type(error).__name__, delay)
                sleep(delay)
                continue
            if not isinstance(answer, dict):
                raise GoogleRefused(f"Google Classroom answered {method} with something that is not JSON.", status=200)
            return answer
        raise AssertionError("unreachable")

    def pages(self, list_method: Callable[..., Any], field: str, **params: Any) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list method, following nextPageToken."""
        token: str | None = None
        while True:
            answer = self.call(list_method(pageToken=token, **params) if token else list_method(**params))
            rows = answer.get(field, [])
            if not isinstance(rows, list):
                raise GoogleRefused(f"Google Classroom's {field} is not a list.", status=200)
            yield rows
            token = answer.get("nextPageToken")
            if not token:
                return

    def all(self, list_method: Callable[..., Any], field: str, **params: Any) -> list[dict[str, Any]]:
        return [row for page in self.pages(list_method, field, **params) for row in page]

    # -- the resources the connector reads and writes ------------------------------------------------------------
    def me(self) -> dict[str, Any]:
        return self.call(self._profiles.get(userId="me"))

    def courses(self, *, include_archived: bool, taught_only: bool = True) -> list[dict[str, Any]]:
        """The courses the account teaches; with `taught_only` False, every course it may read (for a Workspace
        administrator: the whole domain's)."""
        states = ["ACTIVE", "ARCHIVED"] if include_archived else ["ACTIVE"]
        mine = {"teacherId": "me"} if taught_only else {}
        return self.all(self._courses.list, "courses", courseStates=states, pageSize=100, **mine)

    def topics(self, course_id: str) -> list[dict[str, Any]]:
        return self.all(self._topics.list, "topic", courseId=course_id, pageSize=100)

    def teachers(self, course_id: str) -> list[dict[str, Any]]:
        return self.all(self._teachers.list, "teachers", courseId=course_id, pageSize=100)

    def students(self, course_id: str) -> list[dict[str, Any]]:
        return self.all(self._students.list, "students", courseId=course_id, pageSize=100)

    def course_work(self, course_id: str) -> list[dict[str, Any]]:
        return self.all(
            self._course_work.list,
            "courseWork",
            courseId=course_id,
            courseWorkStates=["PUBLISHED"],
            pageSize=100,
        )

    def materials(self, course_id: str) -> list[dict[str, Any]]:
        return self.all(
            self._materials.list,
            "courseWorkMaterial",
            courseId=course_id,
            courseWorkMaterialStates=["PUBLISHED"],
            pageSize=100,
        )

    def submissions(self, course_id: str) -> list[dict[str, Any]]:
        return self.all(
            self._submissions.list,
            "studentSubmissions",
            courseId=course_id,
            courseWorkId="-",
            pageSize=500,
        )

    def announcement_draft(self, course_id: str, text: str) -> dict[str, Any]:
        body = {"text": text, "state": "DRAFT"}
        return self.call(self._announcements.create(courseId=course_id, body=body))

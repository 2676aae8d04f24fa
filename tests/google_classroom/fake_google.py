"""A small stand-in for Google's Classroom v1 REST API and OAuth 2.0 endpoints, for tests and the benchmark.

The real clients (google-api-python-client with its bundled discovery document, google-auth, google-auth-oauthlib)
talk to it over HTTP. Every Classroom request is checked against that same discovery document: a query parameter
the method does not take, an enum value it does not list, or a path no method has is refused with Google's 400
body and recorded in `violations`, so a connector cannot pass its tests with requests Google would reject.

Behaviour copied from Google on purpose: empty lists are omitted from answers (`{}` rather than
`{"courses": []}`), `nextPageToken` is absent on the last page, page tokens only work for the same query, a refresh
token is only issued for `access_type=offline` on a first consent (or `prompt=consent`), refreshing does not
return a new refresh token, and revoking any token of a grant revokes the whole grant.

Pure Python (no Django), so the benchmark can use it too.
"""

import base64
import binascii
import copy
import hashlib
import json
import re
import secrets
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import googleapiclient

from tests.fake_http import send_answer

from .fake_school import JSON, FakeSchool, due_milliseconds, rfc3339, to_milliseconds

DISCOVERY_PATH = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "classroom.v1.json"

SCOPE_PREFIX = "https://www.googleapis.com/auth/"
ANNOUNCEMENTS_SCOPE = SCOPE_PREFIX + "classroom.announcements"
# What `grant(email)` consents to when no scopes are named: everything a read-and-announce connector asks for.
DEFAULT_SCOPES = (
    SCOPE_PREFIX + "classroom.courses.readonly",
    SCOPE_PREFIX + "classroom.rosters.readonly",
    SCOPE_PREFIX + "classroom.profile.emails",
    SCOPE_PREFIX + "classroom.coursework.students.readonly",
    SCOPE_PREFIX + "classroom.courseworkmaterials.readonly",
    SCOPE_PREFIX + "classroom.topics.readonly",
    ANNOUNCEMENTS_SCOPE,
)
ACCESS_TOKEN_SECONDS = 3599

# Google's own server-side page size caps (what an omitted or oversized pageSize gets).
PAGE_SIZE_MAX = {"classroom.courses.courseWork.studentSubmissions.list": 500}
DEFAULT_PAGE_SIZE_MAX = 100

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
STATUS_MESSAGES = {
    429: "Resource has been exhausted (e.g. check quota).",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
}
NOT_FOUND_MESSAGE = "Requested entity was not found."


class FakeGoogleError(Exception):
    """Raised by a route: becomes Google's error body with this status."""

    def __init__(self, status: int, message: str, *, violation: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.violation = violation


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    method_id: str | None  # the discovery method id, e.g. "classroom.courses.list"; None off the REST API
    status: int
    body: bytes = b""


@dataclass
class Grant:
    """One consent of one user: a refresh token (or none) and the access tokens minted from it."""

    email: str
    user_id: str
    scopes: tuple[str, ...]
    refresh_token: str | None
    access_tokens: set[str] = field(default_factory=set)
    revoked: bool = False


@dataclass
class AccessToken:
    grant: Grant
    expires_at: float  # time.monotonic() seconds


@dataclass
class Consent:
    params: dict[str, str]
    email: str
    approved: bool
    code: str | None = None
    scopes: tuple[str, ...] = ()
    redeemed: bool = False


@dataclass
class _Failure:
    count: int
    status: int
    retry_after: int | None
    paths: str | None


@dataclass
class _Stall:
    count: int
    seconds: float


# -- the discovery document ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiscoveryMethod:
    id: str
    http_method: str
    pattern: re.Pattern[str]
    literal_length: int
    parameters: dict[str, JSON]
    request_schema: str | None


def _load_discovery() -> tuple[JSON, list[DiscoveryMethod]]:
    document: JSON = json.loads(DISCOVERY_PATH.read_text())
    methods: list[DiscoveryMethod] = []

    def walk(resources: JSON) -> None:
        for resource in resources.values():
            for method in resource.get("methods", {}).values():
                template = method.get("flatPath") or method["path"]
                pattern = ""
                for piece in re.split(r"(\{\+?[^}]+\})", template):
                    if piece.startswith("{+"):
                        pattern += f"(?P<{piece[2:-1]}>.+)"
                    elif piece.startswith("{"):
                        pattern += f"(?P<{piece[1:-1]}>[^/:]+)"
                    else:
                        pattern += re.escape(piece)
                methods.append(
                    DiscoveryMethod(
                        id=method["id"],
                        http_method=method["httpMethod"],
                        pattern=re.compile(f"^{pattern}$"),
                        literal_length=len(re.sub(r"\{[^}]+\}", "", template)),
                        parameters=method.get("parameters", {}),
                        request_schema=(method.get("request") or {}).get("$ref"),
                    )
                )
            walk(resource.get("resources", {}))

    walk(document["resources"])
    # A literal segment beats a path parameter when both match (e.g. "…/courseWork/{id}" vs a fixed name).
    methods.sort(key=lambda method: -method.literal_length)
    return document, methods


_DISCOVERY, _METHODS = _load_discovery()


def _check_value(name: str, spec: JSON, value: str) -> str | None:
    """Why `value` is not acceptable for the parameter, or None."""
    if "enum" in spec and value not in spec["enum"]:
        return f"Invalid value at '{name}' ({spec.get('type', 'string')}), \"{value}\""
    kind = spec.get("type")
    if kind == "integer":
        try:
            int(value)
        except ValueError:
            return f"Invalid value at '{name}' (TYPE_INT32), \"{value}\""
    if kind == "boolean" and value.lower() not in ("true", "false", "1", "0"):
        return f"Invalid value at '{name}' (TYPE_BOOL), \"{value}\""
    return None


# -- partial responses (the `fields` parameter) --------------------------------------------------------------------
def _parse_fields(text: str) -> dict[str, Any]:
    """'nextPageToken,courses(id,name/givenName)' → nested dict; an empty dict means "the whole value"."""
    position = 0

    def parse_list() -> dict[str, Any]:
        nonlocal position
        result: dict[str, Any] = {}
        while position < len(text):
            match = re.match(r"\s*([A-Za-z0-9_$.*]+(?:/[A-Za-z0-9_$.*]+)*)\s*", text[position:])
            if not match:
                raise ValueError(text)
            position += match.end()
            node = result
            parts = match.group(1).split("/")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            leaf = node.setdefault(parts[-1], {})
            if position < len(text) and text[position] == "(":
                position += 1
                leaf.update(parse_list())
                if position >= len(text) or text[position] != ")":
                    raise ValueError(text)
                position += 1
            if position < len(text) and text[position] == ",":
                position += 1
                continue
            break
        return result

    parsed = parse_list()
    if position != len(text):
        raise ValueError(text)
    return parsed


def _apply_fields(value: Any, selection: dict[str, Any]) -> Any:
    if not selection:
        return value
    if isinstance(value, list):
        return [_apply_fields(item, selection) for item in value]
    if not isinstance(value, dict):
        return value
    if "*" in selection:
        return value
    return {key: _apply_fields(value[key], sub) for key, sub in selection.items() if key in value}


# -- the fake ------------------------------------------------------------------------------------------------------
class FakeGoogle:
    """`with FakeGoogle(school) as google:`; point the client at `google.classroom_endpoint` / `google.token_uri`."""

    def __init__(
        self,
        school: FakeSchool,
        *,
        client_id: str = "test-client",
        client_secret: str = "test-secret",  # noqa: S107 - a test fixture, not a secret
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.school = school
        self.client_id = client_id
        self.client_secret = client_secret
        self.now = now or (lambda: datetime.now(UTC))
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.errors: list[str] = []  # tracebacks of exceptions inside the fake (answered 500)
        self.consents: list[dict[str, str]] = []
        self.revoked: list[str] = []
        self._consents_by_code: dict[str, Consent] = {}
        self._grants_by_refresh: dict[str, Grant] = {}
        self._grants: list[Grant] = []
        self._access: dict[str, AccessToken] = {}
        self._failures: list[_Failure] = []
        self._stalls: list[_Stall] = []
        self._down_after: int | None = None
        self._corruptions: dict[str, Callable[[JSON], JSON]] = {}
        # Google Workspace administrators: they read every course of the domain, as members of none.
        self.domain_admins: set[str] = set()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes: dict[str, Callable[[dict[str, str], dict[str, list[str]], Grant, JSON | None], JSON]] = {
            "classroom.courses.list": self._courses_list,
            "classroom.courses.get": self._courses_get,
            "classroom.courses.topics.list": self._topics_list,
            "classroom.courses.teachers.list": self._teachers_list,
            "classroom.courses.students.list": self._students_list,
            "classroom.courses.courseWork.list": self._course_work_list,
            "classroom.courses.courseWork.get": self._course_work_get,
            "classroom.courses.courseWorkMaterials.list": self._materials_list,
            "classroom.courses.courseWork.studentSubmissions.list": self._submissions_list,
            "classroom.courses.announcements.create": self._announcements_create,
            "classroom.courses.announcements.list": self._announcements_list,
            "classroom.userProfiles.get": self._user_profiles_get,
        }

    # -- lifecycle --------------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def classroom_endpoint(self) -> str:
        return self.base_url + "/"

    @property
    def token_uri(self) -> str:
        return self.base_url + "/token"

    @property
    def revoke_uri(self) -> str:
        return self.base_url + "/revoke"

    @property
    def auth_uri(self) -> str:
        return self.base_url + "/o/oauth2/auth"

    @property
    def request_count(self) -> int:
        return len(self.requests)

    def client_config(self, *, redirect_uri: str = "http://testserver/callback") -> JSON:
        """The `{"web": …}` dict google_auth_oauthlib's Flow.from_client_config takes, pointing here."""
        return {
            "web": {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "auth_uri": self.auth_uri,
                "token_uri": self.token_uri,
                "redirect_uris": [redirect_uri],
            }
        }

    def start(self, port: int = 0) -> "FakeGoogle":
        self._release = threading.Event()
        self._server = _Server(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-google", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()  # a stalled answer gives up at once
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeGoogle":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults -----------------------------------------------------------------------------------------------
    def fail_next(self, count: int, status: int = 429, retry_after: int | None = 1, paths: str | None = None) -> None:
        """The next `count` REST requests (whose path contains `paths`, if given) answer `status`."""
        with self._lock:
            self._failures.append(_Failure(count=count, status=status, retry_after=retry_after, paths=paths))

    def stall_next(self, count: int, seconds: float) -> None:
        """The next `count` REST requests answer only after `seconds` (or as soon as the fake stops)."""
        with self._lock:
            self._stalls.append(_Stall(count=count, seconds=seconds))

    def go_down_after(self, requests: int) -> None:
        """After `requests` more REST requests, every request has its connection closed without an answer."""
        with self._lock:
            self._down_after = requests

    def _is_down(self) -> bool:
        with self._lock:
            return self._down_after is not None and self._down_after <= 0

    def come_back(self) -> None:
        with self._lock:
            self._down_after = None

    def corrupt(self, method_id: str, transform: Callable[[JSON], JSON] | None) -> None:
        """Pass successful answers of `method_id` through `transform` (None stops it)."""
        with self._lock:
            if transform is None:
                self._corruptions.pop(method_id, None)
            else:
                self._corruptions[method_id] = transform

    def clear_faults(self) -> None:
        with self._lock:
            self._failures.clear()
            self._stalls.clear()
            self._down_after = None
            self._corruptions.clear()

    # -- OAuth helpers for tests ------------------------------------------------------------------------------
    def grant(self, email: str, *, scopes: Iterable[str] = DEFAULT_SCOPES) -> dict[str, str]:
        """Tokens for `email` as if they had consented (offline access) to `scopes`."""
        profile = self._profile_for(email)
        grant = Grant(
            email=profile["emailAddress"],
            user_id=profile["id"],
            scopes=tuple(scopes),
            refresh_token=_new_refresh_token(),
        )
        with self._lock:
            self._grants.append(grant)
            assert grant.refresh_token is not None
            self._grants_by_refresh[grant.refresh_token] = grant
            access_token = self._mint_access(grant)
        return {"refresh_token": grant.refresh_token, "access_token": access_token}

    def consent(self, authorization_url: str, *, email: str, approve: bool = True) -> str:
        """The user at `email` answers the consent screen; returns where Google redirects the browser."""
        query = {key: values[-1] for key, values in parse_qs(urlsplit(authorization_url).query).items()}
        self.consents.append(query)
        if query.get("client_id") != self.client_id:
            raise ValueError(f"Error 401: invalid_client (unknown client_id {query.get('client_id')!r})")
        redirect_uri = query.get("redirect_uri")
        if not redirect_uri:
            raise ValueError("Error 400: invalid_request (Missing required parameter: redirect_uri)")
        if query.get("response_type") != "code":
            raise ValueError(f"Error 400: invalid_request (response_type {query.get('response_type')!r})")
        if not query.get("scope"):
            raise ValueError("Error 400: invalid_request (Missing required parameter: scope)")
        if "code_challenge" in query and query.get("code_challenge_method") != "S256":
            raise ValueError("Error 400: invalid_request (code_challenge_method must be S256 here)")
        profile = self._profile_for(email)
        separator = "&" if "?" in redirect_uri else "?"
        state = {"state": query["state"]} if "state" in query else {}
        if not approve:
            self._consents_by_code[secrets.token_hex(8)] = Consent(params=query, email=email, approved=False)
            return redirect_uri + separator + urlencode({**state, "error": "access_denied"})
        scopes = tuple(query["scope"].split())
        if query.get("include_granted_scopes") == "true":
            earlier = [
                scope
                for grant in self._grants
                if grant.user_id == profile["id"] and not grant.revoked
                for scope in grant.scopes
            ]
            scopes = tuple(dict.fromkeys([*scopes, *earlier]))
        code = "4/0" + secrets.token_urlsafe(30)
        with self._lock:
            self._consents_by_code[code] = Consent(
                params=query, email=profile["emailAddress"], approved=True, code=code, scopes=scopes
            )
        return redirect_uri + separator + urlencode({**state, "code": code, "scope": " ".join(scopes)})

    def revoke_all(self, email: str) -> None:
        """The user removes the app's access in their Google account (behind the connector's back)."""
        with self._lock:
            for grant in self._grants:
                if grant.email.lower() == email.lower() and not grant.revoked:
                    self._revoke(grant)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far expires now (refresh tokens stay valid)."""
        with self._lock:
            for token in self._access.values():
                token.expires_at = 0.0

    # -- internals: tokens ------------------------------------------------------------------------------------
    def _profile_for(self, email: str) -> JSON:
        profile = self.school.user_by_email(email)
        if profile is None:
            raise ValueError(f"no user {email!r} in the fake school")
        return profile

    def _mint_access(self, grant: Grant) -> str:
        token = "ya29." + secrets.token_urlsafe(40)
        grant.access_tokens.add(token)
        self._access[token] = AccessToken(grant=grant, expires_at=time.monotonic() + ACCESS_TOKEN_SECONDS)
        return token

    def _revoke(self, grant: Grant) -> None:
        grant.revoked = True
        if grant.refresh_token is not None:
            self.revoked.append(grant.refresh_token)
        for token in grant.access_tokens:
            self._access.pop(token, None)

    def _token_endpoint(self, form: dict[str, str], authorization: str | None) -> tuple[int, JSON]:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = ":"
            client_id, _, client_secret = decoded.partition(":")
        if client_id != self.client_id or client_secret != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
        grant_type = form.get("grant_type")
        with self._lock:
            if grant_type == "authorization_code":
                return self._exchange_code(form)
            if grant_type == "refresh_token":
                grant = self._grants_by_refresh.get(form.get("refresh_token", ""))
                if grant is None or grant.revoked:
                    return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
                return 200, {
                    "access_token": self._mint_access(grant),
                    "expires_in": ACCESS_TOKEN_SECONDS,
                    "scope": " ".join(grant.scopes),
                    "token_type": "Bearer",
                }
        return 400, {"error": "unsupported_grant_type", "error_description": f"Invalid grant_type: {grant_type}"}

    def _exchange_code(self, form: dict[str, str]) -> tuple[int, JSON]:
        consent = self._consents_by_code.get(form.get("code", ""))
        if consent is None or not consent.approved:
            return 400, {"error": "invalid_grant", "error_description": "Malformed auth code."}
        if consent.redeemed:
            return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
        if form.get("redirect_uri") != consent.params.get("redirect_uri"):
            return 400, {"error": "redirect_uri_mismatch", "error_description": "Bad Request"}
        challenge = consent.params.get("code_challenge")
        if challenge is not None:
            verifier = form.get("code_verifier")
            if not verifier:
                return 400, {"error": "invalid_grant", "error_description": "Missing code verifier."}
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).decode().rstrip("=") != challenge:
                return 400, {"error": "invalid_grant", "error_description": "Invalid code verifier."}
        consent.redeemed = True
        profile = self._profile_for(consent.email)
        # Google hands out a refresh token only for offline access, and only on a first consent unless the
        # consent screen was forced again with prompt=consent.
        has_live_grant = any(
            grant.user_id == profile["id"] and not grant.revoked and grant.refresh_token for grant in self._grants
        )
        offline = consent.params.get("access_type") == "offline"
        forced = "consent" in consent.params.get("prompt", "").split()
        refresh_token = _new_refresh_token() if offline and (forced or not has_live_grant) else None
        grant = Grant(
            email=profile["emailAddress"], user_id=profile["id"], scopes=consent.scopes, refresh_token=refresh_token
        )
        self._grants.append(grant)
        if refresh_token is not None:
            self._grants_by_refresh[refresh_token] = grant
        answer: JSON = {
            "access_token": self._mint_access(grant),
            "expires_in": ACCESS_TOKEN_SECONDS,
            "scope": " ".join(consent.scopes),
            "token_type": "Bearer",
        }
        if refresh_token is not None:
            answer["refresh_token"] = refresh_token
        return 200, answer

    def _revoke_endpoint(self, token: str) -> tuple[int, JSON]:
        with self._lock:
            grant = self._grants_by_refresh.get(token)
            if grant is None and token in self._access:
                grant = self._access[token].grant
            if grant is None or grant.revoked:
                return 400, {"error": "invalid_token", "error_description": "Token expired or revoked"}
            self._revoke(grant)
        return 200, {}

    # -- internals: REST --------------------------------------------------------------------------------------
    def _take_fault(self, path: str) -> tuple[str, Any]:
        """What happens to this REST request before it is answered: ("down"|"fail"|"stall"|"", detail)."""
        with self._lock:
            if self._down_after is not None:
                if self._down_after <= 0:
                    return "down", None
                self._down_after -= 1
            for failure in self._failures:
                if failure.count > 0 and (failure.paths is None or failure.paths in path):
                    failure.count -= 1
                    self._failures = [entry for entry in self._failures if entry.count > 0]
                    return "fail", failure
            for stall in self._stalls:
                if stall.count > 0:
                    stall.count -= 1
                    self._stalls = [entry for entry in self._stalls if entry.count > 0]
                    return "stall", stall.seconds
        return "", None

    def _match(self, http_method: str, path: str) -> tuple[DiscoveryMethod, dict[str, str]] | None:
        for method in _METHODS:
            if method.http_method != http_method:
                continue
            found = method.pattern.match(path)
            if found:
                return method, found.groupdict()
        return None

    def _validate_query(self, method: DiscoveryMethod, query: dict[str, list[str]]) -> None:
        standard: dict[str, JSON] = _DISCOVERY["parameters"]
        for name, values in query.items():
            spec = method.parameters.get(name)
            if spec is not None and spec.get("location") != "query":
                spec = None
            if spec is None:
                spec = standard.get(name)
            if spec is None:
                raise FakeGoogleError(
                    400,
                    f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter.',
                    violation=True,
                )
            if len(values) > 1 and not spec.get("repeated"):
                raise FakeGoogleError(
                    400, f"Parameter '{name}' is not repeated but was given {len(values)} times", violation=True
                )
            for value in values:
                problem = _check_value(name, spec, value)
                if problem:
                    raise FakeGoogleError(400, problem, violation=True)
        if query.get("alt", ["json"])[-1] != "json":
            raise FakeGoogleError(400, "The fake answers alt=json only", violation=True)

    def _validate_body(self, schema_name: str, body: JSON) -> None:
        schema = _DISCOVERY["schemas"][schema_name]
        properties: JSON = schema.get("properties", {})
        for key, value in body.items():
            spec = properties.get(key)
            if spec is None:
                raise FakeGoogleError(
                    400,
                    f'Invalid JSON payload received. Unknown name "{key}" at '
                    f"'{schema_name[0].lower() + schema_name[1:]}': Cannot find field.",
                    violation=True,
                )
            if "enum" in spec and value not in spec["enum"]:
                raise FakeGoogleError(
                    400,
                    f"Invalid value at '{key}' (type.googleapis.com/google.classroom.v1.{schema_name}), \"{value}\"",
                    violation=True,
                )

    def _authenticate(self, authorization: str | None) -> Grant:
        if authorization and authorization.startswith("Bearer "):
            with self._lock:
                token = self._access.get(authorization[7:])
                if token is not None and token.expires_at > time.monotonic() and not token.grant.revoked:
                    return token.grant
        raise FakeGoogleError(401, "Request had invalid authentication credentials.")

    def answer_rest(
        self, http_method: str, path: str, query: dict[str, list[str]], authorization: str | None, raw_body: bytes
    ) -> tuple[str | None, int, dict[str, str], bytes | None]:
        """(method id, status, headers, body); body None means drop the connection."""
        matched = self._match(http_method, path.lstrip("/"))
        method_id = matched[0].id if matched else None
        kind, detail = self._take_fault(path)
        if kind == "down":
            return method_id, 0, {}, None
        if kind == "fail":
            headers = {"Retry-After": str(detail.retry_after)} if detail.retry_after is not None else {}
            status, error_headers, error_body = _error(detail.status, STATUS_MESSAGES.get(detail.status, "Error"))
            return method_id, status, {**error_headers, **headers}, error_body
        if kind == "stall":
            self._release.wait(detail)
        try:
            if matched is None:
                raise FakeGoogleError(404, f"No Classroom method answers {http_method} {path}", violation=True)
            method, path_params = matched
            self._validate_query(method, query)
            grant = self._authenticate(authorization)
            route = self._routes.get(method.id)
            if route is None:
                raise FakeGoogleError(501, f"The fake does not implement {method.id}")
            body: JSON | None = None
            if method.request_schema is not None:
                try:
                    body = json.loads(raw_body or b"{}")
                except ValueError:
                    raise FakeGoogleError(400, "Invalid JSON payload received.", violation=True) from None
                if not isinstance(body, dict):
                    raise FakeGoogleError(400, "Invalid JSON payload received.", violation=True)
                self._validate_body(method.request_schema, body)
            with self.school.lock:
                answer = route(path_params, query, grant, body)
            transform = self._corruptions.get(method.id)
            if transform is not None:
                # A copy, so a transform that edits in place corrupts the answer but never the school.
                answer = transform(copy.deepcopy(answer))
            if "fields" in query:
                try:
                    answer = _apply_fields(answer, _parse_fields(query["fields"][-1]))
                except ValueError:
                    raise FakeGoogleError(
                        400, f"Invalid field selection {query['fields'][-1]}", violation=True
                    ) from None
        except Exception as error:
            if not isinstance(error, FakeGoogleError):
                # A bug in the fake (or a corrupt() function): answer 500 and keep the traceback for the test.
                with self._lock:
                    self.errors.append(traceback.format_exc())
                error = FakeGoogleError(500, STATUS_MESSAGES[500])
            if error.violation:
                with self._lock:
                    self.violations.append(f"{http_method} {path}?{urlencode(query, doseq=True)}: {error.message}")
            status, headers, content = _error(error.status, error.message)
            return method_id, status, headers, content
        content = json.dumps(answer, separators=(",", ":")).encode()
        return method_id, 200, {"Content-Type": "application/json; charset=UTF-8"}, content

    # -- routes -----------------------------------------------------------------------------------------------
    def _visible_course(self, grant: Grant, course_id: str) -> JSON:
        course = self.school.courses.get(course_id)
        if course is None or not self._is_member(grant.user_id, course_id):
            raise FakeGoogleError(404, NOT_FOUND_MESSAGE)
        return course

    def add_domain_admin(self, email: str, *, given: str = "Ada", family: str = "Admin") -> str:
        """A Workspace administrator of the school's domain (in no course); answers their Google user id."""
        with self.school.lock:
            user_id = self.school.new_numeric_id(21)
            self.school.users[user_id] = {
                "id": user_id,
                "name": {"givenName": given, "familyName": family, "fullName": f"{given} {family}"},
                "emailAddress": email,
            }
        self.domain_admins.add(user_id)
        return user_id

    def _is_member(self, user_id: str, course_id: str) -> bool:
        if user_id in self.domain_admins:
            return True
        return any(t["userId"] == user_id for t in self.school.teachers.get(course_id, ())) or any(
            s["userId"] == user_id for s in self.school.students.get(course_id, ())
        )

    def _is_teacher(self, user_id: str, course_id: str) -> bool:
        return any(t["userId"] == user_id for t in self.school.teachers.get(course_id, ()))

    def _resolve_user(self, grant: Grant, value: str) -> str | None:
        if value == "me":
            return grant.user_id
        if "@" in value:
            profile = self.school.user_by_email(value)
            return profile["id"] if profile else None
        return value

    def _page(self, method_id: str, key: str, items: list[JSON], query: dict[str, list[str]], fingerprint: str) -> JSON:
        limit = PAGE_SIZE_MAX.get(method_id, DEFAULT_PAGE_SIZE_MAX)
        size = int(query.get("pageSize", ["0"])[-1])
        if size < 0:
            raise FakeGoogleError(400, "pageSize must not be negative", violation=True)
        size = min(size or limit, limit)
        offset = 0
        token = query.get("pageToken", [""])[-1]
        if token:
            offset = _decode_page_token(token, fingerprint)
        page = items[offset : offset + size]
        answer: JSON = {}
        if page:
            answer[key] = page
        if offset + size < len(items):
            answer["nextPageToken"] = _encode_page_token(offset + size, fingerprint)
        return answer

    def _courses_list(
        self, params: dict[str, str], query: dict[str, list[str]], grant: Grant, body: JSON | None
    ) -> JSON:
        teacher = self._resolve_user(grant, query["teacherId"][-1]) if "teacherId" in query else None
        student = self._resolve_user(grant, query["studentId"][-1]) if "studentId" in query else None
        states = set(query.get("courseStates", ()))
        courses = []
        for course_id, course in self.school.courses.items():
            if not self._is_member(grant.user_id, course_id):
                continue
            if "teacherId" in query and (teacher is None or not self._is_teacher(teacher, course_id)):
                continue
            if "studentId" in query and (
                student is None or not any(s["userId"] == student for s in self.school.students.get(course_id, ()))
            ):
                continue
            if states and course["courseState"] not in states:
                continue
            courses.append(course)
        return self._page("classroom.courses.list", "courses", courses, query, _fingerprint("courses", query))

    def _courses_get(
        self, params: dict[str, str], query: dict[str, list[str]], grant: Grant, body: JSON | None
    ) -> JSON:
        return self._visible_course(grant, params["id"])

    def _roster_list(
        self,
        method_id: str,
        key: str,
        rows: dict[str, list[JSON]],
        params: dict[str, str],
        query: dict[str, list[str]],
        grant: Grant,
    ) -> JSON:
        course_id = params["courseId"]
        self._visible_course(grant, course_id)
        return self._page(
            method_id, key, list(rows.get(course_id, ())), query, _fingerprint(method_id + course_id, query)
        )

    def _topics_list(
        self, params: dict[str, str], query: dict[str, list[str]], grant: Grant, body: JSON | None
    ) -> JSON:
        return self._roster_list("classroom.courses.topics.list", "topic", self.school.topics, params, query, grant)

    def _teachers_list(
        self, params: dict[str, str], query: dict[str, list[str]], grant: Grant, body: JSON | None
    ) -> JSON:
        return self._roster_list(
            "classroom.courses.teachers.list", "teachers", self.school.teachers, params, query, grant
        )

    def _students_list(
        self, params: dict[str, str], query: dict[str, list[str]], grant: Grant, body: JSON | None
    ) -> JSON:
        return self._roster_list(
            "classroom.courses.students.list", "students", self.school.students, params, query, grant
        )

    def _ordered(self, items: list[JSON], query: dict[str, list[str]], allowed: tuple[str, ...]) -> list[JSON]:
        """Sort by Google's orderBy: 'updateTime desc' (the default), 'dueDate asc,updateTime desc', …"""
        order_by = query.get("orderBy", ["updateTime desc"])[-1]
        keys: list[tuple[str, bool]] = []
        for clause in order_by.split(","):
            parts = clause.split()
            if (
                not parts
                or parts[0] not in allowed
                or len(parts) > 2
                or (len(parts) == 2 and parts[1] not in ("asc", "desc"))
            ):
                raise FakeGoogleError(400, f"Invalid orderBy: {order_by!r}", violation=True)
            keys.append((parts[0], len(parts) == 2 and parts[1] == "desc"))
        ordered = list(items)
        # Stable sorts from the last key to the first give the combined order.
        for name, descending in reversed(keys):
            if name == "updateTime":
                ordered.sort(key=lambda item: item["updateTime"], reverse=descending)
            else:
                # Work without a due date comes last in either direction.
                ordered.sort(key=lambda item: _due_sort_key(item, descending), reverse=descending)
        return ordered

    def _course_work_list(
        self, params: dict[str, str], query: dict[str, list[str]], grant: Grant, body: JSON | None
    ) -> JSON:
        course_id = params["courseId"]
        self._visible_course(grant, course_id)
        states = set(query.get("courseWorkStates", ["PUBLISHED"]))
        items = [item for item in self.school.course_work.get(course_id, ()) if item["state"] in states]
        items = self._ordered(items, query, ("updateTime", "dueDate"))
        method_id = "classroom.courses.courseWork.list"
        return self._page(method_id, "courseWork", items, query, _fingerprint(method_id + course_id, query))

    def _course_work_get(
        self, params: dict[str, str], query: dict[str, list[str]], grant: Grant, body: JSON | None
    ) -> JSON:
        self._visible_course(grant, params["courseId"])
        item = self.school.course_work_by_id(params["courseId"], params["id"])
        if item is None:
            raise FakeGoogleError(404, NOT_FOUND_MESSAGE)
        return item

    def _materials_list(
        self, params: dict[str, str], query: dict[str, list[str]], grant: Grant, body: JSON | None
    ) -> JSON:
        course_id = params["courseId"]
        self._visible_course(grant, course_id)
        states = set(query.get("courseWorkMaterialStates", ["PUBLISHED"]))
        items = [item for item in self.school.materials.get(course_id, ()) if item["state"] in states]
        items = self._ordered(items, query, ("updateTime",))
        method_id = "classroom.courses.courseWorkMaterials.list"
        return self._page(method_id, "courseWorkMaterial", items, query, _fingerprint(method_id + course_id, query))

    def _submissions_list(
        self, params: dict[str, str], query: dict[str, list[str]], grant: Grant, body: JSON | None
    ) -> JSON:
        course_id, course_work_id = params["courseId"], params["courseWorkId"]
        self._visible_course(grant, course_id)
        if course_work_id == "-":
            items = [
                submission
                for item in self.school.course_work.get(course_id, ())
                for submission in self.school.submissions.get((course_id, item["id"]), ())
            ]
        else:
            if self.school.course_work_by_id(course_id, course_work_id) is None:
                raise FakeGoogleError(404, NOT_FOUND_MESSAGE)
            items = list(self.school.submissions.get((course_id, course_work_id), ()))
        user_id = self._resolve_user(grant, query["userId"][-1]) if "userId" in query else None
        if not self._is_teacher(grant.user_id, course_id):
            user_id = grant.user_id  # a student sees only their own work
        if user_id is not None:
            items = [submission for submission in items if submission["userId"] == user_id]
        states = set(query.get("states", ()))
        if states:
            items = [submission for submission in items if submission["state"] in states]
        late = query.get("late", ["LATE_VALUES_UNSPECIFIED"])[-1]
        if late == "LATE_ONLY":
            items = [submission for submission in items if submission.get("late")]
        elif late == "NOT_LATE_ONLY":
            items = [submission for submission in items if not submission.get("late")]
        method_id = "classroom.courses.courseWork.studentSubmissions.list"
        fingerprint = _fingerprint(method_id + course_id + course_work_id, query)
        return self._page(method_id, "studentSubmissions", items, query, fingerprint)

    def _announcements_create(
        self, params: dict[str, str], query: dict[str, list[str]], grant: Grant, body: JSON | None
    ) -> JSON:
        course_id = params["courseId"]
        course = self._visible_course(grant, course_id)
        if ANNOUNCEMENTS_SCOPE not in grant.scopes:
            raise FakeGoogleError(403, "Request had insufficient authentication scopes.")
        if not self._is_teacher(grant.user_id, course_id):
            raise FakeGoogleError(403, "The caller does not have permission")
        assert body is not None
        text = body.get("text", "")
        if not isinstance(text, str) or not text.strip():
            raise FakeGoogleError(400, "text: Announcement text is required.", violation=True)
        stamp = rfc3339(to_milliseconds(self.now()))
        announcement_id = self.school.new_numeric_id(12)
        announcement: JSON = {
            "courseId": course_id,
            "id": announcement_id,
            "text": text,
            "state": body.get("state", "DRAFT"),  # the discovery document: "If unspecified, … DRAFT"
            "alternateLink": f"{course['alternateLink']}/p/{announcement_id}",
            "creationTime": stamp,
            "updateTime": stamp,
            "assigneeMode": body.get("assigneeMode", "ALL_STUDENTS"),
            "creatorUserId": grant.user_id,
        }
        for optional in ("materials", "scheduledTime", "individualStudentsOptions"):
            if optional in body:
                announcement[optional] = body[optional]
        self.school.announcements.setdefault(course_id, []).append(announcement)
        return announcement

    def _announcements_list(
        self, params: dict[str, str], query: dict[str, list[str]], grant: Grant, body: JSON | None
    ) -> JSON:
        course_id = params["courseId"]
        self._visible_course(grant, course_id)
        states = set(query.get("announcementStates", ["PUBLISHED"]))
        items = [item for item in self.school.announcements.get(course_id, ()) if item["state"] in states]
        items = self._ordered(items, query, ("updateTime",))
        method_id = "classroom.courses.announcements.list"
        return self._page(method_id, "announcements", items, query, _fingerprint(method_id + course_id, query))

    def _user_profiles_get(
        self, params: dict[str, str], query: dict[str, list[str]], grant: Grant, body: JSON | None
    ) -> JSON:
        user_id = self._resolve_user(grant, params["userId"])
        profile = self.school.users.get(user_id or "")
        if profile is None:
            raise FakeGoogleError(404, NOT_FOUND_MESSAGE)
        return profile


def _due_sort_key(item: JSON, descending: bool) -> tuple[bool, int]:
    due = due_milliseconds(item)
    # Work without a due date comes last in either direction.
    return (due is not None) == descending, due or 0


# -- helpers -------------------------------------------------------------------------------------------------------
def _new_refresh_token() -> str:
    return "1//0" + secrets.token_urlsafe(40)


# Everything that shapes a list except where it starts: a page token only works for the same query, as at Google.
_NOT_IN_FINGERPRINT = {"pageToken", "pageSize", "fields", "alt", "prettyPrint", "key", "quotaUser", "$.xgafv"}


def _fingerprint(scope: str, query: dict[str, list[str]]) -> str:
    shaping = sorted((key, tuple(values)) for key, values in query.items() if key not in _NOT_IN_FINGERPRINT)
    return hashlib.sha256(repr((scope, shaping)).encode()).hexdigest()[:12]


def _encode_page_token(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(f"{fingerprint}:{offset}".encode()).decode().rstrip("=")


def _decode_page_token(token: str, fingerprint: str) -> int:
    try:
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        token_fingerprint, offset_text = decoded.split(":")
        offset = int(offset_text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise FakeGoogleError(400, "Invalid page token.", violation=True) from None
    if token_fingerprint != fingerprint or offset < 0:
        raise FakeGoogleError(400, "Invalid page token.", violation=True)
    return offset


def _error(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    body = {"error": {"code": status, "message": message, "status": STATUS_NAMES.get(status, "UNKNOWN")}}
    return status, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(body).encode()


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 refuses connections when a benchmark opens many at once.
    request_queue_size = 128


def _handler_for(fake: FakeGoogle) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_PATCH(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            path = split.path
            query = parse_qs(split.query, keep_blank_values=True)
            authorization = self.headers.get("Authorization")
            method_id: str | None = None
            content: bytes | None
            if path.startswith("/v1/"):
                method_id, status, headers, content = fake.answer_rest(self.command, path, query, authorization, body)
            elif fake._is_down():
                # Down means all of Google, the token endpoint included.
                status, headers, content = 0, {}, None
            elif path == "/token" and self.command == "POST":
                form = {key: values[-1] for key, values in parse_qs(body.decode(), keep_blank_values=True).items()}
                status, answer = fake._token_endpoint(form, authorization)
                headers, content = _json_headers(), json.dumps(answer).encode()
            elif path == "/revoke" and self.command in ("POST", "GET"):
                form = {key: values[-1] for key, values in parse_qs(body.decode(), keep_blank_values=True).items()}
                token = form.get("token") or query.get("token", [""])[-1]
                status, answer = fake._revoke_endpoint(token)
                headers, content = _json_headers(), json.dumps(answer).encode()
            else:
                status, headers, content = _error(404, f"No route for {self.command} {path}")
            with fake._lock:
                fake.requests.append(
                    RecordedRequest(
                        method=self.command, path=path, query=query, method_id=method_id, status=status, body=body
                    )
                )
            if content is None:
                # Down: hang up without a word, like a dead load balancer.
                self.close_connection = True
                return
            send_answer(self, status, headers, content)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: pytest shows failures, not access logs

    return Handler


def _json_headers() -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"}

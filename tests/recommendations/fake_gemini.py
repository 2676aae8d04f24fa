"""A small stand-in for Google's Gemini REST API, for tests: the real google-genai client talks to it through
GEMINI_BASE_URL, so the tests exercise the SDK's own request building, error mapping and timeouts.

It answers `POST /{version}/models/{model}:generateContent` the way Gemini does (candidates, finish reason, usage
metadata; errors as `{"error": {"code", "message", "status"}}`), keeps the raw bytes of every request (the privacy
tests read exactly what left the process) and answers whatever it was last told: a JSON payload, 429 with
Retry-After, a server error, a stall longer than the client's timeout, text that is not JSON, or a safety block.
"""

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fake_http import send_answer

GENERATE_PATH = re.compile(r"^/v1(?:beta|alpha)?/models/(?P<model>[^/:]+):generateContent$")

# Payload: the JSON the model "writes"; a callable gets the request's body (parsed) and returns it.
Payload = Any | Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    @property
    def model(self) -> str | None:
        match = GENERATE_PATH.match(self.path)
        return match["model"] if match else None


@dataclass
class Reply:
    """What the fake answers next (and every time after, until told otherwise)."""

    status: int = 200
    payload: Payload = field(default_factory=dict)
    text: str | None = None  # the model's raw text instead of json.dumps(payload)
    finish_reason: str = "STOP"
    blocked: bool = False
    delay_seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    input_tokens: int = 42
    output_tokens: int = 17


class FakeGemini:
    """Start with `with FakeGemini() as fake:` (or start()/stop()); point GEMINI_BASE_URL at `fake.base_url`."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.reply = Reply()
        self._lock = threading.Lock()
        self._release = threading.Event()  # set on stop: a stalled answer gives up at once
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- what to answer ---------------------------------------------------------------------------------------
    def succeed(self, payload: Payload, *, input_tokens: int = 42, output_tokens: int = 17) -> None:
        self.reply = Reply(payload=payload, input_tokens=input_tokens, output_tokens=output_tokens)

    def rate_limit(self, *, retry_after: int = 30) -> None:
        self.reply = Reply(status=429, headers={"Retry-After": str(retry_after)})

    def fail(self, status: int = 500) -> None:
        self.reply = Reply(status=status)

    def stall(self, seconds: float, payload: Payload | None = None) -> None:
        """Answer only after `seconds` (longer than the client's timeout, so it gives up first)."""
        self.reply = Reply(payload=payload or {}, delay_seconds=seconds)

    def malformed(self, text: str = '{"summary": "Keep going", "items": [') -> None:
        """A 200 whose model text is not valid JSON (e.g. cut off)."""
        self.reply = Reply(text=text)

    def block(self) -> None:
        """A safety block: the candidate stops with SAFETY and carries no text."""
        self.reply = Reply(blocked=True, finish_reason="SAFETY")

    # -- lifecycle --------------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def bodies(self) -> bytes:
        """Every byte sent to the fake, request lines and headers included, joined."""
        return b"\n".join(
            f"{request.method} {request.path}\n".encode()
            + "".join(f"{name}: {value}\n" for name, value in request.headers.items()).encode()
            + request.body
            for request in self.requests
        )

    def start(self) -> "FakeGemini":
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-gemini", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeGemini":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answering --------------------------------------------------------------------------------------------
    def _record(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            return self.reply

    def _answer(self, request: RecordedRequest, reply: Reply) -> tuple[int, dict[str, str], bytes]:
        if request.method != "POST" or request.model is None:
            return _error(404, "NOT_FOUND", f"No route for {request.method} {request.path}")
        if not request.headers.get("x-goog-api-key"):
            return _error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")
        if reply.delay_seconds:
            self._release.wait(reply.delay_seconds)
        if reply.status == 429:
            status, headers, body = _error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted.")
            return status, {**headers, **reply.headers}, body
        if reply.status != 200:
            return _error(reply.status, "INTERNAL", "An internal error has occurred.")
        usage = {
            "promptTokenCount": reply.input_tokens,
            "candidatesTokenCount": 0 if reply.blocked else reply.output_tokens,
            "totalTokenCount": reply.input_tokens + (0 if reply.blocked else reply.output_tokens),
        }
        if reply.blocked:
            candidate: dict[str, Any] = {
                "finishReason": reply.finish_reason,
                "index": 0,
                "safetyRatings": [
                    {"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "blocked": True},
                ],
            }
        else:
            payload = reply.payload(request.json()) if callable(reply.payload) else reply.payload
            text = reply.text if reply.text is not None else json.dumps(payload)
            candidate = {
                "content": {"parts": [{"text": text}], "role": "model"},
                "finishReason": reply.finish_reason,
                "index": 0,
            }
        answer = {"candidates": [candidate], "usageMetadata": usage, "modelVersion": request.model}
        return 200, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(answer).encode()


def _error(status: int, code_name: str, message: str) -> tuple[int, dict[str, str], bytes]:
    body = {"error": {"code": status, "message": message, "status": code_name}}
    return status, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(body).encode()


def _handler_for(fake: FakeGemini) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self._handle()

        def do_GET(self) -> None:
            self._handle()

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = RecordedRequest(
                method=self.command,
                path=self.path.split("?", 1)[0],
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
            )
            status, headers, content = fake._answer(request, fake._record(request))
            send_answer(self, status, headers, content)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: pytest shows failures, not access logs

    return Handler


@contextmanager
def running_fake() -> Iterator[FakeGemini]:
    with FakeGemini() as fake:
        yield fake

"""The one module that talks to Google's Gemini API (google-genai, the maintained SDK; docs/decisions/0014-gemini.md).

It knows nothing of students, organisations or budgets: it sends the text it is given, asks for JSON matching a
schema, and turns every way that can go wrong into one of five typed failures. The governance (what may be sent,
whether to call at all, the record of every call, the local fallback) is recommendations/assist.py's.

One attempt per call: the SDK's retries are off, because a page is waiting and EduPath's own text is a good answer.
"""

import importlib
import json
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx2  # the SDK's HTTP backend (a dependency of google-genai)
from django.conf import settings
from google import genai
from google.genai import errors, types


def _http_modules() -> list[Any]:
    """httpx2, and httpx where installed: the SDK uses httpx instead when GOOGLE_GENAI_HTTP_CLIENT=httpx."""
    try:
        return [httpx2, importlib.import_module("httpx")]
    except ImportError:
        return [httpx2]


_HTTP_MODULES = _http_modules()
TIMEOUT_ERRORS: tuple[type[BaseException], ...] = tuple(module.TimeoutException for module in _HTTP_MODULES)
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    *(module.TransportError for module in _HTTP_MODULES),
    OSError,
)

# Why a candidate stopped without an answer we may show: Google's safety and policy filters.
REFUSAL_REASONS = frozenset(
    {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY", "LANGUAGE"}
)
ERROR_CHARS = 300  # AICall.error's length


class GeminiFailure(Exception):
    """Gemini gave no usable answer. `outcome` is the AICall outcome it is recorded as; the token counts are known
    when Gemini answered (a refusal or an invalid answer still costs tokens)."""

    outcome: ClassVar[str] = "error"

    def __init__(self, message: str, *, input_tokens: int | None = None, output_tokens: int | None = None) -> None:
        super().__init__(message[:ERROR_CHARS])
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens


class GeminiError(GeminiFailure):
    """Not configured, unreachable, an HTTP error other than 429, or a response the SDK could not read."""

    outcome = "error"


class GeminiTimeout(GeminiFailure):
    outcome = "timeout"


class GeminiRateLimited(GeminiFailure):
    outcome = "rate_limited"

    def __init__(self, message: str, *, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class GeminiRefused(GeminiFailure):
    """The prompt or the answer was blocked by a safety or policy filter."""

    outcome = "refused"


class GeminiInvalid(GeminiFailure):
    """An answer came, but it is not JSON (cut off, empty, or prose)."""

    outcome = "invalid"


@dataclass(frozen=True)
class GeminiAnswer:
    """A parsed answer. `data` is the JSON the model wrote (schema checks are the caller's: Gemini's structured
    output makes a match likely, not certain)."""

    text: str
    data: Any
    input_tokens: int | None
    output_tokens: int | None
    finish_reason: str | None
    model_version: str | None


def generate_json(
    *, model: str, system: str, prompt: str, response_schema: dict[str, Any], timeout_s: float
) -> GeminiAnswer:
    """Ask `model` once for JSON matching `response_schema` (Gemini's OpenAPI-style schema), within `timeout_s`.

    Raises a GeminiFailure subclass for everything that is not a parsed JSON answer."""
    if not settings.GEMINI_API_KEY:
        raise GeminiError("GEMINI_API_KEY is not set")
    client = genai.Client(
        vertexai=False,
        api_key=settings.GEMINI_API_KEY,
        http_options=types.HttpOptions(
            base_url=settings.GEMINI_BASE_URL or None,
            timeout=max(1, round(timeout_s * 1000)),  # milliseconds
            retry_options=types.HttpRetryOptions(attempts=1),  # no retries: the caller falls back instead
        ),
    )
    config = types.GenerateContentConfig(
        system_instruction=system,
        response_mime_type="application/json",
        response_schema=response_schema,
        candidate_count=1,
        # No tools are offered, so nothing for the SDK's automatic function calling to do (and nothing to log).
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    try:
        response = client.models.generate_content(model=model, contents=prompt, config=config)
    except errors.APIError as error:
        if error.code == 429:
            raise GeminiRateLimited(
                f"HTTP 429: {error.message or error.status or 'rate limited'}", retry_after=_retry_after(error)
            ) from error
        raise GeminiError(f"HTTP {error.code}: {error.message or error.status or 'error'}") from error
    except TIMEOUT_ERRORS as error:
        raise GeminiTimeout(f"no answer within {timeout_s:g} s ({type(error).__name__})") from error
    except TRANSPORT_ERRORS as error:
        raise GeminiError(f"unreachable: {type(error).__name__}: {error}") from error
    except errors.UnknownApiResponseError as error:
        raise GeminiError("the response was not readable JSON") from error
    except Exception as error:
        # The SDK validates responses with pydantic and may raise anything else on a shape it does not expect;
        # for the caller every such case is the same: no answer, fall back.
        raise GeminiError(f"{type(error).__name__}: {error}") from error
    finally:
        client.close()
    return _answer_from(response)


def _retry_after(error: errors.APIError) -> str | None:
    headers = getattr(getattr(error, "response", None), "headers", None)
    if headers is None:
        return None
    value = headers.get("retry-after")
    return str(value) if value is not None else None


def _answer_from(response: types.GenerateContentResponse) -> GeminiAnswer:
    usage = response.usage_metadata
    input_tokens = usage.prompt_token_count if usage else None
    # What is billed as output: the answer plus any "thinking" the model did first.
    output_tokens = None
    if usage and (usage.candidates_token_count is not None or usage.thoughts_token_count is not None):
        output_tokens = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
    tokens = {"input_tokens": input_tokens, "output_tokens": output_tokens}

    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        raise GeminiRefused(f"prompt blocked: {_name(feedback.block_reason)}", **tokens)
    if not response.candidates:
        raise GeminiInvalid("no candidates in the answer", **tokens)
    candidate = response.candidates[0]
    finish_reason = _name(candidate.finish_reason) if candidate.finish_reason is not None else None
    if finish_reason in REFUSAL_REASONS:
        raise GeminiRefused(f"answer blocked: {finish_reason}", **tokens)
    parts = candidate.content.parts if candidate.content and candidate.content.parts else []
    text = "".join(part.text for part in parts if part.text and not part.thought)
    if not text.strip():
        raise GeminiInvalid(f"empty answer (finish reason {finish_reason})", **tokens)
    try:
        data = json.loads(text)
    except ValueError as error:
        raise GeminiInvalid(f"not JSON (finish reason {finish_reason}): {error}", **tokens) from error
    return GeminiAnswer(
        text=text,
        data=data,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        finish_reason=finish_reason,
        model_version=response.model_version,
    )


def _name(value: object) -> str:
    """An SDK enum's name, or the raw string when the SDK did not know the value."""
    return str(getattr(value, "value", value))

"""Governed use of Gemini: a short encouraging explanation of a student's next steps, and intervention ideas for a
teacher on an at-risk alert. EduPath's own text is always ready; Gemini only rewords it, and only when allowed.

The rules (docs/decisions/0014-gemini.md):
- Off unless the organisation turned it on (AssistantSettings.enabled) and GEMINI_API_KEY is set.
- Grounding: the prompt holds a pseudonymous label ("Student"), figures (the signals' numbers, the risk factors'
  values against the class) and the entries the local engine chose (item id, title, kind, category). Never a name,
  username, e-mail, public handle, user id or any text written by or about the student. The answer must match a
  schema; item ids that were not sent are discarded; the recommendations shown stay the local engine's.
- Every call leaves an AICall row (prompt hash, model, latency, tokens, outcome; the prompt text only when the
  organisation keeps prompts). Answers are cached by their input; each organisation has a daily call budget.
- Any failure (timeout, 429, 5xx, refusal, invalid JSON or schema, only unknown ids, exhausted budget) gives the
  local text with a note the page shows. Nothing here raises to the caller.
"""

import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import redis
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from accounts.models import User
from core.redis import cache_redis
from recommendations.gemini import GeminiFailure, generate_json
from recommendations.models import AICall, AssistantSettings, Recommendation
from risk.alerts import suggested_action
from risk.models import Alert

logger = logging.getLogger(__name__)

Source = Literal["gemini", "local"]
PROMPT_VERSION = "1"  # part of the cache key: a reworded prompt must not be answered from an old cache entry

MAX_ITEMS = 10  # next steps sent (and answered about) at most
MAX_FACTS = 6  # facts per next step
MAX_SUMMARY_CHARS = 700
MAX_SENTENCE_CHARS = 300
MAX_IDEAS = 5
MAX_IDEA_CHARS = 300
MAX_TITLE_CHARS = 200

# Outcomes that reached Gemini (and so count against the daily budget); cached and budget answers did not.
REACHED_GEMINI = (
    AICall.Outcome.SUCCESS,
    AICall.Outcome.TIMEOUT,
    AICall.Outcome.RATE_LIMITED,
    AICall.Outcome.ERROR,
    AICall.Outcome.REFUSED,
    AICall.Outcome.INVALID,
)

GEMINI_NOTE = "Written by Gemini from the figures EduPath chose; the next steps and their reasons are EduPath's."
# What the page says when the text is EduPath's own, by why.
LOCAL_NOTES = {
    "off": "Gemini is off for this school; this text is written by EduPath.",
    "unconfigured": "Gemini is not set up on this server; this text is written by EduPath.",
    "empty": "",
    AICall.Outcome.BUDGET: "Today's Gemini allowance for this school is used up; this text is written by EduPath.",
    AICall.Outcome.TIMEOUT: "Gemini did not answer in time; this text is written by EduPath.",
    AICall.Outcome.RATE_LIMITED: "Gemini is busy right now; this text is written by EduPath.",
    AICall.Outcome.ERROR: "Gemini could not be reached; this text is written by EduPath.",
    AICall.Outcome.REFUSED: "Gemini declined to write this; this text is written by EduPath.",
    AICall.Outcome.INVALID: "Gemini's answer could not be used; this text is written by EduPath.",
}

STUDENT_SYSTEM = (
    "You write for a school's learning app. You get the next steps the app chose for a student, with the figures "
    "behind each (the student's own and their class's). Write in plain, warm English addressed to the student as "
    "'you': a 'summary' of two or three short sentences that encourages them and says why these steps, and for "
    "each step one 'sentence' saying why it helps, keyed by its item_id. Use only the figures and items given: "
    "never invent a number, an item, a deadline, a name or a grade; leave out steps without an item_id from "
    "'items'. No greetings, no names, no markdown."
)
STUDENT_SCHEMA: dict[str, Any] = {
    "type": "OBJECT",
    "properties": {
        "summary": {"type": "STRING"},
        "items": {
            "type": "ARRAY",
            "items": {
                "type": "OBJECT",
                "properties": {"item_id": {"type": "INTEGER"}, "sentence": {"type": "STRING"}},
                "required": ["item_id", "sentence"],
            },
        },
    },
    "required": ["summary", "items"],
}
INTERVENTION_SYSTEM = (
    "You help a teacher support a student the school's app flagged as at risk in a class. You get the risk level "
    "and the factors behind it: each with what it measures, the student's value and the class median. Suggest up "
    f"to {MAX_IDEAS} short, concrete, kind things the teacher could do this week, each one sentence, each tied to "
    "a factor given. Use only the figures given; never invent facts, names or diagnoses. No markdown."
)
INTERVENTION_SCHEMA: dict[str, Any] = {
    "type": "OBJECT",
    "properties": {"ideas": {"type": "ARRAY", "items": {"type": "STRING"}}},
    "required": ["ideas"],
}
# What each risk factor measures (risk/explain.py's FACTORS), sent instead of its text.
FACTOR_MEANINGS = {
    "days_since_activity": "days since the student's last activity",
    "events_28": "activities in the last 4 weeks",
    "activity_trend": "change in activity over the last two weeks (fraction, negative is falling)",
    "events_total": "activities since the start of the class",
    "active_days_total": "days active so far",
    "distinct_items": "different learning items opened",
    "assessments_missing": "assessments due but not handed in",
    "assessments_late": "assessments handed in late",
    "submissions": "assessments handed in",
    "mean_score": "mean assessment score in percent",
    "previous_attempts": "previous attempts at this class",
    "enrolled_days_before_start": "days enrolled before the class started (negative: after)",
}

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Signal keys that may hold a row id (a user's above all): never sent, whatever their value.
_ID_KEYS = frozenset({"id", "pk", "student", "user", "subject", "learner", "person", "handle", "name", "email"})


@dataclass(frozen=True)
class AssistText:
    """A student's next steps in words: `text` (a short paragraph), one sentence per item keyed by item id, where it
    came from, and `note` for the page (why the text is EduPath's own, or that Gemini wrote it)."""

    text: str
    source: Source
    note: str
    sentences: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AssistIdeas:
    """Intervention ideas for a teacher on an alert, where they came from, and `note` for the page."""

    ideas: list[str]
    source: Source
    note: str


@dataclass(frozen=True)
class CheckResult:
    """`manage.py gemini_check`'s answer: did the configured key and model answer, how fast, and why not."""

    ok: bool
    model: str
    outcome: str
    latency_ms: int | None
    error: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True)
class _Question:
    organization_id: int
    subject_id: int | None
    purpose: str
    system: str
    prompt: str
    schema: dict[str, Any]


@dataclass(frozen=True)
class _Checked:
    """An answer after validation: the cleaned payload (what is cached) and the item ids dropped as not sent."""

    payload: dict[str, Any] | None
    discarded: int = 0


# -- public ------------------------------------------------------------------------------------------------------


def student_explanation(
    *, student: User, recommendations: Sequence[Recommendation], now: datetime | None = None
) -> AssistText:
    """Words for a student's next steps (`recommendations`, best first, as the local engine chose them): Gemini's
    when allowed and it answers well, otherwise EduPath's own, built from each recommendation's reasoning."""
    now = now or timezone.now()
    chosen = list(recommendations)[:MAX_ITEMS]
    local = _local_explanation(chosen)
    if not chosen:
        return local
    if student.organization_id is None:  # a platform operator's account: no school has turned Gemini on
        return AssistText(text=local.text, source="local", note=LOCAL_NOTES["off"], sentences=local.sentences)
    try:
        sent_ids = {rec.item_id for rec in chosen if rec.item_id is not None}
        question = _Question(
            organization_id=student.organization_id,
            subject_id=student.pk,
            purpose=AICall.Purpose.STUDENT_EXPLANATION,
            system=STUDENT_SYSTEM,
            prompt=_student_prompt(chosen, identifiers=_identifiers(student)),
            schema=STUDENT_SCHEMA,
        )
        payload, why = _ask(question, check=lambda data: _check_student_answer(data, sent_ids), now=now)
    except Exception:
        # Words are optional, the page is not: whatever broke (the database, a bug), the local text stands.
        logger.exception("Gemini explanation for student %s failed; local text used", student.pk)
        why = AICall.Outcome.ERROR
        payload = None
    if payload is None:
        return AssistText(text=local.text, source="local", note=LOCAL_NOTES[why], sentences=local.sentences)
    sentences = {**local.sentences, **{entry["item_id"]: entry["sentence"] for entry in payload["items"]}}
    return AssistText(text=payload["summary"], source="gemini", note=GEMINI_NOTE, sentences=sentences)


def intervention_ideas(*, alert: Alert, now: datetime | None = None) -> AssistIdeas:
    """Ideas for a teacher on an at-risk alert: Gemini's when allowed and it answers well, otherwise the alert's
    suggested action and one idea per factor."""
    now = now or timezone.now()
    local = _local_ideas(alert)
    try:
        question = _Question(
            organization_id=alert.organization_id,
            subject_id=alert.student_id,
            purpose=AICall.Purpose.INTERVENTION_IDEAS,
            system=INTERVENTION_SYSTEM,
            prompt=_intervention_prompt(alert),
            schema=INTERVENTION_SCHEMA,
        )
        payload, why = _ask(question, check=_check_intervention_answer, now=now)
    except Exception:
        logger.exception("Gemini intervention ideas for alert %s failed; local ideas used", alert.pk)
        why = AICall.Outcome.ERROR
        payload = None
    if payload is None:
        return AssistIdeas(ideas=local.ideas, source="local", note=LOCAL_NOTES[why])
    return AssistIdeas(ideas=list(payload["ideas"]), source="gemini", note=GEMINI_NOTE)


def gemini_check(*, model: str, organization_id: int | None = None, now: datetime | None = None) -> CheckResult:
    """One tiny call with the configured key to `model`; recorded as purpose "check" when an organisation is
    given (AICall needs one). No budget, no cache: the point is to reach Gemini now."""
    now = now or timezone.now()
    if not settings.GEMINI_API_KEY:
        return CheckResult(
            ok=False, model=model, outcome="unconfigured", latency_ms=None, error="GEMINI_API_KEY is empty"
        )
    prompt = 'Answer with {"ok": true}.'
    started = time.monotonic()
    try:
        answer = generate_json(
            model=model,
            system="You check that an API key works. Answer with the JSON asked for.",
            prompt=prompt,
            response_schema={"type": "OBJECT", "properties": {"ok": {"type": "BOOLEAN"}}, "required": ["ok"]},
            timeout_s=float(settings.GEMINI_TIMEOUT_SECONDS),
        )
        latency_ms = _elapsed_ms(started)
        result = CheckResult(
            ok=True,
            model=model,
            outcome=AICall.Outcome.SUCCESS,
            latency_ms=latency_ms,
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
        )
    except GeminiFailure as failure:
        result = CheckResult(
            ok=False,
            model=model,
            outcome=failure.outcome,
            latency_ms=_elapsed_ms(started),
            error=str(failure),
            input_tokens=failure.input_tokens,
            output_tokens=failure.output_tokens,
        )
    if organization_id is not None:
        AICall.objects.create(
            organization_id=organization_id,
            purpose=AICall.Purpose.CHECK,
            model=model,
            prompt_hash=_sha256(prompt),
            outcome=result.outcome,
            error=result.error,
            latency_ms=result.latency_ms,
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
            created_at=now,
        )
    return result


# -- local text -----------------------------------------------------------------------------------------------


def first_sentence(text: str) -> str:
    """The first sentence of a reasoning, ended with a full stop ("48 %, class 71 %; ..." keeps its clauses)."""
    plain = " ".join(text.split())
    if not plain:
        return ""
    match = re.search(r"[.!?](\s|$)", plain)
    sentence = plain[: match.start() + 1] if match else plain
    sentence = sentence[0].upper() + sentence[1:]
    return sentence if sentence[-1] in ".!?" else sentence + "."


def _local_explanation(chosen: list[Recommendation]) -> AssistText:
    if not chosen:
        return AssistText(text="No next steps right now.", source="local", note=LOCAL_NOTES["empty"])
    sentences = {rec.item_id: first_sentence(rec.reasoning) for rec in chosen if rec.item_id is not None}
    text = " ".join(f"{rec.title}: {first_sentence(rec.reasoning)}" for rec in chosen)
    return AssistText(text=text, source="local", note="", sentences=sentences)


def _local_ideas(alert: Alert) -> AssistIdeas:
    ideas = [alert.suggested_action.strip()] if alert.suggested_action.strip() else []
    for factor in alert.factors if isinstance(alert.factors, list) else []:
        if isinstance(factor, dict) and factor.get("effect") != "lowers":
            idea = suggested_action([factor])
            if idea not in ideas:
                ideas.append(idea)
    return AssistIdeas(ideas=ideas or [suggested_action([])], source="local", note="")


# -- prompts (what may leave the process) ---------------------------------------------------------------------


def _identifiers(student: User) -> list[str]:
    """Strings that would name the student: removed from anything sent, even a title a teacher wrote."""
    values = [
        student.first_name,
        student.last_name,
        student.get_full_name(),
        student.username,
        student.email,
        student.public_handle,
        student.external_id,
    ]
    return sorted({value.strip() for value in values if value and len(value.strip()) >= 2}, key=len, reverse=True)


def _redact(text: str, identifiers: list[str]) -> str:
    for identifier in identifiers:
        text = re.sub(rf"(?<!\w){re.escape(identifier)}(?!\w)", "the student", text, flags=re.IGNORECASE)
    return text


def _figure(value: Any) -> int | float | bool | None:
    """A number fit to send (finite, rounded), or None for anything that is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return round(value, 3)
    return None


def _facts(signals: Any) -> list[dict[str, Any]]:
    """A signal's kind and numbers: {"kind": "mastery_gap", "student_mean": 48, "class_mean": 71}. Text values
    and id-like keys stay home."""
    facts: list[dict[str, Any]] = []
    for signal in signals if isinstance(signals, list) else []:
        if not isinstance(signal, dict):
            continue
        fact: dict[str, Any] = {}
        kind = signal.get("kind")
        if isinstance(kind, str) and _IDENTIFIER.fullmatch(kind):
            fact["kind"] = kind
        for key, value in signal.items():
            if key == "kind" or not isinstance(key, str) or not _IDENTIFIER.fullmatch(key):
                continue
            if key in _ID_KEYS or key.endswith(("_id", "_ids", "_pk")):
                continue
            figure = _figure(value)
            if figure is not None:
                fact[key] = figure
        if len(fact) > ("kind" in fact):
            facts.append(fact)
    return facts[:MAX_FACTS]


def _student_prompt(chosen: list[Recommendation], *, identifiers: list[str]) -> str:
    steps = []
    for rec in chosen:
        step: dict[str, Any] = {
            "item_id": rec.item_id,
            "title": _redact(" ".join(rec.title.split())[:MAX_TITLE_CHARS], identifiers),
            "category": rec.category,
            "kind": rec.kind if _IDENTIFIER.fullmatch(rec.kind or "") else "",
            "relevance": round(float(rec.relevance_score), 2),
            "confidence": round(float(rec.confidence), 2),
            "facts": _facts(rec.signals),
        }
        if rec.difficulty and _IDENTIFIER.fullmatch(rec.difficulty):
            step["difficulty"] = rec.difficulty
        if rec.estimated_minutes is not None:
            step["estimated_minutes"] = rec.estimated_minutes
        steps.append(step)
    return _dumps({"student": "Student", "next_steps": steps})


def _intervention_prompt(alert: Alert) -> str:
    factors = []
    for factor in alert.factors if isinstance(alert.factors, list) else []:
        if not isinstance(factor, dict):
            continue
        feature = factor.get("feature")
        if not isinstance(feature, str) or feature not in FACTOR_MEANINGS:
            continue
        factors.append(
            {
                "factor": feature,
                "measures": FACTOR_MEANINGS[feature],
                "student_value": _figure(factor.get("value")),
                "class_median": _figure(factor.get("class_value")),
                "effect": "raises risk" if factor.get("effect") != "lowers" else "lowers risk",
            }
        )
    return _dumps({"student": "the student", "risk_level": alert.level, "factors": factors})


def _dumps(payload: dict[str, Any]) -> str:
    # Sorted keys and fixed separators: the same figures make the same bytes, hence the same hash and cache entry.
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


# -- answers --------------------------------------------------------------------------------------------------


def _clean_text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text if 0 < len(text) <= limit else None


def _check_student_answer(data: Any, sent_ids: set[int]) -> _Checked:
    """{"summary": str, "items": [{"item_id": int, "sentence": str}]}: a summary is required; items about ids not
    sent are dropped and counted; an answer whose items were all unknown is refused whole (it talked about
    something we never showed)."""
    if not isinstance(data, dict):
        return _Checked(None)
    summary = _clean_text(data.get("summary"), MAX_SUMMARY_CHARS)
    items = data.get("items", [])
    if summary is None or not isinstance(items, list) or len(items) > MAX_ITEMS:
        return _Checked(None)
    kept: list[dict[str, Any]] = []
    discarded = 0
    for entry in items:
        if not isinstance(entry, dict):
            return _Checked(None)
        item_id = entry.get("item_id")
        sentence = _clean_text(entry.get("sentence"), MAX_SENTENCE_CHARS)
        if not isinstance(item_id, int) or isinstance(item_id, bool) or sentence is None:
            return _Checked(None)
        if item_id not in sent_ids:
            discarded += 1
        elif all(previous["item_id"] != item_id for previous in kept):
            kept.append({"item_id": item_id, "sentence": sentence})
    if items and not kept:
        return _Checked(None, discarded)
    return _Checked({"summary": summary, "items": kept}, discarded)


def _check_intervention_answer(data: Any) -> _Checked:
    if not isinstance(data, dict) or not isinstance(data.get("ideas"), list):
        return _Checked(None)
    raw = data["ideas"]
    if not 1 <= len(raw) <= MAX_IDEAS:
        return _Checked(None)
    ideas: list[str] = []
    for value in raw:
        idea = _clean_text(value, MAX_IDEA_CHARS)
        if idea is None:
            return _Checked(None)
        if idea not in ideas:
            ideas.append(idea)
    return _Checked({"ideas": ideas})


# -- the governed call ----------------------------------------------------------------------------------------


def _ask(question: _Question, *, check: Callable[[Any], _Checked], now: datetime) -> tuple[dict[str, Any] | None, str]:
    """(the validated answer, "success" or "cached") or (None, why the local text is used)."""
    assistant = AssistantSettings.objects.filter(organization_id=question.organization_id).first()
    if assistant is None or not assistant.enabled:
        return None, "off"
    if not settings.GEMINI_API_KEY:
        return None, "unconfigured"
    model = assistant.model or settings.GEMINI_MODEL
    prompt_hash = _sha256(question.prompt)
    record = _Recorder(question=question, model=model, prompt_hash=prompt_hash, assistant=assistant, now=now)
    cache_key = _cache_key(question, model)

    started = time.monotonic()
    cached = _cache_get(cache_key)
    if cached is not None:
        checked = check(cached)
        if checked.payload is not None:
            record(AICall.Outcome.CACHED, latency_ms=_elapsed_ms(started))
            return checked.payload, AICall.Outcome.CACHED

    if not _take_budget(assistant, now=now):
        record(AICall.Outcome.BUDGET)
        logger.warning("Gemini budget of organisation %s is used up today; local text", question.organization_id)
        return None, AICall.Outcome.BUDGET

    started = time.monotonic()
    try:
        answer = generate_json(
            model=model,
            system=question.system,
            prompt=question.prompt,
            response_schema=question.schema,
            timeout_s=float(settings.GEMINI_TIMEOUT_SECONDS),
        )
    except GeminiFailure as failure:
        outcome = AICall.Outcome(failure.outcome)
        record(
            outcome,
            error=str(failure),
            latency_ms=_elapsed_ms(started),
            input_tokens=failure.input_tokens,
            output_tokens=failure.output_tokens,
        )
        logger.warning(
            "Gemini %s for %s (organisation %s): %s; local text",
            outcome,
            question.purpose,
            question.organization_id,
            failure,
        )
        return None, outcome
    latency_ms = _elapsed_ms(started)
    checked = check(answer.data)
    if checked.payload is None:
        error = f"answer does not match the schema ({checked.discarded} unknown item ids)"
        record(
            AICall.Outcome.INVALID,
            error=error,
            latency_ms=latency_ms,
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
            discarded=checked.discarded,
        )
        logger.warning("Gemini %s: %s; local text", question.purpose, error)
        return None, AICall.Outcome.INVALID
    if checked.discarded:
        logger.warning("Gemini %s named %s item ids that were not sent; dropped", question.purpose, checked.discarded)
    record(
        AICall.Outcome.SUCCESS,
        latency_ms=latency_ms,
        input_tokens=answer.input_tokens,
        output_tokens=answer.output_tokens,
        discarded=checked.discarded,
    )
    _cache_set(cache_key, checked.payload)
    return checked.payload, AICall.Outcome.SUCCESS


@dataclass(frozen=True)
class _Recorder:
    """Writes the AICall row of one governed call (one per call, whatever its outcome)."""

    question: _Question
    model: str
    prompt_hash: str
    assistant: AssistantSettings
    now: datetime

    def __call__(
        self,
        outcome: AICall.Outcome,
        *,
        error: str = "",
        latency_ms: int | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        discarded: int = 0,
    ) -> None:
        AICall.objects.create(
            organization_id=self.question.organization_id,
            purpose=self.question.purpose,
            subject_id=self.question.subject_id,
            model=self.model,
            prompt_hash=self.prompt_hash,
            prompt_text=self.question.prompt if self.assistant.log_prompts else "",
            outcome=outcome,
            error=error[:300],
            latency_ms=latency_ms,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            discarded_items=discarded,
            created_at=self.now,
        )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _elapsed_ms(started: float) -> int:
    return max(0, round((time.monotonic() - started) * 1000))


def _cache_key(question: _Question, model: str) -> str:
    # The whole input: the same figures to the same model with the same instructions get the same words. No
    # organisation or student in the key: the prompt names neither, so equal prompts may share an answer.
    material = "\0".join(
        [PROMPT_VERSION, question.purpose, model, question.system, json.dumps(question.schema), question.prompt]
    )
    return f"gemini:answer:{_sha256(material)}"


def _cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except redis.RedisError as error:
        logger.warning("Gemini answer cache unavailable (%s)", error)
        return None


def _cache_set(key: str, payload: dict[str, Any]) -> None:
    seconds = int(settings.GEMINI_CACHE_SECONDS)
    if seconds <= 0:
        return
    try:
        cache.set(key, payload, timeout=seconds)
    except redis.RedisError as error:
        logger.warning("Gemini answer cache: could not store (%s)", error)


def _calls_today(organization_id: int, *, now: datetime) -> int:
    day_start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return AICall.objects.filter(
        organization_id=organization_id,
        created_at__gte=day_start,
        created_at__lt=day_start + timedelta(days=1),
        outcome__in=REACHED_GEMINI,
    ).count()


def _take_budget(assistant: AssistantSettings, *, now: datetime) -> bool:
    """Reserve one call of today's (UTC) budget. A Redis counter per organisation and day, seeded from today's
    recorded calls if it is missing (a flushed Redis does not reset the budget), then INCR: concurrent requests
    each get their own number, so the budget holds under a race. Without Redis, the recorded calls decide."""
    budget = int(assistant.daily_call_budget)
    if budget <= 0:
        return False
    used_before = _calls_today(assistant.organization_id, now=now)
    day = now.astimezone(UTC).date().isoformat()
    key = f"edupath:gemini:budget:{assistant.organization_id}:{day}"
    try:
        pipe = cache_redis().pipeline(transaction=True)
        pipe.set(key, used_before, nx=True, ex=2 * 24 * 3600)
        pipe.incr(key)
        used = int(pipe.execute()[-1])
    except redis.RedisError as error:
        logger.warning("Gemini budget counter unavailable (%s); counting recorded calls", error)
        used = used_before + 1
    return used <= budget

"""Governed Gemini (recommendations/assist.py over recommendations/gemini.py), through the real google-genai client
talking to a local fake of the Gemini REST API (tests/recommendations/fake_gemini.py)."""

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from pytest_django.fixtures import SettingsWrapper

from accounts.models import User
from classroom.models import Enrollment, LearningItem
from recommendations import assist
from recommendations.assist import AssistIdeas, AssistText, intervention_ideas, student_explanation
from recommendations.models import AICall, AssistantSettings, Recommendation, RecommendationFeedback
from risk.alerts import suggested_action
from risk.models import Alert, Intervention, Prediction
from tests.conftest import School
from tests.factories import LearningItemFactory, ModuleFactory, StudentFactory
from tests.recommendations.fake_gemini import FakeGemini

NOW = datetime(2026, 9, 10, 12, 0, tzinfo=UTC)
FACTORS = [
    {
        "feature": "days_since_activity",
        "text": "no activity for 12 days — class median 2",
        "value": 12.0,
        "class_value": 2.0,
        "effect": "raises",
    },
    {
        "feature": "mean_score",
        "text": "mean score 41 % — class median 68 %",
        "value": 41.0,
        "class_value": 68.0,
        "effect": "raises",
    },
]


@pytest.fixture
def fake(settings: SettingsWrapper) -> Iterator[FakeGemini]:
    with FakeGemini() as server:
        settings.GEMINI_API_KEY = "test-key"
        settings.GEMINI_BASE_URL = server.base_url
        settings.GEMINI_TIMEOUT_SECONDS = 5
        yield server


@pytest.fixture
def assistant(school: School) -> AssistantSettings:
    return AssistantSettings.objects.create(organization=school.organization, enabled=True, daily_call_budget=50)


def recommend(student: User, item: LearningItem, *, rank: int, reasoning: str, signals: list[dict[str, Any]]) -> Any:
    assert student.organization is not None
    return Recommendation.objects.create(
        organization=student.organization,
        student=student,
        course=item.module.course,
        module=item.module,
        item=item,
        category="activity",
        kind=item.kind,
        title=item.title,
        rank=rank,
        relevance_score=0.82,
        confidence=0.7,
        reasoning=reasoning,
        signals=signals,
        difficulty="medium",
        estimated_minutes=item.estimated_minutes,
        tags=["algebra"],
        strategy="test-1",
        created_at=NOW,
        expires_at=NOW + timedelta(days=7),
    )


def next_steps(school: School, student: User | None = None) -> list[Recommendation]:
    student = student or school.student
    module = ModuleFactory.create(course=school.course, title="Module 3: Fractions")
    video = LearningItemFactory.create(module=module, kind=LearningItem.Kind.VIDEO, title="Adding fractions")
    quiz = LearningItemFactory.create(module=module, kind=LearningItem.Kind.QUIZ, title="Fractions quiz")
    return [
        recommend(
            student,
            video,
            rank=1,
            reasoning="Your quiz scores in Module 3 average 48 %, class 71 %; this video covers it. 8 of 10 "
            "classmates watched it.",
            signals=[
                {"kind": "mastery_gap", "module_id": module.pk, "student_mean": 48, "class_mean": 71.0},
                {"kind": "class_popularity", "opened": 8, "classmates": 10},
            ],
        ),
        recommend(
            student,
            quiz,
            rank=2,
            reasoning="Due in 2 days and not started",
            signals=[{"kind": "due_soon", "days": 2}],
        ),
    ]


def sent_prompt(request_body: dict[str, Any]) -> str:
    text: str = request_body["contents"][0]["parts"][0]["text"]
    return text


def echo_items(request_body: dict[str, Any]) -> dict[str, Any]:
    """A well-behaved model: one sentence per step it was sent."""
    steps = json.loads(sent_prompt(request_body))["next_steps"]
    return {
        "summary": "You are close: two short steps will lift your fractions score.",
        "items": [{"item_id": step["item_id"], "sentence": f"{step['title']} fits where you are."} for step in steps],
    }


def an_alert(school: School, student: User | None = None) -> Alert:
    student = student or school.student
    enrollment = Enrollment.objects.get(user=student, course=school.course)
    prediction = Prediction.objects.create(
        enrollment=enrollment,
        course=school.course,
        student=student,
        as_of=NOW,
        probability=0.81,
        level=Prediction.Level.HIGH,
        factors=FACTORS,
    )
    return Alert.objects.create(
        organization=school.organization,
        course=school.course,
        student=student,
        enrollment=enrollment,
        prediction=prediction,
        level=Prediction.Level.HIGH,
        probability=0.81,
        factors=FACTORS,
        suggested_action=suggested_action(FACTORS),
        created_at=NOW,
    )


def only_call() -> AICall:
    [call] = AICall.objects.all()
    return call


# -- success, and what is recorded ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_gemini_words_a_students_next_steps_and_the_call_is_recorded(
    school: School, assistant: AssistantSettings, fake: FakeGemini
) -> None:
    # given
    steps = next_steps(school)
    fake.succeed(echo_items, input_tokens=120, output_tokens=45)

    # when
    answer = student_explanation(student=school.student, recommendations=steps, now=NOW)

    # then: Gemini's words, keyed by the items the local engine chose
    assert isinstance(answer, AssistText)
    assert answer.source == "gemini"
    assert answer.text == "You are close: two short steps will lift your fractions score."
    assert answer.sentences == {
        steps[0].item_id: "Adding fractions fits where you are.",
        steps[1].item_id: "Fractions quiz fits where you are.",
    }
    assert "Gemini" in answer.note
    # one request, to the organisation's model, asking for JSON with the schema
    [request] = fake.requests
    assert request.model == "gemini-2.5-flash"
    body = request.json()
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    assert set(body["generationConfig"]["responseSchema"]["properties"]) == {"summary", "items"}
    # the record: hash of the prompt bytes, tokens, latency, no prompt text
    call = only_call()
    assert (call.purpose, call.outcome, call.model) == ("student_explanation", "success", "gemini-2.5-flash")
    assert call.prompt_hash == hashlib.sha256(sent_prompt(body).encode()).hexdigest()
    assert (call.input_tokens, call.output_tokens, call.discarded_items) == (120, 45, 0)
    assert call.latency_ms is not None and call.latency_ms < 5000
    assert call.prompt_text == ""
    assert (call.organization_id, call.subject_id, call.created_at) == (school.organization.pk, school.student.pk, NOW)


@pytest.mark.django_db
def test_the_prompt_is_kept_only_when_the_organisation_keeps_prompts(
    school: School, assistant: AssistantSettings, fake: FakeGemini
) -> None:
    assistant.log_prompts = True
    assistant.save()
    fake.succeed(echo_items)

    student_explanation(student=school.student, recommendations=next_steps(school), now=NOW)

    call = only_call()
    [request] = fake.requests
    assert call.prompt_text == sent_prompt(request.json())
    assert call.prompt_hash == hashlib.sha256(call.prompt_text.encode()).hexdigest()
    # what it holds: the label, the items chosen, and figures
    prompt = json.loads(call.prompt_text)
    assert prompt["student"] == "Student"
    assert [step["title"] for step in prompt["next_steps"]] == ["Adding fractions", "Fractions quiz"]
    assert prompt["next_steps"][0]["facts"][0] == {"kind": "mastery_gap", "student_mean": 48, "class_mean": 71.0}


# -- failures: local text, a note, a record, no retries ---------------------------------------------------------


@pytest.mark.parametrize(
    ("arrange", "outcome", "note"),
    [
        (lambda fake: fake.rate_limit(retry_after=30), "rate_limited", "Gemini is busy right now"),
        (lambda fake: fake.fail(500), "error", "Gemini could not be reached"),
        (lambda fake: fake.fail(503), "error", "Gemini could not be reached"),
        (lambda fake: fake.malformed(), "invalid", "Gemini's answer could not be used"),
        (lambda fake: fake.block(), "refused", "Gemini declined to write this"),
        (lambda fake: fake.succeed({"summary": 7, "items": []}), "invalid", "Gemini's answer could not be used"),
        (lambda fake: fake.succeed({"items": []}), "invalid", "Gemini's answer could not be used"),
    ],
    ids=["429", "500", "503", "malformed-json", "safety-block", "summary-not-text", "no-summary"],
)
@pytest.mark.django_db
def test_a_failing_gemini_gives_the_local_text_and_says_so(
    school: School, assistant: AssistantSettings, fake: FakeGemini, arrange: Any, outcome: str, note: str
) -> None:
    # given
    steps = next_steps(school)
    arrange(fake)

    # when
    answer = student_explanation(student=school.student, recommendations=steps, now=NOW)

    # then: EduPath's own words, from the recommendations' reasoning
    assert answer.source == "local"
    assert answer.note.startswith(note) and answer.note.endswith("this text is written by EduPath.")
    assert answer.text == (
        "Adding fractions: Your quiz scores in Module 3 average 48 %, class 71 %; this video covers it. "
        "Fractions quiz: Due in 2 days and not started."
    )
    assert answer.sentences == {
        steps[0].item_id: "Your quiz scores in Module 3 average 48 %, class 71 %; this video covers it.",
        steps[1].item_id: "Due in 2 days and not started.",
    }
    assert len(fake.requests) == 1  # the SDK did not retry
    call = only_call()
    assert call.outcome == outcome
    assert call.latency_ms is not None
    assert call.error != ""


@pytest.mark.django_db
def test_tokens_of_an_answer_that_could_not_be_used_are_recorded(
    school: School, assistant: AssistantSettings, fake: FakeGemini
) -> None:
    fake.malformed('{"summary": "cut off')

    student_explanation(student=school.student, recommendations=next_steps(school), now=NOW)

    call = only_call()
    assert (call.outcome, call.input_tokens, call.output_tokens) == ("invalid", 42, 17)


@pytest.mark.django_db
def test_a_gemini_that_does_not_answer_in_time_gives_the_local_text(
    school: School, assistant: AssistantSettings, fake: FakeGemini, settings: SettingsWrapper
) -> None:
    settings.GEMINI_TIMEOUT_SECONDS = 0.3
    fake.stall(5, payload={"summary": "Too late.", "items": []})

    started = time.monotonic()
    answer = student_explanation(student=school.student, recommendations=next_steps(school), now=NOW)

    assert time.monotonic() - started < 3  # the page did not wait for the stall
    assert (answer.source, answer.note) == ("local", "Gemini did not answer in time; this text is written by EduPath.")
    call = only_call()
    assert call.outcome == "timeout"
    assert call.latency_ms is not None and 250 <= call.latency_ms < 3000
    assert len(fake.requests) == 1


@pytest.mark.django_db
def test_an_item_gemini_made_up_is_discarded_and_not_shown(
    school: School, assistant: AssistantSettings, fake: FakeGemini
) -> None:
    # given: an answer about one real item and one that was never sent
    steps = next_steps(school)
    invented = 987654
    fake.succeed(
        {
            "summary": "Two steps for this week.",
            "items": [
                {"item_id": steps[0].item_id, "sentence": "This video is the quickest way back on track."},
                {"item_id": invented, "sentence": "Read chapter 9 of the textbook."},
            ],
        }
    )

    # when
    answer = student_explanation(student=school.student, recommendations=steps, now=NOW)

    # then: the invented item is gone; the other step keeps EduPath's sentence
    assert answer.source == "gemini"
    assert invented not in answer.sentences
    assert answer.sentences == {
        steps[0].item_id: "This video is the quickest way back on track.",
        steps[1].item_id: "Due in 2 days and not started.",
    }
    assert "chapter 9" not in answer.text + " ".join(answer.sentences.values())
    call = only_call()
    assert (call.outcome, call.discarded_items) == ("success", 1)


@pytest.mark.django_db
def test_an_answer_about_unknown_items_only_gives_the_local_text(
    school: School, assistant: AssistantSettings, fake: FakeGemini
) -> None:
    fake.succeed({"summary": "Try these.", "items": [{"item_id": 987654, "sentence": "A made-up step."}]})

    answer = student_explanation(student=school.student, recommendations=next_steps(school), now=NOW)

    assert answer.source == "local"
    assert 987654 not in answer.sentences
    call = only_call()
    assert (call.outcome, call.discarded_items) == ("invalid", 1)


@pytest.mark.django_db
def test_an_unexpected_error_never_reaches_the_caller(
    school: School, assistant: AssistantSettings, fake: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(assist, "generate_json", broken)

    answer = student_explanation(student=school.student, recommendations=next_steps(school), now=NOW)
    ideas = intervention_ideas(alert=an_alert(school), now=NOW)

    assert (answer.source, ideas.source) == ("local", "local")
    assert answer.note == ideas.note == "Gemini could not be reached; this text is written by EduPath."


# -- off, budget, cache -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_nothing_is_sent_while_the_organisation_has_gemini_off(school: School, fake: FakeGemini) -> None:
    AssistantSettings.objects.create(organization=school.organization, enabled=False)
    steps = next_steps(school)

    answer = student_explanation(student=school.student, recommendations=steps, now=NOW)
    ideas = intervention_ideas(alert=an_alert(school), now=NOW)

    assert (answer.source, answer.note) == ("local", "Gemini is off for this school; this text is written by EduPath.")
    assert ideas.source == "local"
    assert fake.requests == []
    assert not AICall.objects.exists()


@pytest.mark.django_db
def test_nothing_is_sent_without_settings_for_the_organisation(school: School, fake: FakeGemini) -> None:
    answer = student_explanation(student=school.student, recommendations=next_steps(school), now=NOW)

    assert answer.source == "local"
    assert fake.requests == []


@pytest.mark.django_db
def test_nothing_is_sent_without_a_key(
    school: School, assistant: AssistantSettings, fake: FakeGemini, settings: SettingsWrapper
) -> None:
    settings.GEMINI_API_KEY = ""

    answer = student_explanation(student=school.student, recommendations=next_steps(school), now=NOW)
    ideas = intervention_ideas(alert=an_alert(school), now=NOW)

    assert answer.source == ideas.source == "local"
    assert answer.note == "Gemini is not set up on this server; this text is written by EduPath."
    assert fake.requests == []
    assert not AICall.objects.exists()


@pytest.mark.django_db
def test_no_next_steps_ask_nothing(school: School, assistant: AssistantSettings, fake: FakeGemini) -> None:
    answer = student_explanation(student=school.student, recommendations=[], now=NOW)

    assert (answer.text, answer.source, answer.sentences) == ("No next steps right now.", "local", {})
    assert fake.requests == []


@pytest.mark.django_db
def test_the_same_question_is_answered_from_the_cache(
    school: School, assistant: AssistantSettings, fake: FakeGemini
) -> None:
    steps = next_steps(school)
    fake.succeed(echo_items)

    first = student_explanation(student=school.student, recommendations=steps, now=NOW)
    second = student_explanation(student=school.student, recommendations=steps, now=NOW + timedelta(minutes=5))

    assert second == first
    assert second.source == "gemini"
    assert len(fake.requests) == 1  # no second HTTP request
    outcomes = list(AICall.objects.order_by("created_at").values_list("outcome", "input_tokens"))
    assert outcomes == [("success", 42), ("cached", None)]


@pytest.mark.django_db
def test_the_daily_budget_stops_calls_until_the_next_day(
    school: School, assistant: AssistantSettings, fake: FakeGemini
) -> None:
    # given: a budget of 3, two calls already made today (and many yesterday, which do not count)
    assistant.daily_call_budget = 3
    assistant.save()
    for created_at, count in ((NOW - timedelta(hours=2), 2), (NOW - timedelta(days=1), 9)):
        for _ in range(count):
            AICall.objects.create(
                organization=school.organization,
                purpose="student_explanation",
                model="gemini-2.5-flash",
                prompt_hash="0" * 64,
                outcome="success",
                created_at=created_at,
            )
    fake.succeed(echo_items)
    steps = next_steps(school)

    # when: three different questions today, then one tomorrow
    third = student_explanation(student=school.student, recommendations=steps, now=NOW)
    fourth = student_explanation(student=school.student, recommendations=steps[:1], now=NOW)
    ideas = intervention_ideas(alert=an_alert(school), now=NOW)
    tomorrow = student_explanation(student=school.student, recommendations=steps[1:], now=NOW + timedelta(days=1))

    # then
    assert third.source == "gemini"
    assert (fourth.source, fourth.note) == (
        "local",
        "Today's Gemini allowance for this school is used up; this text is written by EduPath.",
    )
    assert ideas.source == "local"
    assert tomorrow.source == "gemini"
    assert len(fake.requests) == 2
    today = AICall.objects.filter(created_at=NOW).order_by("id").values_list("outcome", flat=True)
    assert list(today) == ["success", "budget", "budget"]


@pytest.mark.django_db
def test_failed_calls_count_against_the_budget(school: School, assistant: AssistantSettings, fake: FakeGemini) -> None:
    assistant.daily_call_budget = 1
    assistant.save()
    fake.fail(500)
    steps = next_steps(school)

    student_explanation(student=school.student, recommendations=steps, now=NOW)
    student_explanation(student=school.student, recommendations=steps, now=NOW)

    assert len(fake.requests) == 1
    assert list(AICall.objects.order_by("id").values_list("outcome", flat=True)) == ["error", "budget"]


@pytest.mark.django_db(transaction=True)
def test_the_budget_holds_when_many_requests_race(school: School, assistant: AssistantSettings) -> None:
    # given: a budget of 5 and 20 requests at the same moment, each in its own thread and database connection
    assistant.daily_call_budget = 5
    assistant.save()
    barrier = threading.Barrier(20)

    def reserve() -> bool:
        try:
            barrier.wait()
            return assist._take_budget(assistant, now=NOW)
        finally:
            connection.close()

    # when
    with ThreadPoolExecutor(max_workers=20) as pool:
        granted = list(pool.map(lambda _: reserve(), range(20)))

    # then: exactly the budget was handed out
    assert granted.count(True) == 5


# -- intervention ideas -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_gemini_suggests_interventions_from_the_factors(
    school: School, assistant: AssistantSettings, fake: FakeGemini
) -> None:
    fake.succeed({"ideas": ["Send a short, friendly check-in today.", "Offer a 10-minute review of fractions."]})

    ideas = intervention_ideas(alert=an_alert(school), now=NOW)

    assert isinstance(ideas, AssistIdeas)
    assert ideas.source == "gemini"
    assert ideas.ideas == ["Send a short, friendly check-in today.", "Offer a 10-minute review of fractions."]
    prompt = json.loads(sent_prompt(fake.requests[0].json()))
    assert prompt == {
        "student": "the student",
        "risk_level": "high",
        "factors": [
            {
                "factor": "days_since_activity",
                "measures": "days since the student's last activity",
                "student_value": 12.0,
                "class_median": 2.0,
                "effect": "raises risk",
            },
            {
                "factor": "mean_score",
                "measures": "mean assessment score in percent",
                "student_value": 41.0,
                "class_median": 68.0,
                "effect": "raises risk",
            },
        ],
    }
    call = only_call()
    assert (call.purpose, call.outcome, call.subject_id) == ("intervention_ideas", "success", school.student.pk)


@pytest.mark.parametrize(
    "payload",
    [{"ideas": []}, {"ideas": ["ok", 3]}, {"ideas": ["x" * 400]}, {"ideas": [f"idea {n}" for n in range(9)]}, []],
    ids=["none", "not-text", "too-long", "too-many", "not-an-object"],
)
@pytest.mark.django_db
def test_unusable_ideas_give_the_local_ideas(
    school: School, assistant: AssistantSettings, fake: FakeGemini, payload: Any
) -> None:
    fake.succeed(payload)

    ideas = intervention_ideas(alert=an_alert(school), now=NOW)

    assert ideas.source == "local"
    assert ideas.note == "Gemini's answer could not be used; this text is written by EduPath."
    assert ideas.ideas == [
        "Get in touch: they have not been active lately (no activity for 12 days — class median 2).",
        "Offer help with the topics where their scores are low (mean score 41 % — class median 68 %).",
    ]
    assert only_call().outcome == "invalid"


# -- privacy ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_nothing_identifying_leaves_the_process(school: School, assistant: AssistantSettings, fake: FakeGemini) -> None:
    # given: a student with distinctive names, free text written by and about them, and an item whose title a
    # teacher wrote with the student's name in it
    student = StudentFactory.create(
        organization=school.organization,
        first_name="Zephyrine",
        last_name="Quillfeather",
        username="zq_private_user",
        email="zephyrine.quillfeather@mail.example",
        external_id="LMS-778899",
    )
    Enrollment.objects.create(user=student, course=school.course, enrolled_at=NOW - timedelta(days=30))
    steps = next_steps(school, student)
    personal = LearningItemFactory.create(
        module=ModuleFactory.create(course=school.course), title="Catch-up sheet for Zephyrine Quillfeather"
    )
    steps.append(
        recommend(
            student,
            personal,
            rank=3,
            reasoning="Zephyrine asked for it (zq_private_user).",
            signals=[
                {"kind": "teacher_pick", "student_id": student.pk, "user": student.pk, "note": "call her parents"},
                {"kind": "score", "student_mean": 52},
            ],
        )
    )
    RecommendationFeedback.objects.create(
        recommendation=steps[0],
        student=student,
        rating=2,
        helpful=False,
        comments="Marrowgate farm chores leave me no time",
        created_at=NOW,
        updated_at=NOW,
    )
    alert = an_alert(school, student)
    Intervention.objects.create(
        alert=alert, teacher=school.teacher, kind="meeting", note="Discussed Ashcombe Hospital stay", created_at=NOW
    )
    fake.succeed(echo_items)

    # when
    explanation = student_explanation(student=student, recommendations=steps, now=NOW)
    fake.succeed({"ideas": ["Check in with a short message."]})
    ideas = intervention_ideas(alert=alert, now=NOW)

    # then: Gemini was asked twice, and none of it names the student
    assert (explanation.source, ideas.source) == ("gemini", "gemini")
    assert len(fake.requests) == 2
    sent = fake.bodies.lower()
    for secret in [
        "Zephyrine",
        "Quillfeather",
        "zq_private_user",
        "zephyrine.quillfeather@mail.example",
        student.public_handle,
        "LMS-778899",
        "Marrowgate",
        "Ashcombe",
        "call her parents",
        "asked for it",
        "no activity for 12 days",  # the factor's text stays home too: only its figures travel
    ]:
        assert secret.lower().encode() not in sent, secret
    for id_style in (
        f'"id": {student.pk}',
        f'"id":{student.pk}',
        f'"student_id": {student.pk}',
        f'"user": {student.pk}',
    ):
        assert id_style.encode() not in sent
    # the teacher's title went out with the name replaced
    titles = [step["title"] for step in json.loads(sent_prompt(fake.requests[0].json()))["next_steps"]]
    assert titles == ["Adding fractions", "Fractions quiz", "Catch-up sheet for the student"]
    for request in fake.requests:
        assert not _keys_named(request.json(), {"id", "student_id", "user_id", "user", "name", "email", "username"})
    # the record keeps whom it was about, locally
    assert set(AICall.objects.values_list("subject_id", flat=True)) == {student.pk}


def _keys_named(value: Any, names: set[str]) -> set[str]:
    if isinstance(value, dict):
        found = {key for key in value if key in names}
        for child in value.values():
            found |= _keys_named(child, names)
        return found
    if isinstance(value, list):
        return set().union(*(_keys_named(child, names) for child in value)) if value else set()
    if isinstance(value, str) and value.startswith("{"):
        try:
            return _keys_named(json.loads(value), names)
        except ValueError:
            return set()
    return set()


# -- manage.py gemini_check -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_gemini_check_reports_a_working_key(
    school: School, fake: FakeGemini, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.succeed({"ok": True}, input_tokens=9, output_tokens=3)

    call_command("gemini_check", "--organization", school.organization.slug)

    out = capsys.readouterr().out
    assert out.startswith("Gemini answered: model gemini-2.5-flash at http://127.0.0.1:")
    assert "success in " in out and " ms (tokens in 9, out 3)." in out
    call = only_call()
    assert (call.purpose, call.outcome, call.subject_id, call.input_tokens) == ("check", "success", None, 9)


@pytest.mark.django_db
def test_gemini_check_fails_loudly(fake: FakeGemini) -> None:
    fake.fail(500)

    with pytest.raises(CommandError, match=r"Gemini did not answer: model gemini-2\.5-flash .*: error in \d+ ms"):
        call_command("gemini_check", "--model", "gemini-2.5-flash")

    assert len(fake.requests) == 1
    assert not AICall.objects.exists()  # no organisation given: nothing to record against


@pytest.mark.django_db
def test_gemini_check_without_a_key_says_what_to_set(fake: FakeGemini, settings: SettingsWrapper) -> None:
    settings.GEMINI_API_KEY = ""

    with pytest.raises(CommandError, match="GEMINI_API_KEY is empty"):
        call_command("gemini_check")

    assert fake.requests == []


@pytest.mark.django_db
def test_gemini_check_names_an_unknown_organisation(fake: FakeGemini) -> None:
    with pytest.raises(CommandError, match="No organisation with the slug 'nowhere'"):
        call_command("gemini_check", "--organization", "nowhere")

"""A fixed stream of events with explicit times, across the European DST change (29 March 2026), with a late event:
XP, level, streak, achievements and leaderboard ranks equal values computed by hand (in the comments)."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from django.core.management import call_command
from django.utils import timezone

from analytics.models import StudentDailyRollup
from analytics.services import ResolvedEvent, events_ingest, events_store, rollups_rebuild
from analytics.validation import EventIn
from classroom.models import Enrollment
from gamification import selectors
from gamification.models import Achievement, ScoreBonus, StudentAchievement, XpAward, XpRule, XpTotal
from gamification.services import xp_award
from tests.conftest import School
from tests.factories import EnrollmentFactory, LearningItemFactory, ModuleFactory, StudentFactory

NOW = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)  # Tuesday; London is on BST (UTC+1) since 29 March 01:00 UTC


def at(text: str) -> str:
    return text + "Z"


@pytest.fixture
def rules(school: School) -> dict[str, Any]:
    # Only this organisation's rules and achievements count here (the global defaults are switched off).
    XpRule.objects.update(is_active=False)
    Achievement.objects.update(is_active=False)
    organization = school.organization
    XpRule.objects.create(organization=organization, action="material_view", points=5, daily_item_cap=10)
    quiz = XpRule.objects.create(organization=organization, action="quiz_submit", points=10)
    ScoreBonus.objects.create(rule=quiz, min_percent=Decimal(80), points=5)
    ScoreBonus.objects.create(rule=quiz, min_percent=Decimal(100), points=10)
    XpRule.objects.create(organization=organization, action="lesson_complete", points=20)
    for code, kind, threshold in [
        ("first", "first_completion", None),
        ("perfect", "perfect_quiz", None),
        ("streak-3", "streak_days", 3),
        ("streak-5", "streak_days", 5),
        ("level-2", "level_reached", 2),
        ("xp-100", "xp_total", 100),
    ]:
        Achievement.objects.create(organization=organization, code=code, name=code, kind=kind, threshold=threshold)
    module = ModuleFactory.create(course=school.course)
    item_a = LearningItemFactory.create(module=module, kind="resource")
    item_b = LearningItemFactory.create(module=module, kind="resource")
    third = StudentFactory.create(organization=organization, username="third")
    EnrollmentFactory.create(user=third, course=school.course)
    return {"a": item_a.pk, "b": item_b.pk, "third": third}


@pytest.fixture
def post(django_capture_on_commit_callbacks: Any) -> Any:
    """Ingest one event as the student; XP is awarded after commit (GAMIFICATION_AWARD_INLINE in tests)."""

    def send(student: Any, course: int, when: str, action: str, item: int | None = None, **metadata: Any) -> None:
        body = {"event_id": str(uuid4()), "action": action, "timestamp": at(when), "course": course}
        body["metadata"] = metadata
        if item is not None:
            body["item"] = item
        with django_capture_on_commit_callbacks(execute=True):
            outcome = events_ingest(items=[body], principal=student, now=NOW, horizon=None)
        assert outcome.accepted == 1, outcome

    return send


def test_fixed_stream_gives_hand_computed_xp_levels_streaks_achievements_and_ranks(
    school: School, rules: dict[str, Any], settings: Any, post: Any
) -> None:
    settings.GAMIFICATION_LEADERBOARD_MIN_STUDENTS = 2
    s, c, d = school.student, school.classmate, rules["third"]
    course = school.course.pk
    # Friday 27 March (London = UTC): three views of item A (5 + 5, then the cap of 10 is reached: 0), a quiz at 80 %
    # (10 + the 80 % band 5 = 15). Day total 25.
    post(s, course, "2026-03-27T10:00:00", "material_view", rules["a"])
    post(s, course, "2026-03-27T10:05:00", "material_view", rules["a"])
    post(s, course, "2026-03-27T10:10:00", "material_view", rules["a"])
    post(s, course, "2026-03-27T11:00:00", "quiz_submit", score=8, max_score=10)
    # Saturday 28 March, 23:30 UTC = 23:30 GMT: still the 28th. A lesson: 20.
    post(s, course, "2026-03-28T23:30:00", "lesson_complete")
    # Sunday 29 March (DST began 01:00 UTC): one view of item B, 5 XP: under the 10 XP a streak day needs.
    post(s, course, "2026-03-29T12:00:00", "material_view", rules["b"])
    # 29 March 23:30 UTC is 00:30 BST on Monday the 30th: a perfect quiz, 10 + the highest band only (10) = 20.
    post(s, course, "2026-03-29T23:30:00", "quiz_submit", score=10, max_score=10)
    # Tuesday 31 March: another perfect quiz, 20.
    post(s, course, "2026-03-31T09:00:00", "quiz_submit", score=1, max_score=1)

    assert selectors.total_xp(s) == 25 + 20 + 5 + 20 + 20  # 90
    before = selectors.streak(s, today=date(2026, 3, 31))
    assert (before.current, before.longest) == (2, 2)  # 27, 28 | 29 too little | 30, 31
    assert set(StudentAchievement.objects.filter(student=s).values_list("achievement__code", flat=True)) == {
        "first",
        "perfect",
    }

    # A late event: a lesson on Sunday the 29th, 13:00 UTC, arriving last. The 29th becomes a streak day (5 + 20).
    post(s, course, "2026-03-29T13:00:00", "lesson_complete")
    assert selectors.total_xp(s) == 110  # level 2: 100 XP start level 2, 300 start level 3
    progress = selectors.progress(s, days=7, now=NOW)
    assert (progress["level"], progress["xp_into_level"], progress["xp_to_next_level"]) == (2, 10, 190)
    assert progress["streak"] == {
        "current": 5,
        "longest": 5,
        "active_today": True,
        "at_risk_today": False,
        "min_daily_xp": 10,
    }
    assert [point["xp"] for point in progress["xp_trend"]] == [0, 0, 25, 20, 25, 20, 20]  # 25 March .. 31 March
    earned = dict(StudentAchievement.objects.filter(student=s).values_list("achievement__code", "earned_at"))
    assert set(earned) == {"first", "perfect", "streak-3", "streak-5", "level-2", "xp-100"}
    # The course-local rollups carry the XP of each day (London: same calendar as the organisation here).
    rollup_xp = dict(StudentDailyRollup.objects.filter(student=s, course=school.course).values_list("day", "xp"))
    assert {str(day): xp for day, xp in rollup_xp.items()} == {
        "2026-03-27": 25,
        "2026-03-28": 20,
        "2026-03-29": 25,
        "2026-03-30": 20,
        "2026-03-31": 20,
    }

    # Classmate and third student: a lesson (20) and a quiz at 90 % (15) on Monday the 30th: 35 each, a tie that
    # the lower id wins.
    for student in (c, d):
        post(student, course, "2026-03-30T10:00:00", "lesson_complete")
        post(student, course, "2026-03-30T11:00:00", "quiz_submit", score=9, max_score=10)
    assert c.pk < d.pk

    week = selectors.leaderboard(
        viewer=c, organization=school.organization, course=school.course, timeframe="week", limit=10, now=NOW
    )
    # ISO week from Monday 30 March: student 20 + 20 = 40, classmate 35, third 35.
    assert [(row["rank"], row["handle"], row["xp"]) for row in week["rows"]] == [
        (1, s.public_handle, 40),
        (2, c.public_handle, 35),
        (3, d.public_handle, 35),
    ]
    # The classmate needs 40 - 35 + 1 (ties go to the lower id, and the student's is lower) to pass the student.
    assert week["me"] == {"rank": 2, "xp": 35, "percentile": 33.3, "xp_to_next_rank": 6}
    third = selectors.leaderboard(
        viewer=d, organization=school.organization, course=school.course, timeframe="week", limit=1, now=NOW
    )
    assert [row["xp"] for row in third["rows"]] == [40]
    assert third["me"] == {"rank": 3, "xp": 35, "percentile": 0.0, "xp_to_next_rank": 1}
    all_time = selectors.leaderboard(
        viewer=school.teacher,
        organization=school.organization,
        course=school.course,
        timeframe="all-time",
        limit=10,
        now=NOW,
    )
    assert [(row["rank"], row["name"], row["xp"]) for row in all_time["rows"]] == [
        (1, s.get_full_name() or s.username, 110),
        (2, c.get_full_name() or c.username, 35),
        (3, d.get_full_name() or d.username, 35),
    ]
    day = selectors.leaderboard(
        viewer=s, organization=school.organization, course=school.course, timeframe="day", limit=10, now=NOW
    )
    assert [(row["rank"], row["xp"], row["is_me"]) for row in day["rows"]] == [(1, 20, True)]

    # Processing every event again changes nothing.
    totals = sorted(XpTotal.objects.values_list("student_id", "course_id", "period", "period_start", "xp"), key=repr)
    ledger = XpAward.objects.count()
    again = xp_award(start=datetime(2026, 3, 1, tzinfo=UTC), end=NOW, now=timezone.now())
    assert (again.events, again.xp) == (0, 0)
    assert XpAward.objects.count() == ledger
    assert (
        sorted(XpTotal.objects.values_list("student_id", "course_id", "period", "period_start", "xp"), key=repr)
        == totals
    )
    assert selectors.total_xp(s) == 110
    assert StudentAchievement.objects.filter(student=s).count() == 6
    assert Enrollment.objects.filter(course=school.course, role="student").count() == 3


def test_rollup_rebuild_keeps_xp(school: School, rules: dict[str, Any], post: Any) -> None:
    post(school.student, school.course.pk, "2026-03-30T10:00:00", "lesson_complete")
    rollups_rebuild(since=date(2026, 3, 29), until=date(2026, 3, 31), resume=False)
    assert StudentDailyRollup.objects.get(student=school.student, course=school.course).xp == 20


def test_award_xp_command_awards_what_ingestion_did_not(school: School, rules: dict[str, Any]) -> None:
    # an import writes through the bulk path, which awards nothing by itself
    event = EventIn(event_id=uuid4(), action="lesson_complete", occurred_at=NOW, course_id=school.course.pk)
    events_store(events=[ResolvedEvent(event, school.student.pk, school.organization.pk)], received_at=NOW)
    assert selectors.total_xp(school.student) == 0
    call_command("award_xp", "--since", "2026-03-30", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("award_xp", "--since", "2026-03-30", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert selectors.total_xp(school.student) == 20


def test_xp_days_follow_the_organisation_and_the_course_calendar(
    school: School, rules: dict[str, Any], post: Any
) -> None:
    # The organisation is in London, this course in New York. 30 March 02:30 UTC is 03:30 on the 30th in London
    # (BST) but 22:30 on the 29th in New York (EDT): the streak and leaderboards count the 30th, the course's
    # daily rollup the 29th.
    school.course.time_zone = "America/New_York"
    school.course.save()
    post(school.student, school.course.pk, "2026-03-30T02:30:00", "lesson_complete")
    award = XpAward.objects.get(student=school.student)
    assert (str(award.day), award.amount) == ("2026-03-30", 20)
    rollup = StudentDailyRollup.objects.get(student=school.student, course=school.course)
    assert (str(rollup.day), rollup.xp) == ("2026-03-29", 20)
    week = XpTotal.objects.get(student=school.student, course=school.course, period="week")
    assert str(week.period_start) == "2026-03-30"  # the London Monday, not the New York Sunday's week

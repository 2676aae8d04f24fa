"""The student's page and every figure about a student, for each viewer: a student shared by two classes taught by two
teachers (each teacher sees only their own class's events, minutes, XP, heatmap and recent activity, on the page
and over the API; the administrator and the student see both), the API and the page agreeing for one viewer and
period, the work due soon and overdue (with the enrolment-date rule), grades with the class average under the
small-group rule, the percentile's empty state and the leaderboard with the student's own row."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from analytics import selectors
from analytics.services import events_ingest
from classroom.models import Enrollment, LearningItem, Submission
from classroom.selectors import courses_in_common
from live import metrics as live_metrics
from live import selectors as live_selectors
from tests.conftest import School, client_for
from tests.factories import EnrollmentFactory, LearningItemFactory, ModuleFactory, SubmissionFactory

NOW = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)
# What the shared student did in each class (UTC days, a London school and UTC classes): events, seconds, XP.
MATH = {"events": 2, "active_minutes": 30.0, "xp": 22}  # a view (2 XP, 600 s) and a lesson completed (20 XP, 1200 s)
HISTORY = {"events": 1, "active_minutes": 5.0, "xp": 2}  # a view (2 XP, 300 s)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The views and the catalogue ask django.utils.timezone.now(); here it is NOW."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def _post(student: Any, course: Any, item: Any, when: str, action: str, capture: Any, duration: int) -> None:
    body = {
        "event_id": str(uuid4()),
        "action": action,
        "timestamp": when,
        "course": course.pk,
        "item": item.pk,
        "metadata": {"duration": duration},
    }
    with capture(execute=True):  # XP is awarded after commit
        assert events_ingest(items=[body], principal=student, now=NOW, horizon=None).accepted == 1


@pytest.fixture
def shared(school: School, django_capture_on_commit_callbacks: Any, frozen: None) -> School:
    """`student` studies MATH-1 (taught by `teacher`) and HIST-1 (taught by `other_teacher`), active in both."""
    EnrollmentFactory.create(user=school.student, course=school.other_course)
    capture = django_capture_on_commit_callbacks
    _post(school.student, school.course, school.item, "2026-03-30T10:00:00Z", "material_view", capture, 600)
    _post(school.student, school.course, school.item, "2026-03-31T12:00:00Z", "lesson_complete", capture, 1200)
    _post(school.student, school.other_course, school.other_item, "2026-03-31T09:00:00Z", "material_view", capture, 300)
    return school


def _page(user: Any, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.content.decode()


@pytest.mark.parametrize(
    ("viewer", "own", "other", "figures"),
    [("teacher", "MATH-1", "HIST-1", MATH), ("other_teacher", "HIST-1", "MATH-1", HISTORY)],
)
def test_each_teacher_sees_only_their_own_class_of_a_shared_student(
    shared: School, viewer: str, own: str, other: str, figures: dict[str, Any]
) -> None:
    """A teacher of one of the student's classes sees what happened there, in every figure of the page and of every
    endpoint about the student; nothing of the other teacher's class (issue 13: teacher2 saw SCI-201 activity)."""
    # given
    teacher, student = getattr(shared, viewer), shared.student
    api = client_for(teacher)
    query = f"student={student.pk}&days=7"

    # when
    micro = api.get(f"/api/v1/analytics/dashboards/micro?{query}").json()
    user = api.get(f"/api/v1/analytics/users/{student.pk}/analytics?days=7").json()
    heatmap = api.get(f"/api/v1/analytics/learning/heatmap?{query}").json()
    overview = api.get(f"/api/v1/analytics/learning/overview?{query}").json()
    progress = api.get(f"/api/v1/gamification/progress?{query}").json()
    weekly = api.get(f"/api/v1/analytics/weekly-xp?student={student.pk}").json()
    standing = api.get(f"/api/v1/analytics/student-progress?student={student.pk}").json()
    profile = api.get(f"/api/v1/users/{student.pk}/").json()
    live = api.get(f"/api/v1/realtime/snapshots/progress?student={student.pk}").json()
    html = _page(teacher, f"/students/{student.pk}/progress/?days=7")

    # then: only their class, in every figure
    assert micro["every_class"] is False
    assert (micro["activity"]["events"], micro["activity"]["active_minutes"]) == (
        figures["events"],
        figures["active_minutes"],
    )
    assert (micro["activity"]["xp_earned"], micro["xp"]) == (figures["xp"], figures["xp"])
    assert sum(day["events"] for day in micro["heatmap"]) == figures["events"]
    assert sum(day["xp"] for day in micro["heatmap"]) == figures["xp"]
    assert {row["course_code"] for row in micro["recent_activity"]} == {own}
    assert len(micro["recent_activity"]) == figures["events"]
    assert micro["achievements"] == []
    assert [row["code"] for row in micro["courses"]] == [own]
    assert [board["code"] for board in micro["leaderboards"]] == [own]
    assert (user["events"], user["xp_earned"]) == (figures["events"], figures["xp"])
    assert [row["code"] for row in user["courses"]] == [own]
    assert sum(day["events"] for day in heatmap["heatmap"]) == figures["events"]
    assert (overview["events"], overview["xp_total"], overview["achievements_earned"]) == (
        figures["events"],
        figures["xp"],
        None,
    )
    assert (progress["xp"], progress["every_class"], progress["achievements"]) == (figures["xp"], False, [])
    assert weekly["week_total"] == figures["xp"]
    assert (standing["xp"], standing["rank"]) == (figures["xp"], None)
    assert profile["student_stats"]["total_xp"] == figures["xp"]
    assert (live["xp"], [row["course"] for row in live["courses"]]) == (figures["xp"], [micro["courses"][0]["course"]])
    assert [row["course"]["code"] for row in profile["student_stats"]["enrollments"]] == [own]
    assert other not in html and own in html
    assert 'data-scope="own-classes"' in html


@pytest.mark.parametrize("viewer", ["admin", "student"])
def test_the_administrator_and_the_student_see_both_classes(shared: School, viewer: str) -> None:
    """Who sees all of the student (themselves, their school's administrators) sees every class in every figure."""
    # given
    student = shared.student
    url = "/api/v1/analytics/dashboards/micro?days=7" + (f"&student={student.pk}" if viewer == "admin" else "")
    page = f"/students/{student.pk}/progress/?days=7" if viewer == "admin" else "/progress/?days=7"

    # when
    micro = client_for(getattr(shared, viewer)).get(url).json()
    html = _page(getattr(shared, viewer), page)

    # then
    both = MATH["events"] + HISTORY["events"]
    assert micro["every_class"] is True
    assert (micro["activity"]["events"], micro["xp"]) == (both, MATH["xp"] + HISTORY["xp"])
    assert sum(day["events"] for day in micro["heatmap"]) == both
    assert {row["course_code"] for row in micro["recent_activity"]} == {"MATH-1", "HIST-1"}
    assert "MATH-1" in html and "HIST-1" in html and 'data-scope="own-classes"' not in html
    profile = client_for(getattr(shared, viewer)).get(f"/api/v1/users/{student.pk}/").json()
    assert profile["student_stats"]["total_xp"] == MATH["xp"] + HISTORY["xp"]


@pytest.mark.parametrize("viewer", ["student", "teacher", "other_teacher", "admin"])
def test_user_analytics_and_the_micro_dashboard_agree(shared: School, viewer: str) -> None:
    """Issue 13 found 145 events on users/{id}/analytics and 278 on dashboards/micro for one student and viewer: the
    first counted the shared classes, the second everything. Both now count one learning_activity over the same
    classes (Scope.student_course_ids)."""
    # given
    api, student = client_for(getattr(shared, viewer)), shared.student

    # when
    user = api.get(f"/api/v1/analytics/users/{student.pk}/analytics?days=7").json()
    micro = api.get(f"/api/v1/analytics/dashboards/micro?student={student.pk}&days=7").json()
    overview = api.get(f"/api/v1/analytics/learning/overview?student={student.pk}&days=7").json()

    # then
    assert {name: user[name] for name in micro["activity"]} == micro["activity"]
    assert {name: overview[name] for name in micro["activity"]} == micro["activity"]
    assert [day["events"] for day in user["daily"]] == [day["events"] for day in micro["heatmap"]]
    assert [day["xp"] for day in user["daily"]] == [day["xp"] for day in micro["heatmap"]]


def _graded(school: School, title: str, due: timedelta | None, kind: str = LearningItem.Kind.ASSIGNMENT) -> Any:
    return LearningItemFactory.create(
        module=ModuleFactory.create(course=school.course, title=f"Week of {title}"),
        kind=kind,
        title=title,
        max_points=Decimal(10),
        due_at=NOW + due if due is not None else None,
    )


@pytest.fixture
def work(school: School) -> dict[str, Any]:
    """MATH-1's graded work around NOW for `student`, enrolled ten days before NOW (and `classmate` long before)."""
    Enrollment.objects.filter(user=school.student, course=school.course).update(enrolled_at=NOW - timedelta(days=10))
    items = {
        "soon": _graded(school, "soon", timedelta(days=2)),
        "soon handed in": _graded(school, "soon handed in", timedelta(days=6), LearningItem.Kind.QUIZ),
        "next week": _graded(school, "next week", timedelta(days=8)),
        "overdue": _graded(school, "overdue", timedelta(days=-1)),
        "marked missing": _graded(school, "marked missing", timedelta(days=-2)),
        "handed in": _graded(school, "handed in", timedelta(days=-3)),
        "excused": _graded(school, "excused", timedelta(days=-4)),
        "before enrolling": _graded(school, "before enrolling", timedelta(days=-20)),
        "no due time": _graded(school, "no due time", None),
    }

    def hand_in(item: str, student: Any, state: str, score: int | None) -> None:
        SubmissionFactory.create(
            item=items[item],
            student=student,
            state=state,
            submitted_at=None if state in ("missing", "excused") else NOW - timedelta(days=5),
            score=None if score is None else Decimal(score),
            max_points=Decimal(10),
        )

    hand_in("soon handed in", school.student, Submission.State.ON_TIME, None)
    hand_in("marked missing", school.student, Submission.State.MISSING, None)
    hand_in("handed in", school.student, Submission.State.ON_TIME, 8)
    hand_in("handed in", school.classmate, Submission.State.LATE, 6)
    hand_in("excused", school.student, Submission.State.EXCUSED, None)
    return items


def test_due_soon_and_overdue_follow_the_enrolment_date(school: School, work: dict[str, Any]) -> None:
    """Overdue: due, nothing handed in (or marked missing), not excused, and due after the student enrolled; due soon:
    the next 7 days, handed in or not (with the state)."""
    # when
    answer = selectors.student_coursework(
        student_id=school.student.pk, courses=courses_in_common(school.student, school.student), now=NOW, peer_minimum=0
    )

    # then
    assert [(row["title"], row["state"]) for row in answer["due_soon"]] == [
        ("soon", None),
        ("soon handed in", "on_time"),
    ]
    assert [(row["title"], row["state"]) for row in answer["overdue"]] == [
        ("marked missing", "missing"),
        ("overdue", None),
    ]
    assert {row["title"] for row in answer["grades"]} >= set(work)  # with the fixture's own item


def test_the_classmate_enrolled_long_ago_owes_the_older_work(school: School, work: dict[str, Any]) -> None:
    """The same items for a classmate enrolled before all of them: the work due before `student` enrolled is overdue
    for the classmate (one rule, by each student's own enrolment)."""
    answer = selectors.student_coursework(
        student_id=school.classmate.pk,
        courses=courses_in_common(school.classmate, school.classmate),
        now=NOW,
        peer_minimum=0,
    )
    assert [row["title"] for row in answer["overdue"]] == [
        "before enrolling",
        "excused",
        "marked missing",
        "overdue",
    ]


def test_grades_show_the_class_average_within_the_small_group_rule(
    school: School, work: dict[str, Any], frozen: None
) -> None:
    """The class average of an item is the mean of the class's latest scored hand-ins (8/10 and 6/10: 70 %); a student
    sees it only when at least ANALYTICS_PEER_MIN_STUDENTS students have a score, staff always."""
    # when
    as_student = client_for(school.student).get("/api/v1/analytics/coursework").json()
    as_teacher = client_for(school.teacher).get(f"/api/v1/analytics/coursework?student={school.student.pk}").json()
    with override_settings(ANALYTICS_PEER_MIN_STUDENTS=2):
        small_minimum = client_for(school.student).get("/api/v1/analytics/coursework").json()

    # then
    def handed_in(answer: dict[str, Any]) -> dict[str, Any]:
        return next(row for row in answer["grades"] if row["title"] == "handed in")

    assert handed_in(as_student)["score_percent"] == 80.0
    marked_missing = next(row for row in as_student["grades"] if row["title"] == "marked missing")
    assert (marked_missing["state"], marked_missing["score_percent"]) == ("missing", None)  # no score, not 0.0
    assert handed_in(as_student)["class_average_percent"] is None
    assert handed_in(as_student)["reason"] == "The class average is shown when at least 5 students have a score."
    assert (handed_in(as_teacher)["class_average_percent"], handed_in(as_teacher)["class_scored"]) == (70.0, 2)
    assert "reason" not in handed_in(as_teacher)
    assert handed_in(small_minimum)["class_average_percent"] == 70.0
    assert [row["title"] for row in as_teacher["overdue"]] == ["marked missing", "overdue"]


def test_the_page_lists_due_and_overdue_work_with_links(school: School, work: dict[str, Any], frozen: None) -> None:
    html = _page(school.student, "/progress/")
    for title in ("soon", "overdue"):
        assert f'<a href="#work-item-{work[title].pk}">{title}</a>' in html
        assert f'id="work-item-{work[title].pk}"' in html
    assert "The class average is shown when at least 5 students have a score." in html


def test_a_class_without_activity_has_no_percentile(school: School, frozen: None) -> None:
    """Nobody in the class has completed anything: every student would stand at 0.0, which reads as "last"; the page
    shows a dash with "no activity yet" and says what the percentile means."""
    # when
    micro = client_for(school.teacher).get(f"/api/v1/analytics/dashboards/micro?student={school.student.pk}").json()
    html = _page(school.teacher, f"/students/{school.student.pk}/progress/")

    # then
    assert micro["courses"][0]["peers"] == {
        "hidden": False,
        "students": 2,
        "has_activity": False,
        "class_average_percent": 0.0,
        "percentile": None,
    }
    assert "— no activity yet" in html and 'data-metric="percentile">0.0' not in html
    assert "the share of the class (the student included) with less progress" in html


@pytest.mark.parametrize(("minimum", "shown"), [(2, True), (3, False)])
def test_the_leaderboard_highlights_the_students_own_row_above_the_minimum(
    shared: School, minimum: int, shown: bool
) -> None:
    """MATH-1 ranks its two active students: shown to students from GAMIFICATION_LEADERBOARD_MIN_STUDENTS = 2, with
    public handles and their own row highlighted; hidden at 3."""
    with override_settings(GAMIFICATION_LEADERBOARD_MIN_STUDENTS=minimum):
        html = _page(shared.student, "/progress/?days=7")
        micro = client_for(shared.student).get("/api/v1/analytics/dashboards/micro?days=7").json()
    math = next(board for board in micro["leaderboards"] if board["code"] == "MATH-1")
    assert math["hidden"] is not shown
    if shown:
        [row] = math["rows"]  # only the student earned XP in MATH-1 this week
        assert (row["handle"], row["is_me"], row["xp"]) == (shared.student.public_handle, True, MATH["xp"])
        assert "name" not in row
        assert '<tr class="is-me" aria-current="true">' in html and shared.student.public_handle in html
    else:
        assert "Shown to students when at least 3 students take part." in html
        assert 'class="is-me"' not in html


def test_a_teacher_sees_the_students_row_highlighted(shared: School) -> None:
    html = _page(shared.teacher, f"/students/{shared.student.pk}/progress/?days=7")
    assert '<tr class="is-me" aria-current="true">' in html


def test_recent_activity_names_the_class_of_each_row(shared: School) -> None:
    rows = selectors.recent_activity(student_id=shared.student.pk, now=NOW)
    assert [(row["action"], row["course_code"]) for row in rows] == [
        ("lesson_complete", "MATH-1"),
        ("material_view", "HIST-1"),
        ("material_view", "MATH-1"),
    ]
    mine = selectors.recent_activity(student_id=shared.student.pk, now=NOW, course_ids=[shared.other_course.pk])
    assert [row["course_code"] for row in mine] == ["HIST-1"]


@pytest.mark.parametrize(("viewer", "whole"), [("teacher", False), ("other_teacher", False), ("student", True)])
def test_the_live_progress_frames_count_what_the_page_counts(shared: School, viewer: str, whole: bool) -> None:
    """The live stream's one-statement snapshot (what a teacher's open page receives) counts XP and the streak over the
    same classes as the page: the teacher's own, or all of the student's."""
    # given
    student = shared.student
    course_ids = sorted(courses_in_common(getattr(shared, viewer), student).values_list("pk", flat=True))

    # when
    fast = live_selectors.student_progress_snapshot(
        student_id=student.pk, course_ids=course_ids, now=NOW, whole_student=whole
    )
    reference = live_metrics.student_snapshot(
        student_id=student.pk, course_ids=course_ids, now=NOW, whole_student=whole
    )
    micro = client_for(getattr(shared, viewer)).get(f"/api/v1/analytics/dashboards/micro?student={student.pk}").json()

    # then
    assert fast == reference
    assert (fast["xp"], fast["streak"]) == (micro["xp"], micro["streak"])

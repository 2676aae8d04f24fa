"""Goals: hand-computed progress of each kind, milestones reached once (a re-run announces nothing), live messages to
the student's group, missed and closed goals, every refusal of bad input, the API for each role, and the coalesced
refresh queued by ingestion."""

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.template.loader import render_to_string
from django.utils import timezone

from core.exceptions import ApplicationError
from core.redis import cache_redis
from gamification.services import student_group
from recommendations import tasks
from recommendations.goals import goal_create, goal_out, goals_check, goals_close_due, paths_goals_panel
from recommendations.models import Goal, GoalMilestone, PathProgress
from recommendations.paths import path_progress_refresh
from tests.conftest import School, client_for
from tests.factories import CourseFactory, EnrollmentFactory, SubmissionFactory
from tests.recommendations.goal_fixtures import NOW, Paths, paths, queued, send

__all__ = ["paths", "queued", "send"]  # fixtures of tests/recommendations/goal_fixtures.py
pytestmark = pytest.mark.urls("tests.recommendations.goal_urls")

MONDAY, SUNDAY_BEFORE = NOW - timedelta(days=2), NOW - timedelta(days=3)
URL = "/api/v1/recommendations/goals/"


def milestones(goal: Goal) -> list[tuple[str, int]]:
    return list(GoalMilestone.objects.filter(goal=goal).values_list("period", "threshold"))


async def receive_all(layer: Any, channel: str, count: int) -> list[dict[str, Any]]:
    return [await asyncio.wait_for(layer.receive(channel), timeout=5) for _ in range(count)]


def later(days: int = 30) -> str:
    return (timezone.now().date() + timedelta(days=days)).isoformat()


# SECTION: progress, milestones and live messages


def test_course_goal_progress_milestones_once_and_live_messages(
    school: School, paths: Paths, send: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given: MATH-1 has 4 items (school.item, a, b, c); the goal is half of them by tomorrow
    goal = goal_create(
        student=school.student,
        kind="course_completion",
        course=school.course,
        target=50,
        due_date=NOW.date() + timedelta(days=1),
        now=NOW,
    )
    assert (goal.progress, goal.status, milestones(goal)) == (Decimal("0.00"), "active", [])

    # when: a is completed: 1 of 4 items = 25 % of the class = 50 % of the goal
    send(school.student, "material_complete", NOW - timedelta(hours=2), course=school.course.pk, item=paths.a.pk)
    layer = get_channel_layer()
    assert layer is not None
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(student_group(school.student.pk), channel)  # after gamification's messages
    with django_capture_on_commit_callbacks(execute=True):
        reached = goals_check(student_ids=[school.student.pk], now=NOW)

    # then
    goal.refresh_from_db()
    assert [(m.threshold, m.progress) for m in reached] == [(25, 50.0), (50, 50.0)]
    assert (goal.progress, goal.status) == (Decimal("50.00"), "active")
    assert milestones(goal) == [("", 25), ("", 50)]
    # (the layer does not keep the order of messages sent within the same instant)
    messages = sorted(async_to_sync(receive_all)(layer, channel, 2), key=lambda message: message["threshold"])
    assert messages[1] == {
        "type": "goal.milestone",
        "student": school.student.pk,
        "goal": goal.pk,
        "kind": "course_completion",
        "threshold": 50,
        "period": "",
        "progress": 50.0,
        "title": "50 % of the way: Complete 50 % of MATH-1 by 19 Nov 2026",
        "group": student_group(school.student.pk),
    }

    # a re-run reaches nothing new and announces nothing
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert goals_check(student_ids=[school.student.pk], now=NOW) == []
    assert callbacks == []
    assert milestones(goal) == [("", 25), ("", 50)]

    # b graded by the teacher: 2 of 4 items = the target: achieved, with the last two milestones
    SubmissionFactory.create(item=paths.b, student=school.student, submitted_at=NOW - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        reached = goals_check(student_ids=[school.student.pk], now=NOW)
    async_to_sync(layer.group_discard)(student_group(school.student.pk), channel)
    goal.refresh_from_db()
    assert [m.threshold for m in reached] == [75, 100]
    assert reached[1].title == "Goal reached: Complete 50 % of MATH-1 by 19 Nov 2026"
    assert (goal.progress, goal.status, goal.achieved_at) == (Decimal("100.00"), "achieved", NOW)
    assert sorted(message["threshold"] for message in async_to_sync(receive_all)(layer, channel, 2)) == [75, 100]
    assert goals_check(student_ids=[school.student.pk], now=NOW) == []  # achieved goals are no longer checked


def test_weekly_minutes_and_xp_count_this_utc_week_only(school: School, paths: Paths, send: Any) -> None:
    course = school.course.pk
    minutes = goal_create(student=school.student, kind="weekly_minutes", target=10, now=NOW)
    xp = goal_create(student=school.student, kind="weekly_xp", target=40, now=NOW)
    send(school.student, "material_view", SUNDAY_BEFORE, course=course, item=paths.a.pk, duration=600)  # last week
    send(school.student, "material_view", MONDAY, course=course, item=paths.a.pk, duration=300)
    send(school.student, "lesson_complete", NOW - timedelta(hours=1), course=course, item=paths.b.pk, duration=180)
    send(school.student, "lesson_complete", NOW - timedelta(hours=1), course=course, item=paths.c.pk)

    goals_check(student_ids=[school.student.pk], now=NOW)

    minutes.refresh_from_db()
    xp.refresh_from_db()
    # 300 s + 180 s = 8 of 10 minutes; two lesson completions of 20 XP each = 40 of 40 XP
    assert minutes.progress == Decimal("80.00")
    assert milestones(minutes) == [("2026-W47", 25), ("2026-W47", 50), ("2026-W47", 75)]
    assert (xp.progress, xp.status) == (Decimal("100.00"), "active")  # weekly goals recur
    assert milestones(xp)[-1] == ("2026-W47", 100)

    # the next week starts from nothing, with milestones of its own
    monday_after = NOW + timedelta(days=5)
    assert goals_check(student_ids=[school.student.pk], now=monday_after) == []
    minutes.refresh_from_db()
    assert (minutes.progress, minutes.updated_at) == (Decimal("0.00"), monday_after)
    shown = goal_out(Goal.objects.prefetch_related("milestones").get(pk=minutes.pk), now=monday_after)
    assert (shown["period"], shown["progress_percent"], shown["milestones"]) == ("2026-W48", 0.0, [])
    shown = goal_out(Goal.objects.prefetch_related("milestones").get(pk=xp.pk), now=monday_after)
    assert shown["progress_percent"] == 0.0  # its stored 100 % is of last week


def test_path_goal_follows_path_progress(school: School, paths: Paths, send: Any) -> None:
    goal = goal_create(student=school.student, kind="path", path=paths.inside, now=NOW)
    assert PathProgress.objects.filter(student=school.student, path=paths.inside).exists()  # refreshed at creation
    send(school.student, "material_complete", NOW - timedelta(hours=1), course=school.course.pk, item=paths.a.pk)
    path_progress_refresh(student_ids=[school.student.pk], now=NOW)
    reached = goals_check(student_ids=[school.student.pk], now=NOW)
    goal.refresh_from_db()
    assert goal.progress == Decimal("50.00")
    assert [m.threshold for m in reached] == [25, 50]
    assert reached[0].title == "25 % of the way: Finish the path “Algebra basics”"


def test_missed_and_closed_goals(school: School, paths: Paths, send: Any) -> None:
    tomorrow = NOW.date() + timedelta(days=1)
    course_goal = goal_create(
        student=school.student, kind="course_completion", course=school.course, due_date=tomorrow, now=NOW
    )
    met = goal_create(student=school.student, kind="weekly_minutes", target=10, due_date=tomorrow, now=NOW)
    unmet = goal_create(student=school.classmate, kind="weekly_minutes", target=10, due_date=tomorrow, now=NOW)
    open_ended = goal_create(student=school.classmate, kind="weekly_xp", target=100, now=NOW)
    send(
        school.student,
        "material_complete",
        NOW - timedelta(hours=1),
        course=school.course.pk,
        item=paths.a.pk,
        duration=600,
    )
    goals_check(student_ids=[school.student.pk, school.classmate.pk], now=NOW)

    # on the due date the goals are still open; the day after, the nightly job closes them
    assert goals_close_due(now=NOW + timedelta(days=1)) == 2
    assert Goal.objects.filter(status="active").count() == 4
    assert goals_close_due(now=NOW + timedelta(days=2)) == 2
    statuses = dict(Goal.objects.values_list("pk", "status"))
    assert statuses[course_goal.pk] == "missed"  # 1 of 4 items by the due date, 100 % wanted
    assert statuses[met.pk] == "achieved"  # 10 minutes met in its week
    assert statuses[unmet.pk] == "missed"
    assert statuses[open_ended.pk] == "active"
    assert Goal.objects.get(pk=course_goal.pk).progress == Decimal("25.00")


# SECTION: bad input


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "daily_minutes"}, "kind"),
        ({}, "kind"),
        ({"kind": "path"}, "path"),
        ({"kind": "course_completion", "due_date": "LATER"}, "course"),
        ({"kind": "course_completion", "course": "COURSE"}, "due_date"),
        ({"kind": "course_completion", "course": "COURSE", "due_date": "2020-01-01"}, "due_date"),
        ({"kind": "course_completion", "course": "COURSE", "due_date": "31-12-2030"}, "due_date"),
        ({"kind": "course_completion", "course": "OTHER_COURSE", "due_date": "LATER"}, "course"),
        ({"kind": "course_completion", "course": "COURSE", "due_date": "LATER", "target": 0}, "target"),
        ({"kind": "course_completion", "course": "COURSE", "due_date": "LATER", "target": 101}, "target"),
        ({"kind": "weekly_minutes"}, "target"),
        ({"kind": "weekly_minutes", "target": 9}, "target"),
        ({"kind": "weekly_minutes", "target": 3001}, "target"),
        ({"kind": "weekly_minutes", "target": "lots"}, "target"),
        ({"kind": "weekly_minutes", "target": 2**40}, "target"),
        ({"kind": "weekly_xp", "target": 9}, "target"),
        ({"kind": "weekly_xp", "target": 100_001}, "target"),
        ({"kind": "weekly_xp", "target": 50, "course": "COURSE"}, "course"),
        ({"kind": "weekly_xp", "target": 50, "path": "PATH"}, "path"),
        ({"kind": "path", "path": "PATH", "target": 50}, "target"),
        ({"kind": "path", "path": "FOREIGN_PATH"}, "path"),
        ({"kind": "path", "path": "ELSEWHERE_PATH"}, "path"),
        ({"kind": "path", "path": 10**12}, "path"),
        ({"kind": "path", "path": "PATH", "colour": "blue"}, "colour"),
    ],
)
def test_each_bad_goal_is_a_400_naming_the_field(
    school: School, paths: Paths, body: dict[str, Any], field: str
) -> None:
    names = {
        "COURSE": school.course.pk,
        "OTHER_COURSE": school.other_course.pk,
        "PATH": paths.inside.pk,
        "FOREIGN_PATH": paths.foreign.pk,
        "ELSEWHERE_PATH": paths.elsewhere.pk,  # a path of the school, but no item of the student's classes
        "LATER": later(),
    }
    given = {key: names.get(value, value) if isinstance(value, str) else value for key, value in body.items()}
    answer = client_for(school.student).post(URL, given, format="json")
    assert answer.status_code == 400, answer.json()
    assert field in answer.json(), answer.json()
    assert not Goal.objects.exists()


def test_at_most_twenty_active_goals_and_no_duplicates(school: School, paths: Paths) -> None:
    client = client_for(school.student)
    assert client.post(URL, {"kind": "weekly_xp", "target": 50}, format="json").status_code == 201
    again = client.post(URL, {"kind": "weekly_xp", "target": 80}, format="json")
    assert again.status_code == 400 and "non_field_errors" in again.json()
    courses = []
    for number in range(19):
        course = CourseFactory.create(organization=school.organization, code=f"EXTRA-{number}")
        EnrollmentFactory.create(user=school.student, course=course)
        courses.append(course)
    for course in courses:
        body = {"kind": "course_completion", "course": course.pk, "due_date": later()}
        assert client.post(URL, body, format="json").status_code == 201
    refused = client.post(URL, {"kind": "weekly_minutes", "target": 60}, format="json")
    assert refused.status_code == 400
    assert refused.json()["non_field_errors"] == ["At most 20 active goals."]
    # a cancelled goal frees its place
    goal = Goal.objects.filter(student=school.student, kind="weekly_xp").get()
    assert client.delete(f"{URL}{goal.pk}").status_code == 204
    assert client.post(URL, {"kind": "weekly_minutes", "target": 60}, format="json").status_code == 201


def test_goal_create_refuses_staff_and_past_dates_in_the_service(school: School) -> None:
    with pytest.raises(ApplicationError):
        goal_create(student=school.teacher, kind="weekly_xp", target=50, now=NOW)
    with pytest.raises(ApplicationError) as refused:
        goal_create(student=school.student, kind="weekly_xp", target=50, due_date=date(2026, 11, 17), now=NOW)
    assert refused.value.errors == {"due_date": ["Must be today or later."]}


# SECTION: the API for each role


def test_goals_api_for_the_student_their_teacher_and_others(school: School, paths: Paths) -> None:
    student = client_for(school.student)
    created = student.post(
        URL, {"kind": "course_completion", "course": school.course.pk, "due_date": later()}, format="json"
    )
    assert created.status_code == 201, created.json()
    course_goal = created.json()
    assert course_goal["title"].startswith("Complete 100 % of MATH-1 by ")
    assert (course_goal["target"], course_goal["status"], course_goal["progress_percent"]) == (100, "active", 0.0)
    weekly = student.post(URL, {"kind": "weekly_minutes", "target": 120}, format="json").json()
    path_goal = student.post(URL, {"kind": "path", "path": paths.path.pk}, format="json").json()
    assert weekly["period"] and weekly["title"] == "120 active minutes a week"

    # the student: list, read, change, cancel
    listed = student.get(URL).json()
    assert {row["id"] for row in listed["goals"]} == {course_goal["id"], weekly["id"], path_goal["id"]}
    assert listed["max_active"] == 20
    assert student.get(URL, {"student": school.student.pk}).status_code == 200
    detail = f"{URL}{weekly['id']}"
    assert student.get(detail).json()["target"] == 120
    changed = student.patch(detail, {"target": 90}, format="json")
    assert changed.status_code == 200 and changed.json()["target"] == 90
    assert student.patch(detail, {"target": 5}, format="json").json()["target"] == [
        "Must be between 10 and 3000 (minutes per week)."
    ]
    assert student.patch(detail, {"due_date": "2020-01-01"}, format="json").status_code == 400
    assert "non_field_errors" in student.patch(detail, {}, format="json").json()
    assert "status" in student.patch(detail, {"status": "achieved"}, format="json").json()
    course_detail = f"{URL}{course_goal['id']}"
    assert "due_date" in student.patch(course_detail, {"due_date": None}, format="json").json()
    assert student.delete(detail).status_code == 204
    assert student.get(detail).json()["status"] == "cancelled"
    assert student.delete(detail).status_code == 400  # already cancelled
    assert student.patch(detail, {"target": 60}, format="json").status_code == 400

    # the teacher of MATH-1: the student's goals about MATH-1 only (not the weekly one, not the path into HIST-1)
    teacher = client_for(school.teacher)
    seen = teacher.get(URL, {"student": school.student.pk})
    assert seen.status_code == 200
    assert [row["id"] for row in seen.json()["goals"]] == [course_goal["id"]]
    assert teacher.get(URL).status_code == 400  # staff name a student
    assert teacher.get(course_detail).status_code == 404  # a goal is read through its owner's list
    assert teacher.patch(course_detail, {"target": 50}, format="json").status_code == 404
    assert teacher.delete(course_detail).status_code == 404
    assert teacher.post(URL, {"kind": "weekly_xp", "target": 50}, format="json").status_code == 403

    # the administrator sees every goal of the student
    admin = client_for(school.admin)
    assert len(admin.get(URL, {"student": school.student.pk}).json()["goals"]) == 3
    assert admin.get(course_detail).status_code == 404

    # outside one's scope: 404, as if the student or goal did not exist
    assert client_for(school.other_teacher).get(URL, {"student": school.student.pk}).status_code == 404
    assert client_for(school.foreign_admin).get(URL, {"student": school.student.pk}).status_code == 404
    classmate = client_for(school.classmate)
    assert classmate.get(URL, {"student": school.student.pk}).status_code == 404
    assert classmate.get(course_detail).status_code == 404
    assert classmate.patch(course_detail, {"target": 50}, format="json").status_code == 404
    assert classmate.delete(course_detail).status_code == 404
    assert classmate.get(URL).json()["goals"] == []
    assert client_for(None).get(URL).status_code == 401
    assert student.get(f"{URL}{10**12}").status_code == 404
    assert student.get(URL, {"student": "me"}).status_code == 400


# SECTION: following the events


def test_ingestion_queues_one_refresh_per_learner_and_the_task_runs_it(
    school: School, paths: Paths, send: Any, queued: list[list[int]]
) -> None:
    goal = goal_create(
        student=school.student,
        kind="course_completion",
        course=school.course,
        target=25,
        due_date=NOW.date() + timedelta(days=60),
        now=NOW,
    )
    course = school.course.pk
    send(school.student, "material_complete", NOW - timedelta(hours=3), course=course, item=paths.a.pk)
    send(school.student, "material_view", NOW - timedelta(hours=2), course=course, item=paths.b.pk, duration=300)
    send(school.classmate, "material_view", NOW - timedelta(hours=2), course=course, item=paths.b.pk)
    # a burst of the student's events queued one refresh; the classmate's, one of their own
    assert queued == [[school.student.pk], [school.classmate.pk]]
    assert cache_redis().exists(tasks.REFRESH_KEY.format(school.student.pk))

    # what the worker does: forget the learners' keys, refresh paths, check goals (1 of 4 items: all four milestones)
    assert tasks.progress_refresh([school.student.pk]) == 4
    assert not cache_redis().exists(tasks.REFRESH_KEY.format(school.student.pk))
    assert PathProgress.objects.filter(student=school.student).count() == 2
    goal.refresh_from_db()
    assert goal.progress == Decimal("100.00")
    # events after the task started queue a new refresh
    send(school.student, "material_view", NOW - timedelta(hours=1), course=course, item=paths.c.pk)
    assert queued[-1] == [school.student.pk]


# SECTION: the page part


def test_the_page_part_for_the_student_and_their_teacher(school: School, paths: Paths, send: Any, rf: Any) -> None:
    goal = goal_create(student=school.student, kind="weekly_xp", target=50, now=NOW)
    course_goal = goal_create(
        student=school.student,
        kind="course_completion",
        course=school.course,
        due_date=NOW.date() + timedelta(days=60),
        now=NOW,
    )
    send(school.student, "material_complete", NOW - timedelta(hours=1), course=school.course.pk, item=paths.a.pk)
    path_progress_refresh(student_ids=[school.student.pk], now=NOW)

    request = rf.get("/progress/")
    request.user = school.student
    html = render_to_string(
        "recommendations/_paths_goals.html",
        {"paths_goals": paths_goals_panel(viewer=school.student, student=school.student, now=NOW)},
        request=request,
    )
    assert "Algebra basics" in html and "Algebra then history" in html
    assert f'data-goal-cancel="{goal.pk}"' in html and f'data-goal-cancel="{course_goal.pk}"' in html
    assert "data-goal-form" in html and "csrfmiddlewaretoken" in html
    assert f'<option value="{paths.inside.pk}">Algebra basics</option>' in html
    assert "History only" not in html  # no item of the student's classes

    request.user = school.teacher
    html = render_to_string(
        "recommendations/_paths_goals.html",
        {"paths_goals": paths_goals_panel(viewer=school.teacher, student=school.student, now=NOW)},
        request=request,
    )
    assert "data-goal-form" not in html and "data-goal-cancel" not in html
    assert "Algebra basics" in html and "Algebra then history" not in html
    assert f'data-goal="{course_goal.pk}"' in html and f'data-goal="{goal.pk}"' not in html


def test_nothing_is_queued_where_no_worker_serves_the_queue(
    school: School, paths: Paths, send: Any, queued: list[list[int]], settings: Any
) -> None:
    settings.RECOMMENDATIONS_REFRESH_QUEUED = False
    send(school.student, "material_view", NOW - timedelta(hours=1), course=school.course.pk, item=paths.a.pk)
    assert queued == []
    assert not cache_redis().exists(tasks.REFRESH_KEY.format(school.student.pk))

"""Issue 16 on the student page: the "Next steps" panel (recommendations/_next_steps.html) for the student themselves
(their next steps with the reasons and the facts, feedback and dismiss buttons; the same list, in the same order, as
GET /api/v1/recommendations/ answers; marked shown) and for a teacher of the class (read-only, only their classes'
next steps, and "Recommended before": what became of each); another student's page stays 404; "Ideas" on the class
page's alerts; the page's queries stay bounded however many recommendations there are. The browser side (dismiss
and the list replaced in place): tests/e2e/test_next_steps_browser.py."""

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from classroom.models import Course
from recommendations.models import Category, Recommendation
from recommendations.services import feedback_give, recommendation_dismiss, refresh_course
from risk.alerts import alerts_for_predictions
from tests.conftest import School, client_for
from tests.factories import EnrollmentFactory
from tests.recommendations.rec_fixtures import NOW, History, history
from tests.risk.factories import MISSING, model_version, prediction

__all__ = ["history"]  # the fixture, imported so that pytest finds it here

SHOWN = 5  # dashboards.recommendation_parts.SHOWN


def _page(user: Any, url: str) -> tuple[int, str]:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    return response.status_code, response.content.decode()


def _panel(page: str) -> str:
    match = re.search(r"<section[^>]*data-next-steps[^>]*>.*?</section>", page, re.S)
    assert match, "no Next steps panel"
    return match.group(0)


def _listed(panel: str) -> list[int]:
    return [int(value) for value in re.findall(r'<li class="next-step" data-recommendation="(\d+)"', panel)]


@pytest.fixture
def refreshed(history: History) -> History:
    refresh_course(course=history.school.course, as_of=NOW, now=NOW)
    return history


def test_a_student_sees_their_next_steps_with_the_reasons(refreshed: History) -> None:
    school = refreshed.school
    active = Recommendation.objects.filter(student=school.student, status=Recommendation.Status.ACTIVE)
    assert active.count() > SHOWN  # more wait their turn than the page lists

    status, page = _page(school.student, "/progress/")

    assert status == 200
    panel = _panel(page)
    assert 'data-own="true"' in panel and ">Next steps<" in panel
    # the very list the API answers the student, in its order
    answer = client_for(school.student).get(f"/api/v1/recommendations/?limit={SHOWN}").json()
    listed = _listed(panel)
    assert listed == [row["id"] for row in answer["recommendations"]] and len(listed) == SHOWN
    for recommendation in Recommendation.objects.filter(pk__in=listed):
        # each with its title, category, reasons (the facts), difficulty, time and relevance
        entry = re.search(rf'data-recommendation="{recommendation.pk}".*?</li>', panel, re.S)
        assert entry is not None
        text = html.unescape(entry.group(0))
        assert recommendation.reasoning and recommendation.reasoning in text
        assert f'<strong class="next-step-title" data-next-step-title>{recommendation.title}</strong>' in text
        assert recommendation.get_category_display() in text
        assert f"{round(recommendation.relevance_score * 100)} %" in text
        assert "data-next-step-difficulty" in text and "data-next-step-time" in text
        for action in ("helpful", "not_helpful", "dismiss", "open"):
            assert f'data-next-step-action="{action}"' in text
    # the work due in three days comes first, with the count of classmates who handed it in
    due = Recommendation.objects.get(pk=listed[0])
    assert (due.item_id, due.category) == (refreshed.due_quiz.pk, Category.ACTIVITY)
    assert "Due in 3 days (21 Nov); 2 of your 9 classmates have handed it in." in panel
    # the gap in week 9 is named with the student's and the class's figures
    assert "Your scores in Week 9 average 40 %, class 80 %." in panel
    # shown on the page: the implicit outcome is recorded for those listed only
    assert set(active.filter(shown_at__isnull=False).values_list("pk", flat=True)) == set(listed)
    # the explanation is read by the page's script; the student sees no history table
    assert "data-next-steps-explanation" in panel and "recommendations/next_steps.js" in page
    assert "Recommended before" not in panel
    # the paths and goals part is on the page too, with the student's goal form
    assert "data-paths-goals" in page and "data-goal-form" in page


def test_a_teacher_sees_them_read_only_with_what_became_of_earlier_ones(refreshed: History) -> None:
    # given: the student dismissed one step, and rated another
    school = refreshed.school
    first = Recommendation.objects.filter(student=school.student, status="active", item__isnull=False).order_by("rank")
    dismissed = first[1]
    recommendation_dismiss(recommendation=dismissed, now=NOW + timedelta(hours=1))
    rated = Recommendation.objects.filter(student=school.student, status="active").order_by("rank").first()
    assert rated is not None
    feedback_give(recommendation=rated, rating=4, helpful=True, verdict="helpful", comments="", now=NOW)

    status, page = _page(school.teacher, f"/students/{school.student.pk}/progress/")

    assert status == 200
    panel = _panel(page)
    assert 'data-own="false"' in panel and "read-only" in panel
    assert "data-next-step-action" not in panel and "data-next-steps-csrf" not in panel  # no buttons for staff
    listed = _listed(panel)
    answer = client_for(school.teacher).get(f"/api/v1/recommendations/?student={school.student.pk}&limit={SHOWN}")
    assert listed == [row["id"] for row in answer.json()["recommendations"]]
    # "Recommended before": every recommendation of the class, newest first, with its status and dates
    history_rows = re.findall(r'<tr data-row="(\d+)" data-status="(\w+)">', panel)
    assert (str(dismissed.pk), "dismissed") in history_rows
    assert (str(rated.pk), "active") in history_rows
    dismissed_row = re.search(rf'<tr data-row="{dismissed.pk}".*?</tr>', panel, re.S)
    assert dismissed_row is not None and "18 Nov 2026" in dismissed_row.group(0)
    assert dismissed.title in dismissed_row.group(0) and "Dismissed" in dismissed_row.group(0)
    rated_row = re.search(rf'<tr data-row="{rated.pk}".*?</tr>', panel, re.S)
    assert rated_row is not None and "4/5 · Helpful" in rated_row.group(0)
    # staff reading does not count as the student seeing them
    assert not Recommendation.objects.filter(pk__in=listed, shown_at__isnull=False).exists()


def test_a_teacher_sees_only_their_classes_next_steps(refreshed: History) -> None:
    # given: the student also studies HIST-1 (other_teacher's), with a next step there
    school = refreshed.school
    EnrollmentFactory.create(user=school.student, course=school.other_course)
    elsewhere = _recommendation(school.student, school.other_course, title="History reading", rank=1)

    _, teacher_page = _page(school.teacher, f"/students/{school.student.pk}/progress/")
    _, other_page = _page(school.other_teacher, f"/students/{school.student.pk}/progress/")
    _, own_page = _page(school.student, "/progress/")
    _, admin_page = _page(school.admin, f"/students/{school.student.pk}/progress/")

    assert "History reading" not in _panel(teacher_page)
    other = _panel(other_page)
    assert _listed(other) == [elsewhere.pk] and "History reading" in other and "Week 9" not in other
    assert "History reading" in _panel(own_page)
    assert "data-next-steps-scope" not in _panel(admin_page)  # the school's administrator sees every class
    assert "History reading" in _panel(admin_page)


def _recommendation(student: Any, course: Course, *, title: str, rank: int) -> Recommendation:
    return Recommendation.objects.create(
        organization=course.organization,
        student=student,
        course=course,
        category=Category.COURSE,
        title=title,
        rank=rank,
        relevance_score=1.0,
        confidence=0.5,
        reasoning="Written for the test.",
        strategy="test",
        created_at=NOW,
        expires_at=NOW + timedelta(days=1),
    )


def test_another_students_page_is_404_as_before(refreshed: History) -> None:
    school = refreshed.school
    assert _page(school.classmate, f"/students/{school.student.pk}/progress/")[0] == 404
    assert _page(school.other_teacher, f"/students/{school.student.pk}/progress/")[0] == 404
    assert _page(school.foreign_admin, f"/students/{school.student.pk}/progress/")[0] == 404


def test_no_next_steps_says_so(school: School) -> None:
    status, page = _page(school.student, "/progress/")
    assert status == 200
    panel = _panel(page)
    assert "data-next-steps-empty" in panel and "No next steps for you right now" in panel
    assert "data-next-steps-explanation hidden" in panel


def test_the_timeframe_swap_and_live_patches_leave_next_steps_alone(refreshed: History) -> None:
    """The dashboard part (`?fragment=1`) holds paths and goals, not next steps: they are neither read nor marked
    shown by a patch."""
    school = refreshed.school
    status, fragment = _page(school.student, "/progress/?fragment=1")
    assert status == 200
    assert "data-next-steps" not in fragment and "data-paths-goals" in fragment
    assert not Recommendation.objects.filter(student=school.student, shown_at__isnull=False).exists()


def test_the_class_page_offers_ideas_on_each_alert(school: School) -> None:
    version = model_version(organization=school.organization)
    latest = prediction(
        student=school.student, course=school.course, as_of=NOW, probability=0.83, version=version, factors=[MISSING]
    )
    [alert] = alerts_for_predictions([latest])

    status, page = _page(school.teacher, f"/classes/{school.course.pk}/dashboard/")

    assert status == 200
    row = re.search(rf'<tr data-student="{school.student.pk}".*?</tr>', page, re.S)
    assert row is not None
    assert f'aria-controls="ideas-{alert.pk}"' in row.group(0) and "data-alert-ideas-button" in row.group(0)
    assert f'id="ideas-{alert.pk}" data-alert-ideas hidden' in row.group(0)
    # what the button reads: the ideas with the note saying who wrote them (Gemini is off here)
    answer = client_for(school.teacher).get(f"/api/v1/recommendations/alerts/{alert.pk}/ideas").json()
    assert answer["alert"] == alert.pk and answer["source"] == "local" and answer["ideas"] and answer["note"]


@pytest.mark.parametrize(("who", "bound"), [("student", 40), ("teacher", 34)])
def test_the_student_page_queries_stay_bounded(
    refreshed: History, who: str, bound: int, django_assert_max_num_queries: Any
) -> None:
    """The next steps, their history and paths and goals cost a few queries whatever their number (the dashboard
    part alone is pinned in tests/dashboards/test_dashboards.py)."""
    school = refreshed.school
    # more history: two more refreshes supersede the lists, each with its rows
    refresh_course(course=school.course, as_of=NOW, now=NOW + timedelta(hours=1))
    refresh_course(course=school.course, as_of=NOW, now=NOW + timedelta(hours=2))
    url = "/progress/" if who == "student" else f"/students/{school.student.pk}/progress/"
    client = Client()
    client.force_login(getattr(school, who))
    with django_assert_max_num_queries(bound):
        response = client.get(url)
    assert response.status_code == 200
    assert len(_listed(_panel(response.content.decode()))) == SHOWN

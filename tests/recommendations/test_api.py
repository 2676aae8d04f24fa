"""The next-steps API for each role: a student's own list (best first, `limit`, `category`, marked shown only when
the student reads it), staff in scope (a teacher sees only the classes they teach) and what became of earlier ones
(`history=true`), feedback (given once, then updated), dismiss (a new list, with a replacement), open, the
explanation and intervention ideas with Gemini off, and every Bad input line of issue 16."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from recommendations import services
from recommendations.models import Category, Recommendation, RecommendationFeedback
from recommendations.services import refresh_course
from risk.alerts import alerts_for_predictions
from risk.models import Alert
from tests.conftest import School, client_for
from tests.factories import EnrollmentFactory
from tests.recommendations.rec_fixtures import NOW, History
from tests.risk.factories import model_version as risk_model_version
from tests.risk.factories import prediction as risk_prediction

URL = "/api/v1/recommendations/"
FEEDBACK = "/api/v1/recommendations/feedback"
EXPLANATION = "/api/v1/recommendations/explanation"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The server's clock, standing at the history's NOW (the dismiss view refreshes as of now); move it by
    replacing clock[0]."""
    moment = [NOW]
    monkeypatch.setattr(timezone, "now", lambda: moment[0])
    return moment


@pytest.fixture
def written(history: History, clock: list[datetime]) -> History:
    """The class's next steps, written by the engine as of NOW (the student gets: the quiz due in three days,
    Reading 1, strengthen Week 9, Reading 2, Reading 4, Reading 6)."""
    result = refresh_course(course=history.school.course, as_of=NOW, now=NOW)
    assert result.written > 0
    return history


def active(student_id: int) -> list[Recommendation]:
    return list(Recommendation.objects.filter(student_id=student_id, status=Recommendation.Status.ACTIVE))


def titles(answer: dict[str, Any]) -> list[str]:
    return [row["title"] for row in answer["recommendations"]]


def reading_1(history: History) -> Recommendation:
    return Recommendation.objects.get(
        student=history.school.student, item=history.reading[0], status=Recommendation.Status.ACTIVE
    )


# SECTION: the list


def test_the_student_reads_their_next_steps_best_first_and_they_are_marked_shown(written: History) -> None:
    # given
    school = written.school
    assert all(rec.shown_at is None for rec in active(school.student.pk))

    # when
    response = client_for(school.student).get(URL)

    # then: work due first, then by relevance
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["student"] == school.student.pk
    assert titles(answer) == ["Week 10 quiz", "Reading 1", "Strengthen Week 9", "Reading 2", "Reading 4", "Reading 6"]
    assert answer["total"] == 6
    rows = answer["recommendations"]
    assert rows[0]["category"] == rows[0]["type"] == "activity"
    scores = [row["relevance_score"] for row in rows[1:]]
    assert scores == sorted(scores, reverse=True)
    quiz = rows[0]
    assert quiz["item"] == written.due_quiz.pk and quiz["course"] == school.course.pk
    assert quiz["signals"][0]["kind"] == "due_soon" and "module_id" not in rows[2]["signals"][0]
    assert quiz["reasoning"] and quiz["feedback"] is None and quiz["status"] == "active"
    # shown now, to the student themselves
    assert {rec.shown_at for rec in active(school.student.pk)} == {NOW}
    assert {row["shown_at"] for row in client_for(school.student).get(URL).json()["recommendations"]} != {None}


def test_limit_and_category_narrow_the_list(written: History) -> None:
    client = client_for(written.school.student)

    assert titles(client.get(URL, {"limit": 2}).json()) == ["Week 10 quiz", "Reading 1"]
    assert titles(client.get(URL, {"category": "skill"}).json()) == ["Strengthen Week 9"]
    assert titles(client.get(URL, {"category": "resource", "limit": "1"}).json()) == ["Reading 1"]
    assert client.get(URL, {"category": "course"}).json()["recommendations"] == []
    # only what was listed is marked shown
    shown = Recommendation.objects.filter(student=written.school.student, shown_at__isnull=False)
    assert sorted(shown.values_list("title", flat=True)) == ["Reading 1", "Strengthen Week 9", "Week 10 quiz"]


def test_staff_reading_a_students_list_does_not_mark_it_shown(written: History) -> None:
    school = written.school

    for staff in (school.teacher, school.admin):
        response = client_for(staff).get(URL, {"student": school.student.pk})
        assert response.status_code == 200
        assert titles(response.json())[0] == "Week 10 quiz"

    assert all(rec.shown_at is None for rec in active(school.student.pk))


def test_staff_must_name_a_student_and_a_student_only_themselves(written: History) -> None:
    school = written.school

    # staff without `student`: a 400 naming it (staff have no next steps of their own)
    assert client_for(school.teacher).get(URL).json() == {"student": ["Required: the id of a student you may see."]}
    assert client_for(school.admin).get(URL).status_code == 400
    # a student naming themselves is the default; anyone else is a 404, like a missing student
    student = client_for(school.student)
    assert student.get(URL, {"student": school.student.pk}).json()["total"] == 6
    assert student.get(URL, {"student": school.classmate.pk}).json() == {"detail": "Not found."}
    assert student.get(URL, {"student": 10**12}).json() == {"detail": "Not found."}
    assert client_for(school.other_teacher).get(URL, {"student": school.student.pk}).status_code == 404
    assert client_for(school.foreign_admin).get(URL, {"student": school.student.pk}).status_code == 404
    assert client_for(None).get(URL).status_code == 401


def test_a_teacher_sees_only_the_recommendations_of_their_classes(written: History) -> None:
    # given: the student also studies HIST-1, which the teacher does not teach, and has a next step there
    school = written.school
    EnrollmentFactory.create(user=school.student, course=school.other_course)
    elsewhere = Recommendation.objects.create(
        organization=school.organization,
        student=school.student,
        course=school.other_course,
        item=school.other_item,
        category=Category.ACTIVITY,
        kind=school.other_item.kind,
        title="History essay",
        rank=1,
        relevance_score=1.0,
        confidence=1.0,
        reasoning="due in 2 days",
        strategy="test",
        created_at=NOW,
        expires_at=NOW + timedelta(days=1),
    )

    # when
    teacher = client_for(school.teacher).get(URL, {"student": school.student.pk, "limit": 50}).json()
    admin = client_for(school.admin).get(URL, {"student": school.student.pk, "limit": 50}).json()
    own = client_for(school.student).get(URL, {"limit": 50}).json()

    # then
    assert elsewhere.title not in titles(teacher) and teacher["total"] == 6
    assert elsewhere.title in titles(admin) and admin["total"] == 7
    assert elsewhere.title in titles(own)
    other_teacher = client_for(school.other_teacher).get(URL, {"student": school.student.pk}).json()
    assert titles(other_teacher) == ["History essay"]


def test_history_shows_staff_what_the_student_did_with_earlier_ones(written: History, clock: list[datetime]) -> None:
    # given: the student reads the list, opens Reading 1, rates the skill, dismisses Reading 2
    school = written.school
    student = client_for(school.student)
    listed = {row["title"]: row for row in student.get(URL).json()["recommendations"]}
    clock[0] = NOW + timedelta(minutes=5)
    assert student.post(f"{URL}{listed['Reading 1']['id']}/open").status_code == 200
    body = {"recommendation_id": listed["Strengthen Week 9"]["id"], "rating": 5, "helpful": True, "comments": "Yes"}
    assert student.post(FEEDBACK, body, format="json").status_code == 201
    assert student.post(f"{URL}{listed['Reading 2']['id']}/dismiss").status_code == 200

    # when
    response = client_for(school.teacher).get(
        URL, {"student": str(school.student.pk), "history": "true", "limit": "50"}
    )

    # then: every recommendation made, newest first, with what became of it
    assert response.status_code == 200
    rows = response.json()["recommendations"]
    assert {row["status"] for row in rows} == {"active", "dismissed"}
    created = [row["created"] for row in rows]
    assert created == sorted(created, reverse=True)
    dismissed = [row for row in rows if row["status"] == "dismissed"]
    assert [(row["title"], row["dismissed_at"] is not None) for row in dismissed] == [("Reading 2", True)]
    opened = next(row for row in rows if row["id"] == listed["Reading 1"]["id"])
    assert opened["clicked_at"] is not None and opened["shown_at"] is not None
    rated = next(row for row in rows if row["id"] == listed["Strengthen Week 9"]["id"])
    assert rated["feedback"] == {"rating": 5, "helpful": True, "feedback": "", "comments": "Yes"}
    # `history` is for staff: the student's own list stays their active next steps
    own = student.get(URL, {"history": "true", "limit": "50"}).json()["recommendations"]
    assert {row["status"] for row in own} == {"active"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"category": "video"}, "category"),
        ({"category": ""}, "category"),
        ({"limit": 0}, "limit"),
        ({"limit": 51}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"history": "maybe"}, "history"),
        ({"student": "me"}, "student"),
        ({"sort": "title"}, "sort"),
    ],
)
def test_bad_query_parameters_are_400s_naming_them(written: History, params: dict[str, Any], field: str) -> None:
    response = client_for(written.school.student).get(URL, params)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]


# SECTION: feedback


def test_feedback_is_created_then_updated_never_duplicated(written: History) -> None:
    # given
    school = written.school
    rec = reading_1(written)
    client = client_for(school.student)

    # when: given, then given again
    first = client.post(
        FEEDBACK, {"recommendation_id": rec.pk, "rating": 2, "feedback": "not_helpful", "comments": "Too long"}, "json"
    )
    second = client.post(FEEDBACK, {"recommendation_id": rec.pk, "rating": 4, "helpful": True}, format="json")

    # then
    assert first.status_code == 201, first.content
    assert first.json()["rating"] == 2 and first.json()["feedback"] == "not_helpful"
    assert second.status_code == 200, second.content
    assert second.json() | {"created": None, "updated": None} == {
        "recommendation_id": rec.pk,
        "rating": 4,
        "helpful": True,
        "feedback": "",
        "comments": "",
        "created": None,
        "updated": None,
    }
    assert RecommendationFeedback.objects.filter(recommendation=rec).count() == 1
    stored = RecommendationFeedback.objects.get(recommendation=rec)
    assert (stored.rating, stored.helpful, stored.verdict, stored.student_id) == (4, True, "", school.student.pk)


def test_feedback_on_someone_elses_recommendation_is_a_404(written: History) -> None:
    school = written.school
    classmates = Recommendation.objects.filter(student=school.classmate).first()
    assert classmates is not None
    mine = reading_1(written)

    assert client_for(school.student).post(
        FEEDBACK, {"recommendation_id": classmates.pk, "rating": 5}, format="json"
    ).json() == {"detail": "Not found."}
    # staff do not give feedback on a student's behalf: the recommendation is not theirs
    for staff in (school.teacher, school.admin):
        response = client_for(staff).post(FEEDBACK, {"recommendation_id": mine.pk, "rating": 5}, format="json")
        assert response.status_code == 404
    missing = client_for(school.student).post(FEEDBACK, {"recommendation_id": 10**12, "rating": 5}, format="json")
    assert missing.status_code == 404
    assert not RecommendationFeedback.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": "five"}, "rating"),
        ({"comments": "x" * 2001}, "comments"),
        ({"feedback": "great"}, "feedback"),
        ({"helpful": "perhaps"}, "helpful"),
        ({"user_id": 1}, "user_id"),
        ({"recommendation_id": None}, "recommendation_id"),
    ],
)
def test_bad_feedback_is_a_400_naming_the_field(written: History, change: dict[str, Any], field: str) -> None:
    rec = reading_1(written)
    body = {"recommendation_id": rec.pk, "rating": 4, **change}

    response = client_for(written.school.student).post(FEEDBACK, body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not RecommendationFeedback.objects.exists()


def test_feedback_must_say_something(written: History) -> None:
    rec = reading_1(written)
    client = client_for(written.school.student)

    for body in ({"recommendation_id": rec.pk}, {"recommendation_id": rec.pk, "comments": "Hmm"}):
        response = client.post(FEEDBACK, body, format="json")
        assert response.status_code == 400
        assert response.json() == {"rating": ["Give a rating, helpful or feedback (or several)."]}
    # exactly 2000 characters of comments are fine
    ok = client.post(FEEDBACK, {"recommendation_id": rec.pk, "helpful": False, "comments": "x" * 2000}, format="json")
    assert ok.status_code == 201


# SECTION: dismiss and open


def test_dismiss_answers_the_new_list_with_a_replacement(written: History, monkeypatch: pytest.MonkeyPatch) -> None:
    # given: lists of three (the quiz due, the skill, the best reading)
    school = written.school
    monkeypatch.setattr(services, "PER_STUDENT", 3)
    refresh_course(course=school.course, as_of=NOW, now=NOW)
    client = client_for(school.student)
    before = client.get(URL).json()
    assert titles(before) == ["Week 10 quiz", "Reading 1", "Strengthen Week 9"]
    dismissed = before["recommendations"][1]

    # when
    response = client.post(f"{URL}{dismissed['id']}/dismiss")

    # then: Reading 1 is gone, Reading 2 took its place, and the new list is marked shown
    assert response.status_code == 200, response.content
    after = response.json()
    assert after["student"] == school.student.pk
    assert titles(after) == ["Week 10 quiz", "Strengthen Week 9", "Reading 2"]
    assert dismissed["id"] not in {row["id"] for row in after["recommendations"]}
    stored = Recommendation.objects.get(pk=dismissed["id"])
    assert (stored.status, stored.dismissed_at) == ("dismissed", NOW)
    assert all(rec.shown_at == NOW for rec in active(school.student.pk))
    # the list read afterwards is the same, and the dismissed item is not suggested again at the next refresh
    assert titles(client.get(URL).json()) == titles(after)
    refresh_course(course=school.course, as_of=NOW, now=NOW)
    assert written.reading[0].pk not in {rec.item_id for rec in active(school.student.pk)}


def test_dismiss_without_a_replacement_only_removes_it(written: History) -> None:
    school = written.school
    client = client_for(school.student)
    rec = reading_1(written)

    after = client.post(f"{URL}{rec.pk}/dismiss").json()

    assert titles(after) == ["Week 10 quiz", "Strengthen Week 9", "Reading 2", "Reading 4", "Reading 6"]


def test_only_an_active_recommendation_is_dismissed(written: History) -> None:
    # given: one dismissed, and one a later refresh no longer suggested (superseded)
    school = written.school
    client = client_for(school.student)
    rec = reading_1(written)
    assert client.post(f"{URL}{rec.pk}/dismiss").status_code == 200
    old = Recommendation.objects.get(student=school.student, item=written.reading[5], status="active")
    Recommendation.objects.filter(pk=old.pk).update(status=Recommendation.Status.SUPERSEDED)

    # when / then
    for pk in (rec.pk, old.pk):
        response = client.post(f"{URL}{pk}/dismiss")
        assert response.status_code == 400, response.content
        assert response.json()["recommendation"] == ["Only an active recommendation can be dismissed."]


def test_dismiss_and_open_of_someone_elses_are_404s(written: History) -> None:
    school = written.school
    theirs = Recommendation.objects.filter(student=school.classmate, status="active").first()
    assert theirs is not None
    mine = reading_1(written)

    for action in ("dismiss", "open"):
        assert client_for(school.student).post(f"{URL}{theirs.pk}/{action}").json() == {"detail": "Not found."}
        for staff in (school.teacher, school.admin):
            assert client_for(staff).post(f"{URL}{mine.pk}/{action}").status_code == 404
        assert client_for(school.student).post(f"{URL}{10**12}/{action}").status_code == 404
    theirs.refresh_from_db()
    assert (theirs.status, theirs.clicked_at) == ("active", None)
    assert client_for(school.student).post(f"{URL}{mine.pk}/open", {"x": 1}, format="json").status_code == 200


def test_open_sets_clicked_at_once(written: History, clock: list[datetime]) -> None:
    school = written.school
    rec = reading_1(written)
    client = client_for(school.student)

    first = client.post(f"{URL}{rec.pk}/open")
    clock[0] = NOW + timedelta(hours=1)
    second = client.post(f"{URL}{rec.pk}/open")

    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == rec.pk and first.json()["title"] == "Reading 1"
    assert first.json()["clicked_at"] == second.json()["clicked_at"]
    rec.refresh_from_db()
    assert rec.clicked_at == NOW
    assert client.post(f"{URL}{rec.pk}/open?days=1").json() == {
        "days": ["Unknown parameter; this endpoint takes none."]
    }


# SECTION: the assistant's words, with Gemini off


def test_the_explanation_is_local_text_while_gemini_is_off(written: History) -> None:
    school = written.school

    for client, params in (
        (client_for(school.student), {}),
        (client_for(school.teacher), {"student": school.student.pk}),
    ):
        response = client.get(EXPLANATION, params)
        assert response.status_code == 200, response.content
        answer = response.json()
        assert answer["source"] == "local"
        assert answer["note"] == "Gemini is off for this school; this text is written by EduPath."
        assert answer["text"]
        assert set(answer["sentences"]) <= {str(rec.item_id) for rec in active(school.student.pk)}
    assert client_for(school.classmate).get(EXPLANATION, {"student": school.student.pk}).status_code == 404
    assert client_for(school.teacher).get(EXPLANATION).status_code == 400


def alert_on(school: School) -> Alert:
    """An at-risk alert on the student in the teacher's class, as scoring would open it."""
    version = risk_model_version(organization=school.organization)
    made = risk_prediction(student=school.student, course=school.course, as_of=timezone.now(), version=version)
    [alert] = alerts_for_predictions([made])
    return alert


def test_intervention_ideas_for_the_staff_who_see_the_alert(school: School) -> None:
    # given
    alert = alert_on(school)
    url = f"{URL}alerts/{alert.pk}/ideas"

    # when
    response = client_for(school.teacher).get(url)

    # then: the alert's own suggestion and one idea per factor, written locally
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["alert"] == alert.pk and answer["source"] == "local"
    assert answer["ideas"] and all(isinstance(idea, str) and idea for idea in answer["ideas"])
    assert answer["ideas"][0] == alert.suggested_action.strip() or not alert.suggested_action.strip()
    assert "EduPath" in answer["note"]
    assert client_for(school.admin).get(url).json()["ideas"] == answer["ideas"]
    # another class's teacher, the student, another school: 404 as for a missing alert
    for outsider in (school.other_teacher, school.student, school.foreign_admin):
        assert client_for(outsider).get(url).json() == {"detail": "Not found."}
    assert client_for(school.teacher).get(f"{URL}alerts/{10**12}/ideas").status_code == 404

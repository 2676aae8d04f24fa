"""The risk API: every URL for administrator, teacher, another class's teacher, a student and another school's
administrator; 404 outside scope (alike for forbidden and missing); students never receive risk scores; bad input."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.test import Client

from accounts.models import User
from core.models import Job
from messaging.models import Message, MessageRecipient
from risk.alerts import alert_resolve, alerts_for_predictions, intervention_log
from risk.models import Alert, Intervention, ModelVersion, Prediction, PredictionFeedback
from risk.selectors import class_at_risk
from tests.conftest import School, client_for
from tests.factories import EnrollmentFactory, TeacherFactory
from tests.risk.factories import IDLE, MISSING, model_version, prediction

NIGHT = datetime.fromisoformat("2026-10-05T02:00:00+00:00")
MISSING_ID = 987654321
ROLES = ("admin", "teacher", "other_teacher", "student", "foreign_admin", "anonymous")


@dataclass
class Risk:
    school: School
    version: ModelVersion
    foreign_version: ModelVersion
    student_prediction: Prediction
    classmate_prediction: Prediction
    other_prediction: Prediction
    alert: Alert
    other_alert: Alert
    foreign_alert: Alert


@pytest.fixture
def risk(school: School) -> Risk:
    """The student flagged high in `course` (yesterday medium), the classmate low; the other class's student high;
    the foreign school's student flagged by the rules."""
    version = model_version(organization=school.organization)
    foreign_version = model_version(organization=school.foreign_organization)
    prediction(
        student=school.student,
        course=school.course,
        as_of=NIGHT - timedelta(days=1),
        version=version,
        level="medium",
        probability=0.45,
    )
    student_prediction = prediction(
        student=school.student, course=school.course, as_of=NIGHT, version=version, probability=0.82
    )
    classmate_prediction = prediction(
        student=school.classmate,
        course=school.course,
        as_of=NIGHT,
        version=version,
        level="low",
        probability=0.1,
        factors=[],
    )
    other_prediction = prediction(
        student=school.other_student, course=school.other_course, as_of=NIGHT, version=version, probability=0.7
    )
    foreign_prediction = prediction(
        student=school.foreign_student, course=school.foreign_course, as_of=NIGHT, probability=None, factors=[IDLE]
    )
    alert, other_alert, foreign_alert = alerts_for_predictions(
        [student_prediction, classmate_prediction, other_prediction, foreign_prediction]
    )
    # alerts come back by class id: course, other_course, foreign_course were created in that order
    assert (alert.student_id, other_alert.student_id, foreign_alert.student_id) == (
        school.student.pk,
        school.other_student.pk,
        school.foreign_student.pk,
    )
    return Risk(
        school=school,
        version=version,
        foreign_version=foreign_version,
        student_prediction=student_prediction,
        classmate_prediction=classmate_prediction,
        other_prediction=other_prediction,
        alert=alert,
        other_alert=other_alert,
        foreign_alert=foreign_alert,
    )


def user_of(risk: Risk, role: str) -> User | None:
    return None if role == "anonymous" else getattr(risk.school, role)


@dataclass(frozen=True)
class Call:
    name: str
    method: str
    url: Callable[[Risk], str]
    expect: dict[str, int]
    body: Callable[[Risk], dict[str, Any]] | None = None


STAFF_200 = {"admin": 200, "teacher": 200, "other_teacher": 200, "foreign_admin": 200, "student": 404, "anonymous": 401}
IN_CLASS = {"admin": 200, "teacher": 200, "other_teacher": 404, "foreign_admin": 404, "student": 404, "anonymous": 401}
NOBODY = {"admin": 404, "teacher": 404, "other_teacher": 404, "foreign_admin": 404, "student": 404, "anonymous": 401}

CALLS = [
    Call("models", "get", lambda r: "/api/v1/risk/models", STAFF_200),
    Call("model", "get", lambda r: f"/api/v1/risk/models/{r.version.pk}", {**STAFF_200, "foreign_admin": 404}),
    Call("model-missing", "get", lambda r: f"/api/v1/risk/models/{MISSING_ID}", NOBODY),
    Call(
        "train",
        "post",
        lambda r: "/api/v1/risk/models/train",
        {"admin": 202, "teacher": 403, "other_teacher": 403, "foreign_admin": 202, "student": 404, "anonymous": 401},
    ),
    Call("student", "get", lambda r: f"/api/v1/risk/students/{r.school.student.pk}", IN_CLASS),
    Call("student-missing", "get", lambda r: f"/api/v1/risk/students/{MISSING_ID}", NOBODY),
    Call("alerts", "get", lambda r: "/api/v1/risk/alerts", STAFF_200),
    Call("alerts-course", "get", lambda r: f"/api/v1/risk/alerts?course={r.school.course.pk}", IN_CLASS),
    Call("alerts-student", "get", lambda r: f"/api/v1/risk/alerts?student={r.school.student.pk}", IN_CLASS),
    Call("seed-alerts", "get", lambda r: "/api/v1/realtime-analytics/predictive-alerts", STAFF_200),
    Call("alert", "get", lambda r: f"/api/v1/risk/alerts/{r.alert.pk}", IN_CLASS),
    Call("alert-missing", "get", lambda r: f"/api/v1/risk/alerts/{MISSING_ID}", NOBODY),
    Call("acknowledge", "post", lambda r: f"/api/v1/risk/alerts/{r.alert.pk}/acknowledge", IN_CLASS),
    Call("resolve", "post", lambda r: f"/api/v1/risk/alerts/{r.alert.pk}/resolve", IN_CLASS),
    Call(
        "feedback",
        "post",
        lambda r: "/api/v1/risk/feedback",
        IN_CLASS,
        body=lambda r: {"prediction": r.student_prediction.pk, "verdict": "useful"},
    ),
    Call(
        "intervention",
        "post",
        lambda r: "/api/v1/risk/interventions",
        {**IN_CLASS, "admin": 201, "teacher": 201},
        body=lambda r: {"alert": r.alert.pk, "kind": "meeting", "note": "Met after class."},
    ),
    Call("interventions", "get", lambda r: "/api/v1/risk/interventions", STAFF_200),
    Call("interventions-alert", "get", lambda r: f"/api/v1/risk/interventions?alert={r.alert.pk}", IN_CLASS),
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("call", CALLS, ids=lambda call: call.name)
def test_every_url_for_every_role(call: Call, role: str, risk: Risk) -> None:
    client = client_for(user_of(risk, role))
    body = call.body(risk) if call.body else None
    response = getattr(client, call.method)(call.url(risk), data=body, format="json")
    assert response.status_code == call.expect[role], (call.url(risk), role, response.content[:300])
    if response.status_code == 404:
        # forbidden and missing answer alike
        assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_students_never_receive_risk_scores(risk: Risk) -> None:
    # even about themselves, and even with the ids of their own prediction and alert
    student = client_for(risk.school.student)
    for call in CALLS:
        body = call.body(risk) if call.body else None
        response = getattr(student, call.method)(call.url(risk), data=body, format="json")
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."}), call.name
    # and nothing was written on their behalf
    assert not PredictionFeedback.objects.exists()
    assert not Intervention.objects.exists()
    assert not Job.objects.exists()
    assert Alert.objects.get(pk=risk.alert.pk).status == "open"


@pytest.mark.django_db
def test_alerts_list_the_seed_fields_within_scope_and_filters(risk: Risk) -> None:
    teacher = client_for(risk.school.teacher)
    answer = teacher.get("/api/v1/risk/alerts").json()
    assert answer["count"] == 1
    [alert] = answer["alerts"]
    assert {key: alert[key] for key in ("id", "type", "course", "student", "risk_level", "risk_score", "status")} == {
        "id": risk.alert.pk,
        "type": "at_risk_student",
        "course": risk.school.course.pk,
        "student": risk.school.student.pk,
        "risk_level": "high",
        "risk_score": 0.82,
        "status": "open",
    }
    assert alert["factors"] == [MISSING, IDLE]
    assert alert["recommendation"].startswith("Remind them about the work not handed in")
    assert alert["by_rules"] is False

    admin = client_for(risk.school.admin)
    ids = [row["id"] for row in admin.get("/api/v1/risk/alerts").json()["alerts"]]
    assert sorted(ids) == sorted([risk.alert.pk, risk.other_alert.pk])  # not the other school's
    assert admin.get("/api/v1/risk/alerts?status=resolved").json()["count"] == 0
    limited = admin.get("/api/v1/risk/alerts?level=high&limit=1").json()
    assert ([row["id"] for row in limited["alerts"]], limited["count"]) == (ids[:1], 2)
    # the seed's path answers the same
    seed = admin.get("/api/v1/realtime-analytics/predictive-alerts").json()
    assert [row["id"] for row in seed["alerts"]] == ids

    foreign = client_for(risk.school.foreign_admin).get("/api/v1/risk/alerts").json()
    assert [(row["id"], row["by_rules"], row["risk_score"]) for row in foreign["alerts"]] == [
        (risk.foreign_alert.pk, True, None)
    ]


@pytest.mark.django_db
def test_the_lifecycle_over_the_api(risk: Risk) -> None:
    teacher = client_for(risk.school.teacher)
    url = f"/api/v1/risk/alerts/{risk.alert.pk}"

    acknowledged = teacher.post(f"{url}/acknowledge").json()
    assert (acknowledged["status"], acknowledged["acknowledged_by"]) == ("acknowledged", risk.school.teacher.pk)
    resolved = teacher.post(f"{url}/resolve").json()
    assert (resolved["status"], resolved["resolved_by"]) == ("resolved", risk.school.teacher.pk)

    again = teacher.post(f"{url}/resolve")
    assert again.status_code == 400
    assert again.json()["status"] == ["Resolved."]
    assert teacher.post(f"{url}/acknowledge").status_code == 400


@pytest.mark.django_db
def test_an_intervention_on_a_resolved_alert_is_refused_and_logs_nothing(risk: Risk) -> None:
    alert_resolve(viewer=risk.school.teacher, alert_id=risk.alert.pk)
    response = client_for(risk.school.teacher).post(
        "/api/v1/risk/interventions",
        {"alert": risk.alert.pk, "kind": "message", "subject": "Hello", "body": "How are you getting on?"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["alert"] == ["Resolved."]
    assert not Intervention.objects.exists()
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_message_intervention_is_sent_through_the_class_messaging(
    risk: Risk, django_capture_on_commit_callbacks: Any
) -> None:
    teacher = client_for(risk.school.teacher)
    with django_capture_on_commit_callbacks(execute=True):
        response = teacher.post(
            "/api/v1/risk/interventions",
            {
                "alert": risk.alert.pk,
                "kind": "message",
                "note": "Missing work",
                "subject": "Your missing work",
                "body": "Two assessments are not handed in yet; can I help?",
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    answer = response.json()
    message = Message.objects.get()
    assert (answer["kind"], answer["message"], answer["alert"], answer["teacher"]) == (
        "message",
        message.pk,
        risk.alert.pk,
        risk.school.teacher.pk,
    )
    assert (message.course_id, message.sender_id, message.subject) == (
        risk.school.course.pk,
        risk.school.teacher.pk,
        "Your missing work",
    )
    assert list(MessageRecipient.objects.values_list("student_id", flat=True)) == [risk.school.student.pk]
    assert len(mail.outbox) == (1 if risk.school.student.email else 0)
    # logging an intervention acknowledges the open alert
    assert Alert.objects.get(pk=risk.alert.pk).status == "acknowledged"
    listed = teacher.get(f"/api/v1/risk/interventions?alert={risk.alert.pk}").json()
    assert [row["id"] for row in listed["interventions"]] == [answer["id"]]
    detail = teacher.get(f"/api/v1/risk/alerts/{risk.alert.pk}").json()
    assert [row["id"] for row in detail["interventions"]] == [answer["id"]]


@pytest.mark.django_db
def test_bad_intervention_bodies(risk: Risk) -> None:
    teacher = client_for(risk.school.teacher)

    def post(body: dict[str, Any]) -> Any:
        return teacher.post("/api/v1/risk/interventions", body, format="json")

    no_text = post({"alert": risk.alert.pk, "kind": "message"})
    assert no_text.status_code == 400
    assert set(no_text.json()) >= {"subject", "body"}
    assert "kind" in post({"alert": risk.alert.pk, "kind": "phone"}).json()
    assert "unknown" in post({"alert": risk.alert.pk, "kind": "other", "unknown": 1}).json()
    assert post({"alert": risk.other_alert.pk, "kind": "other"}).status_code == 404  # another teacher's class
    assert post({"alert": MISSING_ID, "kind": "other"}).status_code == 404
    assert not Intervention.objects.exists()


@pytest.mark.django_db
def test_feedback_is_one_per_prediction_and_teacher_and_updatable(risk: Risk) -> None:
    teacher = client_for(risk.school.teacher)

    def verdict(value: str, prediction_id: int | None = None) -> Any:
        body = {"prediction": prediction_id or risk.student_prediction.pk, "verdict": value}
        return teacher.post("/api/v1/risk/feedback", body, format="json")

    first = verdict("useful").json()
    second = verdict("incorrectly_flagged").json()
    assert (first["id"], second["verdict"]) == (second["id"], "incorrectly_flagged")
    assert second["created_at"] == first["created_at"]
    assert PredictionFeedback.objects.count() == 1
    client_for(risk.school.admin).post(
        "/api/v1/risk/feedback", {"prediction": risk.student_prediction.pk, "verdict": "useful"}, format="json"
    )

    # counted on the model card, per verdict
    card = teacher.get(f"/api/v1/risk/models/{risk.version.pk}").json()
    assert card["feedback"] == {"useful": 1, "not_useful": 0, "incorrectly_flagged": 1, "not_applicable": 0}
    assert card["predictions"] == 4  # the student's two, the classmate's and the other class's student's

    # a prediction outside the teacher's classes answers exactly as one that does not exist
    outside, missing = verdict("useful", risk.other_prediction.pk), verdict("useful", MISSING_ID)
    assert (
        (outside.status_code, outside.json())
        == (missing.status_code, missing.json())
        == (
            404,
            {"detail": "Not found."},
        )
    )
    assert "verdict" in verdict("brilliant").json()


@pytest.mark.django_db
def test_bad_queries_and_unknown_ids(risk: Risk) -> None:
    admin = client_for(risk.school.admin)
    assert admin.get(f"/api/v1/risk/models/{MISSING_ID}").status_code == 404
    assert admin.get(f"/api/v1/risk/models/{risk.foreign_version.pk}").status_code == 404
    assert admin.get(f"/api/v1/jobs/{MISSING_ID}").status_code == 404
    assert "status" in admin.get("/api/v1/risk/alerts?status=closed").json()
    assert "course" in admin.get("/api/v1/risk/alerts?course=abc").json()
    assert "limit" in admin.get("/api/v1/risk/alerts?limit=0").json()
    assert "user_id" in admin.get("/api/v1/risk/alerts?user_id=1").json()
    assert "extra" in admin.get("/api/v1/risk/models?extra=1").json()
    assert admin.get(f"/api/v1/risk/alerts?course={risk.school.foreign_course.pk}").status_code == 404


@pytest.mark.django_db
def test_train_queues_a_job_for_the_administrators_school(risk: Risk) -> None:
    response = client_for(risk.school.admin).post("/api/v1/risk/models/train")
    assert response.status_code == 202, response.content
    job = Job.objects.get()
    assert (job.kind, job.requested_by_id, job.organization_id) == (
        "risk.train",
        risk.school.admin.pk,
        risk.school.organization.pk,
    )
    assert response.json() == {"job": job.pk, "status": "queued", "status_url": f"/api/v1/jobs/{job.pk}"}
    assert response["Location"] == f"/api/v1/jobs/{job.pk}"
    assert client_for(risk.school.admin).get(f"/api/v1/jobs/{job.pk}").json()["kind"] == "risk.train"


@pytest.mark.django_db
def test_a_students_latest_and_history_in_the_viewers_classes(risk: Risk) -> None:
    # the student also attends the other class, which the teacher does not teach
    EnrollmentFactory.create(user=risk.school.student, course=risk.school.other_course)
    prediction(student=risk.school.student, course=risk.school.other_course, as_of=NIGHT, version=risk.version)

    mine = client_for(risk.school.teacher).get(f"/api/v1/risk/students/{risk.school.student.pk}").json()
    assert [row["course"] for row in mine["courses"]] == [risk.school.course.pk]
    assert mine["courses"][0]["latest"]["id"] == risk.student_prediction.pk
    assert [(row["as_of"][:10], row["level"], row["probability"]) for row in mine["history"]] == [
        ("2026-10-05", "high", 0.82),
        ("2026-10-04", "medium", 0.45),
    ]

    everything = client_for(risk.school.admin).get(f"/api/v1/risk/students/{risk.school.student.pk}").json()
    assert sorted(row["course"] for row in everything["courses"]) == sorted(
        [risk.school.course.pk, risk.school.other_course.pk]
    )
    assert len(everything["history"]) == 3


@pytest.mark.django_db
def test_class_at_risk_sorts_by_risk_with_trend_alert_and_the_viewers_feedback(
    risk: Risk, django_assert_num_queries: Any
) -> None:
    client_for(risk.school.teacher).post(
        "/api/v1/risk/feedback", {"prediction": risk.student_prediction.pk, "verdict": "useful"}, format="json"
    )
    with django_assert_num_queries(4):
        rows = class_at_risk(course_id=risk.school.course.pk, viewer=risk.school.teacher)
    assert [(row["student"], row["level"], row["trend"], row["previous_probability"]) for row in rows] == [
        (risk.school.student.pk, "high", "up", 0.45),
        (risk.school.classmate.pk, "low", None, None),
    ]
    top = rows[0]
    assert top["alert"] == {"id": risk.alert.pk, "status": "open", "created_at": risk.alert.created_at}
    assert (top["feedback"], top["by_rules"], top["model_version"]) == ("useful", False, risk.version.pk)
    assert rows[1]["feedback"] is None
    # another teacher's view of the same class: their own verdict (none)
    other = TeacherFactory.create(organization=risk.school.organization)
    EnrollmentFactory.create(user=other, course=risk.school.course, role="teacher")
    assert class_at_risk(course_id=risk.school.course.pk, viewer=other)[0]["feedback"] is None


# SECTION: Django admin (platform operators)


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["modelversion", "prediction", "alert", "predictionfeedback", "intervention"])
def test_admin_pages_load(model: str, risk: Risk) -> None:
    client_for(risk.school.teacher).post(
        "/api/v1/risk/feedback", {"prediction": risk.student_prediction.pk, "verdict": "useful"}, format="json"
    )
    intervention_log(viewer=risk.school.teacher, alert_id=risk.alert.pk, kind="meeting", note="After class.")
    client = operator_client()
    base = f"/admin/risk/{model}/"
    assert client.get(base).status_code == 200
    assert client.get(base, {"q": "a"}).status_code == 200
    first = apps.get_model("risk", model)._default_manager.first()
    assert client.get(f"{base}{first.pk}/change/").status_code == 200
    assert client.get(f"{base}add/").status_code == 403  # made by training, scoring and the API, not here


@pytest.mark.django_db
def test_admin_actions_train_now_and_resolve(risk: Risk) -> None:
    client = operator_client()
    response = client.post(
        "/admin/risk/modelversion/",
        {"action": "train_now", ACTION_CHECKBOX_NAME: [risk.version.pk, risk.foreign_version.pk]},
    )
    assert response.status_code == 302
    jobs = Job.objects.order_by("organization_id")
    assert [(job.kind, job.organization_id) for job in jobs] == [
        ("risk.train", risk.school.organization.pk),
        ("risk.train", risk.school.foreign_organization.pk),
    ]

    client.post("/admin/risk/alert/", {"action": "resolve", ACTION_CHECKBOX_NAME: [risk.alert.pk]})
    assert Alert.objects.get(pk=risk.alert.pk).status == "resolved"


def operator_client() -> Client:
    operator = User.objects.create_superuser("operator", "op@example.test", "pass-word-123")
    client = Client()
    client.force_login(operator)
    return client

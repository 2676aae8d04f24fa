"""Alerts raised from predictions: one live alert per student and class, never repeated nightly, pushed to the
class's staff on the `alerts` stream."""

from datetime import datetime, timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import IntegrityError, transaction

from risk.alerts import alert_acknowledge, alert_resolve, alerts_for_predictions
from risk.models import Alert, Prediction
from tests.conftest import School
from tests.live.conftest import Connect
from tests.risk.factories import IDLE, MISSING, model_version, prediction

NIGHT = datetime.fromisoformat("2026-10-05T02:00:00+00:00")


@pytest.mark.django_db
def test_a_high_prediction_opens_one_alert_with_the_factors_and_a_suggested_action(school: School) -> None:
    version = model_version(organization=school.organization)
    high = prediction(student=school.student, course=school.course, as_of=NIGHT, version=version, probability=0.81)
    medium = prediction(
        student=school.classmate, course=school.course, as_of=NIGHT, version=version, level="medium", probability=0.4
    )

    [alert] = alerts_for_predictions([high, medium])

    assert (alert.student_id, alert.course_id, alert.enrollment_id) == (
        school.student.pk,
        school.course.pk,
        high.enrollment_id,
    )
    assert (alert.organization_id, alert.prediction_id, alert.level, alert.probability, alert.status) == (
        school.organization.pk,
        high.pk,
        "high",
        0.81,
        "open",
    )
    assert alert.factors == [MISSING, IDLE]
    # the strongest factor decides the action, quoted with its own figures
    assert alert.suggested_action == (
        "Remind them about the work not handed in (2 of 3 assessments missing — class 0.4)."
    )


@pytest.mark.django_db
def test_no_repeat_each_night_while_an_alert_is_open_or_acknowledged(school: School) -> None:
    version = model_version(organization=school.organization)
    first = prediction(student=school.student, course=school.course, as_of=NIGHT, version=version)
    [alert] = alerts_for_predictions([first])

    second = prediction(student=school.student, course=school.course, as_of=NIGHT + timedelta(days=1), version=version)
    assert alerts_for_predictions([second]) == []
    alert_acknowledge(viewer=school.teacher, alert_id=alert.pk)
    third = prediction(student=school.student, course=school.course, as_of=NIGHT + timedelta(days=2), version=version)
    assert alerts_for_predictions([third]) == []
    assert Alert.objects.count() == 1

    # once resolved, a later high prediction alerts again
    alert_resolve(viewer=school.teacher, alert_id=alert.pk)
    fourth = prediction(student=school.student, course=school.course, as_of=NIGHT + timedelta(days=3), version=version)
    [again] = alerts_for_predictions([fourth])
    assert (again.prediction_id, again.status) == (fourth.pk, "open")
    assert Alert.objects.count() == 2


@pytest.mark.django_db
def test_the_database_holds_one_live_alert_per_student_and_class(school: School) -> None:
    version = model_version(organization=school.organization)
    first = prediction(student=school.student, course=school.course, as_of=NIGHT, version=version)
    [alert] = alerts_for_predictions([first])
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(
            organization=school.organization,
            course=school.course,
            student=school.student,
            enrollment=alert.enrollment,
            prediction=first,
            level="high",
            suggested_action="x",
            created_at=NIGHT,
        )


@pytest.mark.django_db
def test_rules_alert_when_a_rule_fired_and_never_without_enough_data(school: School) -> None:
    fired = prediction(
        student=school.student, course=school.course, as_of=NIGHT, level="medium", probability=None, factors=[IDLE]
    )
    quiet = prediction(
        student=school.classmate, course=school.course, as_of=NIGHT, level="low", probability=None, factors=[]
    )
    unknown = prediction(
        student=school.other_student,
        course=school.other_course,
        as_of=NIGHT,
        level=Prediction.Level.INSUFFICIENT,
        probability=None,
        factors=[],
    )

    [alert] = alerts_for_predictions([fired, quiet, unknown])

    assert (alert.student_id, alert.probability) == (school.student.pk, None)
    assert alert.suggested_action == (
        "Get in touch: they have not been active lately (no activity for 12 days — class median 2)."
    )


@pytest.mark.django_db
def test_lifecycle_open_acknowledged_resolved(school: School) -> None:
    [alert] = alerts_for_predictions([prediction(student=school.student, course=school.course, as_of=NIGHT)])

    acknowledged = alert_acknowledge(viewer=school.teacher, alert_id=alert.pk, now=NIGHT + timedelta(hours=8))
    assert (acknowledged.status, acknowledged.acknowledged_by_id) == ("acknowledged", school.teacher.pk)
    resolved = alert_resolve(viewer=school.admin, alert_id=alert.pk, now=NIGHT + timedelta(hours=9))
    assert (resolved.status, resolved.resolved_by_id, resolved.acknowledged_by_id) == (
        "resolved",
        school.admin.pk,
        school.teacher.pk,
    )


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_an_alert_reaches_the_class_stream_of_its_staff_only(school: School, connect: Connect) -> None:
    # given: the class's teacher and another class's teacher watch their classes' alerts
    teacher = await connect(school.teacher)
    stranger = await connect(school.other_teacher)
    reply = await teacher.ask({"type": "subscribe", "channels": ["alerts"], "course": school.course.pk})
    assert reply["type"] == "subscribed"
    reply = await stranger.ask({"type": "subscribe", "channels": ["alerts"], "course": school.other_course.pk})
    assert reply["type"] == "subscribed"

    # when: the night's scoring flags the student, and a student of the other class
    def score() -> tuple[Alert, Alert]:
        version = model_version(organization=school.organization)
        made = prediction(student=school.student, course=school.course, as_of=NIGHT, version=version, probability=0.9)
        elsewhere = prediction(student=school.other_student, course=school.other_course, as_of=NIGHT, version=version)
        alert, other = alerts_for_predictions([made, elsewhere])
        return alert, other

    alert, other = await database_sync_to_async(score)()

    # then: each class's staff get their own student's alert, as the seed's `alert` message with seed 000's fields
    [message] = await teacher.collect(1.0)
    assert message["type"] == "alert"
    assert {key: message[key] for key in ("alert", "course", "student", "risk_level", "risk_score", "by_rules")} == {
        "alert": alert.pk,
        "course": school.course.pk,
        "student": school.student.pk,
        "risk_level": "high",
        "risk_score": 0.9,
        "by_rules": False,
    }
    assert message["factors"] == [MISSING, IDLE]
    assert message["recommendation"] == alert.suggested_action
    assert datetime.fromisoformat(message["created_at"]) == alert.created_at
    assert message["name"] == school.student.get_full_name()
    assert [(seen["alert"], seen["student"]) for seen in await stranger.collect(0.5)] == [
        (other.pk, school.other_student.pk)
    ]

"""Re-engagement after interventions: the share of students active within 7 days after one, against students of the
same risk level in the same class with no intervention over those days; per class and per teacher."""

import uuid
from datetime import datetime, timedelta

import pytest
from django.test import Client

from accounts.models import User
from analytics.services import events_ingest
from risk.alerts import alerts_for_predictions, intervention_log
from risk.models import Alert, ModelVersion
from risk.selectors import OBSERVATIONAL, reengagement
from tests.conftest import School, client_for
from tests.factories import EnrollmentFactory, StudentFactory
from tests.risk.factories import model_version, prediction

NIGHT = datetime.fromisoformat("2026-10-05T02:00:00+00:00")
HELPED = NIGHT + timedelta(days=1, hours=8)  # the morning after the night's scoring
NOW = HELPED + timedelta(days=8)


def active_at(student: User, school: School, moment: datetime, *, course: str = "course") -> None:
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "action": "material_view",
            "timestamp": moment.isoformat(),
            "course": getattr(school, course).pk,
            "item": getattr(school, "item" if course == "course" else "other_item").pk,
        }
    ]
    outcome = events_ingest(items=events, principal=student, now=NOW + timedelta(days=5), horizon=None)
    assert outcome.accepted == 1, outcome.rejected


def alert_for(
    student: User, school: School, version: ModelVersion, *, course: str = "course", level: str = "high"
) -> Alert | None:
    """The night's prediction for `student` and the alert it opens (None when it opens none)."""
    made = prediction(
        student=student,
        course=getattr(school, course),
        as_of=NIGHT,
        version=version,
        level=level,
        probability=0.8 if level == "high" else 0.1,
    )
    opened = alerts_for_predictions([made])
    return opened[0] if opened else None


@pytest.mark.django_db
def test_reengagement_per_class_and_teacher_against_students_of_the_same_level(school: School) -> None:
    # given: in MATH-1, four high-risk students and one at low risk
    third, helped_later, calm = (StudentFactory.create(organization=school.organization) for _ in range(3))
    for student in (third, helped_later, calm):
        EnrollmentFactory.create(user=student, course=school.course)
    version = model_version(organization=school.organization)
    alert = alert_for(school.student, school, version)
    alert_for(school.classmate, school, version)
    alert_for(third, school, version)
    later_alert = alert_for(helped_later, school, version)
    alert_for(calm, school, version, level="low")
    other_alert = alert_for(school.other_student, school, version, course="other_course")
    assert alert and later_alert and other_alert

    # the teacher messages the student; two days later the admin meets `helped_later` (a window not over by NOW,
    # and not a comparison for the student either); the other teacher helps in HIST-1
    intervention_log(viewer=school.teacher, alert_id=alert.pk, kind="meeting", now=HELPED)
    intervention_log(viewer=school.admin, alert_id=later_alert.pk, kind="extension", now=HELPED + timedelta(days=2))
    intervention_log(viewer=school.other_teacher, alert_id=other_alert.pk, kind="other", now=HELPED)

    active_at(school.student, school, HELPED + timedelta(days=2))  # re-engaged
    active_at(school.classmate, school, HELPED - timedelta(hours=1))  # before: does not count
    active_at(school.classmate, school, HELPED + timedelta(days=7, hours=1))  # after the window: does not count
    active_at(third, school, HELPED + timedelta(days=3))  # a comparable student, active
    active_at(helped_later, school, HELPED + timedelta(days=3))  # helped: not a comparison
    active_at(calm, school, HELPED + timedelta(days=1))  # another level: not a comparison
    # HIST-1's student stays away and has nobody comparable

    # when
    answer = reengagement(course_ids=[school.course.pk, school.other_course.pk], now=NOW)

    # then
    assert (answer["label"], answer["window_days"]) == (OBSERVATIONAL, 7)
    math, history = sorted(answer["courses"], key=lambda row: row["course_code"], reverse=True)
    assert (math["course"], math["intervened"], math["comparison"], math["difference_points"]) == (
        school.course.pk,
        {"students": 1, "active": 1, "share_percent": 100.0},
        {"students": 2, "active": 1, "share_percent": 50.0},
        50.0,
    )
    assert (history["intervened"], history["comparison"], history["difference_points"]) == (
        {"students": 1, "active": 0, "share_percent": 0.0},
        {"students": 0, "active": 0, "share_percent": None},
        None,
    )
    by_teacher = {row["teacher"]: row for row in answer["teachers"]}
    assert set(by_teacher) == {school.teacher.pk, school.other_teacher.pk}  # the admin's window is not over
    assert by_teacher[school.teacher.pk]["comparison"] == {"students": 2, "active": 1, "share_percent": 50.0}


@pytest.mark.django_db
def test_only_the_classes_asked_for_and_nothing_without_interventions(school: School) -> None:
    alert = alert_for(school.student, school, model_version(organization=school.organization))
    assert alert is not None
    intervention_log(viewer=school.teacher, alert_id=alert.pk, kind="meeting", now=HELPED)

    assert reengagement(course_ids=[school.other_course.pk], now=NOW)["courses"] == []
    assert reengagement(course_ids=[school.course.pk], now=HELPED + timedelta(days=3))["courses"] == []
    [row] = reengagement(course_ids=[school.course.pk], now=NOW)["courses"]
    assert row["intervened"] == {"students": 1, "active": 0, "share_percent": 0.0}


@pytest.mark.django_db
def test_the_api_and_the_institution_page_show_it_within_the_viewers_classes(school: School) -> None:
    # given: one intervention in MATH-1 with a finished window, the student active again within it
    version = model_version(organization=school.organization)
    alert = alert_for(school.student, school, version)
    assert alert is not None
    intervention_log(viewer=school.teacher, alert_id=alert.pk, kind="meeting", now=HELPED)
    active_at(school.student, school, HELPED + timedelta(days=2))

    # when the teacher asks the API and opens the institution page
    answer = client_for(school.teacher).get("/api/v1/risk/reengagement").json()
    web = Client()
    web.force_login(school.teacher)
    page = web.get("/institution/").content.decode()

    # then: the same figures, labelled as an observational comparison, and only their classes
    assert answer["label"] == OBSERVATIONAL
    [course] = answer["courses"]
    assert (course["course"], course["intervened"]["students"], course["intervened"]["active"]) == (
        school.course.pk,
        1,
        1,
    )
    assert OBSERVATIONAL in page.replace("&#x27;", "'")
    assert f'data-course="{school.course.pk}"' in page and "1 of 1 (100.0 %)" in page
    other = client_for(school.other_teacher).get(f"/api/v1/risk/reengagement?course={school.course.pk}")
    assert other.status_code == 404
    assert client_for(school.student).get("/api/v1/risk/reengagement").status_code == 404

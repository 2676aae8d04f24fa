"""The pages of issue 14 for the three roles: the class dashboard's "Students at risk" (sorted by risk, factors in
plain words, rules labelled, feedback and intervention controls, the live `alerts` channel), a student's risk
history on their teacher's drill-down, and the model cards on the administrators' institution page. Outside their
scope teachers get 404; students see no risk on any page."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from risk.alerts import alerts_for_predictions
from risk.models import ModelVersion, Prediction, PredictionFeedback
from tests.conftest import School
from tests.factories import EnrollmentFactory, StudentFactory
from tests.risk.factories import IDLE, MISSING, model_version, prediction

AS_OF = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
RISK_MARKERS = ("data-risk", "Students at risk", "Risk history", "risk-level", "by rules", "data-model-cards")
CARD_METRICS = {  # as risk.training.metrics_of stores them
    "roc_auc": 0.843,
    "pr_auc": 0.712,
    "brier": 0.118,
    "mcc": 0.455,
    "calibration_curve": [{"predicted": 0.1, "observed": 0.08}, {"predicted": 0.62, "observed": 0.66}],
    "auc_per_stage": {"week_10": 0.88, "week_0": 0.71, "week_5": None},
    "feature_importance": {"days_since_last_activity": 0.05, "assessments_missing": 0.09},
    "candidates": {
        "hist_gradient_boosting": {"roc_auc": 0.843, "pr_auc": 0.712, "brier": 0.118},
        "logistic_regression": {"roc_auc": 0.801, "pr_auc": 0.655, "brier": 0.131},
    },
    "rules_roc_auc": 0.692,
}
MISSING_TEXT, IDLE_TEXT = str(MISSING["text"]), str(IDLE["text"])


def page(user: Any, url: str) -> tuple[int, str]:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    return response.status_code, response.content.decode()


@pytest.fixture
def flagged(school: School) -> dict[str, Any]:
    """MATH-1 scored twice by an active model: `student` rose from 55 % to 83 % (high, with two factors) and got an
    alert; `classmate` is low at 10 %. The teacher marked the student's latest prediction useful."""
    version = model_version(organization=school.organization)
    prediction(
        student=school.student,
        course=school.course,
        as_of=AS_OF - timedelta(days=1),
        level="medium",
        probability=0.55,
        version=version,
        factors=[IDLE],
    )
    latest = prediction(student=school.student, course=school.course, as_of=AS_OF, probability=0.83, version=version)
    low = prediction(
        student=school.classmate,
        course=school.course,
        as_of=AS_OF,
        level="low",
        probability=0.1,
        version=version,
        factors=[],
    )
    alerts = alerts_for_predictions([latest, low])
    PredictionFeedback.objects.create(
        prediction=latest, teacher=school.teacher, verdict="useful", created_at=AS_OF, updated_at=AS_OF
    )
    return {"version": version, "latest": latest, "low": low, "alert": alerts[0]}


def test_a_teacher_sees_their_class_at_risk_highest_first_with_factors(school: School, flagged: dict[str, Any]) -> None:
    status, html = page(school.teacher, f"/classes/{school.course.pk}/dashboard/")

    assert status == 200
    section = html[html.index("data-risk-section") :]
    student_row = section.index(f'data-student="{school.student.pk}"')
    classmate_row = section.index(f'data-student="{school.classmate.pk}"')
    assert student_row < classmate_row  # highest risk first
    row = section[student_row:classmate_row]
    assert f'data-prediction="{flagged["latest"].pk}"' in row and f'data-alert="{flagged["alert"].pk}"' in row
    assert ">High<" in row and ">83 %<" in row and "↑ rising" in row and "from 55 %" in row
    assert MISSING_TEXT in row and IDLE_TEXT in row
    assert 'data-verdict="useful"' in row  # the teacher's own verdict
    assert 'data-verdict-choice="incorrectly_flagged"' in row and "data-intervention-form" in row
    assert ">Low<" in section[classmate_row:] and ">10 %<" in section[classmate_row:]
    assert "by rules" not in section
    assert '"alerts"' in html  # the page follows the class's alert stream


def test_rules_predictions_are_labelled_and_give_no_probability(school: School) -> None:
    prediction(student=school.student, course=school.course, as_of=AS_OF, probability=None, version=None)

    status, html = page(school.teacher, f"/classes/{school.course.pk}/dashboard/")

    assert status == 200
    section = html[html.index("data-risk-section") :]
    assert "data-by-rules" in section and "data-risk-rules" in section and "data-risk-probability" not in section


def test_a_class_without_predictions_says_so(school: School) -> None:
    status, html = page(school.teacher, f"/classes/{school.course.pk}/dashboard/")

    assert status == 200
    assert "data-risk-empty" in html and 'data-table="at-risk"' not in html


def test_the_drill_down_shows_the_risk_history_newest_first(school: School, flagged: dict[str, Any]) -> None:
    status, html = page(school.teacher, f"/students/{school.student.pk}/progress/")

    assert status == 200
    history = html[html.index("data-risk-history") :]
    newest, older = history.index(">83 %<"), history.index(">55 %<")
    assert newest < older
    assert MISSING_TEXT in history[newest:older] and IDLE_TEXT in history[older:]


def test_outside_their_classes_a_teacher_gets_404(school: School, flagged: dict[str, Any]) -> None:
    assert page(school.other_teacher, f"/classes/{school.course.pk}/dashboard/")[0] == 404
    assert page(school.other_teacher, f"/students/{school.student.pk}/progress/")[0] == 404
    status, html = page(school.other_teacher, f"/classes/{school.other_course.pk}/dashboard/")
    assert status == 200 and f'data-student="{school.student.pk}"' not in html and "data-risk-empty" in html


def test_a_student_sees_no_risk_on_any_page(school: School, flagged: dict[str, Any]) -> None:
    status, html = page(school.student, "/progress/")
    assert status == 200
    assert not [marker for marker in RISK_MARKERS if marker in html]
    assert "83 %" not in html and MISSING_TEXT not in html
    assert 'data-list="overdue"' in html  # what is missing or overdue stays on their page
    own = page(school.student, f"/students/{school.student.pk}/progress/")
    assert own[0] == 200 and not [marker for marker in RISK_MARKERS if marker in own[1]]
    for url in (
        f"/classes/{school.course.pk}/dashboard/",
        "/institution/",
        f"/students/{school.classmate.pk}/progress/",
    ):
        assert page(school.student, url)[0] == 404


def test_an_administrator_sees_the_model_cards(school: School, flagged: dict[str, Any]) -> None:
    version: ModelVersion = flagged["version"]
    version.metrics = {
        **CARD_METRICS,
        "auc_per_course": {str(school.course.pk): 0.86, str(school.other_course.pk): None},
    }
    version.save()
    rejected = model_version(
        organization=school.organization,
        status=ModelVersion.Status.REJECTED,
        decision="Rejected: cross-validated ROC AUC 0.61 is below 0.70.",
        metrics={"roc_auc": 0.61},
    )

    status, html = page(school.admin, "/institution/")

    assert status == 200
    cards = html[html.index("data-model-cards") :]
    assert f'data-model-card="{version.pk}"' in cards and f'data-row="{rejected.pk}"' in cards
    card = cards[cards.index(f'data-model-card="{version.pk}"') :]
    for label, value in (("ROC AUC", "0.843"), ("PR AUC", "0.712"), ("Brier score", "0.118"), ("MCC", "0.455")):
        assert f'data-model-metric="{label}">{value}<' in card
    assert version.decision in card and rejected.decision in cards
    assert '<th scope="row">Useful</th><td>1</td>' in card  # the teacher's verdict, counted
    assert '<th scope="row">Logistic regression</th><td>0.801</td>' in card
    assert '<th scope="row">The rules alone</th><td>0.692</td>' in card
    tables = {
        chart: card[card.index(f'data-table="{chart}-{version.pk}"') :]
        for chart in ("calibration", "auc-course", "auc-stage", "importance")
    }
    assert '<th scope="row">62 %</th><td>62.0</td><td>66.0</td>' in tables["calibration"]
    assert '<th scope="row">MATH-1</th><td>0.86</td>' in tables["auc-course"]
    assert "1 with one outcome only left out" in card  # HIST-1 had one outcome: no AUC, not drawn as 0
    stages = tables["auc-stage"]
    assert stages.index("Week 0") < stages.index("Week 10") and "Week 5" not in stages[: stages.index("</table>")]
    importance = tables["importance"]
    assert importance.index("assessments_missing") < importance.index("days_since_last_activity")
    assert "data-train" in cards


def test_a_teacher_sees_no_model_cards(school: School, flagged: dict[str, Any]) -> None:
    status, html = page(school.teacher, "/institution/")

    assert status == 200 and "data-model-cards" not in html


def test_an_institution_without_a_model_says_students_are_flagged_by_rules(school: School) -> None:
    status, html = page(school.admin, "/institution/")

    assert status == 200 and "data-models-empty" in html and "by the transparent rules" in html


def test_levels_are_the_predictions_own(school: School) -> None:
    """No figure is made up: an insufficient-data prediction shows its level and no probability."""
    prediction(
        student=school.student,
        course=school.course,
        as_of=AS_OF,
        level=Prediction.Level.INSUFFICIENT,
        probability=None,
        version=model_version(organization=school.organization),
        factors=[],
    )

    html = page(school.teacher, f"/classes/{school.course.pk}/dashboard/")[1]

    row = html[html.index(f'data-student="{school.student.pk}"', html.index("data-risk-section")) :]
    assert "Not enough data yet" in row and "Not enough activity history yet." in row


def queries_of(user: Any, url: str) -> int:
    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_at_risk_parts_read_a_fixed_number_of_queries(school: School, flagged: dict[str, Any]) -> None:
    """However many students are flagged and versions trained, the pages' reads stay the same (no query per row)."""
    # given: the pages as they are, with one version measured per course
    version: ModelVersion = flagged["version"]
    version.metrics = {**CARD_METRICS, "auc_per_course": {str(school.course.pk): 0.86}}
    version.save()
    urls = {
        school.teacher: f"/classes/{school.course.pk}/dashboard/?fragment=1",
        school.admin: "/institution/?fragment=1",
    }
    before = {user: queries_of(user, url) for user, url in urls.items()}

    # when: three more students are flagged (with an alert and a verdict each) and two more versions trained
    for _ in range(3):
        other = StudentFactory.create(organization=school.organization)
        EnrollmentFactory.create(user=other, course=school.course)
        alerts_for_predictions(
            [prediction(student=other, course=school.course, as_of=AS_OF, version=flagged["version"])]
        )
    for prediction_row in Prediction.objects.filter(course=school.course, as_of=AS_OF):
        PredictionFeedback.objects.get_or_create(
            prediction=prediction_row,
            teacher=school.teacher,
            defaults={"verdict": "not_useful", "created_at": AS_OF, "updated_at": AS_OF},
        )
    for status in (ModelVersion.Status.REJECTED, ModelVersion.Status.RETIRED):
        model_version(
            organization=school.organization,
            status=status,
            metrics={**CARD_METRICS, "auc_per_course": {str(school.course.pk): 0.8}},
        )

    # then
    assert {user: queries_of(user, url) for user, url in urls.items()} == before

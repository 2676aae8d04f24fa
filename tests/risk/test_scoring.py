"""risk.scoring: predictions by the active model (with factors that are the model's own) or by the rules."""

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from risk.explain import FACTORS
from risk.features import FEATURES, features_as_of
from risk.models import Alert, ModelVersion, Prediction
from risk.scoring import score
from risk.training import course_moment, model_load, train
from tests.factories import OrganizationFactory
from tests.risk.school import synthetic_class

TRAINED_AS_OF = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def school():
    organization = OrganizationFactory.create()
    for number, start in enumerate([date(2025, 2, 3), date(2025, 3, 3), date(2025, 4, 7), date(2025, 5, 5)]):
        synthetic_class(organization=organization, code=f"STAT-{number}", start=start, seed=number)
    running = synthetic_class(organization=organization, code="STAT-NOW", start=date(2026, 1, 5), seed=9, results=False)
    return organization, running


@pytest.mark.django_db
def test_the_active_model_scores_every_active_enrolment_with_its_own_factors(school) -> None:
    # given
    organization, running = school
    version = train(as_of=TRAINED_AS_OF, organization=organization)
    assert version.status == ModelVersion.Status.ACTIVE
    as_of = course_moment(running.course, 5)

    # when
    predictions = score(as_of=as_of, organization=organization)

    # then: only the running class, each of its 40 students, by the model
    assert len(predictions) == 40 and {p.course_id for p in predictions} == {running.course.pk}
    assert all(p.model_version_id == version.pk and p.probability is not None for p in predictions)
    assert {p.level for p in predictions} <= {"low", "medium", "high"}
    probabilities = {p.enrollment_id: float(p.probability or 0) for p in predictions}
    for prediction in predictions:
        probability = probabilities[prediction.enrollment_id]
        expected = (
            "high"
            if probability >= version.threshold_high
            else ("medium" if probability >= version.threshold_medium else "low")
        )
        assert prediction.level == expected
    high = [p for p in predictions if p.level == "high"]
    assert high and Alert.objects.filter(prediction__in=high).count() == len(high)
    # the least engaged student is at more risk than the most engaged
    engagement = running.engagement
    assert (
        probabilities[min(engagement, key=engagement.__getitem__)]
        > probabilities[max(engagement, key=engagement.__getitem__)]
    )

    # then: the factors are what moved the model's probability against the class medians
    riskiest = max((p for p in predictions if p.factors), key=lambda p: probabilities[p.enrollment_id])
    table = features_as_of([riskiest.enrollment_id], as_of)
    model = model_load(version)
    probability = model.predict_proba(table.values)[0, 1]
    assert probability == pytest.approx(riskiest.probability, abs=1e-4)
    changes: dict[str, float] = {}
    for factor in FACTORS:
        perturbed = table.values.copy()
        for name in factor.columns:
            perturbed[0, FEATURES.index(name)] = table.class_medians[0, FEATURES.index(name)]
        changes[factor.feature] = probability - model.predict_proba(perturbed)[0, 1]
    top = riskiest.factors[0]
    assert top["feature"] == max(changes, key=changes.__getitem__)
    assert top["change"] == pytest.approx(changes[top["feature"]], abs=1e-4) and top["effect"] == "raises"
    assert top["value"] == pytest.approx(table.values[0, FEATURES.index(top["feature"])], abs=0.01)
    assert top["class_value"] == pytest.approx(table.class_medians[0, FEATURES.index(top["feature"])], abs=0.01)
    assert [f["feature"] for f in riskiest.factors] == sorted(
        (f["feature"] for f in riskiest.factors), key=lambda name: -changes[name]
    )

    # when: the same moment again
    alerts = Alert.objects.count()
    again = score(as_of=as_of, organization=organization)

    # then: the predictions are replaced, not added, and no alert repeats
    assert len(again) == 40 and Prediction.objects.filter(as_of=as_of).count() == 40
    assert Alert.objects.count() == alerts


@pytest.mark.django_db
def test_without_an_active_model_the_rules_flag_students_and_say_so(school) -> None:
    # given: no model version
    _, running = school
    as_of = course_moment(running.course, 5)

    # when
    predictions = score(as_of=as_of, course_ids=[running.course.pk])

    # then
    assert len(predictions) == 40
    assert all(p.model_version_id is None and p.probability is None and p.by_rules for p in predictions)
    table = features_as_of([p.enrollment_id for p in predictions], as_of)
    idle = table.column("days_since_activity") >= 7
    missing = table.column("assessments_missing") >= 2
    with np.errstate(invalid="ignore"):
        low_score = table.column("mean_score") < 40
    for position, prediction in enumerate(predictions):
        fired = idle[position] or missing[position] or low_score[position]
        assert prediction.level == ("high" if fired else "low")
        assert {f["feature"] for f in prediction.factors} == {
            name
            for name, hit in [
                ("days_since_activity", idle[position]),
                ("assessments_missing", missing[position]),
                ("mean_score", low_score[position]),
            ]
            if hit
        }
    flagged = next(p for p in predictions if any(f["feature"] == "days_since_activity" for f in p.factors))
    text = next(f["text"] for f in flagged.factors if f["feature"] == "days_since_activity")
    assert text.startswith("no activity for ") and "— class median" in text


@pytest.mark.django_db
def test_the_first_week_is_not_enough_data(school) -> None:
    _, running = school
    predictions = score(as_of=course_moment(running.course, 0) + timedelta(days=3), course_ids=[running.course.pk])

    assert len(predictions) == 40
    assert {p.level for p in predictions} == {"insufficient"} and all(not p.factors for p in predictions)
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_nothing_running_scores_nothing() -> None:
    assert score(as_of=datetime(2030, 1, 1, tzinfo=UTC)) == []
    assert not Prediction.objects.exists()

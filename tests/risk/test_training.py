"""risk.training on small synthetic classes: a model that learns is activated, one that cannot is not."""

from datetime import UTC, date, datetime

import numpy as np
import pytest
import skops.io

from classroom.models import Enrollment
from risk.features import FEATURES, features_as_of
from risk.models import ModelVersion
from risk.training import TRUSTED_TYPES, TrainingError, model_load, train, version_store
from tests.factories import OrganizationFactory
from tests.risk.school import synthetic_class

AFTER_ALL = datetime(2026, 1, 1, tzinfo=UTC)
STARTS = [date(2025, 2, 3), date(2025, 3, 3), date(2025, 4, 7), date(2025, 5, 5)]


def finished_classes(organization, *, random_results: bool = False) -> None:
    for number, start in enumerate(STARTS):
        synthetic_class(
            organization=organization,
            code=f"STAT-{number}",
            start=start,
            seed=number + (100 if random_results else 0),
            random_results=random_results,
        )


@pytest.mark.django_db
def test_a_model_that_learns_is_stored_measured_and_activated() -> None:
    # given: four finished classes whose results follow the students' engagement
    organization = OrganizationFactory.create()
    finished_classes(organization)
    progress: list[int] = []

    # when
    version = train(as_of=AFTER_ALL, organization=organization, progress=progress.append)

    # then
    assert version.status == ModelVersion.Status.ACTIVE, version.decision
    assert version.decision.startswith("Activated")
    metrics = version.metrics
    assert metrics["roc_auc"] >= 0.7
    assert set(metrics) >= {
        "roc_auc",
        "pr_auc",
        "brier",
        "mcc",
        "calibration_curve",
        "auc_per_course",
        "auc_per_stage",
        "feature_importance",
        "candidates",
        "rules_roc_auc",
    }
    assert set(metrics["candidates"]) == {"hist_gradient_boosting", "logistic_regression"}
    assert len(metrics["auc_per_course"]) == 4
    assert version.training["enrollments"] == 160 and len(version.training["courses"]) == 4
    assert version.features == FEATURES
    assert 0 < version.threshold_medium < version.threshold_high < 1
    assert set(version.library_versions) >= {"scikit-learn", "skops"}
    assert progress[-1] == 100 and progress == sorted(progress)
    # the artifact is skops, loads with only the listed types, and predicts
    assert set(skops.io.get_untrusted_types(data=bytes(version.artifact))) <= set(TRUSTED_TYPES)
    model = model_load(version)
    enrollments = list(Enrollment.objects.filter(course__code="STAT-0").values_list("id", flat=True))
    probabilities = model.predict_proba(features_as_of(enrollments, datetime(2025, 3, 10, tzinfo=UTC)).values)[:, 1]
    assert np.all((probabilities >= 0) & (probabilities <= 1))


@pytest.mark.django_db
def test_a_model_that_cannot_learn_is_rejected_and_not_activated() -> None:
    # given: results drawn at random, independent of anything the model sees
    organization = OrganizationFactory.create()
    finished_classes(organization, random_results=True)

    # when
    version = train(as_of=AFTER_ALL, organization=organization)

    # then
    assert version.status == ModelVersion.Status.REJECTED
    assert "below the minimum 0.70" in version.decision
    assert not ModelVersion.objects.filter(organization=organization, status=ModelVersion.Status.ACTIVE).exists()


def _store(organization, auc: float) -> ModelVersion:
    return version_store(
        organization=organization,
        as_of=AFTER_ALL,
        algorithm="hist_gradient_boosting",
        metrics={"roc_auc": auc},
        hyperparameters={},
        training={},
        thresholds=(0.3, 0.6),
        artifact=b"",
    )


@pytest.mark.django_db
def test_the_gate_compares_with_the_active_version() -> None:
    organization = OrganizationFactory.create()
    first = _store(organization, 0.80)
    worse = _store(organization, 0.77)  # more than 0.02 below the active 0.80
    close = _store(organization, 0.79)  # within 0.02: replaces it

    first.refresh_from_db()
    assert worse.status == ModelVersion.Status.REJECTED and "more than 0.02 below" in worse.decision
    assert close.status == ModelVersion.Status.ACTIVE
    assert first.status == ModelVersion.Status.RETIRED


@pytest.mark.django_db
def test_too_few_labelled_enrolments_is_a_clear_error_and_stores_nothing() -> None:
    organization = OrganizationFactory.create()
    synthetic_class(organization=organization, code="STAT-0", start=STARTS[0], students=20)

    with pytest.raises(TrainingError, match="Too few labelled enrolments to train: 20"):
        train(as_of=AFTER_ALL, organization=organization)
    # results not known before as_of do not count either
    with pytest.raises(TrainingError, match=": 0 in courses"):
        train(as_of=datetime(2025, 3, 1, tzinfo=UTC), organization=organization)
    assert not ModelVersion.objects.exists()

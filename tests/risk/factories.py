"""Risk rows made directly (the model code trains and scores them for real; these tests need known rows)."""

from datetime import datetime
from typing import Any

from accounts.models import User
from classroom.models import Course, Enrollment
from risk.models import ModelVersion, Prediction

MISSING = {
    "feature": "assessments_missing",
    "text": "2 of 3 assessments missing — class 0.4",
    "value": 2,
    "class_value": 0.4,
    "effect": "raises",
}
IDLE = {
    "feature": "days_since_activity",
    "text": "no activity for 12 days — class median 2",
    "value": 12,
    "class_value": 2,
    "effect": "raises",
}


# A version's record as risk.training.train stores it (the API types every part of it: risk.selectors.ModelCard).
METRICS: dict[str, Any] = {
    "roc_auc": 0.84,
    "pr_auc": 0.7,
    "brier": 0.12,
    "mcc": 0.45,
    "threshold": 0.6,
    "calibration_curve": [{"predicted": 0.1, "observed": 0.08}, {"predicted": 0.62, "observed": 0.66}],
    "auc_per_course": {},
    "auc_per_stage": {"week_0": 0.71, "week_5": 0.8, "week_10": None},
    "candidates": {
        "hist_gradient_boosting": {"roc_auc": 0.84, "pr_auc": 0.7, "brier": 0.12},
        "logistic_regression": {"roc_auc": 0.8, "pr_auc": 0.65, "brier": 0.13},
    },
    "rules_roc_auc": 0.69,
    "feature_importance": {"assessments_missing": 0.09, "days_since_activity": 0.05},
}
HYPERPARAMETERS: dict[str, Any] = {
    "model": {"learning_rate": 0.05, "max_iter": 400},
    "calibration": {"method": "sigmoid", "on": "out-of-fold predictions (held-out courses)"},
    "cross_validation": {"folds": 5, "grouped_by": "course"},
    "stage_weeks": [0, 5, 10],
}
TRAINING: dict[str, Any] = {
    "enrollments": 1200,
    "samples": 9600,
    "courses": [1, 2, 3, 4],
    "at_risk_share": 0.41,
    "seconds": 12.5,
}


def model_version(*, organization: Any = None, status: str = ModelVersion.Status.ACTIVE, **fields: Any) -> ModelVersion:
    values: dict[str, Any] = {
        "organization": organization,
        "trained_as_of": datetime.fromisoformat("2026-09-01T00:00:00+00:00"),
        "algorithm": "HistGradientBoostingClassifier",
        "status": status,
        "decision": "Activated: cross-validated ROC AUC 0.84 (at least 0.70).",
        "features": ["assessments_missing", "days_since_activity"],
        "metrics": METRICS,
        "hyperparameters": HYPERPARAMETERS,
        "library_versions": {"scikit-learn": "1.9.1", "skops": "0.16.0"},
        "training": TRAINING,
        "threshold_medium": 0.3,
        "threshold_high": 0.6,
        "artifact": b"",
    }
    values.update(fields)
    return ModelVersion.objects.create(**values)


def prediction(
    *,
    student: User,
    course: Course,
    as_of: datetime,
    level: str = Prediction.Level.HIGH,
    probability: float | None = 0.8,
    version: ModelVersion | None = None,
    factors: list[dict[str, Any]] | None = None,
) -> Prediction:
    enrollment = Enrollment.objects.get(user=student, course=course, role=Enrollment.Role.STUDENT, status="active")
    return Prediction.objects.create(
        enrollment=enrollment,
        course=course,
        student=student,
        as_of=as_of,
        level=level,
        probability=probability,
        model_version=version,
        factors=[MISSING, IDLE] if factors is None else factors,
        features={"assessments_missing": 2, "days_since_activity": 12},
    )

"""Training a version of the at-risk model: learn from courses that ended before a moment, measure it on courses it
never saw, and activate it only if it is good enough.

Samples. Each labelled student enrolment ("at risk": ended as fail or withdrawn) of a course that ended before
`as_of` is seen at several points of its course (STAGE_WEEKS after the start), as long as it was still enrolled then;
its features come from risk.features as of that point. One model serves every stage: the stage is a feature
(days elapsed, share of the course elapsed), and the per-stage AUC in the metrics shows how it does at each.

Models. A gradient-boosted model (HistGradientBoostingClassifier; unknown values such as "no score yet" are handled
natively) against a logistic-regression baseline, each calibrated (sigmoid, on held-out courses), compared by
cross-validation grouped by course: a course is never in the training and the test part of the same fold. The better
by ROC AUC is kept; both sets of figures are stored. Thresholds: `high` is the probability with the best Matthews
correlation on the cross-validated predictions; `medium` the one at which 80 % of the students who ended at risk are
flagged medium or high (kept below `high`).

Acceptance gate: active only if the cross-validated ROC AUC is at least MIN_AUC and at most MAX_AUC_DROP below the
active version's; otherwise the version is stored as rejected with the reason.

The fitted model is stored with skops (its loader only builds the types listed in TRUSTED_TYPES; nothing executes).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import scipy
import sklearn
import skops
import skops.io
from django.db import transaction
from django.db.models import Q
from sklearn.base import ClassifierMixin, clone
from sklearn.calibration import calibration_curve
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, matthews_corrcoef, roc_auc_score
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from accounts.models import Organization
from classroom.models import Course, Enrollment
from risk.features import FEATURES, features_at
from risk.models import ModelVersion
from risk.rules import rules_score

# Weeks after a course's start at which each enrolment is sampled: dense early, when a warning helps most.
STAGE_WEEKS = [0, 2, 3, 5, 7, 10, 14, 20, 26, 32]
AT_RISK = (Enrollment.FinalResult.FAIL, Enrollment.FinalResult.WITHDRAWN)
MIN_AUC = 0.70
MAX_AUC_DROP = 0.02
MIN_ENROLLMENTS = 100
MIN_COURSES = 3
OUTER_FOLDS = 5
# HistGradientBoosting's OpenMP threads spin while they wait; on a worker shared with other processes that made one
# small fit take 37 s instead of 2.8 s (measured on the 2-core development machine). One thread per fit.
THREADS = 1
# Small trees, many of them, with leaves of at least 200 samples: measured on OULAD (bench/risk.py: trained on 2013,
# scored on 2014B) they generalise to unseen courses a little better (AUC +0.001 to +0.004 at weeks 5 and 10) than
# 31-leaf trees with 40-sample leaves, which learn one course's quirks.
GRADIENT_BOOSTING = {
    "learning_rate": 0.05,
    "max_iter": 400,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 200,
    "l2_regularization": 1.0,
    "random_state": 0,
}
LOGISTIC_REGRESSION = {"C": 0.5, "max_iter": 2000}
# Everything the stored model is made of; skops refuses to load any other type.
TRUSTED_TYPES = [
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.float64",
    "numpy.int64",
    "numpy.random.mtrand.RandomState",
    "numpy.random._mt19937.MT19937",
    "risk.training.CalibratedModel",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.Interval",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.model_selection._split.GroupKFold",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "builtins.slice",
]

Progress = Callable[[int], None]


class TrainingError(Exception):
    """Training cannot run on this data (too few labelled enrolments or courses, a single outcome)."""


@dataclass
class Samples:
    values: np.ndarray
    labels: np.ndarray
    courses: np.ndarray
    weeks: np.ndarray
    rules: np.ndarray
    enrollments: int


def course_moment(course: Course, weeks: float) -> datetime:
    """`weeks` after the start of the course: midnight of its first day in its time zone, plus that many weeks."""
    if course.start_date is None:
        raise ValueError(f"Course {course.pk} has no start date.")
    start = datetime.combine(course.start_date, datetime.min.time(), tzinfo=ZoneInfo(course.time_zone))
    return start + timedelta(weeks=weeks)


def course_end(course: Course) -> datetime:
    """Midnight after the course's last day, in its time zone."""
    if course.end_date is None:
        raise ValueError(f"Course {course.pk} has no end date.")
    return datetime.combine(course.end_date + timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo(course.time_zone))


def training_samples(*, as_of: datetime, organization: Organization | None) -> Samples:
    """Every labelled enrolment of the courses that ended before `as_of`, at each STAGE_WEEKS point it was enrolled."""
    dated = Course.objects.filter(start_date__isnull=False, end_date__isnull=False)
    if organization is not None:
        dated = dated.filter(organization=organization)
    courses = [course for course in dated if course_end(course) <= as_of]
    enrollments = Enrollment.objects.filter(
        course__in=courses, role=Enrollment.Role.STUDENT, result_at__lt=as_of
    ).exclude(final_result="")
    rows = list(enrollments.values_list("id", "course_id", "enrolled_at", "ended_at", "final_result"))
    by_course = {course.pk: course for course in courses}
    ids, moments, labels, courses_of, weeks_of = [], [], [], [], []
    for enrollment_id, course_id, enrolled_at, ended_at, result in rows:
        course = by_course[course_id]
        length_weeks = (course_end(course) - course_moment(course, 0)).days / 7
        for week in STAGE_WEEKS:
            if week >= length_weeks:
                break
            moment = course_moment(course, week)
            if enrolled_at < moment and (ended_at is None or ended_at > moment):
                ids.append(enrollment_id)
                moments.append(moment)
                labels.append(result in AT_RISK)
                courses_of.append(course_id)
                weeks_of.append(week)
    labelled = len(rows)
    if labelled < MIN_ENROLLMENTS:
        raise TrainingError(
            f"Too few labelled enrolments to train: {labelled} in courses ended before {as_of:%Y-%m-%d %H:%M} "
            f"(at least {MIN_ENROLLMENTS} needed)."
        )
    if len(set(courses_of)) < MIN_COURSES:
        raise TrainingError(
            f"Too few finished courses with results to validate on unseen courses: {len(set(courses_of))} "
            f"(at least {MIN_COURSES} needed)."
        )
    if len(set(labels)) < 2:
        raise TrainingError("Every labelled enrolment has the same outcome: nothing to learn.")
    table = features_at(ids, moments)
    return Samples(
        values=table.values,
        labels=np.array(labels, dtype=int),
        courses=np.array(courses_of),
        weeks=np.array(weeks_of),
        rules=rules_score(table),
        enrollments=labelled,
    )


def candidates() -> dict[str, ClassifierMixin]:
    return {
        "hist_gradient_boosting": HistGradientBoostingClassifier(**GRADIENT_BOOSTING),
        "logistic_regression": Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                ("scale", StandardScaler()),
                ("model", LogisticRegression(**LOGISTIC_REGRESSION)),
            ]
        ),
    }


class CalibratedModel:
    """A fitted classifier and its calibration: a logistic (Platt) map from the classifier's log-odds to a
    probability, learnt from its predictions for courses it had not been trained on (the cross-validation's)."""

    def __init__(self, estimator: Any, calibrator: LogisticRegression) -> None:
        self.estimator = estimator
        self.calibrator = calibrator

    def predict_proba(self, values: np.ndarray) -> np.ndarray:
        with threadpool_limits(limits=THREADS):
            raw = self.estimator.predict_proba(values)[:, 1]
        return self.calibrator.predict_proba(_log_odds(raw))


def _log_odds(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(probabilities, 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped)).reshape(-1, 1)


def _calibrator(raw: np.ndarray, labels: np.ndarray) -> LogisticRegression:
    return LogisticRegression(C=1e6, max_iter=1000).fit(_log_odds(raw), labels)


def folds_of(samples: "Samples") -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds grouped by course: a course is never on both sides."""
    count = min(OUTER_FOLDS, len(np.unique(samples.courses)))
    return list(GroupKFold(n_splits=count).split(samples.values, samples.labels, samples.courses))


def cross_validated(
    estimator: ClassifierMixin,
    samples: "Samples",
    folds: list[tuple[np.ndarray, np.ndarray]],
    progress: Callable[[], None] = lambda: None,
) -> tuple[np.ndarray, np.ndarray]:
    """(raw, calibrated) out-of-fold probabilities. Each fold's calibration map is learnt from the other folds' raw
    predictions, so neither the model nor its calibration saw the course being predicted."""
    raw = np.zeros(len(samples.labels))
    for train, test in folds:
        with threadpool_limits(limits=THREADS):
            model = clone(estimator).fit(samples.values[train], samples.labels[train])
            raw[test] = model.predict_proba(samples.values[test])[:, 1]
        progress()
    calibrated = np.zeros(len(samples.labels))
    for train, test in folds:
        calibrated[test] = _calibrator(raw[train], samples.labels[train]).predict_proba(_log_odds(raw[test]))[:, 1]
    return raw, calibrated


def calibrated_model(estimator: ClassifierMixin, samples: "Samples", raw_out_of_fold: np.ndarray) -> CalibratedModel:
    """The estimator fitted on every sample, calibrated on its out-of-fold predictions."""
    with threadpool_limits(limits=THREADS):
        fitted = clone(estimator).fit(samples.values, samples.labels)
    return CalibratedModel(fitted, _calibrator(raw_out_of_fold, samples.labels))


def _auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    return float(roc_auc_score(labels, scores)) if len(np.unique(labels)) == 2 else None


def thresholds(labels: np.ndarray, probabilities: np.ndarray) -> tuple[float, float]:
    """(medium, high): high with the best Matthews correlation; medium flags 80 % of those who ended at risk."""
    grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
    scores = [matthews_corrcoef(labels, probabilities >= threshold) for threshold in grid]
    high = float(grid[int(np.argmax(scores))])
    at_risk = np.sort(probabilities[labels == 1])
    medium = float(np.round(at_risk[int(0.2 * len(at_risk))], 2)) if len(at_risk) else high / 2
    return (min(medium, round(high * 0.8, 2)), high)


def metrics_of(samples: Samples, probabilities: np.ndarray, threshold_high: float) -> dict[str, Any]:
    labels = samples.labels
    fraction, mean_predicted = calibration_curve(labels, probabilities, n_bins=10, strategy="quantile")
    return {
        "roc_auc": _auc(labels, probabilities),
        "pr_auc": float(average_precision_score(labels, probabilities)),
        "brier": float(brier_score_loss(labels, probabilities)),
        "mcc": float(matthews_corrcoef(labels, probabilities >= threshold_high)),
        "threshold": threshold_high,
        "calibration_curve": [
            {"predicted": round(float(p), 4), "observed": round(float(o), 4)}
            for p, o in zip(mean_predicted, fraction, strict=True)
        ],
        "auc_per_course": {
            str(course): _auc(labels[samples.courses == course], probabilities[samples.courses == course])
            for course in np.unique(samples.courses)
        },
        "auc_per_stage": {
            f"week_{week}": _auc(labels[samples.weeks == week], probabilities[samples.weeks == week])
            for week in np.unique(samples.weeks)
        },
    }


def feature_importance(model: Any, samples: Samples, limit: int = 4000) -> dict[str, float]:
    """Permutation importance on a fixed sample: the drop of ROC AUC when one feature's values are shuffled."""
    generator = np.random.default_rng(0)
    rows = generator.choice(len(samples.labels), size=min(limit, len(samples.labels)), replace=False)
    values, labels = samples.values[rows], samples.labels[rows]
    if len(np.unique(labels)) < 2:
        return {}
    base = roc_auc_score(labels, model.predict_proba(values)[:, 1])
    importance = {}
    for column, name in enumerate(FEATURES):
        shuffled = values.copy()
        shuffled[:, column] = generator.permutation(shuffled[:, column])
        importance[name] = round(float(base - roc_auc_score(labels, model.predict_proba(shuffled)[:, 1])), 5)
    return dict(sorted(importance.items(), key=lambda item: -item[1]))


def train(
    *,
    as_of: datetime,
    organization: Organization | None,
    requested_by: Any = None,
    progress: Progress | None = None,
) -> ModelVersion:
    """Train, measure and store a version; activate it if it passes the acceptance gate (see the module)."""
    report = progress or (lambda percent: None)
    started = time.monotonic()
    report(5)
    samples = training_samples(as_of=as_of, organization=organization)
    report(25)
    steps = [0]
    folds = folds_of(samples)
    total_steps = 2 * len(folds)

    def step() -> None:
        steps[0] += 1
        report(25 + int(55 * steps[0] / total_steps))

    raw_and_calibrated = {
        name: cross_validated(estimator, samples, folds, step) for name, estimator in candidates().items()
    }
    out_of_fold = {name: calibrated for name, (_, calibrated) in raw_and_calibrated.items()}
    aucs = {name: _auc(samples.labels, predicted) or 0.0 for name, predicted in out_of_fold.items()}
    chosen = max(aucs, key=lambda name: aucs[name])
    medium, high = thresholds(samples.labels, out_of_fold[chosen])
    metrics = metrics_of(samples, out_of_fold[chosen], high)
    metrics["candidates"] = {
        name: {
            "roc_auc": aucs[name],
            "brier": float(brier_score_loss(samples.labels, predicted)),
            "pr_auc": float(average_precision_score(samples.labels, predicted)),
        }
        for name, predicted in out_of_fold.items()
    }
    metrics["rules_roc_auc"] = _auc(samples.labels, samples.rules)
    report(85)
    model = calibrated_model(candidates()[chosen], samples, raw_and_calibrated[chosen][0])
    metrics["feature_importance"] = feature_importance(model, samples)
    report(95)
    artifact = skops.io.dumps(model)
    hyperparameters = {
        "model": GRADIENT_BOOSTING if chosen == "hist_gradient_boosting" else LOGISTIC_REGRESSION,
        "calibration": {"method": "sigmoid", "on": "out-of-fold predictions (held-out courses)"},
        "cross_validation": {"folds": OUTER_FOLDS, "grouped_by": "course"},
        "stage_weeks": STAGE_WEEKS,
    }
    training = {
        "enrollments": samples.enrollments,
        "samples": len(samples.labels),
        "courses": sorted(int(course) for course in np.unique(samples.courses)),
        "at_risk_share": round(float(samples.labels.mean()), 4),
        "seconds": round(time.monotonic() - started, 1),
    }
    version = version_store(
        organization=organization,
        as_of=as_of,
        algorithm=chosen,
        metrics=metrics,
        hyperparameters=hyperparameters,
        training=training,
        thresholds=(medium, high),
        artifact=artifact,
        requested_by=requested_by,
    )
    report(100)
    return version


@transaction.atomic
def version_store(
    *,
    organization: Organization | None,
    as_of: datetime,
    algorithm: str,
    metrics: dict[str, Any],
    hyperparameters: dict[str, Any],
    training: dict[str, Any],
    thresholds: tuple[float, float],
    artifact: bytes,
    requested_by: Any = None,
) -> ModelVersion:
    """Store a trained version and apply the acceptance gate: it replaces the active version of its organisation only
    if its cross-validated ROC AUC is at least MIN_AUC and not more than MAX_AUC_DROP below the active one's."""
    scope = Q(organization__isnull=True) if organization is None else Q(organization=organization)
    active = ModelVersion.objects.select_for_update().filter(scope, status=ModelVersion.Status.ACTIVE).first()
    auc = metrics.get("roc_auc") or 0.0
    active_auc = (active.metrics.get("roc_auc") or 0.0) if active else None
    if auc < MIN_AUC:
        status, decision = (
            ModelVersion.Status.REJECTED,
            f"Rejected: cross-validated ROC AUC {auc:.3f} is below the minimum {MIN_AUC:.2f}.",
        )
    elif active is not None and active_auc is not None and auc < active_auc - MAX_AUC_DROP:
        status, decision = (
            ModelVersion.Status.REJECTED,
            f"Rejected: cross-validated ROC AUC {auc:.3f} is more than {MAX_AUC_DROP:.2f} below the active version "
            f"{active.pk}'s {active_auc:.3f}.",
        )
    else:
        status = ModelVersion.Status.ACTIVE
        decision = f"Activated: cross-validated ROC AUC {auc:.3f} (minimum {MIN_AUC:.2f})" + (
            f", active version {active.pk} had {active_auc:.3f} and is retired." if active else "."
        )
        if active is not None:
            active.status = ModelVersion.Status.RETIRED
            active.save(update_fields=["status"])
    return ModelVersion.objects.create(
        organization=organization,
        trained_as_of=as_of,
        algorithm=algorithm,
        status=status,
        decision=decision,
        features=FEATURES,
        hyperparameters=hyperparameters,
        library_versions={
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "skops": skops.__version__,
        },
        training=training,
        metrics=metrics,
        threshold_medium=thresholds[0],
        threshold_high=thresholds[1],
        artifact=artifact,
        requested_by=requested_by,
    )


@lru_cache(maxsize=4)
def _loaded(version_id: int, artifact: bytes) -> Any:
    return skops.io.loads(artifact, trusted=TRUSTED_TYPES)


def model_load(version: ModelVersion) -> Any:
    """The version's fitted model, loaded from its skops artifact (only TRUSTED_TYPES are built)."""
    return _loaded(version.pk, bytes(version.artifact))

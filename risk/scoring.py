"""Scoring: a prediction for every active student enrolment of the courses running at a moment, kept as history.

Which model: the active version of the course's organisation, else an active version trained across organisations;
without either, the transparent rules (risk.rules), and the prediction says so (no model version, no probability).

Levels (thresholds stored on each ModelVersion, chosen at training, see risk.training):
- high: probability >= `threshold_high` (the probability with the best cross-validated Matthews correlation);
- medium: probability >= `threshold_medium` (flags 80 % of the students who ended at risk, cross-validated);
- low: below that;
- insufficient ("not enough data yet"): in the course's first week, or a student who joined less than a week ago
  and has no activity yet. The probability is still stored (it is measured), but no level and no alert is given.
By rules: high when any rule fired, low otherwise (insufficient as above).

Each prediction carries its factors (risk.explain). After saving, alerts are raised for the high ones
(risk.alerts.alerts_for_predictions).
"""

from collections.abc import Callable
from datetime import datetime

import numpy as np
from django.db import transaction
from django.db.models import Q

from accounts.models import Organization
from classroom.models import Course, Enrollment
from risk.alerts import alerts_for_predictions
from risk.explain import model_factors, perturbation_changes, rule_factors
from risk.features import FEATURES, FeatureTable, features_as_of
from risk.models import ModelVersion, Prediction
from risk.rules import rules_fired
from risk.training import course_end, course_moment, model_load

FIRST_WEEK_DAYS = 7
# Predictions written per INSERT: ~2 000 rows of a few hundred bytes of JSON each stay well under a megabyte.
BATCH = 2000

Progress = Callable[[int], None]


def running_courses(
    *, as_of: datetime, organization: Organization | None = None, course_ids: list[int] | None = None
) -> list[Course]:
    """Courses that had started and not ended at `as_of` (start and end dates in their own time zone)."""
    courses = Course.objects.filter(start_date__isnull=False).order_by("pk")
    if organization is not None:
        courses = courses.filter(organization=organization)
    if course_ids is not None:
        courses = courses.filter(pk__in=course_ids)
    return [
        course
        for course in courses
        if course_moment(course, 0) <= as_of and (course.end_date is None or as_of < course_end(course))
    ]


def active_enrollments(*, courses: list[Course], as_of: datetime) -> list[tuple[int, int, int]]:
    """(enrolment, course, student) of each student enrolled at `as_of`: begun before it and not ended by it."""
    return list(
        Enrollment.objects.filter(course__in=courses, role=Enrollment.Role.STUDENT, enrolled_at__lt=as_of)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=as_of))
        .order_by("course_id", "pk")
        .values_list("id", "course_id", "user_id")
    )


def active_version(organization_id: int) -> ModelVersion | None:
    versions = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).filter(
        Q(organization_id=organization_id) | Q(organization__isnull=True)
    )
    # The organisation's own version first, then one trained across organisations.
    return sorted(versions, key=lambda version: version.organization_id is None)[0] if versions else None


def insufficient(table: FeatureTable) -> np.ndarray:
    elapsed = table.column("days_elapsed")
    return (elapsed < FIRST_WEEK_DAYS) | (~table.has_activity & (table.days_enrolled < FIRST_WEEK_DAYS))


def levels_for(probabilities: np.ndarray, version: ModelVersion) -> list[Prediction.Level]:
    return [
        Prediction.Level.HIGH
        if probability >= version.threshold_high
        else Prediction.Level.MEDIUM
        if probability >= version.threshold_medium
        else Prediction.Level.LOW
        for probability in probabilities
    ]


def score(
    *,
    as_of: datetime,
    organization: Organization | None = None,
    course_ids: list[int] | None = None,
    progress: Progress | None = None,
) -> list[Prediction]:
    """Predict for every active student enrolment of the courses running at `as_of`, store the predictions (scoring
    the same moment again replaces them) and raise alerts for the high ones."""
    report = progress or (lambda percent: None)
    courses = running_courses(as_of=as_of, organization=organization, course_ids=course_ids)
    enrollments = active_enrollments(courses=courses, as_of=as_of)
    report(10)
    table = features_as_of([enrollment_id for enrollment_id, _, _ in enrollments], as_of)
    report(50)
    organization_of = {course.pk: course.organization_id for course in courses}
    not_enough = insufficient(table)
    rows_of_version: dict[int | None, list[int]] = {}
    versions: dict[int | None, ModelVersion | None] = {}
    for organization_id in set(organization_of.values()):
        version = active_version(organization_id)
        versions[version.pk if version else None] = version
        for row, (_, course_id, _) in enumerate(enrollments):
            if organization_of[course_id] == organization_id:
                rows_of_version.setdefault(version.pk if version else None, []).append(row)

    predictions: list[Prediction] = []
    for version_id, row_list in rows_of_version.items():
        rows = np.array(row_list, dtype=int)
        version = versions[version_id]
        if version is None:
            fired = rules_fired(table)[rows]
            factors = rule_factors(table, rows)
            probabilities: list[float | None] = [None] * len(rows)
            levels: list[Prediction.Level] = [
                Prediction.Level.HIGH if hit.any() else Prediction.Level.LOW for hit in fired
            ]
        else:
            model = model_load(version)
            values, changes = perturbation_changes(model, table, rows)
            factors = model_factors(changes, table, rows)
            probabilities = [round(float(value), 4) for value in values]
            levels = levels_for(values, version)
        for position, row in enumerate(rows):
            enrollment_id, course_id, student_id = enrollments[row]
            level = Prediction.Level.INSUFFICIENT if not_enough[row] else levels[position]
            predictions.append(
                Prediction(
                    enrollment_id=enrollment_id,
                    course_id=course_id,
                    student_id=student_id,
                    as_of=as_of,
                    probability=probabilities[position],
                    level=level,
                    model_version=version,
                    factors=[] if level == Prediction.Level.INSUFFICIENT else factors[position],
                    features=_features_dict(table, row),
                )
            )
    report(80)
    with transaction.atomic():
        stored: list[Prediction] = []
        for start in range(0, len(predictions), BATCH):
            stored += Prediction.objects.bulk_create(
                predictions[start : start + BATCH],
                update_conflicts=True,
                unique_fields=["enrollment", "as_of"],
                update_fields=["probability", "level", "model_version", "factors", "features"],
            )
        alerts_for_predictions(stored)
    report(100)
    return stored


def _features_dict(table: FeatureTable, row: int) -> dict[str, float | None]:
    return {
        name: None if np.isnan(value) else round(float(value), 4)
        for name, value in zip(FEATURES, table.values[row], strict=True)
    }

"""Reads of the at-risk side, for the API and the pages: a class's students at risk, a student's history, model
cards, alerts, interventions and the measured re-engagement after interventions.

Scope is decided by classroom.selectors, narrowed here to staff: students never receive risk scores, so for them
every risk queryset is empty (and every risk URL a 404)."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Annotated, Literal, NotRequired, TypedDict, cast

from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from accounts.models import User
from accounts.permissions import is_staff_role
from analytics.models import LearningEvent
from classroom.models import Course, Enrollment
from classroom.selectors import Actor, courses_in_common, scoped_get_or_404, visible_courses, visible_students
from risk.models import Alert, Intervention, ModelVersion, Prediction, PredictionFeedback

# Most urgent first on every list.
LEVEL_ORDER: dict[str, int] = {
    Prediction.Level.HIGH: 0,
    Prediction.Level.MEDIUM: 1,
    Prediction.Level.LOW: 2,
    Prediction.Level.INSUFFICIENT: 3,
}
# A move of the calibrated probability smaller than this between two nights is noise, not a trend.
TREND_MIN_CHANGE = 0.02
# "Re-engaged": any learning event in the class within this many days after the intervention.
REENGAGEMENT_DAYS = 7

Trend = Literal["up", "down", "flat"]


class Factor(TypedDict):
    """One reason for the risk, against the class ("no activity for 12 days — class median 2")."""

    feature: str
    text: str
    value: Annotated[float | None, "The student's figure."]
    class_value: Annotated[float | None, "The class median at that moment."]
    effect: Annotated[str, "Whether it raises or lowers the risk."]
    change: NotRequired[Annotated[float, "How far the probability moves with the class median in its place."]]
    rule: NotRequired[Annotated[bool, "A transparent rule that fired (no active model)."]]


class AlertRef(TypedDict):
    id: int
    status: str
    created_at: datetime


class StudentRisk(TypedDict):
    """A student's latest prediction in a class, with its trend since the one before."""

    student: int
    name: str
    enrollment: int
    course: int
    prediction: int
    as_of: datetime
    level: Annotated[str, "low, medium, high, or insufficient (not enough data yet)."]
    probability: Annotated[float | None, "Of ending as fail or withdrawn; null when the rules flagged."]
    previous_probability: float | None
    trend: Annotated[Trend | None, "Since the previous prediction; null without one."]
    by_rules: Annotated[bool, "Made by the transparent rules (no active model): label it so."]
    model_version: int | None
    factors: list[Factor]
    alert: Annotated[AlertRef | None, "The student's latest alert in the class."]
    feedback: Annotated[str | None, "The viewer's verdict on this prediction."]


class PredictionOut(TypedDict):
    id: int
    course: int
    course_code: str
    as_of: datetime
    level: str
    probability: float | None
    by_rules: bool
    model_version: int | None
    factors: list[Factor]


Scalar = str | float | bool | None  # one JSON type each: an integer is a number (oneOf must match once)


class CrossValidation(TypedDict):
    folds: int
    grouped_by: Annotated[str, "Never the same course in training and test."]


class Hyperparameters(TypedDict):
    model: Annotated[dict[str, Scalar], "The chosen estimator's parameters."]
    calibration: dict[str, str]
    cross_validation: CrossValidation
    stage_weeks: Annotated[list[int], "The weeks of its course at which each enrolment was sampled."]


class TrainingSet(TypedDict):
    enrollments: Annotated[int, "Enrolments with a result learnt from."]
    samples: Annotated[int, "Each enrolment at several points of its course."]
    courses: Annotated[list[int], "The courses learnt from."]
    at_risk_share: Annotated[float, "Share that failed or withdrew."]
    seconds: Annotated[float, "Training time."]


class CalibrationPoint(TypedDict):
    predicted: Annotated[float, "Mean predicted probability of a tenth of the predictions."]
    observed: Annotated[float, "Share of them that failed or withdrew."]


class CandidateMetrics(TypedDict):
    roc_auc: float | None
    brier: float
    pr_auc: float


class ModelMetrics(TypedDict):
    """Cross-validated, grouped by course: every figure is of predictions on courses left out of training."""

    roc_auc: float | None
    pr_auc: float
    brier: float
    mcc: Annotated[float, "At the high-risk threshold."]
    threshold: float
    calibration_curve: list[CalibrationPoint]
    auc_per_course: Annotated[dict[str, float | None], "By course id; null with one outcome only."]
    auc_per_stage: Annotated[dict[str, float | None], "By week of the course (week_<n>)."]
    candidates: Annotated[dict[str, CandidateMetrics], "Each estimator compared on the same folds."]
    rules_roc_auc: Annotated[float | None, "The transparent rules alone, on the same samples."]
    feature_importance: Annotated[dict[str, float], "Drop of ROC AUC when the feature is shuffled."]


class ModelCard(TypedDict):
    """A trained version: what it learned from, how well it did on courses it never saw, whether it was activated
    and why, and what teachers said of its predictions."""

    id: int
    organization: int | None
    created_at: datetime
    trained_as_of: datetime
    algorithm: str
    status: Annotated[str, "active, retired or rejected."]
    decision: Annotated[str, "Why it was activated or rejected."]
    features: list[str]
    hyperparameters: Hyperparameters
    library_versions: Annotated[dict[str, str], "Version of each library the model was fitted with."]
    training: TrainingSet
    metrics: ModelMetrics
    threshold_medium: float
    threshold_high: float
    requested_by: int | None
    predictions: Annotated[int, "Predictions made with it."]
    feedback: Annotated[dict[str, int], "Teachers' verdicts on its predictions, per verdict."]


class AlertOut(TypedDict):
    """An alert (seed 000's fields: student, risk level, risk score, factors, recommendation, created)."""

    id: int
    type: Literal["at_risk_student"]
    course: int
    course_code: str
    student: int
    name: str
    prediction: int
    risk_level: str
    risk_score: Annotated[float | None, "The probability; null when the rules flagged."]
    by_rules: bool
    factors: list[Factor]
    recommendation: Annotated[str, "The suggested action, from the strongest factor."]
    status: Annotated[str, "open, acknowledged or resolved."]
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    resolved_at: datetime | None
    resolved_by: int | None


class InterventionOut(TypedDict):
    id: int
    alert: int
    course: int
    student: int
    teacher: int
    kind: Annotated[str, "message, meeting, extension or other."]
    note: str
    message: Annotated[int | None, "The message sent (kind message), logged by the messaging app."]
    created_at: datetime


class AlertDetailOut(AlertOut):
    interventions: Annotated[list[InterventionOut], "Logged on this alert, newest first."]


class CourseRisk(TypedDict):
    course: int
    course_code: str
    latest: Annotated[PredictionOut | None, "Null: not scored yet."]


class StudentRiskOut(TypedDict):
    """A student's risk in the classes you may see: the latest per class and the whole history."""

    student: int
    name: str
    courses: list[CourseRisk]
    history: Annotated[list[PredictionOut], "Newest first."]


class Share(TypedDict):
    students: Annotated[int, "Student windows counted (one per intervention, or per comparable student)."]
    active: Annotated[int, "Of them, with a learning event in the class within the window."]
    share_percent: Annotated[float | None, "active out of students, in percent; null when there are none."]


class CourseReengagement(TypedDict):
    course: int
    course_code: str
    intervened: Share
    comparison: Share
    difference_points: Annotated[float | None, "Intervened share minus comparison share, in percentage points."]


class TeacherReengagement(TypedDict):
    teacher: int
    name: str
    intervened: Share
    comparison: Share
    difference_points: Annotated[float | None, "Intervened share minus comparison share, in percentage points."]


class Reengagement(TypedDict):
    """Whether students were active again after an intervention, beside comparable students without one."""

    label: Annotated[str, "What the comparison is and is not."]
    window_days: int
    as_of: datetime
    courses: list[CourseReengagement]
    teachers: list[TeacherReengagement]


OBSERVATIONAL = (
    "Observational comparison, not a measured effect: teachers choose whom to help, so students with an intervention "
    "may differ from those without in ways the risk level does not capture."
)


# SECTION: scope


def risk_courses(viewer: Actor) -> QuerySet[Course]:
    """The classes whose risk data `viewer` may see: staff through classroom.selectors; students none (they never
    receive risk scores)."""
    if not is_staff_role(viewer):
        return Course.objects.none()
    return visible_courses(viewer)


def visible_predictions(viewer: Actor) -> QuerySet[Prediction]:
    return Prediction.objects.filter(course__in=risk_courses(viewer))


def visible_alerts(viewer: Actor) -> QuerySet[Alert]:
    return Alert.objects.filter(course__in=risk_courses(viewer))


def visible_interventions(viewer: Actor) -> QuerySet[Intervention]:
    return Intervention.objects.filter(alert__course__in=risk_courses(viewer))


def visible_model_versions(viewer: Actor) -> QuerySet[ModelVersion]:
    """Staff see their organisation's versions and those trained across organisations; platform operators all."""
    if not is_staff_role(viewer):
        return ModelVersion.objects.none()
    member = cast(User, viewer)
    if member.is_superuser:
        return ModelVersion.objects.all()
    return ModelVersion.objects.filter(Q(organization_id=member.organization_id) | Q(organization__isnull=True))


# SECTION: predictions


def _trend(latest: Prediction, previous: Prediction | None) -> Trend | None:
    if previous is None:
        return None
    if latest.probability is not None and previous.probability is not None:
        change = latest.probability - previous.probability
        if abs(change) < TREND_MIN_CHANGE:
            return "flat"
        return "up" if change > 0 else "down"
    # the rules give no probability: compare the levels (a lower order is a higher risk)
    now, before = LEVEL_ORDER.get(latest.level, 3), LEVEL_ORDER.get(previous.level, 3)
    return "flat" if now == before else "up" if now < before else "down"


def class_at_risk(*, course_id: int, viewer: User) -> list[StudentRisk]:
    """The latest prediction of each active student enrolment of the class, highest risk first (404 outside the
    viewer's scope). Four queries however large the class."""
    course = cast(Course, scoped_get_or_404(risk_courses(viewer), course_id))
    active = Enrollment.objects.active_students().filter(course=course).values("pk")
    ranked = (
        Prediction.objects.filter(course=course, enrollment__in=active)
        .annotate(rank=Window(RowNumber(), partition_by=[F("enrollment_id")], order_by=F("as_of").desc()))
        .filter(rank__lte=2)
        .select_related("student")
    )
    latest: dict[int, Prediction] = {}
    previous: dict[int, Prediction] = {}
    for made in ranked:
        (latest if made.rank == 1 else previous)[made.enrollment_id] = made
    alerts = {
        alert.student_id: alert
        for alert in Alert.objects.filter(course=course)
        .order_by("student_id", "-created_at", "-id")
        .distinct("student_id")
    }
    verdicts = dict(
        PredictionFeedback.objects.filter(
            teacher=viewer, prediction_id__in=[made.pk for made in latest.values()]
        ).values_list("prediction_id", "verdict")
    )
    rows: list[StudentRisk] = []
    for enrollment_id, prediction in latest.items():
        before = previous.get(enrollment_id)
        alert = alerts.get(prediction.student_id)
        rows.append(
            {
                "student": prediction.student_id,
                "name": prediction.student.display_name,
                "enrollment": enrollment_id,
                "course": course.pk,
                "prediction": prediction.pk,
                "as_of": prediction.as_of,
                "level": prediction.level,
                "probability": prediction.probability,
                "previous_probability": before.probability if before is not None else None,
                "trend": _trend(prediction, before),
                "by_rules": prediction.by_rules,
                "model_version": prediction.model_version_id,
                "factors": prediction.factors,
                "alert": (
                    {"id": alert.pk, "status": alert.status, "created_at": alert.created_at}
                    if alert is not None
                    else None
                ),
                "feedback": verdicts.get(prediction.pk),
            }
        )
    rows.sort(
        key=lambda row: (
            LEVEL_ORDER.get(row["level"], 3),
            -(row["probability"] if row["probability"] is not None else -1.0),
            row["name"].lower(),
        )
    )
    return rows


def prediction_out(prediction: Prediction) -> PredictionOut:
    return {
        "id": prediction.pk,
        "course": prediction.course_id,
        "course_code": prediction.course.code,
        "as_of": prediction.as_of,
        "level": prediction.level,
        "probability": prediction.probability,
        "by_rules": prediction.by_rules,
        "model_version": prediction.model_version_id,
        "factors": prediction.factors,
    }


def student_risk_history(*, student_id: int, course_ids: list[int]) -> list[PredictionOut]:
    """Every prediction of the student in these classes (the caller's scope), newest first."""
    predictions = (
        Prediction.objects.filter(student_id=student_id, course_id__in=course_ids)
        .select_related("course")
        .order_by("-as_of", "course_id")
    )
    return [prediction_out(prediction) for prediction in predictions]


def student_risk(*, viewer: User, student_id: int) -> StudentRiskOut:
    """A student's latest prediction in each of their classes the viewer may see (a teacher: their own classes),
    and every prediction there, newest first; 404 for a student outside the viewer's scope."""
    student = cast(User, scoped_get_or_404(visible_students(viewer), student_id))
    courses = list(
        courses_in_common(viewer, student)
        .filter(pk__in=risk_courses(viewer).values("pk"))
        .order_by("code")
        .values_list("pk", "code")
    )
    history = student_risk_history(student_id=student.pk, course_ids=[pk for pk, _ in courses])
    latest: dict[int, PredictionOut] = {}
    for made in history:
        latest.setdefault(made["course"], made)
    return {
        "student": student.pk,
        "name": student.display_name,
        "courses": [{"course": pk, "course_code": code, "latest": latest.get(pk)} for pk, code in courses],
        "history": history,
    }


# SECTION: model cards


def _feedback_counts(version_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(PredictionFeedback.Verdict.values, 0))
    rows = (
        PredictionFeedback.objects.filter(prediction__model_version_id__in=list(version_ids))
        .values_list("prediction__model_version_id", "verdict")
        .annotate(count=Count("id"))
    )
    for version_id, verdict, count in rows:
        counts[version_id][verdict] = count
    return counts


def _card(version: ModelVersion, predictions: int, feedback: dict[str, int]) -> ModelCard:
    return {
        "id": version.pk,
        "organization": version.organization_id,
        "created_at": version.created_at,
        "trained_as_of": version.trained_as_of,
        "algorithm": version.algorithm,
        "status": version.status,
        "decision": version.decision,
        "features": version.features,
        "hyperparameters": version.hyperparameters,
        "library_versions": version.library_versions,
        "training": version.training,
        "metrics": version.metrics,
        "threshold_medium": version.threshold_medium,
        "threshold_high": version.threshold_high,
        "requested_by": version.requested_by_id,
        "predictions": predictions,
        "feedback": feedback,
    }


def _cards(versions: list[ModelVersion]) -> list[ModelCard]:
    ids = [version.pk for version in versions]
    made = dict(
        Prediction.objects.filter(model_version_id__in=ids)
        .values_list("model_version_id")
        .annotate(count=Count("id"))
        .values_list("model_version_id", "count")
    )
    feedback = _feedback_counts(ids)
    return [_card(version, made.get(version.pk, 0), feedback[version.pk]) for version in versions]


def model_cards(*, organization_id: int | None) -> list[ModelCard]:
    """The versions an organisation's staff may see (its own and those trained across organisations), newest
    first; None: only those trained across organisations."""
    versions = ModelVersion.objects.filter(Q(organization_id=organization_id) | Q(organization__isnull=True))
    return _cards(list(versions.defer("artifact").order_by("-created_at", "-id")))


def model_card(version: ModelVersion) -> ModelCard:
    [card] = _cards([version])
    return card


# SECTION: alerts and interventions


def alert_out(alert: Alert) -> AlertOut:
    return {
        "id": alert.pk,
        "type": "at_risk_student",
        "course": alert.course_id,
        "course_code": alert.course.code,
        "student": alert.student_id,
        "name": alert.student.display_name,
        "prediction": alert.prediction_id,
        "risk_level": alert.level,
        "risk_score": alert.probability,
        "by_rules": alert.probability is None,
        "factors": alert.factors,
        "recommendation": alert.suggested_action,
        "status": alert.status,
        "created_at": alert.created_at,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": alert.acknowledged_by_id,
        "resolved_at": alert.resolved_at,
        "resolved_by": alert.resolved_by_id,
    }


def alert_detail(alert: Alert) -> AlertDetailOut:
    interventions = alert.interventions.select_related("alert").order_by("-created_at", "-id")
    return {**alert_out(alert), "interventions": [intervention_out(intervention) for intervention in interventions]}


def alert_list(
    *,
    viewer: User,
    course_id: int | None = None,
    student_id: int | None = None,
    status: str | None = None,
    level: str | None = None,
) -> QuerySet[Alert]:
    """The viewer's alerts, newest first, narrowed by class and student (each 404 outside the viewer's scope, as if
    it did not exist), status and level."""
    alerts = visible_alerts(viewer)
    if course_id is not None:
        alerts = alerts.filter(course_id=scoped_get_or_404(risk_courses(viewer), course_id).pk)
    if student_id is not None:
        alerts = alerts.filter(student_id=scoped_get_or_404(visible_students(viewer), student_id).pk)
    if status is not None:
        alerts = alerts.filter(status=status)
    if level is not None:
        alerts = alerts.filter(level=level)
    return alerts.select_related("student", "course").order_by("-created_at", "-id")


def intervention_list(
    *, viewer: User, course_id: int | None = None, alert_id: int | None = None
) -> QuerySet[Intervention]:
    """The interventions logged in the viewer's classes, newest first, narrowed by class or alert (404 outside the
    viewer's scope)."""
    interventions = visible_interventions(viewer)
    if course_id is not None:
        interventions = interventions.filter(alert__course_id=scoped_get_or_404(risk_courses(viewer), course_id).pk)
    if alert_id is not None:
        interventions = interventions.filter(alert_id=scoped_get_or_404(visible_alerts(viewer), alert_id).pk)
    return interventions.select_related("alert").order_by("-created_at", "-id")


def intervention_out(intervention: Intervention) -> InterventionOut:
    return {
        "id": intervention.pk,
        "alert": intervention.alert_id,
        "course": intervention.alert.course_id,
        "student": intervention.alert.student_id,
        "teacher": intervention.teacher_id,
        "kind": intervention.kind,
        "note": intervention.note,
        "message": intervention.message_id,
        "created_at": intervention.created_at,
    }


# SECTION: re-engagement


def _share(students: int, active: int) -> Share:
    return {
        "students": students,
        "active": active,
        "share_percent": round(100 * active / students, 1) if students else None,
    }


def _difference(intervened: Share, comparison: Share) -> float | None:
    if intervened["share_percent"] is None or comparison["share_percent"] is None:
        return None
    return round(intervened["share_percent"] - comparison["share_percent"], 1)


def reengagement(*, course_ids: list[int], now: datetime) -> Reengagement:
    """Share of students active in the class within REENGAGEMENT_DAYS after an intervention, against students of
    the same risk level in the same class with no intervention over the same days; per class and per teacher.

    - only interventions whose window ended by `now` count (an unfinished window would look like no activity);
    - one window per alert and teacher (a teacher's first intervention on it; per class, the alert's first);
    - similar risk: the same level in the class's latest predictions of the REENGAGEMENT_DAYS before the
      intervention (the intervened student's own level there, else the alert's);
    - comparison: those students with no intervention in the class from REENGAGEMENT_DAYS before to the end of
      the window, each counted once per window;
    - active: any learning event in the class after the intervention and within the window.

    Two queries per window (the class's levels then, the events during), plus two."""
    window = timedelta(days=REENGAGEMENT_DAYS)
    interventions = list(
        Intervention.objects.filter(alert__course_id__in=course_ids, created_at__lte=now - window)
        .select_related("alert", "teacher", "alert__course")
        .order_by("created_at", "id")
    )
    # when each student of these classes had interventions, to keep them out of others' comparison groups
    helped_at: dict[tuple[int, int], list[datetime]] = defaultdict(list)
    for course_id, student_id, moment in Intervention.objects.filter(alert__course_id__in=course_ids).values_list(
        "alert__course_id", "alert__student_id", "created_at"
    ):
        helped_at[(course_id, student_id)].append(moment)

    # (intervened active?, comparison students, comparison active) per window of (alert, teacher)
    windows: dict[tuple[int, int], tuple[Intervention, bool, int, int]] = {}
    for intervention in interventions:
        key = (intervention.alert_id, intervention.teacher_id)
        if key in windows:
            continue
        windows[key] = (intervention, *_window(intervention, helped_at, window))

    courses: dict[int, list[tuple[bool, int, int]]] = defaultdict(list)
    seen_alerts: set[int] = set()
    teachers: dict[int, list[tuple[bool, int, int]]] = defaultdict(list)
    codes: dict[int, str] = {}
    names: dict[int, str] = {}
    for intervention, active, compared, compared_active in windows.values():
        figures = (active, compared, compared_active)
        if intervention.alert_id not in seen_alerts:
            seen_alerts.add(intervention.alert_id)
            courses[intervention.alert.course_id].append(figures)
            codes[intervention.alert.course_id] = intervention.alert.course.code
        teachers[intervention.teacher_id].append(figures)
        names[intervention.teacher_id] = intervention.teacher.display_name

    def shares(rows: list[tuple[bool, int, int]]) -> tuple[Share, Share]:
        intervened = _share(len(rows), sum(1 for active, _, _ in rows if active))
        comparison = _share(sum(compared for _, compared, _ in rows), sum(active for _, _, active in rows))
        return intervened, comparison

    course_rows: list[CourseReengagement] = []
    for course_id in sorted(courses, key=lambda pk: codes[pk]):
        intervened, comparison = shares(courses[course_id])
        course_rows.append(
            {
                "course": course_id,
                "course_code": codes[course_id],
                "intervened": intervened,
                "comparison": comparison,
                "difference_points": _difference(intervened, comparison),
            }
        )
    teacher_rows: list[TeacherReengagement] = []
    for teacher_id in sorted(teachers, key=lambda pk: names[pk].lower()):
        intervened, comparison = shares(teachers[teacher_id])
        teacher_rows.append(
            {
                "teacher": teacher_id,
                "name": names[teacher_id],
                "intervened": intervened,
                "comparison": comparison,
                "difference_points": _difference(intervened, comparison),
            }
        )
    return {
        "label": OBSERVATIONAL,
        "window_days": REENGAGEMENT_DAYS,
        "as_of": now,
        "courses": course_rows,
        "teachers": teacher_rows,
    }


def _window(
    intervention: Intervention, helped_at: dict[tuple[int, int], list[datetime]], window: timedelta
) -> tuple[bool, int, int]:
    """(the student active within the window?, comparable students, of them active) for one intervention."""
    alert = intervention.alert
    start = intervention.created_at
    levels = dict(
        Prediction.objects.filter(course_id=alert.course_id, as_of__gt=start - window, as_of__lte=start)
        .order_by("enrollment_id", "-as_of")
        .distinct("enrollment_id")
        .values_list("student_id", "level")
    )
    level = levels.get(alert.student_id, alert.level)
    comparable = [
        student
        for student, their_level in levels.items()
        if their_level == level
        and student != alert.student_id
        and not any(start - window <= moment <= start + window for moment in helped_at[(alert.course_id, student)])
    ]
    active = set(
        LearningEvent.objects.filter(
            course_id=alert.course_id,
            actor_id__in=[alert.student_id, *comparable],
            occurred_at__gt=start,
            occurred_at__lte=start + window,
        )
        .values_list("actor_id", flat=True)
        .distinct()
    )
    return alert.student_id in active, len(comparable), sum(1 for student in comparable if student in active)

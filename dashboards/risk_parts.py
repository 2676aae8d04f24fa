"""The at-risk parts of the pages (issue 14): a class's students at risk, a student's risk history, the model
cards of the institution page. Staff only: students never see a risk score, on any page."""

from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from accounts.models import User
from accounts.permissions import is_administrator, is_staff_role
from classroom.selectors import visible_courses
from dashboards import charts
from risk import selectors as risk
from risk.models import Intervention, ModelVersion, PredictionFeedback

RISK_METRICS = (
    ("ROC AUC", "roc_auc", "How often a student who failed or withdrew is ranked above one who passed (0.5: chance)."),
    ("PR AUC", "pr_auc", "Precision against recall over every threshold; compare it with the share at risk."),
    ("Brier score", "brier", "The mean squared error of the probabilities: lower is better."),
    ("MCC", "mcc", "Matthews correlation of the high-risk flag with the outcome, at the high threshold."),
)
DETAILED_CARDS = 2  # the active version and the newest one get a full card; the table lists every version


def class_risk(course_id: int, viewer: User) -> dict[str, Any]:
    """The class page's "Students at risk": the latest prediction per student, highest risk first."""
    rows = risk.class_at_risk(course_id=course_id, viewer=viewer)
    return {
        "at_risk": rows,
        "risk_as_of": max((row["as_of"] for row in rows), default=None),
        "risk_by_rules": bool(rows) and all(row["by_rules"] for row in rows),
        "risk_verdicts": PredictionFeedback.Verdict.choices,
        "intervention_kinds": Intervention.Kind.choices,
    }


def risk_history(viewer: User, student: User, courses: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The student's predictions per class of the page (the classes the viewer may see), newest first; None for a
    student, who never sees risk."""
    if not is_staff_role(viewer):
        return None
    history = risk.student_risk_history(student_id=student.pk, course_ids=[row["course"] for row in courses])
    return [
        {
            "course": row["course"],
            "code": row["code"],
            "title": row["title"],
            "predictions": [entry for entry in history if entry["course"] == row["course"]],
        }
        for row in courses
    ]


TRAINING_LABELS = {
    "enrollments": "Enrolments with a result",
    "samples": "Samples (each enrolment at several points of its course)",
    "courses": "Courses",
    "at_risk_share": "Failed or withdrew (share)",
    "seconds": "Training time (s)",
}


def _training_rows(training: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The training set as the card lists it: a list (the courses) by its length, anything else as stored."""
    return [
        (
            TRAINING_LABELS.get(name, name.replace("_", " ").capitalize()),
            len(value) if isinstance(value, list) else value,
        )
        for name, value in training.items()
    ]


def _auc_chart(chart_id: str, title: str, labelled: list[tuple[str, float | None]]) -> charts.Chart | None:
    """ROC AUC per group; a group with one outcome only has no AUC and is left out (the title says so)."""
    measured = [(label, round(value, 3)) for label, value in labelled if value is not None]
    if not measured:
        return None
    left_out = len(labelled) - len(measured)
    note = f" ({left_out} with one outcome only left out)" if left_out else ""
    return charts.bar(chart_id, title + note, [label for label, _ in measured], {"ROC AUC": [v for _, v in measured]})


def _card_view(card: risk.ModelCard, course_codes: dict[int, str]) -> dict[str, Any]:
    """A model card as the institution page shows it: the headline metrics, the charts (calibration, ROC AUC per
    course and per stage, feature importance; each with its data table), the candidates compared on the same folds,
    the training set and the teachers' feedback counts per verdict. Metric keys: risk.training.metrics_of."""
    metrics = card["metrics"]
    version = card["id"]
    calibration = metrics.get("calibration_curve") or []
    stages = sorted((metrics.get("auc_per_stage") or {}).items(), key=lambda pair: int(pair[0].rsplit("_", 1)[-1]))
    importance = sorted((metrics.get("feature_importance") or {}).items(), key=lambda pair: -pair[1])
    views = [
        charts.bar(
            f"calibration-{version}",
            "Calibration: predicted against observed, per tenth of the predictions (%)",
            [f"{round(row['predicted'] * 100)} %" for row in calibration],
            {
                "Predicted (mean)": [round(row["predicted"] * 100, 1) for row in calibration],
                "Observed: failed or withdrew": [round(row["observed"] * 100, 1) for row in calibration],
            },
            unit="%",
        )
        if calibration
        else None,
        _auc_chart(
            f"auc-course-{version}",
            "ROC AUC per course",
            [
                (course_codes.get(int(course), f"course {course}"), value)
                for course, value in (metrics.get("auc_per_course") or {}).items()
            ],
        ),
        _auc_chart(
            f"auc-stage-{version}",
            "ROC AUC per stage of the course",
            [(name.replace("_", " ").capitalize(), value) for name, value in stages],
        ),
        charts.bar(
            f"importance-{version}",
            "Feature importance (drop of ROC AUC when shuffled)",
            [name for name, _ in importance],
            {"Importance": [value for _, value in importance]},
        )
        if importance
        else None,
    ]
    return {
        "card": card,
        "status_label": ModelVersion.Status(card["status"]).label,
        "roc_auc": metrics.get("roc_auc"),
        "metrics": [(label, metrics.get(key), help_text) for label, key, help_text in RISK_METRICS],
        "candidates": sorted((metrics.get("candidates") or {}).items()),
        "rules_roc_auc": metrics.get("rules_roc_auc"),
        "charts": [chart for chart in views if chart is not None],
        "training": _training_rows(card["training"]),
        "feedback": [(label, card["feedback"].get(value, 0)) for value, label in PredictionFeedback.Verdict.choices],
    }


def model_cards(viewer: User) -> dict[str, Any]:
    """The institution page's model cards: administrators only (None for a teacher: the part is not shown)."""
    if not is_administrator(viewer):
        return {"model_cards": None}
    found = risk.model_cards(organization_id=viewer.organization_id)
    # a card names the courses it was measured on by id; the table and chart show their codes
    named = {int(course) for card in found for course in card["metrics"].get("auc_per_course") or {}}
    codes = dict(visible_courses(viewer).filter(pk__in=named).values_list("pk", "code")) if named else {}
    cards = [_card_view(card, codes) for card in found]
    active = next((view for view in cards if view["card"]["status"] == ModelVersion.Status.ACTIVE), None)
    shown = ([active] if active else []) + [view for view in cards if view is not active]
    return {"model_cards": cards, "active_card": active, "shown_cards": shown[:DETAILED_CARDS]}


def reengagement(viewer: User) -> dict[str, Any]:
    """The institution page's re-engagement after interventions, over the viewer's classes (the school's for an
    administrator), per class and per teacher; None for anyone who is not staff."""
    if not is_staff_role(viewer):
        return {"reengagement": None}
    course_ids = list(risk.risk_courses(viewer).values_list("pk", flat=True))
    return {"reengagement": risk.reengagement(course_ids=course_ids, now=timezone.now())}

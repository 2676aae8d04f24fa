"""The metric risk owns in the catalogue (core.metrics): a class's students at risk, as the class dashboard shows
them, so reports and SPA clients read the same rows (served at /api/v1/risk/courses/{course}/students)."""

from datetime import datetime
from typing import Annotated, Any, TypedDict

from core.metrics import Audience, Cache, Metric, Scope, Subject, register
from core.params import ChoiceParam, QuerySerializer
from risk import selectors
from risk.models import Prediction


class AtRiskQuery(QuerySerializer):
    level = ChoiceParam(Prediction.Level.values, help_text="Only students at this level.")


class AtRiskRow(TypedDict):
    student: int
    name: str
    level: Annotated[str, "low, medium, high, or insufficient (not enough data yet)."]
    probability: Annotated[float | None, "Of ending as fail or withdrawn; null when the rules flagged."]
    previous_probability: Annotated[float | None, "At the prediction before."]
    trend: Annotated[str | None, "up, down or flat since the previous prediction."]
    by_rules: Annotated[bool, "Made by the transparent rules (no active model)."]
    reasons: Annotated[str, "The prediction's factors, strongest first, as teachers read them."]
    as_of: Annotated[datetime, "When the prediction was made."]
    model_version: int | None
    alert_status: Annotated[str | None, "The student's latest alert in the class: open, acknowledged, resolved."]


class ClassAtRisk(TypedDict):
    """The latest prediction for each actively enrolled student of a class, highest risk first."""

    course: int
    students: list[AtRiskRow]


def class_at_risk(scope: Scope, query: dict[str, Any]) -> ClassAtRisk:
    rows = selectors.class_at_risk(course_id=scope.course.pk, viewer=scope.viewer)
    level = query.get("level")
    return {
        "course": scope.course.pk,
        "students": [
            {
                "student": row["student"],
                "name": row["name"],
                "level": row["level"],
                "probability": row["probability"],
                "previous_probability": row["previous_probability"],
                "trend": row["trend"],
                "by_rules": row["by_rules"],
                "reasons": "; ".join(factor["text"] for factor in row["factors"]),
                "as_of": row["as_of"],
                "model_version": row["model_version"],
                "alert_status": row["alert"]["status"] if row["alert"] is not None else None,
            }
            for row in rows
            if level is None or row["level"] == level
        ],
    }


def register_metrics() -> None:
    register(
        Metric(
            name="risk-course-students",
            path="risk/courses/<int:course>/students",
            summary="A class's students at risk, with reasons",
            description="The latest prediction for each actively enrolled student of the class (teachers: their "
            "classes; administrators: their school's), highest risk first, with its reasons and the latest alert. "
            "Students never receive risk scores.",
            output=ClassAtRisk,
            query=AtRiskQuery,
            subject=Subject.COURSE,
            audience=Audience.STAFF,
            owner="risk",
            rows="students",
            cache=Cache.NONE,  # predictions are written by scoring, not by ingestion: the analytics cache would lag
            compute=class_at_risk,
        )
    )

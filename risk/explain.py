"""Why a student got their risk: the factors that moved the model's probability, measured against the class.

Perturbation against the class median: for each factor (a figure and the class-relative columns derived from it),
the student's values are replaced by the class's medians at that moment and the model is asked again. The change in
probability is that factor's effect; the factors that raised the risk most, by at least MIN_CHANGE, are kept, in
plain language with the student's figure and the class median ("no activity for 12 days — class median 2"). Nothing
is written that the model did not compute.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from risk.features import FEATURES, FeatureTable
from risk.rules import RULES, rules_fired

MIN_CHANGE = 0.01  # a probability change below one point is noise, not a reason
TOP_FACTORS = 3


def _count(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


@dataclass(frozen=True)
class Factor:
    feature: str  # the figure shown
    columns: tuple[str, ...]  # every column reset to the class median together (the figure and what derives from it)
    text: Callable[[float, float, np.ndarray], str]  # (student's value, class median, the row's features) -> text


FACTORS = [
    Factor(
        "days_since_activity",
        ("days_since_activity", "days_since_activity_pct"),
        lambda value, median, row: f"no activity for {_count(value)} days — class median {_count(median)}",
    ),
    Factor(
        "events_28",
        (
            "events_7",
            "events_14",
            "events_28",
            "events_7_pct",
            "events_28_pct",
            "active_days_7",
            "active_days_14",
            "active_days_28",
        ),
        lambda value, median, row: f"{_count(value)} activities in the last 4 weeks — class median {_count(median)}",
    ),
    Factor(
        "activity_trend",
        ("activity_trend",),
        lambda value, median, row: (
            f"activity {'falling' if value < 0 else 'rising'} over the last two weeks ({value:+.0%}) — "
            f"class median {median:+.0%}"
        ),
    ),
    Factor(
        "events_total",
        ("events_total", "events_total_pct", "events_total_z", "events_per_week"),
        lambda value, median, row: f"{_count(value)} activities since the start — class median {_count(median)}",
    ),
    Factor(
        "active_days_total",
        ("active_days_total", "active_days_total_pct"),
        lambda value, median, row: f"active on {_count(value)} days so far — class median {_count(median)}",
    ),
    Factor(
        "distinct_items",
        ("distinct_items", "distinct_items_pct"),
        lambda value, median, row: f"{_count(value)} different items opened — class median {_count(median)}",
    ),
    Factor(
        "assessments_missing",
        ("assessments_missing", "missing_share"),
        lambda value, median, row: (
            f"{_count(value)} of {_count(row[FEATURES.index('assessments_due')])} assessments missing — "
            f"class {_count(median)}"
        ),
    ),
    Factor(
        "assessments_late",
        ("assessments_late", "assessments_on_time"),
        lambda value, median, row: f"{_count(value)} assessments handed in late — class median {_count(median)}",
    ),
    Factor(
        "submissions",
        ("submissions", "submissions_pct"),
        lambda value, median, row: f"{_count(value)} assessments handed in — class median {_count(median)}",
    ),
    Factor(
        "mean_score",
        ("mean_score", "mean_score_pct", "mean_score_z", "last_score"),
        lambda value, median, row: (
            f"{'no assessment score yet' if np.isnan(value) else f'mean score {value:.0f} %'} — "
            f"{'no class scores yet' if np.isnan(median) else f'class median {median:.0f} %'}"
        ),
    ),
    Factor(
        "previous_attempts",
        ("previous_attempts",),
        lambda value, median, row: f"{_count(value)} previous attempts at this course — class median {_count(median)}",
    ),
    Factor(
        "enrolled_days_before_start",
        ("enrolled_days_before_start",),
        lambda value, median, row: (
            f"enrolled {_count(abs(value))} days {'before' if value >= 0 else 'after'} the start — class median "
            f"{_count(median)} days before"
        ),
    ),
]

RULE_TEXT = {
    "days_since_activity": FACTORS[0],
    "assessments_missing": FACTORS[6],
    "mean_score": FACTORS[9],
}


def _factor_out(factor: Factor, table: FeatureTable, row: int, change: float | None) -> dict[str, Any]:
    column = FEATURES.index(factor.feature)
    value = float(table.values[row, column])
    median = float(table.class_medians[row, column])
    return {
        "feature": factor.feature,
        "text": factor.text(value, median, table.values[row]),
        "value": None if np.isnan(value) else round(value, 2),
        "class_value": None if np.isnan(median) else round(median, 2),
        "effect": "raises" if change is None or change > 0 else "lowers",
        "change": None if change is None else round(change, 4),
    }


def perturbation_changes(model: Any, table: FeatureTable, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities of `rows`, changes[i, k]: how much FACTORS[k] raised row i's probability over the class
    median — probability minus the probability with that factor's columns set to the class's medians)."""
    values = table.values[rows]
    probabilities = model.predict_proba(values)[:, 1]
    changes = np.zeros((len(rows), len(FACTORS)))
    for position, factor in enumerate(FACTORS):
        columns = [FEATURES.index(name) for name in factor.columns]
        perturbed = values.copy()
        perturbed[:, columns] = table.class_medians[rows][:, columns]
        changes[:, position] = probabilities - model.predict_proba(perturbed)[:, 1]
    return probabilities, changes


def model_factors(changes: np.ndarray, table: FeatureTable, rows: np.ndarray) -> list[list[dict[str, Any]]]:
    """The plain-language factors of each row: up to TOP_FACTORS that raised its risk by at least MIN_CHANGE."""
    result = []
    for position, row in enumerate(rows):
        order = np.argsort(-changes[position])
        result.append(
            [
                _factor_out(FACTORS[index], table, int(row), float(changes[position, index]))
                for index in order[:TOP_FACTORS]
                if changes[position, index] >= MIN_CHANGE
            ]
        )
    return result


def rule_factors(table: FeatureTable, rows: np.ndarray) -> list[list[dict[str, Any]]]:
    """The rules that fired for each row, worded like the model's factors (no probability change: rules have none)."""
    fired = rules_fired(table)
    return [
        [
            {**_factor_out(RULE_TEXT[rule.feature], table, int(row), None), "rule": True}
            for rule, hit in zip(RULES, fired[row], strict=True)
            if hit
        ]
        for row in rows
    ]

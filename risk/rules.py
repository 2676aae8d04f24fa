"""The transparent rules that flag students when no model version is active (and the baseline the model must beat).

A rule fires on the same features the model sees (risk.features), so its factors read like the model's: "no activity
for 12 days — class median 2". Any rule firing makes the prediction high; none firing, low. Predictions by rules
carry no probability and are labelled as rules wherever they are shown (`Prediction.by_rules`).
"""

from dataclasses import dataclass

import numpy as np

from risk.features import FEATURES, FeatureTable


@dataclass(frozen=True)
class Rule:
    feature: str
    threshold: float
    fires_above: bool  # True: the rule fires when the feature is at least the threshold; False: below it

    def fired(self, values: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return values >= self.threshold if self.fires_above else values < self.threshold


RULES = [
    Rule("days_since_activity", 7, fires_above=True),  # no activity for 7 days
    Rule("assessments_missing", 2, fires_above=True),  # two or more assessments due and not handed in
    Rule("mean_score", 40, fires_above=False),  # a mean score below 40 % (no score yet: does not fire)
]


def rules_fired(table: FeatureTable) -> np.ndarray:
    """A boolean matrix: row i, column j is whether RULES[j] fired for row i."""
    if not len(table):
        return np.zeros((0, len(RULES)), dtype=bool)
    return np.column_stack([rule.fired(table.values[:, FEATURES.index(rule.feature)]) for rule in RULES])


def rules_score(table: FeatureTable) -> np.ndarray:
    """How many rules fired (0-3): the rules' ranking of students, used to measure them (ROC AUC) beside the model."""
    return rules_fired(table).sum(axis=1).astype(float)

"""How the pages write at-risk predictions: one place, so the class page, a student's history and the model cards
read alike.

`{% load risk_format %}` then `{{ row.level|risk_level }}`, `{{ row.probability|chance }}`, `{{ row|risk_order }}`
and `{{ row.trend|trend_label }}`."""

from typing import Any

from django import template

from risk.models import Prediction
from risk.selectors import LEVEL_ORDER

register = template.Library()

TRENDS = {"up": "↑ rising", "down": "↓ falling", "flat": "→ steady"}


@register.filter
def risk_level(level: str | None) -> str:
    """The label a person reads for a level code (`insufficient` → "Not enough data yet")."""
    if not level:
        return "—"
    try:
        return str(Prediction.Level(level).label)
    except ValueError:
        return level


@register.filter
def chance(probability: float | None) -> str:
    """A probability as a whole percentage ("73 %"); "—" for none (rules give no probability)."""
    if probability is None or probability == "":
        return "—"
    return f"{round(float(probability) * 100)} %"


@register.filter
def risk_order(row: dict[str, Any]) -> str:
    """The number the class list sorts by, larger for more risk, as risk.selectors orders it: the level first
    (LEVEL_ORDER counts from the highest), then the probability within it (rules have none)."""
    probability = row.get("probability")
    level = len(LEVEL_ORDER) - LEVEL_ORDER.get(row.get("level") or "", len(LEVEL_ORDER))
    return f"{level + (float(probability) if probability is not None else 0):.4f}"


@register.filter
def trend_label(trend: str | None) -> str:
    """The way the risk moved since the previous prediction; "first prediction" when there was none."""
    return TRENDS.get(trend or "", "first prediction")


@register.filter
def figure(value: Any, digits: int = 3) -> str:
    """A model metric rounded to `digits` decimals; "—" when it was not measured."""
    if value is None or value == "":
        return "—"
    try:
        return f"{float(value):.{int(digits)}f}"
    except (TypeError, ValueError):
        return "—"


@register.filter
def risk_change(row: dict[str, Any]) -> str:
    """How much the probability moved since the previous prediction (the trend column sorts by it); 0 without two."""
    now, before = row.get("probability"), row.get("previous_probability")
    return f"{(float(now) - float(before)) if now is not None and before is not None else 0:.4f}"


@register.filter
def model_name(name: str | None) -> str:
    """An algorithm's stored name as a person reads it (`hist_gradient_boosting` → "Hist gradient boosting")."""
    return str(name or "—").replace("_", " ").capitalize()

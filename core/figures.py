"""The arithmetic of every figure EduPath shows, defined once: rates, averages, percentiles and the small-group rule.
Selectors count; these turn counts into the numbers on the page, so the API, the pages, the live stream and the
reports round and withhold alike. No domain knowledge here: what counts as "active" or "enrolled" is the selectors'.
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

Figures = TypeVar("Figures", bound=Mapping[str, Any])


def percent(part: float, whole: float) -> float | None:
    """`part` out of `whole` in percent, to one decimal; None when there is no whole to speak of."""
    return round(100 * part / whole, 1) if whole else None


def mean(total: float | Decimal | None, count: int | None, digits: int = 1) -> float | None:
    """`total` / `count`, rounded; None when nothing was counted."""
    return round(float(total or 0) / count, digits) if count else None


def minutes(seconds: float | None) -> float:
    """Seconds as minutes, to one decimal (active time on every page and endpoint)."""
    return round((seconds or 0) / 60, 1)


def engagement_rate(active: int, enrolled: int) -> float | None:
    """Active students (any event in the period) per 100 actively enrolled students."""
    return percent(active, enrolled)


def engagement_score(active_days: int, enrolments: int, days: int) -> float | None:
    """How regularly enrolled students learn, from 0 to 10: their days with activity in the class out of all the
    period's days, over every enrolment (an enrolment active on 3 of 7 days adds 4.3, an inactive one 0), times ten.
    None without enrolments."""
    return mean(10 * active_days, enrolments * days)


def score_average(score_sum: float | Decimal | None, score_count: int | None) -> float | None:
    """The mean of scored events' percentages, as the rollups keep them (a sum and a count)."""
    return mean(score_sum, score_count)


def percentile_rank(below: int, group: int) -> float | None:
    """Where one member stands in a group: the share of the group (the member included) ranked below them, in
    percent. The best of five is at 80.0, the last at 0.0; None for an empty group."""
    return percent(below, group) if group else None


def share_below(value: float, values: Iterable[float]) -> float | None:
    """percentile_rank of `value` among `values` (which include it): how many are strictly lower."""
    population = list(values)
    return percentile_rank(sum(other < value for other in population), len(population))


def withhold_small_group(
    figures: dict[str, Any],
    *,
    contributors: int,
    minimum: int,
    fields: Iterable[str],
    reason: str,
    drop: bool = False,
    hide: bool = True,
) -> dict[str, Any]:
    """The one small-group rule: aggregates over fewer than `minimum` contributing students are not shown (to
    students: the catalogue sets `minimum` to 0 for staff, see core.metrics.Scope.small_group_minimum); a class of
    three's average says too much about each of them. When the group is too small, the `fields` are withheld (set
    to None, or left out with `drop`), `hidden` is set (unless `hide` is False: only some figures are withheld) and
    `reason` says why; otherwise the figures are returned as they are."""
    if contributors >= minimum:
        return figures
    withheld = set(fields)
    if drop:
        kept = {key: value for key, value in figures.items() if key not in withheld}
    else:
        kept = {**figures, **dict.fromkeys(withheld)}
    return {**kept, "hidden": True, "reason": reason} if hide else {**kept, "reason": reason}

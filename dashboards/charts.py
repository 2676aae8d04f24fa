"""Chart descriptions for the pages: one object per chart holds the rows that both the chart (drawn by Chart.js in
the browser, from json_script) and its accessible table fallback are made of, so the two cannot disagree."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Chart:
    """`kind`: line, bar or matrix (a calendar heatmap). `labels` and each series' values run in parallel; for a
    matrix, `labels` are days and the first series holds the value of each day."""

    id: str
    title: str
    kind: str
    labels: Sequence[Any]
    series: Sequence[tuple[str, Sequence[Any]]]
    unit: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def element_id(self) -> str:
        return f"chart-{self.id}"

    @property
    def rows(self) -> list[tuple[Any, list[Any]]]:
        return [(label, [values[index] for _, values in self.series]) for index, label in enumerate(self.labels)]

    @property
    def linked_rows(self) -> list[tuple[Any, list[Any], str | None]]:
        """`rows` with each label's link (None without)."""
        links = self.options.get("links") or [None] * len(self.labels)
        return [(label, values, link) for (label, values), link in zip(self.rows, links, strict=True)]

    @property
    def is_empty(self) -> bool:
        """Nothing to draw: no labels, or every value zero or unknown. The page says so instead of empty axes."""
        return not any(value for _, values in self.series for value in values)

    @property
    def empty_text(self) -> str:
        return "No activity in this period." if self.kind in ("line", "matrix") else "Nothing to show yet."

    @property
    def heat_scale(self) -> list[tuple[int, str]]:
        """A matrix's legend: five steps from no events to the busiest day, each with the cell colour
        dashboards.js gives that value (alpha 0.05 for none, else 0.15 + 0.85 * value / busiest)."""
        busiest = max([1, *(value or 0 for value in self.series[0][1])]) if self.series else 1
        steps = [0, *sorted({max(1, round(busiest * share / 4)) for share in range(1, 5)})]
        alphas = [0.05 if not step else 0.15 + 0.85 * step / busiest for step in steps]
        return [(step, f"rgba(36, 87, 197, {alpha:.2f})") for step, alpha in zip(steps, alphas, strict=True)]

    def config(self) -> dict[str, Any]:
        """What dashboards.js hands to Chart.js."""
        if self.kind == "matrix":
            return {"kind": "matrix", "title": self.title, "cells": self._cells(), "weekdays": WEEKDAYS}
        return {
            "kind": self.kind,
            "title": self.title,
            "unit": self.unit,
            "labels": [str(label) for label in self.labels],
            "series": [{"label": name, "data": list(values)} for name, values in self.series],
            **self.options,
        }

    def _cells(self) -> list[dict[str, Any]]:
        values = self.series[0][1]
        cells = []
        for day, value in zip(self.labels, values, strict=True):
            monday = day - timedelta(days=day.weekday())
            cells.append({"x": monday.isoformat(), "y": WEEKDAYS[day.weekday()], "v": value, "d": day.isoformat()})
        return cells


def line(chart_id: str, title: str, points: list[dict[str, Any]], keys: dict[str, str], unit: str = "") -> Chart:
    """A line chart over dated points: one series per (key, label) in `keys`."""
    labels: list[date] = [point["date"] for point in points]
    return Chart(
        chart_id, title, "line", labels, [(label, [p[key] for p in points]) for key, label in keys.items()], unit
    )


def bar(
    chart_id: str,
    title: str,
    labels: Sequence[Any],
    series: dict[str, Sequence[Any]],
    unit: str = "",
    links: Sequence[str] | None = None,
) -> Chart:
    """A bar chart; `links`: one URL per label, opened when its bar is clicked (the table fallback links them too)."""
    options = {"links": list(links)} if links is not None else {}
    return Chart(chart_id, title, "bar", labels, list(series.items()), unit, options)


def heatmap(chart_id: str, title: str, points: list[dict[str, Any]], key: str, label: str) -> Chart:
    return Chart(chart_id, title, "matrix", [p["date"] for p in points], [(label, [p[key] for p in points])])

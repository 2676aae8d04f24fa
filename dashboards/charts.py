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


def bar(chart_id: str, title: str, labels: Sequence[Any], series: dict[str, Sequence[Any]], unit: str = "") -> Chart:
    return Chart(chart_id, title, "bar", labels, list(series.items()), unit)


def heatmap(chart_id: str, title: str, points: list[dict[str, Any]], key: str, label: str) -> Chart:
    return Chart(chart_id, title, "matrix", [p["date"] for p in points], [(label, [p[key] for p in points])])

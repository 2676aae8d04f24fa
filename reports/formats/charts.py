"""The PDF's chart: drawn on the server by matplotlib as SVG, from the report's own rows.

A Figure is used directly, without pyplot: no global figure registry and no GUI backend, so it is safe in a worker
thread; saving as SVG goes through matplotlib's SVG backend (text drawn as paths, so no font is looked up later).
"""

import io
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .common import ReportMeta

# Beyond this many categories a bar chart's labels are thinned out to about this many.
MAX_LABELS = 24
WIDTH_INCHES = 10
HEIGHT_INCHES = 3.6


def _number(value: Any) -> float:
    if isinstance(value, int | float | Decimal):
        return float(value)
    return math.nan  # no value: a gap in the line, no bar


def _x_value(value: Any, meta: ReportMeta) -> Any:
    if isinstance(value, datetime):
        return meta.local(value).replace(tzinfo=None)  # drawn in the report's zone
    return value


def _label(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def chart_svg(rows: Sequence[Mapping[str, Any]], chart: Mapping[str, Any], meta: ReportMeta) -> str:
    """The chart as an SVG element (no XML prologue), ready to sit in the HTML."""
    import matplotlib
    from matplotlib.figure import Figure

    kind = chart.get("type", "line")
    x_name = chart["x"]
    y_names = list(chart.get("y") or [])
    xs = [_x_value(row.get(x_name), meta) for row in rows]
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "edupath-report", "font.size": 9}):
        figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES))
        axes = figure.subplots()
        numeric_or_time = all(isinstance(x, int | float | Decimal | date) for x in xs if x is not None)
        if kind == "line" and numeric_or_time and all(x is not None for x in xs):
            # Rows may arrive in another order (grouped, or sorted by another column): a line runs along its x.
            order = sorted(range(len(xs)), key=lambda index: xs[index])
            line_xs = [xs[index] for index in order]
            for name in y_names:
                axes.plot(line_xs, [_number(rows[index].get(name)) for index in order], label=name, linewidth=1.5)
            figure.autofmt_xdate()
        else:
            positions = list(range(len(xs)))
            if kind == "line":
                for name in y_names:
                    axes.plot(positions, [_number(row.get(name)) for row in rows], label=name, linewidth=1.5)
            else:
                width = 0.8 / max(1, len(y_names))
                for index, name in enumerate(y_names):
                    offset = (index - (len(y_names) - 1) / 2) * width
                    axes.bar(
                        [position + offset for position in positions],
                        [_number(row.get(name)) for row in rows],
                        width=width,
                        label=name,
                    )
            step = max(1, math.ceil(len(xs) / MAX_LABELS))
            axes.set_xticks(positions[::step], [_label(x) for x in xs[::step]], rotation=45, ha="right")
        axes.set_xlabel(x_name)
        axes.grid(axis="y", linewidth=0.4, alpha=0.6)
        axes.spines[["top", "right"]].set_visible(False)
        if y_names:
            axes.legend(loc="best", frameon=False)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]

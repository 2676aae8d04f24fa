"""A report's content (a ReportVersion's fields) checked against its dataset, and its rows for one viewer.

`spec_from` checks the parts that need no viewer (dataset, columns, row filters, grouping, sort, chart, and the
parameters' types through the metric's own QuerySerializer) and raises a 400 naming the field; `report_table`
resolves the scope for the viewer (404 for a class or student outside it, answered by callers as a 400 on the
parameter when it comes from a saved definition) and yields the rows: the metric's answer (or its stream) narrowed,
sorted and cut to the chosen columns. Nothing here computes a figure: the metric does."""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from django.http import Http404
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import NotFound

from accounts.permissions import is_administrator, is_staff_role
from analytics.catalogue import scope_for
from core.metrics import Audience, Scope
from core.params import one_of, query_of
from core.typed_schema import Column
from reports.datasets import Dataset, dataset, datasets

CHART_TYPES = ("line", "bar")
CHARTABLE = {"integer", "number"}
SORTABLE = {"integer", "number", "string", "boolean", "date", "date-time"}


@dataclass(frozen=True)
class Spec:
    dataset: Dataset
    columns: list[Column]
    parameters: dict[str, str]
    row_filters: dict[str, str]
    grouping: str | None
    sort: list[tuple[str, bool]]
    chart: dict[str, Any] | None

    def as_version_fields(self) -> dict[str, Any]:
        """The ReportVersion fields this spec is stored as."""
        return {
            "dataset": self.dataset.name,
            "columns": [column.name for column in self.columns],
            "parameters": self.parameters,
            "row_filters": self.row_filters,
            "grouping": self.grouping or "",
            "sort": [{"column": name, "descending": descending} for name, descending in self.sort],
            "chart": self.chart,
        }


def may_use(viewer: Any, chosen: Dataset) -> bool:
    """Reports are for staff; a dataset for administrators only to them."""
    if chosen.audience == Audience.ADMINISTRATORS:
        return is_administrator(viewer)
    return is_staff_role(viewer)


def datasets_for(viewer: Any) -> list[Dataset]:
    return [each for each in datasets() if may_use(viewer, each)]


def _strings(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise serializers.ValidationError({field: ["Must be an object of names and values."]})
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise serializers.ValidationError({field: {str(key): ["Must be a string or a number."]}})
        out[str(key)] = str(item)
    return out


def spec_from(data: Mapping[str, Any], *, viewer: Any) -> Spec:
    """The checked spec of a report body ({dataset, columns, parameters, row_filters, grouping, sort, chart})."""
    name = data.get("dataset")
    chosen = dataset(name) if isinstance(name, str) else None
    if chosen is None or not may_use(viewer, chosen):
        known = [each.name for each in datasets_for(viewer)]
        raise serializers.ValidationError({"dataset": [one_of("dataset", known)]})
    by_name = {column.name: column for column in chosen.columns}

    wanted = data.get("columns") or list(by_name)
    if not isinstance(wanted, list) or not all(isinstance(each, str) for each in wanted):
        raise serializers.ValidationError({"columns": ["Must be a list of column names."]})
    unknown = [each for each in wanted if each not in by_name]
    if unknown:
        raise serializers.ValidationError(
            {"columns": [f"Unknown column {unknown[0]!r}; {one_of('a column', list(by_name))}"]}
        )
    if len(set(wanted)) != len(wanted):
        raise serializers.ValidationError({"columns": ["A column is named twice."]})

    parameters = _strings(data.get("parameters"), "parameters")
    allowed = set(chosen.parameters)
    extra = sorted(set(parameters) - allowed)
    if extra:
        raise serializers.ValidationError(
            {"parameters": {extra[0]: [f"Not a parameter of this dataset; {one_of('a parameter', sorted(allowed))}"]}}
        )
    missing = [each for each in chosen.required_parameters if each not in parameters]
    if missing:
        raise serializers.ValidationError({"parameters": {missing[0]: ["Required by this dataset."]}})
    _query(chosen, parameters)  # the metric's own checks of each parameter's type and range

    row_filters = _strings(data.get("row_filters"), "row_filters")
    bad = sorted(set(row_filters) - set(chosen.row_filters))
    if bad:
        allowed_filters = list(chosen.row_filters)
        message = one_of("a row filter", allowed_filters) if allowed_filters else "This dataset has no row filters."
        raise serializers.ValidationError({"row_filters": {bad[0]: [message]}})

    grouping = data.get("grouping") or None
    if grouping is not None:
        if not isinstance(grouping, str) or grouping not in wanted:
            raise serializers.ValidationError({"grouping": ["Must be one of the chosen columns."]})
        if chosen.streamed:
            raise serializers.ValidationError(
                {"grouping": ["This dataset's rows come in date order; it is not grouped."]}
            )

    sort = _sort(data.get("sort"), wanted, by_name, chosen)
    chart = _chart(data.get("chart"), wanted, by_name)
    return Spec(
        dataset=chosen,
        columns=[by_name[each] for each in wanted],
        parameters=parameters,
        row_filters=row_filters,
        grouping=grouping,
        sort=sort,
        chart=chart,
    )


def _sort(value: Any, wanted: list[str], by_name: dict[str, Column], chosen: Dataset) -> list[tuple[str, bool]]:
    if not value:
        return []
    if chosen.streamed:
        raise serializers.ValidationError({"sort": ["This dataset's rows come in date order; it is not sorted."]})
    if not isinstance(value, list):
        raise serializers.ValidationError({"sort": ["Must be a list of {column, descending}."]})
    out: list[tuple[str, bool]] = []
    for each in value:
        if not isinstance(each, Mapping) or not isinstance(each.get("column"), str):
            raise serializers.ValidationError({"sort": ["Each entry must be {column, descending}."]})
        name = each["column"]
        if name not in wanted or by_name[name].type not in SORTABLE:
            raise serializers.ValidationError({"sort": [f"{name!r} is not a chosen column that can be sorted."]})
        descending = each.get("descending", False)
        if not isinstance(descending, bool):
            raise serializers.ValidationError({"sort": ["descending must be true or false."]})
        out.append((name, descending))
    return out


def _chart(value: Any, wanted: list[str], by_name: dict[str, Column]) -> dict[str, Any] | None:
    if not value:
        return None
    if not isinstance(value, Mapping):
        raise serializers.ValidationError({"chart": ["Must be {type, x, y}."]})
    kind, x, y = value.get("type"), value.get("x"), value.get("y")
    if kind not in CHART_TYPES:
        raise serializers.ValidationError({"chart": {"type": [one_of("type", list(CHART_TYPES))]}})
    if not isinstance(x, str) or x not in wanted:
        raise serializers.ValidationError({"chart": {"x": ["Must be one of the chosen columns."]}})
    if not isinstance(y, list) or not y or not all(isinstance(each, str) for each in y):
        raise serializers.ValidationError({"chart": {"y": ["Must be a list of one or more chosen columns."]}})
    for each in y:
        if each not in wanted or by_name[each].type not in CHARTABLE:
            raise serializers.ValidationError({"chart": {"y": [f"{each!r} is not a chosen numeric column."]}})
    return {"type": kind, "x": x, "y": list(y)}


def _query(chosen: Dataset, parameters: dict[str, str]) -> dict[str, Any]:
    """The metric's validated query, path ids included, as the API builds it (a 400 under `parameters`)."""
    query_part = {name: value for name, value in parameters.items() if name not in chosen.path_parameters}
    try:
        query = query_of(chosen.metric.query, query_part)
    except serializers.ValidationError as error:
        raise serializers.ValidationError({"parameters": error.detail}) from None
    for name in chosen.path_parameters:
        if name in parameters:
            try:
                query[name] = int(parameters[name])
            except ValueError:
                raise serializers.ValidationError({"parameters": {name: ["A valid integer is required."]}}) from None
    return query


@dataclass
class Table:
    """One report's rows for one viewer, with what they are about."""

    spec: Spec
    scope: Scope
    query: dict[str, Any]
    rows: Iterator[dict[str, Any]]
    as_of: datetime


def report_table(spec: Spec, *, viewer: Any) -> Table:
    """The rows of `spec` for `viewer`: the metric's scope for them (a class or student outside it is a 400 on that
    parameter, never a sign of whether it exists), its answer (or stream), row filters, sort and columns. Errors the
    metric raises on its query (e.g. a module of another class) are 400s under `parameters`."""
    metric = spec.dataset.metric
    query = _query(spec.dataset, spec.parameters)
    try:
        scope = scope_for(metric, viewer=viewer, query=query)
        if spec.dataset.streamed:
            source: Iterable[dict[str, Any]] = metric.stream(scope, query)  # type: ignore[misc]  # streamed: has one
        else:
            source = spec.dataset.table((metric.fast or metric.compute)(scope, query))
    except (Http404, NotFound):
        named = next((name for name in ("course", "student") if name in spec.parameters), "parameters")
        raise serializers.ValidationError(
            {"parameters": {named: ["Not one you may see."]}}
            if named != "parameters"
            else {"parameters": ["Not found."]}
        ) from None
    except serializers.ValidationError as error:
        raise serializers.ValidationError({"parameters": error.detail}) from None
    rows = _narrowed(source, spec)
    return Table(spec=spec, scope=scope, query=query, rows=rows, as_of=scope.now or timezone.now())


def _narrowed(source: Iterable[dict[str, Any]], spec: Spec) -> Iterator[dict[str, Any]]:
    rows: Iterable[dict[str, Any]] = source
    if spec.row_filters:
        wanted = spec.row_filters
        rows = (row for row in rows if all(str(row.get(name)) == value for name, value in wanted.items()))
    order = ([(spec.grouping, False)] if spec.grouping else []) + spec.sort
    if order:
        rows = list(rows)
        for name, descending in reversed(order):  # stable sorts, last key first
            rows.sort(key=lambda row, n=name, d=descending: _sort_key(row.get(n), d), reverse=descending)  # type: ignore[misc]
    names = [column.name for column in spec.columns]
    return ({name: row.get(name) for name in names} for row in rows)


def _sort_key(value: Any, descending: bool) -> tuple[int, Any]:
    """Empty values last either way; the others by their own order (a column holds one type; text ignores case)."""
    if value is None:
        return (0 if descending else 1, 0)
    return (1 if descending else 0, value.lower() if isinstance(value, str) else value)


def preview(spec: Spec, *, viewer: Any, limit: int) -> tuple[Table, list[dict[str, Any]]]:
    table = report_table(spec, viewer=viewer)
    first = list(islice(table.rows, limit))
    table.rows.close()  # type: ignore[attr-defined]  # a generator: closes a stream's cursor
    return table, first

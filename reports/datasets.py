"""What a report can show: datasets, each the table of one metric of the catalogue (core.metrics), so a report never
computes a figure differently from the API and the pages. A dataset names its metric and, where the metric's answer
holds several tables, which one; its parameters are the metric's own query parameters (validated by the metric's
QuerySerializer, exactly as the API validates them) and the ids in the metric's path; its row filters are columns a
report may narrow by value (an item's kind, a submission's state).

Who may use a dataset is the metric's audience, and which rows exist is the metric's scope for whoever the report
runs for (classroom.selectors.metric_scope: the one permission point)."""

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, get_args, get_type_hints

from core.metrics import Audience, Metric, metric
from core.typed_schema import Column, columns


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    description: str
    metric_name: str
    rows: str | None = None  # the answer's list field holding the rows; None: the metric's own `rows`
    row_filters: tuple[str, ...] = ()
    # parameters a report must set (beyond the ids in the metric's path), e.g. a student for one student's tables
    required: tuple[str, ...] = field(default=())

    @cached_property
    def metric(self) -> Metric:
        return metric(self.metric_name)

    @property
    def audience(self) -> Audience:
        return self.metric.audience

    @property
    def streamed(self) -> bool:
        """Rows read from a server-side cursor (millions possible): kept in the metric's order, never sorted here."""
        return self.metric.stream is not None and self.rows is None

    @cached_property
    def path_parameters(self) -> tuple[str, ...]:
        return tuple(re.findall(r"<int:(\w+)>", self.metric.path))

    @cached_property
    def query_parameters(self) -> tuple[str, ...]:
        return tuple(self.metric.query().fields)

    @property
    def parameters(self) -> tuple[str, ...]:
        paging = {"limit", "after"} if self.streamed else set()  # a stream is read whole, not a page at a time
        return self.path_parameters + tuple(name for name in self.query_parameters if name not in paging)

    @property
    def required_parameters(self) -> tuple[str, ...]:
        return self.path_parameters + self.required

    def row_type(self) -> type:
        if self.rows is None:
            return self.metric.row_type()
        (row,) = get_args(get_type_hints(self.metric.output)[self.rows])
        return row

    @cached_property
    def columns(self) -> list[Column]:
        return columns(self.row_type()) if self.rows is not None else self.metric.columns()

    def column(self, name: str) -> Column | None:
        return next((column for column in self.columns if column.name == name), None)

    def table(self, answer: dict[str, Any]) -> list[dict[str, Any]]:
        """The metric's answer as rows of every column."""
        if self.rows is None:
            return self.metric.table(answer)
        names = [column.name for column in self.columns]
        return [{name: row.get(name) for name in names} for row in answer[self.rows]]


_DATASETS: tuple[Dataset, ...] = (
    Dataset(
        "engagement",
        "Engagement per day or week",
        "Active students, learning events and active minutes per local day (or week) of your classes (or one).",
        "analytics-trends-engagement",
    ),
    Dataset(
        "activity-daily",
        "Activity per student and day",
        "Every student's events, active minutes, items, attempts, mean score and XP per class and local day, over a "
        "date range of up to a year (millions of rows: written as they are read).",
        "analytics-activity-daily",
    ),
    Dataset(
        "class-progress",
        "Progress per class",
        "Per class: students enrolled, items, average progress, completion rate and engagement score.",
        "analytics-enrolment-figures",
    ),
    Dataset(
        "student-progress",
        "Student progress in a class",
        "Per student of one class: progress, activity, assignments on time / late / missing and mean score.",
        "analytics-dashboard-meso",
    ),
    Dataset(
        "assignment-timeliness",
        "Assignment timeliness per item",
        "Per assignment and quiz of one class already due: expected, on time, late, missing, excused, mean score.",
        "analytics-course-assignments",
        row_filters=("kind",),
    ),
    Dataset(
        "scores",
        "A student's scores",
        "One student's graded work: state, score and the class average per item.",
        "analytics-student-coursework",
        row_filters=("kind", "state"),
        required=("student",),
    ),
    Dataset(
        "leaderboard",
        "Leaderboard",
        "Students ranked by XP over the day, week, month or all time, in a class or the school.",
        "gamification-leaderboard",
    ),
    Dataset(
        "xp-daily",
        "A student's XP per day",
        "One student's XP per local day of the period.",
        "gamification-progress",
        required=("student",),
    ),
    Dataset(
        "achievements",
        "A student's achievements",
        "One student's achievements: earned (with when) and the others with progress.",
        "gamification-progress",
        rows="achievements",
        required=("student",),
    ),
    Dataset(
        "at-risk",
        "Students at risk",
        "The latest prediction for each student of one class, highest risk first, with its reasons.",
        "risk-course-students",
    ),
    Dataset(
        "system-endpoints",
        "API endpoints (system)",
        "Requests, errors and 95th-percentile time per endpoint over the last hours (administrators).",
        "analytics-system-metrics",
    ),
)

DATASETS: dict[str, Dataset] = {dataset.name: dataset for dataset in _DATASETS}


def datasets() -> list[Dataset]:
    return list(_DATASETS)


def dataset(name: str) -> Dataset | None:
    return DATASETS.get(name)
